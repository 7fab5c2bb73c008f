"""Smaller parts of the API: autolog(), set_destination, tracking URIs, search options,
status shortcuts, the hybrid trace() form at top level, and tracing never raising."""

from __future__ import annotations

import pytest

import clew
from clew.entities import SpanStatus, SpanStatusCode, SpanType
from clew.tracing.destination import MlflowExperiment


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


def test_autolog_turns_on_every_installed_integration(monkeypatch):
    import importlib

    calls = []
    for name in ("openai", "anthropic", "langchain"):
        module = importlib.import_module(f"clew.{name}")
        monkeypatch.setattr(module, "autolog", lambda disable=False, _n=name, **kw: calls.append((_n, disable)))
    clew.autolog()
    assert ("openai", False) in calls and ("anthropic", False) in calls and ("langchain", False) in calls
    calls.clear()
    clew.autolog(disable=True)
    assert all(disabled for _, disabled in calls) and len(calls) >= 3


def test_instrument_names_call_the_integration(monkeypatch):
    import clew.openai as integration

    called = []
    monkeypatch.setattr(integration, "autolog", lambda *a, **k: called.append(True))
    clew.tracing.instrument_openai()
    assert called == [True]


def test_set_destination_to_an_experiment():
    exp = clew.set_experiment("destination-test")
    clew.set_experiment("other")
    clew.tracing.set_destination(MlflowExperiment(experiment_id=exp.experiment_id))
    with clew.start_span("routed"):
        pass
    assert last_trace().info.experiment_id == exp.experiment_id
    with pytest.raises(TypeError, match="tracking URI or MlflowExperiment"):
        clew.tracing.set_destination(object())


def test_tracking_uri_forms(tmp_path, store):
    assert clew.get_tracking_uri() == store
    path = tmp_path / "plain-path.db"
    clew.set_tracking_uri(str(path))
    assert clew.get_tracking_uri() == f"sqlite:///{path}"
    with clew.start_span("to_plain_path"):
        pass
    assert last_trace().data.spans[0].name == "to_plain_path"
    assert path.exists()
    clew.set_tracking_uri("memory:")
    with clew.start_span("in_memory"):
        pass
    assert last_trace().data.spans[0].name == "in_memory"


def test_search_by_run_id_and_list_return_type():
    with clew.start_span("with_run"):
        clew.update_current_trace(metadata={"mlflow.sourceRun": "run-123"})
    with clew.start_span("without_run"):
        pass
    found = clew.search_traces(run_id="run-123", return_type="list")
    assert [t.data.spans[0].name for t in found] == ["with_run"]
    with pytest.raises(ValueError, match="return_type"):
        clew.search_traces(return_type="csv")


def test_status_shortcuts_and_span_status_entity():
    assert SpanStatus(SpanStatusCode.ERROR, "x") == SpanStatus("ERROR", "x")
    assert SpanStatus("STATUS_CODE_OK").status_code == SpanStatusCode.OK
    with pytest.raises(ValueError, match="not a valid SpanStatusCode"):
        SpanStatus("MAYBE")
    with clew.start_span("cancelled") as span:
        span.set_status(SpanStatus(SpanStatus.CANCELLED))
    recorded = last_trace().data.spans[0]
    assert recorded.status.status_code == "ERROR" and recorded.status.description == "CANCELLED"


def test_top_level_trace_is_also_a_context_manager():
    with clew.trace("block", SpanType.TOOL, {"q": 1}) as span:
        clew.set_span_output("done")
    recorded = last_trace().data.spans[0]
    assert (recorded.name, recorded.span_type, recorded.inputs, recorded.outputs) == ("block", "TOOL", {"q": 1}, "done")
    assert span.trace_id == recorded.trace_id


def test_tracing_problems_never_raise_into_user_code():
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no str for you")

    @clew.trace
    def takes(x):
        return x

    problems_before = clew._core.export_stats()["python_tracing_problems"]
    value = Unprintable()
    assert takes(value) is value
    span = last_trace().data.spans[0]
    assert span.inputs == {"x": "<unserializable Unprintable>"}

    # Arguments that do not bind: the call raises its own TypeError; the span records it.
    with pytest.raises(TypeError):
        takes(1, 2)
    failed = last_trace().data.spans[0]
    assert failed.status.status_code == "ERROR" and failed.inputs is None
    # The inputs that could not be bound were counted (and logged once), not raised.
    assert clew._core.export_stats()["python_tracing_problems"] > problems_before

    cyclic = []
    cyclic.append(cyclic)
    assert takes(cyclic) is cyclic


def test_log_span_event_and_end_span_helpers():
    with clew.start_span("outer"):
        clew.log_span_event("checkpoint", {"step": 1}, timestamp=1_700_000_000_000_000_000)
        with clew.start_span("inner"):
            clew.end_span()
    trace = last_trace()
    outer = trace.search_spans(name="outer")[0]
    (event,) = outer.events
    assert (event.name, event.timestamp, event.attributes) == ("checkpoint", 1_700_000_000_000_000_000, {"step": 1})
    assert trace.search_spans(name="inner")[0].status.status_code == "OK"


def test_set_span_chat_tools_both_signatures():
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    with clew.start_span("explicit", span_type="CHAT_MODEL") as span:
        clew.tracing.set_span_chat_tools(span, tools)
    assert last_trace().data.spans[0].get_attribute("mlflow.chat.tools") == tools
    with clew.start_span("current"):
        clew.set_span_chat_tools(tools)
    assert last_trace().data.spans[0].get_attribute("mlflow.chat.tools") == tools
    with pytest.raises(TypeError):
        clew.set_span_chat_tools()
