"""What OpenTelemetry Python's W3C propagator (the one MLflow uses) makes of traceparent values.

Run: /work/venv/bin/python scripts/traceparent_expectations.py
Prints `value -> trace_id span_id flags` or `value -> invalid`, pinned in
crates/clew-model/tests/traceparent.rs.
"""

import json

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

T = "0af7651916cd43dd8448eb211c80319c"
S = "b7ad6b7169203331"
CASES = [
    f"00-{T}-{S}-01",
    f"00-{T}-{S}-00",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    f"00-{T}-{S}-03",
    f"00-{T}-{S}-ff",
    f"00-{'0' * 32}-{S}-01",
    f"00-{T}-{'0' * 16}-01",
    f"ff-{T}-{S}-01",
    f"00-{T.upper()}-{S}-01",
    f"00-{T}-{S.upper()}-01",
    f"00-{T}-{S}-0A",
    f"cc-{T}-{S}-01-what-the-future-holds",
    f"cc-{T}-{S}-01",
    f"cc-{T}-{S}-01x",
    f"00-{T}-{S}-01-extra",
    f"00-{T}-{S}-01x",
    f"  00-{T}-{S}-01\t",
    f"00-{T[:-1]}-{S}-01",
    f"00-{T}-{S}1-01",
    f"00_{T}_{S}_01",
    f"0-{T}-{S}-01",
    f"00-{T}-{S}-1",
    f"00-{T}-{S}-0g",
    f"0g-{T}-{S}-01",
    "",
    "garbage",
    f"cc-{T}-{S}-01-" + "x" * 500,
]
prop = TraceContextTextMapPropagator()
for value in CASES:
    ctx = prop.extract({"traceparent": value})
    sc = trace.get_current_span(ctx).get_span_context()
    if sc.is_valid:
        result = [format(sc.trace_id, "032x"), format(sc.span_id, "016x"), int(sc.trace_flags)]
    else:
        result = None
    print(json.dumps([value, result]))
