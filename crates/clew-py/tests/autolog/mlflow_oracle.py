"""Record what MLflow's own autolog records for each oracle scenario.

Run in a separate process (``python mlflow_oracle.py OUT.json``) so that
MLflow's patches never meet clew's. Writes ``{scenario: [span summary, ...]}``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(out_path: str, names: list[str]) -> None:
    tmp = tempfile.mkdtemp(prefix="clew-mlflow-oracle-")
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tmp}/mlflow.db")
    import mlflow

    from fake_providers import FakeProviderServer
    from lc_scenarios import LC_ORACLE_SCENARIOS, LC_SCENARIOS
    from scenarios import ORACLE_SCENARIOS, SCENARIOS
    from span_summary import summarize_trace

    mlflow.openai.autolog()
    mlflow.anthropic.autolog()
    mlflow.langchain.autolog()
    scenarios = {**SCENARIOS, **LC_SCENARIOS}
    results = {}
    with FakeProviderServer() as server:
        last_id = None
        for name in names or ORACLE_SCENARIOS + LC_ORACLE_SCENARIOS:
            started = time.time()
            try:
                scenarios[name](server)
            except Exception:
                pass  # error scenarios raise on purpose; the span is what matters
            mlflow.flush_trace_async_logging()
            trace_id = mlflow.get_last_active_trace_id()
            # A scenario that records nothing must not inherit the previous trace.
            results[name] = summarize_trace(mlflow.get_trace(trace_id)) if trace_id != last_id else None
            last_id = trace_id
            print(f"{name}: {time.time() - started:.2f}s", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
