"""Export to the local SQLite store (read back through clew, pandas, the Rust CLI and the
store file) and to a running ``clew server`` (read back through clew and the mlflow client)."""

from __future__ import annotations

import json
import subprocess

import clew
from clew_test_support import clew_binary, sqlite_in_subprocess


@clew.trace(span_type="CHAIN")
def pipeline(question, n=2):
    return {"answer": question.upper(), "steps": [step(i) for i in range(n)]}


@clew.trace
def step(i):
    return i + 1


def test_local_store_round_trip_through_get_and_search(store):
    pipeline("hello")
    trace_id = clew.get_last_active_trace_id()
    trace = clew.get_trace(trace_id)
    assert trace.info.state == "OK"
    assert json.loads(trace.info.request_preview) == {"question": "hello", "n": 2}
    assert len(trace.data.spans) == 3
    df = clew.search_traces()
    assert list(df.columns) == [
        "trace_id", "trace", "client_request_id", "state", "request_time", "execution_duration",
        "request", "response", "trace_metadata", "tags", "spans", "assessments",
    ]
    assert df.loc[0, "trace_id"] == trace_id
    assert df.loc[0, "request"] == {"question": "hello", "n": 2}
    assert df.loc[0, "response"] == {"answer": "HELLO", "steps": [1, 2]}
    assert len(df.loc[0, "spans"]) == 3
    fields = clew.search_traces(extract_fields=["step.inputs.i", "pipeline.outputs"])
    assert fields.loc[0, "step.inputs.i"] in (0, 1)
    assert fields.loc[0, "pipeline.outputs"]["answer"] == "HELLO"


def test_search_filter_order_and_max_results():
    import time

    for q in ("a", "b", "c"):
        with clew.start_span(f"q_{q}") as span:
            span.set_inputs(q)
        clew.set_trace_tag(span.trace_id, "letter", q)
        time.sleep(0.005)  # distinct request times (ms), so the order below is defined
    only_b = clew.search_traces(filter_string="tags.letter = 'b'", return_type="list")
    assert [t.data.spans[0].name for t in only_b] == ["q_b"]
    by_name = clew.search_traces(filter_string="trace.name = 'q_c'", return_type="list")
    assert [t.info.tags["letter"] for t in by_name] == ["c"]
    two = clew.search_traces(max_results=2, order_by=["timestamp_ms ASC"], return_type="list")
    assert [t.data.spans[0].name for t in two] == ["q_a", "q_b"]
    import pytest

    with pytest.raises(Exception, match="(?i)filter|invalid|parse"):
        clew.search_traces(filter_string="tags.letter ===== 'b'", return_type="list")


def test_trace_written_by_python_is_read_by_the_rust_store(store):
    pipeline("rust")
    trace_id = clew.get_last_active_trace_id()
    clew.flush()
    out = subprocess.run(
        [str(clew_binary()), "traces", "get", trace_id, "--store", store, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    doc = json.loads(out)
    info = doc.get("info", doc)
    assert info["trace_id"] == trace_id
    names = sorted(s["name"] for s in doc["data"]["spans"])
    assert names == ["pipeline", "step", "step"]
    # And the trace row is in the store file.
    path = store[len("sqlite:///"):]
    [(count,)] = sqlite_in_subprocess(path, "SELECT COUNT(*) FROM traces WHERE trace_id = ?", (trace_id,))
    assert count == 1


def test_burst_of_ten_thousand_traces_loses_none(store):
    before = clew.search_traces(return_type="list")
    assert before == []

    @clew.trace
    def tiny(x):
        return x

    for i in range(10_000):
        tiny(i)
    assert clew.flush(120)
    path = store[len("sqlite:///"):]
    [(count,)] = sqlite_in_subprocess(path, "SELECT COUNT(*) FROM traces")
    assert count == 10_000


def test_export_to_clew_server(clew_server):
    url, _db = clew_server
    clew.set_tracking_uri(url)
    exp = clew.set_experiment("python-to-server")
    pipeline("server")
    trace_id = clew.get_last_active_trace_id()
    trace = clew.get_trace(trace_id)
    assert trace is not None
    assert trace.info.experiment_id == exp.experiment_id
    assert sorted(s.name for s in trace.data.spans) == ["pipeline", "step", "step"]
    root = trace.search_spans(name="pipeline")[0]
    assert root.outputs == {"answer": "SERVER", "steps": [1, 2]}
    found = clew.search_traces(experiment_ids=[exp.experiment_id], return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]

    # The real mlflow client reads the same trace from the server.
    from mlflow import MlflowClient

    theirs = MlflowClient(tracking_uri=url).get_trace(trace_id)
    assert theirs.info.trace_id == trace_id
    assert {s.name for s in theirs.data.spans} == {"pipeline", "step"}
    assert theirs.search_spans(name="pipeline")[0].outputs == {"answer": "SERVER", "steps": [1, 2]}
