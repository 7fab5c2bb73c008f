"""The OpenTelemetry Python SDK's OTLP/HTTP exporter against a tracking server's /v1/traces.

Sends a trace of spans with GenAI semantic-convention attributes (an agent, a chat model call,
a tool call, a failing step) with the header `x-mlflow-experiment-id`, once plain and once
gzip-compressed, then reads it back with the unmodified `mlflow` client: span types, token
usage, model, inputs/outputs, events, status, parent/child. Exits 1 listing every mismatch.

Run against the real `mlflow server` too: the script is meant to pass there as well.
"""

import json
import os
import time
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import SpanStatusCode, SpanType
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from compat_check import check, equal, finish, section

URL = os.environ["MLFLOW_TRACKING_URI"]
mlflow.set_tracking_uri(URL)
client = MlflowClient()

INPUT_MESSAGES = [
    {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
]
OUTPUT_MESSAGES = [
    {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Sunny, 21 C."}],
        "finish_reason": "stop",
    }
]
TOOL_ARGS = {"city": "Paris"}
TOOL_RESULT = {"temp_c": 21, "sky": "sunny"}


class RecordingExporter(SpanExporter):
    """The real OTLPSpanExporter, with every export result kept (the SDK only logs failures)."""

    def __init__(self, inner):
        self.inner = inner
        self.results = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def send_trace(experiment_id, compression, label):
    """One four-span trace through a fresh provider; returns (trace id as tr-hex, export results)."""
    exporter = RecordingExporter(
        OTLPSpanExporter(
            endpoint=f"{URL}/v1/traces",
            headers={"x-mlflow-experiment-id": experiment_id},
            compression=compression,
            timeout=30,
        )
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "compat-otel", "compat.label": label}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("compat.genai", "1.0")

    with tracer.start_as_current_span("invoke_agent weather-agent") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "weather-agent")
        root.set_attribute("compat.label", label)
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.provider.name", "openai")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.request.temperature", 0.2)
            chat.set_attribute("gen_ai.usage.input_tokens", 12)
            chat.set_attribute("gen_ai.usage.output_tokens", 7)
            chat.set_attribute("gen_ai.input.messages", json.dumps(INPUT_MESSAGES))
            chat.set_attribute("gen_ai.output.messages", json.dumps(OUTPUT_MESSAGES))
            chat.add_event("first_token", {"gen_ai.token.index": 0, "latency_ms": 41.5})
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "get_weather")
            tool.set_attribute("gen_ai.tool.call.arguments", json.dumps(TOOL_ARGS))
            tool.set_attribute("gen_ai.tool.call.result", json.dumps(TOOL_RESULT))
        with tracer.start_as_current_span("validate") as step:
            try:
                raise RuntimeError("validation failed")
            except RuntimeError as error:
                step.record_exception(error)
                step.set_status(Status(StatusCode.ERROR, "RuntimeError: validation failed"))
        root.set_status(Status(StatusCode.OK))
        trace_id = "tr-" + format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id, exporter.results


with section("setup"):
    experiment_name = f"compat-otel-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(experiment_name)
    check(bool(experiment_id), "create_experiment returns an id", experiment_id)

sent = {}
for compression, label in ((Compression.NoCompression, "plain"), (Compression.Gzip, "gzip")):
    with section(f"export ({label})"):
        trace_id, results = send_trace(experiment_id, compression, label)
        equal(results, [SpanExportResult.SUCCESS] * 4, "every OTLP export succeeded")
        sent[label] = trace_id


def read_trace(trace_id):
    """The trace through the mlflow client; OTLP ingest is durable on ack, so no waiting is
    needed, but allow a short grace in case a server commits after answering."""
    deadline = time.time() + 5
    while True:
        trace = mlflow.get_trace(trace_id, silent=True)
        if (trace is not None and len(trace.data.spans) == 4) or time.time() > deadline:
            return trace
        time.sleep(0.2)


for label, trace_id in sent.items():
    with section(f"read back ({label})"):
        trace = read_trace(trace_id)
        check(trace is not None, "mlflow.get_trace finds the OTLP trace", trace_id)
        equal(trace.info.trace_id, trace_id, "trace id is tr-<OTel hex trace id>")
        equal(str(trace.info.experiment_id), str(experiment_id), "experiment from x-mlflow-experiment-id")
        equal(trace.info.state.value, "OK", "trace state from the root's status")
        spans = {s.name: s for s in trace.data.spans}
        equal(
            sorted(spans),
            ["chat gpt-4o-mini", "execute_tool get_weather", "invoke_agent weather-agent", "validate"],
            "span names",
        )
        root = spans["invoke_agent weather-agent"]
        chat = spans["chat gpt-4o-mini"]
        tool = spans["execute_tool get_weather"]
        step = spans["validate"]
        equal(root.parent_id, None, "root has no parent")
        for child in (chat, tool, step):
            equal(child.parent_id, root.span_id, f"{child.name} is a child of the root")

        equal(root.span_type, SpanType.AGENT, "invoke_agent span type")
        equal(chat.span_type, SpanType.CHAT_MODEL, "chat span type")
        equal(tool.span_type, SpanType.TOOL, "execute_tool span type")

        usage = chat.get_attribute("mlflow.chat.tokenUsage")
        equal(usage, {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}, "chat token usage")
        equal(chat.get_attribute("mlflow.llm.model"), "gpt-4o-mini", "chat model (mlflow.llm.model)")
        equal(chat.get_attribute("gen_ai.request.model"), "gpt-4o-mini", "original gen_ai attribute kept")
        equal(chat.get_attribute("gen_ai.request.temperature"), 0.2, "double attribute kept")
        equal(chat.inputs, INPUT_MESSAGES, "chat inputs from gen_ai.input.messages")
        equal(chat.outputs, OUTPUT_MESSAGES, "chat outputs from gen_ai.output.messages")
        equal(
            [(e.name, e.attributes) for e in chat.events],
            [("first_token", {"gen_ai.token.index": 0, "latency_ms": 41.5})],
            "chat event",
        )
        equal(tool.inputs, TOOL_ARGS, "tool inputs from gen_ai.tool.call.arguments")
        equal(tool.outputs, TOOL_RESULT, "tool outputs from gen_ai.tool.call.result")

        equal(step.status.status_code, SpanStatusCode.ERROR, "failed step status")
        equal(step.status.description, "RuntimeError: validation failed", "failed step status message")
        exception = [e for e in step.events if e.name == "exception"]
        check(len(exception) == 1, "failed step has an exception event", [e.name for e in step.events])
        if exception:
            equal(exception[0].attributes.get("exception.type"), "RuntimeError", "exception.type")
            equal(exception[0].attributes.get("exception.message"), "validation failed", "exception.message")
        for span in (root, chat, tool):
            check(span.status.status_code in (SpanStatusCode.OK, SpanStatusCode.UNSET), f"{span.name} not failed", span.status)
        check(root.start_time_ns <= chat.start_time_ns <= chat.end_time_ns <= root.end_time_ns, "times nest")

with section("search over OTLP traces"):
    found = mlflow.search_traces(locations=[experiment_id], return_type="list")
    equal(sorted(t.info.trace_id for t in found), sorted(sent.values()), "both traces found")
    # MLflow 3.17.2's own server fails this one: it stores the span type column before
    # translating GenAI attributes (it derives CHAT_MODEL only when loading a span), so span.type
    # filters miss OTLP spans there. clew translates at ingest, so the filter works.
    chat_traces = mlflow.search_traces(
        locations=[experiment_id], filter_string="span.type = 'CHAT_MODEL'", return_type="list", include_spans=False
    )
    equal(sorted(t.info.trace_id for t in chat_traces), sorted(sent.values()), "span.type = 'CHAT_MODEL'")
    named = mlflow.search_traces(
        locations=[experiment_id], filter_string="span.name = 'execute_tool get_weather'", return_type="list", include_spans=False
    )
    equal(len(named), 2, "span.name filter over OTLP spans")

finish()
