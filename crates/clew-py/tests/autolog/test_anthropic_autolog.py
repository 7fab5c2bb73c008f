"""clew.anthropic.autolog() with the real ``anthropic`` client against the fake server."""

from __future__ import annotations

import pytest

anthropic = pytest.importorskip("anthropic")

import clew  # noqa: E402
import scenarios as sc  # noqa: E402
from autolog_helpers import all_traces, last_spans  # noqa: E402

CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web",
        "parameters": sc.ANTHROPIC_SEARCH_TOOL["input_schema"],
    },
}


@pytest.fixture(autouse=True)
def enabled():
    clew.anthropic.autolog()
    yield


def only_span() -> dict:
    spans = last_spans()
    assert len(spans) == 1, spans
    return spans[0]


def test_message_span_fields(server):
    message = sc.anthropic_messages(server)
    assert message.content[0].text == "Echo: What is clew?"
    span = only_span()
    assert span["name"] == "Messages.create"
    assert span["span_type"] == "CHAT_MODEL"
    assert span["inputs"] == {
        "max_tokens": 64,
        "messages": sc.ANTHROPIC_MESSAGES,
        "model": "claude-fake-1",
        "stop_sequences": ["END"],
        "system": "Be terse.",
    }
    assert span["outputs"] == message.model_dump()
    assert span["attributes"] == {
        "mlflow.message.format": "anthropic",
        "mlflow.llm.model": "claude-fake-1",
        "mlflow.llm.provider": "anthropic",
        # 3 message words + 2 system words in, 4 words out.
        "mlflow.chat.tokenUsage": {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9},
    }
    assert span["events"] == []
    assert span["status"] == "OK"


def test_tools(server):
    message = sc.anthropic_messages_tools(server)
    assert message.stop_reason == "tool_use"
    span = only_span()
    assert span["attributes"]["mlflow.chat.tools"] == [CHAT_TOOL]
    block = span["outputs"]["content"][0]
    assert (block["type"], block["name"], block["input"]) == ("tool_use", "search", {"query": "What is clew?"})


def test_async(server):
    message = sc.anthropic_messages_async(server)
    span = only_span()
    assert span["name"] == "AsyncMessages.create"
    assert span["outputs"] == message.model_dump()
    assert span["attributes"]["mlflow.chat.tokenUsage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


def test_cache_tokens_count_as_input():
    from anthropic.types import Message

    from clew.anthropic import usage_of

    message = Message.model_validate(
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "x",
            "content": [],
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20},
        }
    )
    assert usage_of(message) == {
        "input_tokens": 130,
        "output_tokens": 5,
        "total_tokens": 135,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
    }


def test_stream_events_and_rebuilt_message(server):
    events = sc.anthropic_messages_stream(server)
    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    span = only_span()
    assert [e["name"] for e in span["events"]] == [f"mlflow.chunk.item.{i}" for i in range(len(events))]
    assert span["events"][0]["attributes"]["mlflow.chunk.value"]["type"] == "message_start"
    out = span["outputs"]
    assert out["content"] == [{"type": "text", "text": "Echo: What is clew?", "citations": None}]
    assert out["stop_reason"] == "end_turn"
    assert out["id"] == "msg_fake_1"
    # The same Message the non-streaming call returns.
    assert out == sc.anthropic_client(server).messages.create(
        model="claude-fake-1", max_tokens=64, messages=sc.ANTHROPIC_MESSAGES
    ).model_dump()
    assert span["attributes"]["mlflow.chat.tokenUsage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


def test_stream_tool_use_input_is_parsed(server):
    sc.anthropic_messages_stream_tools(server)
    span = only_span()
    block = span["outputs"]["content"][0]
    assert (block["type"], block["id"], block["input"]) == ("tool_use", "toolu_fake_1", {"query": "What is clew?"})
    assert span["outputs"]["stop_reason"] == "tool_use"
    assert span["attributes"]["mlflow.chat.tools"] == [CHAT_TOOL]


def test_async_stream(server):
    sc.anthropic_messages_stream_async(server)
    span = only_span()
    assert span["name"] == "AsyncMessages.create"
    assert span["outputs"]["content"][0]["text"] == "Echo: What is clew?"


@pytest.mark.parametrize("status, exc_type", [(400, anthropic.BadRequestError), (500, anthropic.InternalServerError)])
def test_http_error_is_recorded_and_reraised(server, status, exc_type):
    with pytest.raises(exc_type) as info:
        sc.anthropic_client(server).messages.create(model=f"fail-{status}", max_tokens=8, messages=sc.ANTHROPIC_MESSAGES)
    span = only_span()
    assert span["status"] == "ERROR"
    assert span["outputs"] is None
    assert span["events"] == [
        {"name": "exception", "attributes": {"exception.message": str(info.value), "exception.type": exc_type.__name__}}
    ]
    assert span["attributes"]["mlflow.llm.model"] == f"fail-{status}"


def test_error_in_the_middle_of_a_stream(server):
    with pytest.raises(anthropic.APIStatusError, match="mid-stream"):
        sc.anthropic_messages_stream_error(server)
    span = only_span()
    assert span["status"] == "ERROR"
    assert [e["name"] for e in span["events"]] == ["mlflow.chunk.item.0", "exception"]


def test_nested_in_user_span(server):
    with clew.start_span("agent"):
        sc.anthropic_messages(server)
    spans = last_spans()
    assert [(s["name"], s["parent"]) for s in spans] == [("agent", None), ("Messages.create", "agent")]


def test_disable_and_seed_name(server):
    from anthropic.resources import Messages

    clew.anthropic.autolog(disable=True)
    assert not hasattr(Messages.create, "__clew_autolog__")
    sc.anthropic_messages(server)
    assert all_traces() == []
    clew.tracing.instrument_anthropic()
    sc.anthropic_messages(server)
    assert only_span()["name"] == "Messages.create"


def test_tracing_failure_does_not_break_the_call(server, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("tracing is broken")

    monkeypatch.setattr(clew, "start_span_no_context", broken)
    assert sc.anthropic_messages(server).content[0].text == "Echo: What is clew?"
    assert len(sc.anthropic_messages_stream(server)) > 3
    with pytest.raises(anthropic.BadRequestError):
        sc.anthropic_messages_error(server)


def test_trace_context_is_sent_to_the_provider(server):
    from autolog_helpers import last_trace

    sc.anthropic_messages(server)
    span = last_trace().data.spans[0]
    header = server.requests[-1]["headers"].get("traceparent")
    assert header is not None and header.startswith(f"00-{span.trace_id.removeprefix('tr-')}-{span.span_id}-")
    assert "extra_headers" not in span.inputs


def test_stream_helper(server):
    client = sc.anthropic_client(server)
    with client.messages.stream(model="claude-fake-1", max_tokens=64, messages=sc.ANTHROPIC_MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: What is clew?"
    span = only_span()
    assert (span["name"], span["span_type"], span["status"]) == ("Messages.stream", "CHAT_MODEL", "OK")
    assert span["inputs"] == {"max_tokens": 64, "messages": sc.ANTHROPIC_MESSAGES, "model": "claude-fake-1"}
    assert span["outputs"]["content"] == [{"type": "text", "text": "Echo: What is clew?", "citations": None}]
    assert span["outputs"]["content"][0]["text"] == final.content[0].text
    assert [e["name"] for e in span["events"]][0] == "mlflow.chunk.item.0"
    assert span["attributes"]["mlflow.chat.tokenUsage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


def test_async_stream_helper(server):
    import asyncio

    async def run():
        client = sc.anthropic_client(server, is_async=True)
        async with client.messages.stream(model="claude-fake-1", max_tokens=64, messages=sc.ANTHROPIC_MESSAGES) as stream:
            return await stream.get_final_message()

    final = asyncio.run(run())
    span = only_span()
    assert span["name"] == "AsyncMessages.stream"
    assert span["outputs"]["content"][0]["text"] == final.content[0].text == "Echo: What is clew?"


def test_stream_helper_http_error(server):
    client = sc.anthropic_client(server)
    with pytest.raises(anthropic.BadRequestError):
        with client.messages.stream(model="fail-400", max_tokens=64, messages=sc.ANTHROPIC_MESSAGES) as stream:
            stream.get_final_message()
    span = only_span()
    assert span["status"] == "ERROR"
    assert span["events"][-1]["attributes"]["exception.type"] == "BadRequestError"
