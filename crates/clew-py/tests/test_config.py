"""Configuration: sampling, enable/disable, tracing.context(), trace tags and updates,
W3C propagation."""

from __future__ import annotations

import pytest

import clew


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


@clew.trace
def child(i):
    return i


@clew.trace
def root(n):
    return [child(i) for i in range(n)]


def test_sampling_rate_zero_records_nothing_and_children_follow_the_root():
    clew.tracing.configure(sampling_rate=0.0)
    before = clew.get_last_active_trace_id()
    for _ in range(20):
        assert root(3) == [0, 1, 2]
    with clew.start_span("sampled_out") as span:
        assert span.is_recording is False
        assert clew.get_current_active_span() is None
    assert clew.get_last_active_trace_id() == before
    assert clew.search_traces(return_type="list") == []


def test_sampling_rate_half_keeps_about_half_with_complete_trees():
    clew.tracing.configure(sampling_rate=0.5)
    for _ in range(400):
        root(2)
    traces = clew.search_traces(return_type="list")
    assert 120 <= len(traces) <= 280, len(traces)
    assert all(len(t.data.spans) == 3 for t in traces)


def test_configure_scope_restores_previous_settings():
    with clew.tracing.configure(sampling_rate=0.0):
        root(1)
    assert clew.search_traces(return_type="list") == []
    root(1)
    assert len(clew.search_traces(return_type="list")) == 1


def test_bad_sampling_rate_is_a_clear_error():
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        clew.tracing.configure(sampling_rate=1.5)


def test_context_puts_tags_and_metadata_on_traces_started_inside():
    def named(name):
        with clew.start_span(name):
            root(1)

    with clew.tracing.context(session_id="s-1", user="u-1", tags={"project": "p"}, metadata={"k": "v"}):
        named("first")
        with clew.tracing.context(tags={"inner": "yes"}):
            named("second")
    named("third")
    traces = {next(s.name for s in t.data.spans if s.parent_id is None): t
              for t in clew.search_traces(return_type="list")}
    assert set(traces) == {"first", "second", "third"}
    first, second, third = traces["first"], traces["second"], traces["third"]
    assert first.info.trace_metadata["mlflow.trace.session"] == "s-1"
    assert first.info.trace_metadata["mlflow.trace.user"] == "u-1"
    assert first.info.trace_metadata["k"] == "v"
    assert first.info.tags["project"] == "p" and "inner" not in first.info.tags
    assert second.info.tags["inner"] == "yes" and second.info.tags["project"] == "p"
    assert "project" not in third.info.tags and "mlflow.trace.session" not in third.info.trace_metadata


def test_context_enabled_false_records_nothing_inside():
    with clew.tracing.context(enabled=False):
        root(2)
    assert clew.search_traces(return_type="list") == []
    root(2)
    assert len(clew.search_traces(return_type="list")) == 1


def test_update_current_trace_and_trace_tags():
    with clew.start_span("chat") as span:
        clew.update_current_trace(tags={"env": "dev"}, metadata={"mlflow.trace.session": "abc"},
                                  client_request_id="req-1", request_preview="custom preview")
        clew.set_trace_tag(span.trace_id, "running", "yes")
        clew.set_trace_tag(span.trace_id, "gone", "x")
        clew.delete_trace_tag(span.trace_id, "gone")
    trace = clew.get_trace(span.trace_id)
    assert trace.info.tags["env"] == "dev" and trace.info.tags["running"] == "yes"
    assert "gone" not in trace.info.tags
    assert trace.info.trace_metadata["mlflow.trace.session"] == "abc"
    assert trace.info.client_request_id == "req-1"
    assert trace.info.request_preview == "custom preview"
    # After the trace ended, tags go to the store.
    clew.set_trace_tag(span.trace_id, "later", "1")
    assert clew.get_trace(span.trace_id).info.tags["later"] == "1"
    clew.delete_trace_tag(span.trace_id, "later")
    assert "later" not in clew.get_trace(span.trace_id).info.tags


def test_update_current_trace_without_a_span_only_warns(caplog):
    clew.update_current_trace(tags={"a": "b"})
    assert "no active span" in caplog.text


def test_propagation_headers_continue_the_trace():
    with clew.start_span("client_call") as client:
        headers = clew.tracing.get_tracing_context_headers_for_http_request()
    # Flags: sampled (plus W3C level 2's random-trace-id bit, which clew sets).
    assert headers["traceparent"].startswith(f"00-{client.trace_id[3:]}-{client.span_id}-0")
    assert int(headers["traceparent"][-2:], 16) & 1 == 1
    with clew.tracing.set_tracing_context_from_http_request_headers(headers):
        with clew.start_span("handle_request") as handler:
            assert handler.trace_id == client.trace_id
            assert handler.parent_id == client.span_id
    assert clew.get_current_active_span() is None
    clew.flush()
    trace = clew.get_trace(client.trace_id)
    assert {s.name for s in trace.data.spans} == {"client_call", "handle_request"}


def test_propagation_disabled_and_malformed_headers():
    clew.tracing.configure(disable_propagation=True)
    with clew.start_span("x"):
        assert clew.tracing.get_tracing_context_headers_for_http_request() == {}
    clew.tracing.configure(disable_propagation=False)
    with clew.tracing.set_tracing_context_from_http_request_headers({"traceparent": "garbage"}):
        with clew.start_span("fresh") as span:
            assert span.parent_id is None


def test_not_sampled_incoming_trace_records_nothing():
    headers = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}
    with clew.tracing.set_tracing_context_from_http_request_headers(headers):
        with clew.start_span("unsampled") as span:
            assert span.is_recording is False


def test_set_experiment_routes_new_traces():
    exp = clew.set_experiment("routing")
    assert clew.get_experiment_by_name("routing").experiment_id == exp.experiment_id
    assert clew.get_experiment_by_name("does-not-exist") is None
    root(1)
    trace = last_trace()
    assert trace.info.experiment_id == exp.experiment_id
    assert clew.search_traces(experiment_ids=["0"], return_type="list") == []
    assert len(clew.search_traces(experiment_ids=[exp.experiment_id], return_type="list")) == 1
