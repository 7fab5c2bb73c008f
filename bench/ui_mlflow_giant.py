"""Logs one trace of N spans to an MLflow tracking server with the unmodified mlflow client,
for bench/ui_first_rows.mjs's comparison with MLflow's own UI.

The shape follows `clew demo --giant N` in spirit (not span for span): a root AGENT span, then
CHAIN steps named step_1, step_2, ... each with 3-20 CHAT_MODEL/TOOL children and now and
then a nested step (depth up to 8). Deterministic for a given N.

Usage: python bench/ui_mlflow_giant.py TRACKING_URL N
Prints one JSON line: {"trace_id", "experiment_id", "spans", "seconds"}.
"""

import json
import random
import sys
import time

import mlflow


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    mlflow.set_tracking_uri(url)
    experiment = mlflow.set_experiment(f"giant-{n}")
    rng = random.Random(n)
    count = 0

    def step(depth):
        nonlocal count
        count += 1
        with mlflow.start_span(f"step_{count}", span_type="CHAIN") as span:
            span.set_inputs({"step": count, "depth": depth})
            for _ in range(rng.randint(3, 20)):
                if count >= n:
                    return
                r = rng.random()
                if r < 0.08 and depth < 8:
                    step(depth + 1)
                    continue
                count += 1
                kind = "CHAT_MODEL" if r < 0.5 else "TOOL"
                name = "chat_completion" if kind == "CHAT_MODEL" else "call_tool"
                with mlflow.start_span(name, span_type=kind) as child:
                    child.set_inputs({"i": count})
                    child.set_outputs({"ok": True})

    started = time.time()
    with mlflow.start_span("giant_agent_run", span_type="AGENT") as root:
        root.set_inputs({"task": f"giant trace of {n} spans"})
        count = 1
        while count < n:
            step(1)
        trace_id = root.trace_id
    mlflow.flush_trace_async_logging()
    # The client exports in the background; wait until the server has the whole trace.
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            trace = mlflow.get_trace(trace_id)
            if trace is not None and len(trace.data.spans) >= count:
                break
        except Exception:
            pass
        time.sleep(1)
    print(json.dumps({"trace_id": trace_id, "experiment_id": experiment.experiment_id, "spans": count,
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
