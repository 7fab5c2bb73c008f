"""Generate clew's golden files with the REAL mlflow package (see scripts/gen_golden.sh).

Builds traces in-process against a throw-away local SQLite tracking store, reads them back with
``mlflow.get_trace`` and writes, per case, under ``tests/golden/mlflow/<case>/``:

  trace.json            Trace.to_json()
  trace.pretty.json     Trace.to_json(pretty=True)
  spans/NN.json         json.dumps(span.to_dict(), ensure_ascii=False)   (the SQL spans.content form)
  trace_info.rest.json  message_to_json(trace.info.to_proto(), pretty=False)
  trace.rest.json       message_to_json(trace.to_proto(), pretty=False)  (GetTrace's mlflow.Trace)
  otlp.pb               ExportTraceServiceRequest of span.to_otel_proto(), as MLflow's REST store builds it
  otlp.json             the same request in OTLP/JSON (camelCase, hex ids, int64 strings, enum numbers)
  from_otlp/NN.json     Span.from_otel_proto(span.to_otel_proto()).to_dict() (what MLflow's OTLP ingest stores)

plus ``tests/golden/mlflow/foreign_otlp/`` (a non-MLflow OTLP span as ingest reads it) and
``tests/golden/pyjson/corpus.jsonl`` (values and their json.dumps texts).

Only data produced by mlflow is written; no mlflow source is copied.
"""

import base64
import json
import math
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "golden"

# The tracking store must be configured before mlflow is imported by anything else.
TMP = Path(tempfile.mkdtemp(prefix="clew-golden-"))
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{TMP / 'mlflow.db'}"
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
os.chdir(TMP)  # keeps any artifact directories out of the repository

import mlflow  # noqa: E402
from google.protobuf.json_format import MessageToDict  # noqa: E402
from mlflow.entities import Document, SpanEvent, SpanType  # noqa: E402
from mlflow.entities.link import Link  # noqa: E402
from mlflow.entities.span import Span  # noqa: E402
from mlflow.tracing import set_span_chat_tools  # noqa: E402
from mlflow.tracing.constant import SpanAttributeKey  # noqa: E402
from mlflow.tracing.utils.otlp import resource_to_otel_proto  # noqa: E402
from mlflow.utils.proto_json_utils import message_to_json  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OTelProtoSpan  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402

RESOURCE_ATTRIBUTES = {
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "mlflow",
    "telemetry.sdk.version": mlflow.__version__,
}


# ---------------------------------------------------------------- traced applications


@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve(query: str, k: int = 2):
    return [
        Document(
            page_content=f"Doc #{i} about {query} — ünïcödé ✓",
            metadata={"doc_uri": f"https://example.com/doc{i}.md", "chunk_id": str(i), "score": 0.5 + i / 4},
            id=f"doc_{i}",
        )
        for i in range(k)
    ]


@mlflow.trace(span_type=SpanType.TOOL)
def add(a: float, b: float) -> float:
    return a + b


@mlflow.trace(name="answer", attributes={"temperature": 0.1, "top_k": 3, "flags": ["a", "b"]})
def answer(question: str):
    docs = retrieve(question)
    with mlflow.start_span(name="rerank", span_type=SpanType.RERANKER) as span:
        span.set_inputs({"docs": len(docs), "threshold": 1e-06})
        span.set_attribute("nested", {"x": [1, 2.5, None, True], "big": 10**16, "neg_zero": -0.0, "huge": 1e16})
        span.add_event(
            SpanEvent(
                "reranked",
                timestamp=1795238771741929049,
                attributes={"count": 2, "ratio": 0.25, "ok": True, "label": "héllo", "ids": ["a", "b"]},
            )
        )
        span.set_outputs([d.id for d in docs])
    total = add(1.5, 2)
    mlflow.update_current_trace(tags={"env": "dev", "user": "alice"}, metadata={"mlflow.trace.session": "sess-1"})
    return {"answer": "42", "n_docs": len(docs), "total": total}


@mlflow.trace
def failing_child(x):
    raise ValueError(f"tool failed on {x}")


@mlflow.trace(name="root_with_error")
def root_with_error():
    try:
        failing_child(7)
    except ValueError:
        pass
    raise KeyError("boom")


@mlflow.trace(span_type=SpanType.CHAT_MODEL)
def chat(messages, model="gpt-4o-mini"):
    span = mlflow.get_current_active_span()
    set_span_chat_tools(
        span,
        [
            {
                "type": "function",
                "function": {
                    "name": "calculator",
                    "description": "Perform mathematical calculations",
                    "parameters": {
                        "type": "object",
                        "properties": {"expression": {"type": "string"}},
                        "required": ["expression"],
                    },
                },
            }
        ],
    )
    span.set_attribute(SpanAttributeKey.CHAT_USAGE, {"input_tokens": 23, "output_tokens": 7, "total_tokens": 30})
    span.set_attribute(SpanAttributeKey.MODEL, model)
    span.set_attribute(SpanAttributeKey.MESSAGE_FORMAT, "openai")
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "calculator", "arguments": '{"expression": "2+2"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 23, "completion_tokens": 7, "total_tokens": 30},
    }


def custom_and_unicode():
    with mlflow.start_span(name="données 🚀", span_type="MY_CUSTOM_STEP") as root:
        root.set_inputs({"text": "日本語 \u2028 \x07 \"quoted\" \\ back", "emoji": "😀", "tab": "\t"})
        root.set_attribute("floats", [0.1, 1.0, 1e-06, 1e16, 1.5e-07, 123456789.125, 2.5e300, 5e-324])
        root.set_attribute("ints", [0, -1, 2**53 + 1, 2**63 - 1])
        root.set_attribute("none_value", None)
        root.set_attribute("empty", {"list": [], "dict": {}, "str": ""})
        root.set_attribute("plain_string", "just text")
        link = Link(trace_id="tr-0af7651916cd43dd8448eb211c80319c", span_id="00f067aa0ba902b7", attributes={"kind": "follows_from", "n": 1})
        with mlflow.start_span(name="leaf", span_type=SpanType.PARSER, attributes={"k": "v"}, links=[link]) as leaf:
            leaf.set_outputs("ok")
        root.set_outputs({"status": "done"})


def run_cases():
    cases = {}
    mlflow.set_experiment("golden")

    answer("What is MLflow tracing?")
    cases["nested"] = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    mlflow.log_feedback(trace_id=cases["nested"], name="relevance", value=0.9, rationale="on topic")
    mlflow.log_expectation(trace_id=cases["nested"], name="expected_answer", value={"answer": "42", "score": 1.0})

    try:
        root_with_error()
    except KeyError:
        pass
    cases["error"] = mlflow.get_last_active_trace_id()

    chat([{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "What is 2+2?"}])
    cases["chat_tools"] = mlflow.get_last_active_trace_id()

    custom_and_unicode()
    cases["custom_unicode"] = mlflow.get_last_active_trace_id()

    mlflow.flush_trace_async_logging()
    return cases


# ---------------------------------------------------------------- writers


def write_text(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def export_request(spans_proto):
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.CopyFrom(resource_to_otel_proto(Resource(RESOURCE_ATTRIBUTES)))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.spans.extend(spans_proto)
    return request


_HEX_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _ids_to_hex(node):
    if isinstance(node, dict):
        return {
            k: (base64.b64decode(v).hex() if k in _HEX_ID_KEYS and isinstance(v, str) else _ids_to_hex(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_hex(v) for v in node]
    return node


def otlp_json(request) -> str:
    """OTLP/JSON per the OTLP spec: protobuf JSON with camelCase names, enums as numbers, and
    trace/span ids as hex instead of base64."""
    as_dict = MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(_ids_to_hex(as_dict), indent=2)


def write_case(name: str, trace):
    case_dir = OUT / "mlflow" / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    write_text(case_dir / "trace.json", trace.to_json())
    write_text(case_dir / "trace.pretty.json", trace.to_json(pretty=True))
    write_text(case_dir / "trace_info.rest.json", message_to_json(trace.info.to_proto(), pretty=False))
    write_text(case_dir / "trace.rest.json", message_to_json(trace.to_proto(), pretty=False))
    protos = []
    for i, span in enumerate(trace.data.spans):
        write_text(case_dir / "spans" / f"{i:02}.json", json.dumps(span.to_dict(), ensure_ascii=False))
        proto = span.to_otel_proto()
        protos.append(proto)
        ingested = Span.from_otel_proto(proto)
        write_text(case_dir / "from_otlp" / f"{i:02}.json", json.dumps(ingested.to_dict(), ensure_ascii=False))
    request = export_request(protos)
    (case_dir / "otlp.pb").write_bytes(request.SerializeToString())
    write_text(case_dir / "otlp.json", otlp_json(request))


def write_foreign_otlp():
    """A span from a non-MLflow OTel SDK: no mlflow.* attributes, typed values, kind, a link."""
    case_dir = OUT / "mlflow" / "foreign_otlp"
    if case_dir.exists():
        shutil.rmtree(case_dir)
    proto = OTelProtoSpan()
    proto.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    proto.span_id = bytes.fromhex("eee19b7ec3c1b174")
    proto.parent_span_id = bytes.fromhex("eee19b7ec3c1b173")
    proto.name = "GET /users/{id}"
    proto.kind = OTelProtoSpan.SPAN_KIND_SERVER
    proto.start_time_unix_nano = 1544712660000000000
    proto.end_time_unix_nano = 1544712661000000000
    attrs = [
        ("http.method", {"string_value": "GET"}),
        ("http.status_code", {"int_value": 200}),
        ("sampling.ratio", {"double_value": 0.25}),
        ("retry", {"bool_value": False}),
        ("tags", {"array_value": {"values": [{"string_value": "a"}, {"int_value": 1}]}}),
        ("ctx", {"kvlist_value": {"values": [{"key": "user", "value": {"string_value": "ü"}}]}}),
        ("raw", {"bytes_value": b"\x00\x01'"}),
        ("unset", {}),
        ("input.value", {"string_value": '{"q": "hi"}'}),
    ]
    from google.protobuf.json_format import ParseDict

    for key, value in attrs:
        kv = proto.attributes.add()
        kv.key = key
        if "bytes_value" in value:
            kv.value.bytes_value = value["bytes_value"]
        elif value:
            ParseDict(value, kv.value)
    event = proto.events.add()
    event.name = "cache.miss"
    event.time_unix_nano = 1544712660500000000
    ev_attr = event.attributes.add()
    ev_attr.key = "cache.key"
    ev_attr.value.string_value = "user:42"
    link = proto.links.add()
    link.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    link.span_id = bytes.fromhex("00f067aa0ba902b7")
    link_attr = link.attributes.add()
    link_attr.key = "link.kind"
    link_attr.value.string_value = "follows_from"
    proto.status.code = 2
    proto.status.message = "upstream timeout"

    request = export_request([proto])
    (case_dir).mkdir(parents=True, exist_ok=True)
    (case_dir / "otlp.pb").write_bytes(request.SerializeToString())
    write_text(case_dir / "otlp.json", otlp_json(request))
    span = Span.from_otel_proto(proto)
    write_text(case_dir / "from_otlp" / "00.json", json.dumps(span.to_dict(), ensure_ascii=False))


# ---------------------------------------------------------------- pyjson corpus


def _random_string(rng):
    pools = [
        "abcxyz ",
        "\"\\/'",
        "\n\r\t\b\f\x00\x01\x1f\x7f",
        "éüñßøå",
        "日本語中文",
        "\u2028\u2029\ufeff",
        "😀🚀𝄞",
    ]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 12)))


def _random_float(rng):
    kind = rng.randint(0, 7)
    if kind == 0:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
    if kind == 1:
        return float(rng.randint(-(10**6), 10**6))
    if kind == 2:
        return 10.0 ** rng.randint(-8, 20)
    if kind == 3:
        return rng.choice([0.0, -0.0, 0.1, 0.2 + 0.1, 1e-4, 1e-5, 1e15, 1e16, 9999999999999998.0, 5e-324, 1.7976931348623157e308])
    if kind == 4:
        return rng.choice([math.nan, math.inf, -math.inf])
    if kind == 5:
        return round(rng.uniform(0, 1000), rng.randint(0, 6))
    if kind == 6:
        return struct_random_double(rng)
    return rng.uniform(-1e-3, 1e-3)


def struct_random_double(rng):
    import struct

    while True:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(value):
            return value


def _random_value(rng, depth=0):
    kind = rng.randint(0, 8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**63 - 1, 2**64 - 1, rng.randint(-(10**12), 10**12)])
    if kind == 3:
        return _random_float(rng)
    if kind in (4, 5):
        return _random_string(rng)
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_random_string(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def write_pyjson_corpus():
    rng = random.Random(20261121)
    lines = []
    for _ in range(2000):
        value = _random_value(rng)
        lines.append(
            json.dumps({
                "source": json.dumps(value),
                "unicode": json.dumps(value, ensure_ascii=False),
                "ascii": json.dumps(value),
                "compact": json.dumps(value, separators=(",", ":")),
                "pretty": json.dumps(value, indent=2),
            })
        )
    write_text(OUT / "pyjson" / "corpus.jsonl", "\n".join(lines) + "\n")


def main():
    try:
        cases = run_cases()
        for name, trace_id in cases.items():
            trace = mlflow.get_trace(trace_id)
            if trace is None:
                sys.exit(f"trace {name} ({trace_id}) was not stored")
            write_case(name, trace)
        write_foreign_otlp()
        write_pyjson_corpus()
        write_text(OUT / "mlflow" / "VERSION", f"mlflow {mlflow.__version__}\n")
        print(f"golden files written under {OUT} with mlflow {mlflow.__version__}")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
