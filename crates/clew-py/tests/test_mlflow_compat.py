"""Traces cross between clew and the real ``mlflow`` package: a clew trace's JSON is read by
``mlflow.entities.Trace.from_json`` and MLflow's (golden files written by mlflow 3.17.2 and
traces mlflow builds here) by ``clew.entities.Trace.from_json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import clew
from clew.entities import SpanEvent, Trace

GOLDEN = Path(__file__).resolve().parents[3] / "tests" / "golden" / "mlflow"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "trace.json").exists()) if GOLDEN.exists() else []


def make_clew_trace() -> Trace:
    @clew.trace(span_type="RETRIEVER")
    def retrieve(query, k=2):
        return [clew.entities.Document(page_content=f"doc {i}", metadata={"i": i}) for i in range(k)]

    @clew.trace(span_type="CHAIN", attributes={"pipeline": "rag"})
    def answer(question):
        docs = retrieve(question)
        with clew.start_span("format", span_type="PARSER") as span:
            span.set_inputs({"docs": len(docs)})
            span.add_event(SpanEvent("note", attributes={"é": "ü", "n": 1}))
            span.set_outputs("ok ✓")
        return {"answer": "42", "sources": len(docs)}

    answer("Qu'est-ce que MLflow ?")
    return clew.get_trace(clew.get_last_active_trace_id())


def test_clew_trace_is_read_by_mlflow():
    from mlflow.entities import Trace as MlflowTrace

    trace = make_clew_trace()
    theirs = MlflowTrace.from_json(trace.to_json())
    assert theirs.info.trace_id == trace.info.trace_id
    assert theirs.info.state.value == "OK"
    assert theirs.info.request_time == trace.info.request_time
    assert theirs.info.execution_duration == trace.info.execution_duration
    assert theirs.info.experiment_id == "0"
    ours_by_name = {s.name: s for s in trace.data.spans}
    assert {s.name for s in theirs.data.spans} == set(ours_by_name)
    for span in theirs.data.spans:
        mine = ours_by_name[span.name]
        assert span.span_id == mine.span_id
        assert span.parent_id == mine.parent_id
        assert span.trace_id == mine.trace_id
        assert span.inputs == mine.inputs
        assert span.outputs == mine.outputs
        assert span.span_type == mine.span_type
        assert span.status.status_code.value == mine.status.status_code.value
        assert span.start_time_ns == mine.start_time_ns and span.end_time_ns == mine.end_time_ns
    retriever = theirs.search_spans(span_type="RETRIEVER")[0]
    assert retriever.outputs[1] == {"page_content": "doc 1", "metadata": {"i": 1}, "id": None}
    fmt = theirs.search_spans(name="format")[0]
    assert fmt.events[0].attributes == {"é": "ü", "n": 1}
    # And MLflow writes back the same document.
    assert json.loads(theirs.to_json()) == json.loads(trace.to_json())


@pytest.mark.parametrize("case", CASES)
def test_mlflow_golden_trace_is_read_by_clew(case):
    text = (GOLDEN / case / "trace.json").read_text(encoding="utf-8")
    ours = Trace.from_json(text)
    # Written back identically: same keys, same order, same text.
    assert ours.to_json() == text
    from mlflow.entities import Trace as MlflowTrace

    theirs = MlflowTrace.from_json(text)
    assert ours.info.trace_id == theirs.info.trace_id
    assert ours.info.request_time == theirs.info.request_time
    assert ours.info.execution_duration == theirs.info.execution_duration
    assert ours.info.state.value == theirs.info.state.value
    assert ours.info.tags == theirs.info.tags
    assert ours.info.trace_metadata == theirs.info.trace_metadata
    for a, b in zip(ours.data.spans, theirs.data.spans):
        assert (a.name, a.span_id, a.parent_id, a.trace_id) == (b.name, b.span_id, b.parent_id, b.trace_id)
        assert a.inputs == b.inputs and a.outputs == b.outputs and a.span_type == b.span_type
        assert a.attributes == b.attributes
        assert a.status.status_code.value == b.status.status_code.value
        assert a.status.description == b.status.description
        assert [(e.name, e.timestamp, e.attributes) for e in a.events] == [
            (e.name, e.timestamp, e.attributes) for e in b.events
        ]
    pretty = GOLDEN / case / "trace.pretty.json"
    if pretty.exists():
        assert ours.to_json(pretty=True) == pretty.read_text(encoding="utf-8")


def test_trace_built_by_mlflow_in_process_is_read_by_clew():
    # mlflow's own span engine, kept in memory (no tracking server): its Trace.to_json().
    import mlflow
    from mlflow.tracing.trace_manager import InMemoryTraceManager

    mlflow.tracing.reset()
    with mlflow.start_span("mlflow_root", span_type="AGENT") as root:
        root.set_inputs({"x": [1, 2.5, None]})
        with mlflow.start_span("mlflow_child") as child:
            child.set_outputs({"ok": True})
        manager = InMemoryTraceManager.get_instance()
        with manager.get_trace(root.trace_id) as in_memory:
            in_progress_json = in_memory.to_mlflow_trace().to_json() if hasattr(in_memory, "to_mlflow_trace") else None
    if in_progress_json is None:
        pytest.skip("this mlflow version keeps no in-memory trace to serialise")
    ours = Trace.from_json(in_progress_json)
    names = {s.name for s in ours.data.spans}
    assert "mlflow_root" in names
    root_span = ours.search_spans(name="mlflow_root")[0]
    assert root_span.inputs == {"x": [1, 2.5, None]} and root_span.span_type == "AGENT"


def test_trace_from_json_rejects_bad_input_clearly():
    with pytest.raises(ValueError, match="not a trace JSON"):
        Trace.from_json("{not json")
    with pytest.raises(ValueError, match="'info' and 'data'"):
        Trace.from_json('{"info": {}}')
