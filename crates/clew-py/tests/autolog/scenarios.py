"""Provider calls shared by the clew tests and the MLflow oracle run.

Each scenario makes one traced provider call against the fake server and
returns what the user code saw (so tests can check the call still worked).
The same functions run once under ``clew`` autolog (in the test process) and
once under ``mlflow`` autolog (in a subprocess, see ``mlflow_oracle.py``), and
the recorded spans are compared.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to look for"}},
            "required": ["query"],
        },
    },
}

RESPONSES_SEARCH_TOOL = {
    "type": "function",
    "name": "search",
    "description": "Search the web",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
}

ANTHROPIC_SEARCH_TOOL = {
    "name": "search",
    "description": "Search the web",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "what to look for"}},
        "required": ["query"],
    },
}

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is clew?"},
]


def openai_client(server, is_async: bool = False):
    import openai

    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=server.openai_base_url, api_key="test-key", max_retries=0)


def anthropic_client(server, is_async: bool = False):
    import anthropic

    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(base_url=server.anthropic_base_url, api_key="test-key", max_retries=0)


# ---- OpenAI ---------------------------------------------------------------


def openai_chat(server):
    return openai_client(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.5)


def openai_chat_tools(server):
    return openai_client(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=[SEARCH_TOOL])


def openai_chat_async(server):
    async def run():
        return await openai_client(server, True).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    return asyncio.run(run())


def openai_chat_stream(server):
    stream = openai_client(server).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    return [chunk for chunk in stream]


def openai_chat_stream_async(server):
    async def run():
        stream = await openai_client(server, True).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        return [chunk async for chunk in stream]

    return asyncio.run(run())


def openai_chat_stream_tools(server):
    stream = openai_client(server).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=[SEARCH_TOOL], stream=True
    )
    return list(stream)


def openai_chat_error(server):
    return openai_client(server).chat.completions.create(model="fail-400", messages=MESSAGES)


def openai_chat_stream_error(server):
    return list(openai_client(server).chat.completions.create(model="fail-midstream", messages=MESSAGES, stream=True))


def openai_responses(server):
    return openai_client(server).responses.create(model="gpt-4o-mini", input="What is clew?", instructions="Be terse.")


def openai_responses_tools(server):
    return openai_client(server).responses.create(
        model="gpt-4o-mini", input="What is clew?", tools=[RESPONSES_SEARCH_TOOL, {"type": "web_search_preview"}]
    )


def openai_responses_async(server):
    async def run():
        return await openai_client(server, True).responses.create(model="gpt-4o-mini", input="What is clew?")

    return asyncio.run(run())


def openai_responses_stream(server):
    return list(openai_client(server).responses.create(model="gpt-4o-mini", input="What is clew?", stream=True))


def openai_responses_stream_async(server):
    async def run():
        stream = await openai_client(server, True).responses.create(model="gpt-4o-mini", input="What is clew?", stream=True)
        return [e async for e in stream]

    return asyncio.run(run())


def openai_embeddings(server):
    return openai_client(server).embeddings.create(model="text-embedding-3-small", input=["hello world", "clew"])


def openai_embeddings_async(server):
    async def run():
        return await openai_client(server, True).embeddings.create(model="text-embedding-3-small", input="hello")

    return asyncio.run(run())


def openai_legacy_completion(server):
    return openai_client(server).completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=8)


def openai_legacy_completion_stream(server):
    return list(openai_client(server).completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True))


def openai_chat_parse(server):
    from pydantic import BaseModel

    class Answer(BaseModel):
        answer: str

    return openai_client(server).chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Answer)


def openai_image(server):
    return openai_client(server).images.generate(model="dall-e-3", prompt="a ball of yarn", n=1)


# ---- Anthropic ------------------------------------------------------------

ANTHROPIC_MESSAGES = [{"role": "user", "content": "What is clew?"}]


def anthropic_messages(server):
    return anthropic_client(server).messages.create(
        model="claude-fake-1", max_tokens=64, system="Be terse.", messages=ANTHROPIC_MESSAGES, stop_sequences=["END"]
    )


def anthropic_messages_tools(server):
    return anthropic_client(server).messages.create(
        model="claude-fake-1", max_tokens=64, messages=ANTHROPIC_MESSAGES, tools=[ANTHROPIC_SEARCH_TOOL]
    )


def anthropic_messages_async(server):
    async def run():
        return await anthropic_client(server, True).messages.create(
            model="claude-fake-1", max_tokens=64, messages=ANTHROPIC_MESSAGES
        )

    return asyncio.run(run())


def anthropic_messages_error(server):
    return anthropic_client(server).messages.create(model="fail-400", max_tokens=64, messages=ANTHROPIC_MESSAGES)


def anthropic_messages_stream(server):
    return list(
        anthropic_client(server).messages.create(
            model="claude-fake-1", max_tokens=64, messages=ANTHROPIC_MESSAGES, stream=True
        )
    )


def anthropic_messages_stream_tools(server):
    return list(
        anthropic_client(server).messages.create(
            model="claude-fake-1", max_tokens=64, messages=ANTHROPIC_MESSAGES, tools=[ANTHROPIC_SEARCH_TOOL], stream=True
        )
    )


def anthropic_messages_stream_async(server):
    async def run():
        stream = await anthropic_client(server, True).messages.create(
            model="claude-fake-1", max_tokens=64, messages=ANTHROPIC_MESSAGES, stream=True
        )
        return [e async for e in stream]

    return asyncio.run(run())


def anthropic_messages_stream_error(server):
    return list(
        anthropic_client(server).messages.create(model="fail-midstream", max_tokens=64, messages=ANTHROPIC_MESSAGES, stream=True)
    )


SCENARIOS: dict[str, Callable[[Any], Any]] = {
    name: fn for name, fn in list(globals().items()) if name.startswith(("openai_", "anthropic_")) and callable(fn)
    and name not in ("openai_client", "anthropic_client")
}

# Scenarios where MLflow 3.17.2 records the same thing clew does, so its spans
# serve as the expected value. Left out, with reasons:
# - openai_chat_stream_tools: MLflow rebuilds streamed chat completions from
#   the text deltas only and drops streamed tool calls; clew keeps them.
# - anthropic streaming: MLflow does not record Anthropic streams (its output
#   is the Stream object's repr); clew rebuilds the final Message.
ORACLE_SCENARIOS = [
    "openai_chat",
    "openai_chat_tools",
    "openai_chat_async",
    "openai_chat_stream",
    "openai_chat_stream_async",
    "openai_chat_error",
    "openai_chat_stream_error",
    "openai_responses",
    "openai_responses_tools",
    "openai_responses_async",
    "openai_responses_stream",
    "openai_responses_stream_async",
    "openai_embeddings",
    "openai_embeddings_async",
    "openai_legacy_completion",
    "openai_legacy_completion_stream",
    "openai_chat_parse",
    "openai_image",
    "anthropic_messages",
    "anthropic_messages_tools",
    "anthropic_messages_async",
    "anthropic_messages_error",
]
