"""Reduce a recorded trace to the fields autolog is responsible for.

Works on both ``clew`` and ``mlflow`` trace objects (same attribute names), so
the spans one library records can be compared with the other's.
"""

from __future__ import annotations

import json
import re
from typing import Any

# LangChain gives each run a fresh id ("lc_run--<uuid>") that ends up in message ids.
_RUN_ID = re.compile(r"lc_run--[0-9a-f-]{36}")


def _scrub(value: Any) -> Any:
    """``value`` with per-run random ids replaced by a placeholder."""
    if isinstance(value, str):
        return _RUN_ID.sub("lc_run--<id>", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value

# Attributes every span carries whatever produced it; autolog does not set them.
_ENGINE_ATTRIBUTES = {
    "mlflow.traceRequestId",
    "mlflow.spanType",
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "mlflow.spanFunctionName",
    "mlflow.experimentId",
}


def _code(status: Any) -> str:
    code = getattr(status, "status_code", status)
    return getattr(code, "value", code)


def _event(event: Any) -> dict:
    attrs = dict(event.attributes or {})
    if event.name == "exception":
        # The stack trace differs between libraries; type and message must not.
        attrs.pop("exception.stacktrace", None)
        attrs.pop("exception.escaped", None)
    for key, value in list(attrs.items()):
        if key == "mlflow.chunk.value" and isinstance(value, str):
            attrs[key] = json.loads(value)
    return {"name": event.name, "attributes": attrs}


def summarize_span(span: Any, names_by_id: dict) -> dict:
    return _scrub({
        "name": span.name,
        "span_type": span.span_type,
        "parent": names_by_id.get(span.parent_id),
        "inputs": span.inputs,
        "outputs": span.outputs,
        "attributes": {k: v for k, v in (span.attributes or {}).items() if k not in _ENGINE_ATTRIBUTES},
        "events": [_event(e) for e in span.events],
        "status": _code(span.status),
    })


def summarize_trace(trace: Any) -> list[dict]:
    """Spans of ``trace`` as plain JSON-able dicts, in a canonical order.

    Ordered by the path of span names from the root, then start time, so that
    spans of parallel branches (whose start order varies) line up between runs.
    """
    spans = list(trace.data.spans)
    by_id = {s.span_id: s for s in spans}

    def path(span) -> tuple:
        names = []
        while span is not None:
            names.append(span.name)
            span = by_id.get(span.parent_id)
        return tuple(reversed(names))

    spans.sort(key=lambda s: (path(s), s.start_time_ns))
    names = {s.span_id: s.name for s in spans}
    return [summarize_span(s, names) for s in spans]
