"""Logs one trace of N spans to an MLflow tracking server, for bench/ui_first_rows.mjs's
comparison with MLflow's own UI.

The spans go in over MLflow's OTLP endpoint (`/v1/traces`, header `x-mlflow-experiment-id`)
from the OpenTelemetry SDK: the mlflow client's own export is far too slow for this (~50 s for
1,000 spans in one trace here, and its async queue drops a 10,000-span trace whole). Each span
carries MLflow's attributes (`mlflow.spanType`, `mlflow.spanInputs`, `mlflow.spanOutputs`) so
the UI shows types and payloads as for a client-logged trace.

The shape follows `clew demo --giant N` in spirit (not span for span): a root AGENT span, then
CHAIN steps named step_1, step_2, ... (the UI timing waits for step_1's row) each with 3-20 CHAT_MODEL/TOOL children and now and then
a nested step (depth up to 8). Deterministic for a given N.

Usage: python bench/ui_mlflow_giant.py TRACKING_URL N
Prints one JSON line: {"trace_id", "experiment_id", "spans", "seconds"}.
"""

import json
import random
import sys
import time

import mlflow
from mlflow import MlflowClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    name = f"giant-{n}"
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)

    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"x-mlflow-experiment-id": experiment_id},
                                timeout=300)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=max(n + 10, 2048), max_export_batch_size=512,
                                                   schedule_delay_millis=200))
    tracer = provider.get_tracer("clew-ui-bench")
    rng = random.Random(n)
    count = 0
    steps = 0

    def span(name, kind, inputs, outputs=None):
        s = tracer.start_span(name)
        s.set_attribute("mlflow.spanType", json.dumps(kind))
        s.set_attribute("mlflow.spanInputs", json.dumps(inputs))
        if outputs is not None:
            s.set_attribute("mlflow.spanOutputs", json.dumps(outputs))
        return s

    from opentelemetry import trace as otel

    def step(depth):
        nonlocal count, steps
        count += 1
        steps += 1
        with otel.use_span(span(f"step_{steps}", "CHAIN", {"step": steps, "depth": depth}, {"done": True}),
                           end_on_exit=True):
            for _ in range(rng.randint(3, 20)):
                if count >= n:
                    return
                r = rng.random()
                if r < 0.08 and depth < 8:
                    step(depth + 1)
                    continue
                count += 1
                kind = "CHAT_MODEL" if r < 0.5 else "TOOL"
                child = span("chat_completion" if kind == "CHAT_MODEL" else "call_tool", kind, {"i": count}, {"ok": True})
                child.end()

    started = time.time()
    root = span("giant_agent_run", "AGENT", {"task": f"giant trace of {n} spans"}, {"done": True})
    with otel.use_span(root, end_on_exit=False):
        count = 1
        while count < n:
            step(1)
    root.end()
    provider.force_flush(timeout_millis=600_000)
    provider.shutdown()
    trace_id = "tr-" + format(root.get_span_context().trace_id, "032x")

    # Check that the server has the whole trace (a partial one would not be a fair test).
    stored = None
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            trace = client.get_trace(trace_id)
            stored = len(trace.data.spans) if trace is not None else None
            if stored is not None and stored >= count:
                break
        except Exception:
            pass
        time.sleep(2)
    if stored != count:
        sys.exit(f"the server holds {stored} of the {count} spans of {trace_id}")
    print(json.dumps({"trace_id": trace_id, "experiment_id": experiment_id, "spans": count,
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
