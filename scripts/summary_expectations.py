"""Expected values for clew-model's trace-summary tests, produced by the real mlflow package.

Run with the mlflow venv (mlflow 3.17.2):

    /work/venv/bin/python scripts/summary_expectations.py > crates/clew-model/tests/data/summary_expectations.jsonl

It prints one JSON object per line: {"kind": ..., "input": ..., "expected": ...}, for the chat-aware
previews, token usage aggregation, size percentiles, and whole traces finalized by the real client
(captured as its exporter would send them, without a server). crates/clew-model/tests/trace_summary.rs
checks clew against every line.
"""

import json
import logging

logging.disable(logging.CRITICAL)

from mlflow.tracing.constant import TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS
from mlflow.tracing.utils import _aggregate_from_nodes, _calculate_percentile, SpanAggregationNode
from mlflow.tracing.utils import aggregate_usage_from_span_nodes
from mlflow.tracing.utils.truncation import _get_truncated_preview
import mlflow.tracing.utils.truncation as truncation

truncation._get_max_length = lambda: TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS


def emit(kind, inp, expected):
    print(json.dumps({"kind": kind, "input": inp, "expected": expected}))


long_user = "u" * 1500
PREVIEW_CASES = [
    '{"question": "What is MLflow tracing?"}',
    '{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Capital of France?"}], "temperature": 0.0}',
    '{"id": "c1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is the capital of France."}}]}',
    '{"messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "second"}, {"role": "assistant", "content": "a2"}]}',
    '{"messages": [{"role": "system", "content": "sys only"}]}',
    '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "describe"}]}]}',
    '{"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]}',
    '{"messages": [{"role": "user", "content": ["plain part", {"type": "text", "text": "t"}]}]}',
    '{"messages": [{"role": "user", "content": null}]}',
    '{"messages": [{"role": "user", "content": ""}]}',
    '{"messages": [{"role": "user"}]}',
    '{"messages": []}',
    '{"messages": "not a list", "input": [{"role": "user", "content": "from input"}]}',
    '{"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}',
    '{"input": [{"role": "user", "content": "responses api question"}]}',
    '{"output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "responses api answer"}]}]}',
    '{"request": {"input": [{"role": "user", "content": "agent question"}]}}',
    '{"request": {"messages": [{"role": "user", "content": "nested messages"}]}}',
    '{"request": "just a string"}',
    '{"choices": [{"message": {"role": "assistant", "content": [{"type": "text", "text": "part answer"}]}}]}',
    '{"choices": []}',
    '{"choices": [{"message": {"content": "no role"}}]}',
    '{"role": "user", "content": "top-level message"}',
    '[{"role": "user", "content": "a list of messages"}]',
    '"a json string"',
    '42',
    'null',
    'not json at all',
    '{"x": 1}',
    '{"messages": [{"role": "user", "content": "' + long_user + '"}]}',
    '{"text": "' + "é" * 1200 + '"}',
    '{"messages": [{"role": "user", "content": "' + "x" * 998 + '"}]}',
    '{"messages": [{"role": "user", "content": "' + "x" * 1000 + '"}]}',
    '{"messages": [{"role": "user", "content": "' + "x" * 1001 + '"}]}',
    '{"messages": [{"role": "user", "content": "héllo \\u00e9 \\ud83d\\ude00"}]}',
    '{"messages": [{"role": "user", "content": "anthropic"}], "system": "be nice", "model": "claude"}',
    '{"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "anthropic reply"}]}',
    '{"messages": [{"role": "user", "content": [{"type": "text", "text": "q1"}]}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t"}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}]}',
    '{"messages": [{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"}]}',
    '{"messages": [{"role": "user", "content": [{"type": "text"}]}]}',
    '{"messages": [{"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "second"}]}]}',
    '{"messages": [{"role": "user", "content": 5}]}',
    '{"messages": [1, "x", {"role": "user", "content": "mixed"}]}',
    '{"input": "plain input string", "output": []}',
    '{}',
    '[]',
    '""',
    '{"messages": [{"role": "user", "content": "spaced"}]}   ',
    '{"messages": [{"role": "user", "content": "with nan"}], "temperature": NaN, "top": -Infinity}',
    '{"messages": [{"role": "user", "content": "first key"}], "messages": [{"role": "user", "content": "last key"}]}',
    '{"request": ' * 60 + '{"messages": [{"role": "user", "content": "deep"}]}' + '}' * 60,
    '{"choices": [{"message": {"role": "assistant", "content": "choice"}}], "messages": [{"role": "user", "content": "msg"}]}',
    '{"input": [], "output": [{"role": "assistant", "content": "out"}]}',
    '{"messages": [{"role": "user", "content": "big int"}], "n": 123456789012345678901234567890}',
    '{"messages": [{"role": "user", "content": "tab\\there\\n"}]}',
]
for text in PREVIEW_CASES:
    for role in ("user", "assistant"):
        emit("preview", {"text": text, "role": role}, _get_truncated_preview(text, role=role))


def usage_case(name, spans, expected_fn):
    nodes = [SpanAggregationNode(span_id=s, parent_id=p, data=d) for s, p, d in spans]
    try:
        res = expected_fn(nodes)
        out = json.dumps(res) if res else None
    except Exception as e:  # noqa: BLE001
        out = f"error: {type(e).__name__}"
    emit("token_usage", {"name": name, "spans": spans}, out)


U = lambda i, o, t, **kw: {"input_tokens": i, "output_tokens": o, "total_tokens": t, **kw}
USAGE_CASES = {
    "single": [("a", None, U(23, 7, 30))],
    "none": [("a", None, None), ("b", "a", None)],
    "parent_rollup_wins": [("a", None, U(10, 10, 20)), ("b", "a", U(4, 4, 8)), ("c", "a", U(6, 6, 12))],
    "siblings_sum": [("a", None, None), ("b", "a", U(4, 4, 8)), ("c", "a", U(6, 6, 12))],
    "grandchild_under_usage": [("a", None, None), ("b", "a", U(1, 2, 3)), ("c", "b", U(100, 100, 200)), ("d", "a", U(1, 1, 2))],
    "orphans_are_roots": [("a", None, U(1, 1, 2)), ("b", "missing", U(2, 2, 4))],
    "missing_keys_default_zero": [("a", None, {"input_tokens": 5}), ("b", None, {"output_tokens": 3})],
    "cache_keys": [("a", None, None), ("b", "a", U(10, 5, 15, cache_read_input_tokens=4)), ("c", "a", U(1, 1, 2, cache_creation_input_tokens=7, cache_read_input_tokens=1))],
    "cache_key_order_follows_dfs": [("r", None, None), ("b", "r", U(1, 1, 2, cache_creation_input_tokens=3)), ("c", "r", U(1, 1, 2, cache_read_input_tokens=5))],
    "cache_1hr": [("a", None, U(1, 1, 2, cache_creation_input_tokens=9, cache_creation_input_tokens_above_1hr=4))],
    "empty_dict_counts": [("a", None, {}), ("b", "a", U(5, 5, 10))],
    "float_values": [("a", None, {"input_tokens": 1.5, "output_tokens": 2, "total_tokens": 3.5})],
    "bool_value": [("a", None, {"input_tokens": True, "output_tokens": 2, "total_tokens": 3})],
    "null_value_fails": [("a", None, {"input_tokens": None, "output_tokens": 2, "total_tokens": 3})],
    "string_value_fails": [("a", None, {"input_tokens": "5", "output_tokens": 2, "total_tokens": 3})],
    "list_data_fails": [("a", None, [1, 2])],
    "extra_keys_ignored": [("a", None, U(1, 2, 3, reasoning_tokens=9))],
    "big_numbers": [("a", None, U(2**40, 2**40, 2**41)), ("b", None, U(2**40, 1, 2**40 + 1))],
}
for name, spans in USAGE_CASES.items():
    usage_case(name, spans, aggregate_usage_from_span_nodes)

SIZE_CASES = [[594, 921, 984, 920, 1716], [1623, 498], [1580], [1, 2], [10, 20, 30], [5, 1, 9, 7],
              [100, 200, 300, 400, 500, 600, 700], [3, 3, 3], [1, 1000000], [7, 8, 9, 10, 11, 12]]
for sizes in SIZE_CASES:
    s = sorted(sizes)
    emit("percentiles", sizes, [int(_calculate_percentile(s, p)) for p in (0.25, 0.5, 0.75)])


# --- Whole traces finalized by the real client ----------------------------------------------
# Each trace is captured as the exporter would send it (after previews, token usage and size
# stats, through TraceInfo.to_dict, i.e. to_proto limits applied) without contacting a server.
import os
import tempfile

import mlflow
from mlflow.tracing.export import mlflow_v3 as _export
from mlflow.tracing.utils import add_size_stats_to_trace_metadata

CAPTURED = []


def _capture_log_trace(self, trace, prompts, workspace=None):
    add_size_stats_to_trace_metadata(trace)
    CAPTURED.append(trace.to_dict())


_export.MlflowV3SpanExporter._log_trace = _capture_log_trace
_export.MlflowV3SpanExporter._log_spans = lambda *a, **k: None
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
mlflow.set_tracking_uri("sqlite:///" + os.path.join(tempfile.mkdtemp(), "db.sqlite"))
mlflow.set_experiment("summary-expectations")

USAGE_KEY = "mlflow.chat.tokenUsage"


def scenario_nested():
    @mlflow.trace
    def llm(q):
        span = mlflow.get_current_active_span()
        span.set_attribute(USAGE_KEY, {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})
        return {"text": "réponse " * 3}

    @mlflow.trace
    def agent(q):
        span = mlflow.get_current_active_span()
        span.set_attribute(USAGE_KEY, {"input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
                                       "cache_read_input_tokens": 7})
        llm(q)  # inside the rollup: not counted again
        return "ok"

    @mlflow.trace
    def tool(x):
        span = mlflow.get_current_active_span()
        span.set_attribute(USAGE_KEY, {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3,
                                       "cache_creation_input_tokens": 4})
        return [x, x]

    @mlflow.trace(name="entry")
    def entry(question, context):
        agent(question)
        tool(7)
        return {"answer": "42 ✓", "context_len": len(context)}

    entry("Où est le café? 😀", "c" * 400)
    return {}


def scenario_root_error():
    @mlflow.trace
    def child():
        return 1

    @mlflow.trace
    def root_raises():
        child()
        raise ValueError("boom")

    try:
        root_raises()
    except ValueError:
        pass
    return {}


def scenario_explicit():
    @mlflow.trace
    def failing(messages):
        mlflow.update_current_trace(
            request_preview="my preview", state="OK", tags={"mlflow.traceName": "custom-name", "env": "dev"},
            metadata={"big": "m" * 300}, session_id="sess-9", user="bob",
        )
        raise RuntimeError("x")

    try:
        failing([{"role": "user", "content": "hi"}])
    except RuntimeError:
        pass
    return {"explicit_state": "OK", "explicit_trace_name": True, "explicit_request_preview": "my preview",
            "user_metadata": {"big": "m" * 300}}


def scenario_chat():
    with mlflow.start_span("chat", span_type="CHAT_MODEL") as span:
        span.set_inputs({"model": "m", "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "Q" * 1200}]},
        ]})
        span.set_attribute(USAGE_KEY, {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11,
                                       "cache_creation_input_tokens": 2, "cache_read_input_tokens": 1})
        span.set_outputs({"choices": [{"index": 0, "message": {"role": "assistant", "content": "A" * 50}}]})
    return {}


def scenario_no_outputs_unset_status():
    span = mlflow.start_span_no_context("bare")
    span.end()
    return {}


def scenario_long_tag():
    @mlflow.trace
    def tagged():
        mlflow.update_current_trace(tags={"long": "t" * 5000})
        return None

    tagged()
    return {"user_tags": {"long": "t" * 5000}}


for fn in (scenario_nested, scenario_root_error, scenario_explicit, scenario_chat,
           scenario_no_outputs_unset_status, scenario_long_tag):
    before = len(CAPTURED)
    opts = fn()
    mlflow.flush_trace_async_logging()
    assert len(CAPTURED) == before + 1, fn.__name__
    emit("finalize", {"name": fn.__name__, "options": opts}, CAPTURED[-1])


# --- Trace info an MLflow server builds from OTLP spans alone --------------------------------
from mlflow.entities import Span as _Span
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

_dir = tempfile.mkdtemp()
_store = SqlAlchemyStore("sqlite:///" + os.path.join(_dir, "otlp.sqlite"), os.path.join(_dir, "art"))
_exp = _store.create_experiment("otlp-only")


def _span(tid, sid, parent, name, start, end, attrs, code="STATUS_CODE_OK"):
    return {"trace_id": tid, "span_id": sid, "parent_span_id": parent, "name": name,
            "start_time_unix_nano": start, "end_time_unix_nano": end, "events": [],
            "status": {"code": code, "message": ""}, "links": [], "attributes": attrs}


def _otlp_case(name, tid_b64, tid_hex, spans):
    for s in spans:
        s["trace_id"] = tid_b64
        s["attributes"] = {"mlflow.traceRequestId": json.dumps("tr-" + tid_hex), **s["attributes"]}
    _store.log_spans(_exp, [_Span.from_dict(s) for s in spans])
    info = _store.get_trace_info("tr-" + tid_hex).to_dict()
    info["tags"].pop("mlflow.artifactLocation", None)  # depends on the server's artifact root
    emit("otlp_only", {"name": name, "experiment_id": _exp, "spans": spans}, info)


_ROOT, _CHILD = "FJKl/cCDw0E=", "MgT30wW02R8="
_otlp_case("root_error_with_tags_session_user_usage", "J8jiD0JZKw7LhwLtFwqQEA==", "27c8e20f42592b0ecb8702ed170a9010", [
    _span(None, _ROOT, None, "root", 1795238771687890236, 1795238771745461080,
          {"mlflow.spanInputs": json.dumps({"messages": [{"role": "user", "content": "hello"}]}),
           "mlflow.spanOutputs": json.dumps("plain answer"),
           "mlflow.traceTag.env": json.dumps("prod"),
           "mlflow.traceTag.mlflow.traceName": json.dumps("named")}, "STATUS_CODE_ERROR"),
    _span(None, _CHILD, _ROOT, "llm", 1795238771700000000, 1795238771746999999,
          {"session.id": json.dumps("s-1"), "user.id": json.dumps("u-1"),
           "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 3, "output_tokens": 4, "total_tokens": 7,
                                                 "cache_creation_input_tokens": 2, "cache_read_input_tokens": 1})}),
])
_otlp_case("children_only", "5rQ3EP7Up0FC62fg5N3Qwg==", "e6b43710fed4a74142eb67e0b4ddd0c2", [
    _span(None, _CHILD, _ROOT, "child", 1795238773946000001, 1795238773947999999,
          {"mlflow.spanInputs": json.dumps({"q": 1}), "gen_ai.conversation.id": json.dumps("conv-7")}),
])
_otlp_case("root_only_unset_status_no_io", "dBnkDFg0hEXb3l7/ XqMHKQ==".replace(" ", ""), "7419e40c58348445dbde5efb5ea30729", [
    _span(None, _ROOT, None, "bare", 1795238777491000000, 1795238777491500000,
          {"mlflow.spanInputs": json.dumps(""), "session.id": "not-json-session"}, "STATUS_CODE_UNSET"),
])
