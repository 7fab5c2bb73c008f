"""clew.openai.autolog() with the real ``openai`` client against the fake server."""

from __future__ import annotations

import json

import pytest

openai = pytest.importorskip("openai")

import clew  # noqa: E402
import scenarios as sc  # noqa: E402
from autolog_helpers import all_traces, last_spans, last_trace  # noqa: E402


@pytest.fixture(autouse=True)
def enabled():
    clew.openai.autolog()
    yield


def only_span() -> dict:
    spans = last_spans()
    assert len(spans) == 1, spans
    return spans[0]


def test_chat_completion_span_fields(server):
    response = sc.openai_chat(server)
    assert response.choices[0].message.content == "Echo: What is clew?"
    span = only_span()
    assert span["name"] == "Completions"
    assert span["span_type"] == "CHAT_MODEL"
    assert span["parent"] is None
    assert span["inputs"] == {"model": "gpt-4o-mini", "messages": sc.MESSAGES, "temperature": 0.5}
    assert span["outputs"]["id"] == "chatcmpl-fake-1"
    assert span["outputs"]["object"] == "chat.completion"
    assert span["outputs"]["choices"][0]["message"]["content"] == "Echo: What is clew?"
    assert span["outputs"] == response.model_dump()
    attrs = span["attributes"]
    assert attrs["model"] == "gpt-4o-mini"
    assert attrs["temperature"] == 0.5
    assert "messages" not in attrs
    assert attrs["mlflow.message.format"] == "openai"
    assert attrs["mlflow.llm.model"] == "gpt-4o-mini"
    # Word counts: 3 + 3 prompt words, 4 answer words.
    assert attrs["mlflow.chat.tokenUsage"] == {"input_tokens": 6, "output_tokens": 4, "total_tokens": 10}
    assert "mlflow.chat.tools" not in attrs
    assert span["events"] == []
    assert span["status"] == "OK"
    # The request reached the server unchanged.
    assert server.requests[-1]["body"]["messages"] == sc.MESSAGES


def test_chat_tools_are_recorded_and_tool_calls_returned(server):
    response = sc.openai_chat_tools(server)
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "search"
    span = only_span()
    assert span["attributes"]["mlflow.chat.tools"] == [sc.SEARCH_TOOL]
    assert span["attributes"]["tools"] == [sc.SEARCH_TOOL]
    message = span["outputs"]["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"] == {"name": "search", "arguments": json.dumps({"query": "What is clew?"})}
    assert span["outputs"]["choices"][0]["finish_reason"] == "tool_calls"


def test_async_chat(server):
    response = sc.openai_chat_async(server)
    span = only_span()
    assert span["name"] == "AsyncCompletions"
    assert span["span_type"] == "CHAT_MODEL"
    assert span["outputs"] == response.model_dump()
    assert span["attributes"]["mlflow.chat.tokenUsage"]["total_tokens"] == 10


def test_stream_chunks_become_events_and_output_is_rebuilt(server):
    chunks = sc.openai_chat_stream(server)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: What is clew?"
    span = only_span()
    events = span["events"]
    assert [e["name"] for e in events] == [f"mlflow.chunk.item.{i}" for i in range(len(chunks))]
    assert events[1]["attributes"]["mlflow.chunk.value"] == chunks[1].model_dump()
    out = span["outputs"]
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"] == {
        "content": "Echo: What is clew?",
        "refusal": None,
        "role": "assistant",
        "annotations": None,
        "audio": None,
        "function_call": None,
        "tool_calls": None,
    }
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["total_tokens"] == 10  # from the include_usage chunk
    assert span["attributes"]["mlflow.chat.tokenUsage"] == {"input_tokens": 6, "output_tokens": 4, "total_tokens": 10}
    assert span["attributes"]["stream"] is True


def test_async_stream(server):
    chunks = sc.openai_chat_stream_async(server)
    span = only_span()
    assert span["name"] == "AsyncCompletions"
    assert len(span["events"]) == len(chunks)
    assert span["outputs"]["choices"][0]["message"]["content"] == "Echo: What is clew?"
    assert "mlflow.chat.tokenUsage" not in span["attributes"]  # no usage chunk was asked for


def test_streamed_tool_calls_are_joined(server):
    sc.openai_chat_stream_tools(server)
    message = only_span()["outputs"]["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_fake_1", "type": "function", "function": {"name": "search", "arguments": json.dumps({"query": "What is clew?"})}}
    ]


def test_stream_stopped_early_still_ends_the_span(server):
    stream = sc.openai_client(server).chat.completions.create(model="gpt-4o-mini", messages=sc.MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    stream._iterator.close()  # what dropping the stream does when it is collected
    span = only_span()
    assert span["status"] == "OK"
    assert len(span["events"]) == 1


@pytest.mark.parametrize("status, exc_type", [(400, openai.BadRequestError), (500, openai.InternalServerError)])
def test_http_error_is_recorded_and_reraised(server, status, exc_type):
    with pytest.raises(exc_type) as info:
        sc.openai_client(server).chat.completions.create(model=f"fail-{status}", messages=sc.MESSAGES)
    assert info.value.status_code == status
    span = only_span()
    assert span["status"] == "ERROR"
    assert span["outputs"] is None
    assert span["events"] == [
        {
            "name": "exception",
            "attributes": {"exception.message": str(info.value), "exception.type": exc_type.__name__},
        }
    ]
    raw = last_trace().data.spans[0]
    assert "Traceback" in raw.events[0].attributes["exception.stacktrace"]
    assert raw.status.description.startswith(exc_type.__name__)


def test_error_in_the_middle_of_a_stream(server):
    with pytest.raises(openai.APIError, match="mid-stream"):
        sc.openai_chat_stream_error(server)
    span = only_span()
    assert span["status"] == "ERROR"
    assert [e["name"] for e in span["events"]] == ["mlflow.chunk.item.0", "exception"]
    assert span["events"][1]["attributes"]["exception.type"] == "APIError"


def test_responses_api(server):
    response = sc.openai_responses(server)
    span = only_span()
    assert span["name"] == "Responses"
    assert span["span_type"] == "CHAT_MODEL"
    assert span["inputs"] == {"model": "gpt-4o-mini", "input": "What is clew?", "instructions": "Be terse."}
    assert "input" not in span["attributes"]
    assert span["attributes"]["instructions"] == "Be terse."
    assert span["outputs"] == json.loads(json.dumps(response.model_dump()))
    assert span["attributes"]["mlflow.chat.tokenUsage"] == {
        "input_tokens": 5,
        "output_tokens": 4,
        "total_tokens": 9,
        "cache_read_input_tokens": 0,
    }


def test_responses_tools_include_built_in_tools(server):
    sc.openai_responses_tools(server)
    span = only_span()
    assert span["attributes"]["mlflow.chat.tools"] == [
        {"type": "function", "function": {k: v for k, v in sc.RESPONSES_SEARCH_TOOL.items() if k != "type"}},
        {"type": "function", "function": {"name": "web_search_preview"}},
    ]
    assert span["outputs"]["output"][0]["type"] == "function_call"


def test_responses_stream_output_is_the_completed_response(server):
    events = sc.openai_responses_stream(server)
    assert events[-1].type == "response.completed"
    span = only_span()
    assert len(span["events"]) == len(events)
    assert span["outputs"] == json.loads(json.dumps(events[-1].response.model_dump()))
    assert span["attributes"]["mlflow.chat.tokenUsage"]["total_tokens"] == 7


def test_async_responses_stream(server):
    sc.openai_responses_stream_async(server)
    span = only_span()
    assert span["name"] == "AsyncResponses"
    assert span["outputs"]["output"][0]["content"][0]["text"] == "Echo: What is clew?"


def test_embeddings(server):
    response = sc.openai_embeddings(server)
    span = only_span()
    assert span["name"] == "Embeddings"
    assert span["span_type"] == "EMBEDDING"
    assert span["inputs"] == {"model": "text-embedding-3-small", "input": ["hello world", "clew"]}
    assert span["outputs"]["data"][0]["embedding"] == response.data[0].embedding == [11.0, 2.0, 104.0]
    assert span["attributes"]["mlflow.llm.model"] == "text-embedding-3-small"
    assert "mlflow.message.format" not in span["attributes"]
    assert "mlflow.chat.tokenUsage" not in span["attributes"]  # as in MLflow


def test_async_embeddings(server):
    sc.openai_embeddings_async(server)
    span = only_span()
    assert span["name"] == "AsyncEmbeddings"
    assert span["span_type"] == "EMBEDDING"


def test_call_inside_a_user_span_is_a_child(server):
    with clew.start_span("agent") as parent:
        sc.openai_chat(server)
        sc.openai_embeddings(server)
    spans = last_spans()
    assert [s["name"] for s in spans] == ["agent", "Completions", "Embeddings"]
    assert [s["parent"] for s in spans] == [None, "agent", "agent"]
    assert last_trace().info.trace_id == parent.trace_id


def test_with_raw_response_records_the_parsed_body(server):
    raw = sc.openai_client(server).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=sc.MESSAGES)
    assert raw.http_response.status_code == 200
    span = only_span()
    assert span["outputs"]["choices"][0]["message"]["content"] == "Echo: What is clew?"


def test_disable_removes_the_patches(server):
    from openai.resources.chat.completions import Completions

    patched = Completions.create
    clew.openai.autolog(disable=True)
    assert Completions.create is not patched
    assert not hasattr(Completions.create, "__clew_autolog__")
    before = clew.get_last_active_trace_id()
    response = sc.openai_chat(server)
    assert response.choices[0].message.content == "Echo: What is clew?"
    assert clew.get_last_active_trace_id() == before
    assert all_traces() == []
    clew.openai.autolog()  # and back on
    sc.openai_chat(server)
    assert only_span()["name"] == "Completions"


def test_autolog_twice_records_one_span(server):
    clew.openai.autolog()
    sc.openai_chat(server)
    assert len(last_spans()) == 1


def test_log_traces_false_records_nothing(server):
    clew.openai.autolog(log_traces=False)
    sc.openai_chat(server)
    assert all_traces() == []


def test_seed_instrument_name(server):
    clew.openai.autolog(disable=True)
    clew.tracing.instrument_openai()
    sc.openai_chat(server)
    assert only_span()["name"] == "Completions"


def test_tracing_failure_does_not_break_the_call(server, monkeypatch, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="clew.autolog")

    def broken(*args, **kwargs):
        raise RuntimeError("tracing is broken")

    monkeypatch.setattr(clew, "start_span_no_context", broken)
    response = sc.openai_chat(server)
    assert response.choices[0].message.content == "Echo: What is clew?"
    chunks = sc.openai_chat_stream(server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: What is clew?"
    with pytest.raises(openai.BadRequestError):  # the provider's error still comes through unchanged
        sc.openai_chat_error(server)
    assert "tracing is broken" in caplog.text


def test_failure_while_finishing_does_not_break_the_call(server, monkeypatch):
    import clew.openai as integration

    def broken(*args, **kwargs):
        raise ValueError("odd response")

    monkeypatch.setattr(integration, "_set_result_attributes", broken)
    monkeypatch.setattr(integration, "_rebuild_chat_completion", broken)
    assert sc.openai_chat(server).choices[0].message.content == "Echo: What is clew?"
    assert only_span()["status"] == "OK"  # ended without the attributes
    chunks = sc.openai_chat_stream(server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: What is clew?"
    span = only_span()
    assert span["status"] == "OK"
    assert span["outputs"] is None
    assert len(span["events"]) == len(chunks)


def test_legacy_completion_is_an_llm_span(server):
    response = sc.openai_legacy_completion(server)
    span = only_span()
    assert (span["name"], span["span_type"]) == ("Completions", "LLM")
    assert span["inputs"] == {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "max_tokens": 8}
    assert span["attributes"]["prompt"] == "Say hi"  # only messages/input are kept out of attributes
    assert span["attributes"]["mlflow.message.format"] == "openai"
    assert span["outputs"]["choices"][0]["text"] == response.choices[0].text == " echo Say hi"
    assert "mlflow.chat.tokenUsage" not in span["attributes"]  # as in MLflow


def test_legacy_completion_stream_output_is_the_joined_text(server):
    chunks = sc.openai_legacy_completion_stream(server)
    span = only_span()
    assert span["outputs"] == "".join(c.choices[0].text for c in chunks) == " echo Say hi"
    assert len(span["events"]) == len(chunks)


def test_structured_output_parse(server):
    completion = sc.openai_chat_parse(server)
    assert completion.choices[0].message.parsed.answer == "Echo: What is clew?"
    span = only_span()
    assert span["span_type"] == "CHAT_MODEL"
    assert span["outputs"]["choices"][0]["message"]["parsed"] == {"answer": "Echo: What is clew?"}
    assert span["attributes"]["mlflow.chat.tokenUsage"]["total_tokens"] == 11


def test_concurrent_calls_from_threads_are_separate_traces(server):
    from concurrent.futures import ThreadPoolExecutor

    client = sc.openai_client(server)

    def call(i):
        return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}])

    with ThreadPoolExecutor(8) as pool:
        answers = [r.choices[0].message.content for r in pool.map(call, range(16))]
    assert answers == [f"Echo: q{i}" for i in range(16)]
    traces = all_traces()
    assert len(traces) == 16
    outputs = sorted(t.data.spans[0].outputs["choices"][0]["message"]["content"] for t in traces)
    assert outputs == sorted(answers)
    assert all(len(t.data.spans) == 1 for t in traces)


def test_concurrent_async_calls_inside_a_span_are_its_children(server):
    import asyncio

    async def run():
        client = sc.openai_client(server, is_async=True)
        with clew.start_span("fan-out"):
            await asyncio.gather(
                *(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}]) for i in range(5))
            )

    asyncio.run(run())
    spans = last_spans()
    assert [s["name"] for s in spans] == ["fan-out"] + ["AsyncCompletions"] * 5
    assert all(s["parent"] == "fan-out" for s in spans[1:])


def test_clew_autolog_turns_on_every_integration(server):
    clew.openai.autolog(disable=True)
    clew.autolog()
    sc.openai_chat(server)
    assert only_span()["name"] == "Completions"
    sc.anthropic_messages(server)
    assert only_span()["name"] == "Messages.create"
    clew.autolog(disable=True)
    from anthropic.resources import Messages
    from openai.resources.chat.completions import Completions

    assert not hasattr(Completions.create, "__clew_autolog__")
    assert not hasattr(Messages.create, "__clew_autolog__")


def _traceparent_ids(span_obj) -> tuple[str, str]:
    return span_obj.trace_id.removeprefix("tr-"), span_obj.span_id


def test_trace_context_is_sent_to_the_provider(server):
    sc.openai_chat(server)
    header = server.requests[-1]["headers"].get("traceparent")
    span = last_trace().data.spans[0]
    trace_hex, span_id = _traceparent_ids(span)
    assert header is not None and header.startswith(f"00-{trace_hex}-{span_id}-")
    assert "extra_headers" not in span.inputs  # transport, not input
    # The user's own header wins.
    sc.openai_client(server).chat.completions.create(
        model="gpt-4o-mini", messages=sc.MESSAGES, extra_headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    )
    assert server.requests[-1]["headers"]["traceparent"] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"


def test_no_trace_context_when_propagation_is_disabled(server):
    clew.tracing.configure(disable_propagation=True)
    try:
        sc.openai_chat(server)
        assert "traceparent" not in server.requests[-1]["headers"]
    finally:
        clew.tracing.configure(disable_propagation=False)


def test_a_repeated_tracing_failure_warns_once(server, monkeypatch, caplog):
    import logging

    def broken(*args, **kwargs):
        raise KeyError("always broken")

    monkeypatch.setattr(clew, "start_span_no_context", broken)
    with caplog.at_level(logging.DEBUG, logger="clew.autolog"):
        for _ in range(3):
            sc.openai_embeddings(server)
    records = [r for r in caplog.records if "always broken" in r.getMessage()]
    assert len(records) == 3
    assert [r.levelno for r in records].count(logging.WARNING) <= 1
    assert records[-1].levelno == logging.DEBUG


def test_image_generation_is_a_tool_span(server):
    result = sc.openai_image(server)
    span = only_span()
    assert (span["name"], span["span_type"]) == ("Images", "TOOL")
    assert span["inputs"] == {"model": "dall-e-3", "prompt": "a ball of yarn", "n": 1}
    assert span["outputs"]["data"][0]["url"] == result.data[0].url
    assert span["attributes"]["mlflow.llm.model"] == "dall-e-3"
    assert "mlflow.message.format" not in span["attributes"]
