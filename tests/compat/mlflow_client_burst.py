"""A burst of traces through the unmodified `mlflow` client with its default (async) export, then
a count of how many a tracking server kept (MLFLOW_TRACKING_URI).

MLflow's client drops spans and traces silently when its export queues overflow, which happens
when the server drains them too slowly (mlflow-wire-observed.md §2: 93% lost against MLflow's own
server at ~400 traces/s). This script logs N five-span traces as fast as the client allows,
flushes, and counts the traces that landed complete (state OK, all five spans readable).

The client's drops happen in the client (a full queue discards the task) whatever the server,
when the client cannot send as fast as the application logs; with a 2-core machine the client's
own CPU (one GIL for the app and the ten export threads) is often the limit. `--client-queue N`
raises MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE (a documented client setting) so the client keeps
everything and the count measures the server alone: then every trace must land complete.
`client_dropped_tasks` counts export tasks the client discarded (observed, not changed).

Usage: mlflow_client_burst.py [--traces N] [--client-queue N] [--report-only]
Prints one line `BURST_RESULT {json}`. Exits 1 if the client dropped nothing and not every trace
landed complete, unless --report-only (used by the benchmark to record
MLflow's own server).
"""

import argparse
import json
import os
import time
import uuid

import mlflow
from mlflow import MlflowClient

parser = argparse.ArgumentParser()
parser.add_argument("--traces", type=int, default=2000)
parser.add_argument("--report-only", action="store_true")
parser.add_argument("--count-timeout", type=float, default=120.0, help="seconds to wait for the count to settle")
parser.add_argument("--client-queue", type=int, help="MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE (default 1000)")
args = parser.parse_args()
if args.client_queue:
    os.environ["MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"] = str(args.client_queue)

# Count the export tasks the client discards (its put() drops a task when the queue is full).
# Observation only: the original put() runs unchanged.
from mlflow.tracing.export import async_export_queue as _aeq  # noqa: E402

_dropped = [0]
_original_put = _aeq.AsyncTraceExportQueue.put


def _counting_put(self, task):
    if self.is_active() and self._queue.full():
        _dropped[0] += 1
    return _original_put(self, task)


_aeq.AsyncTraceExportQueue.put = _counting_put

# The OpenTelemetry batch processor in front of it (2,048 spans) drops the oldest span when full.
try:
    from opentelemetry.sdk import _shared_internal as _otel_batch

    _dropped_spans = [0]
    _original_emit = _otel_batch.BatchProcessor.emit

    def _counting_emit(self, data):
        if not self._shutdown and len(self._queue) == self._max_queue_size:
            _dropped_spans[0] += 1
        return _original_emit(self, data)

    _otel_batch.BatchProcessor.emit = _counting_emit
except (ImportError, AttributeError):  # another OTel SDK version: not counted
    _dropped_spans = [None]

mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
client = MlflowClient()
experiment_id = mlflow.set_experiment(f"compat-burst-{uuid.uuid4().hex[:8]}").experiment_id


@mlflow.trace(span_type="TOOL")
def step(i, k):
    return {"i": i, "k": k, "text": "lorem ipsum " * 4}


@mlflow.trace(name="burst_root", span_type="CHAIN")
def work(i):
    return [step(i, k) for k in range(4)]


started = time.perf_counter()
for i in range(args.traces):
    work(i)
produced_s = time.perf_counter() - started
mlflow.flush_trace_async_logging()
flushed_s = time.perf_counter() - started


def count():
    """(traces found, of them OK, of them with all five spans) by paging the search API."""
    found = ok = complete = 0
    token = None
    for _ in range(args.traces // 100 + 10):  # bounded
        page = client.search_traces(
            locations=[experiment_id], max_results=100, page_token=token, include_spans=True
        )
        for trace in page:
            found += 1
            ok += trace.info.state.value == "OK"
            complete += trace.info.state.value == "OK" and len(trace.data.spans) == 5
        token = page.token
        if not token:
            break
    return found, ok, complete


# The client flushed its queues; a server that acks before committing could still be writing.
deadline = time.time() + args.count_timeout
found, ok, complete = count()
while complete < args.traces and time.time() < deadline:
    time.sleep(2)
    again = count()
    if again == (found, ok, complete):
        break
    found, ok, complete = again

result = {
    "traces_sent": args.traces,
    "spans_per_trace": 5,
    "traces_found": found,
    "traces_ok": ok,
    "traces_complete": complete,
    "fraction_complete": complete / args.traces,
    "produce_s": round(produced_s, 3),
    "produce_and_flush_s": round(flushed_s, 3),
    "traces_per_s_to_durable": round(args.traces / flushed_s, 1),
    "client_queue": args.client_queue or 1000,
    "client_dropped_tasks": _dropped[0],
    "client_dropped_spans": _dropped_spans[0],
}
print("BURST_RESULT " + json.dumps(result), flush=True)
if not args.report_only:
    # A dropped span or span batch leaves its trace partial or absent on any server, so all
    # traces must land complete only when the client dropped nothing.
    client_drops = _dropped[0] + (_dropped_spans[0] or 0)
    if client_drops == 0 and complete != args.traces:
        print(f"FAIL: the client dropped nothing, yet {args.traces - complete} of {args.traces} traces did not land complete", flush=True)
        raise SystemExit(1)
    if client_drops > 0:
        print(f"NOTE: the client discarded {_dropped[0]} export tasks and {_dropped_spans[0]} spans "
              "(its queues were full); "
              f"{complete} of {args.traces} traces landed", flush=True)
