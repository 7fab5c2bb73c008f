"""Tracing of the ``anthropic`` client: ``clew.anthropic.autolog()``.

Each ``messages.create`` call (``Anthropic`` and ``AsyncAnthropic``) becomes one
span, recorded as MLflow's ``mlflow.anthropic.autolog()`` records it (and, which
MLflow does not record, each ``messages.stream(...)`` helper call, as a
``Messages.stream`` span recorded like ``create(stream=True)``):

- name ``Messages.create`` / ``AsyncMessages.create``, type ``CHAT_MODEL``;
- inputs: the call's arguments; attributes ``mlflow.message.format =
  "anthropic"``, ``mlflow.chat.tools`` (tools as OpenAI-style function
  definitions), ``mlflow.llm.model`` (the requested model),
  ``mlflow.llm.provider = "anthropic"``, ``mlflow.chat.tokenUsage`` (input
  tokens include cache reads/writes, as MLflow counts them);
- outputs: the ``Message`` (serialised like pydantic ``model_dump``);
- ``stream=True`` (which MLflow does not record): each server event is an
  ``mlflow.chunk.item.N`` event and the output is the ``Message`` rebuilt from
  the events (text, tool-use input JSON, thinking, stop reason, usage);
- errors, also mid-stream: ``exception`` event, status ``ERROR``, re-raised.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from clew import _autolog as al

INTEGRATION = "anthropic"


def autolog(disable: bool = False, log_traces: bool = True, silent: bool = False, **_ignored: Any) -> None:
    """Trace every Anthropic ``messages.create`` call (``disable=True`` removes the patches)."""
    al.set_integration(INTEGRATION, disable, log_traces, silent, _install)


def instrument_anthropic() -> None:
    """Seed name for ``autolog()``: enable automatic tracing of Anthropic API calls."""
    autolog()


def tool_to_chat_tool(tool: Any) -> dict:
    """An Anthropic tool definition as an MLflow ``ChatTool`` dict."""
    return {
        "type": "function",
        "function": {
            "name": tool.get("name"),
            "description": tool.get("description"),
            "parameters": tool.get("input_schema"),
        },
    }


def usage_of(output: Any) -> dict | None:
    """``mlflow.chat.tokenUsage`` of a ``Message``; cache tokens count as input, as in MLflow."""
    usage = getattr(output, "usage", None)
    if usage is None or getattr(usage, "input_tokens", None) is None:
        return None
    result = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + (usage.output_tokens or 0),
    }
    cached = getattr(usage, "cache_read_input_tokens", None)
    created = getattr(usage, "cache_creation_input_tokens", None)
    if cached is not None:
        result["cache_read_input_tokens"] = cached
    if created is not None:
        result["cache_creation_input_tokens"] = created
    if cache_total := (cached or 0) + (created or 0):
        result["input_tokens"] += cache_total
        result["total_tokens"] += cache_total
    return result


def rebuild_message(events: list) -> Any:
    """The ``Message`` a ``stream=True`` call would have returned, from its events."""
    message: dict | None = None
    blocks: dict[int, dict] = {}
    partial_json: dict[int, str] = {}
    for event in events:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = event.message.model_dump()
            message["content"] = []
        elif kind == "content_block_start":
            blocks[event.index] = event.content_block.model_dump()
        elif kind == "content_block_delta":
            block = blocks.setdefault(event.index, {"type": "text", "text": ""})
            delta = event.delta
            dtype = getattr(delta, "type", None)
            if dtype == "text_delta":
                block["text"] = (block.get("text") or "") + delta.text
            elif dtype == "input_json_delta":
                partial_json[event.index] = partial_json.get(event.index, "") + delta.partial_json
            elif dtype == "thinking_delta":
                block["thinking"] = (block.get("thinking") or "") + delta.thinking
            elif dtype == "signature_delta":
                block["signature"] = delta.signature
        elif kind == "message_delta" and message is not None:
            for key, value in event.delta.model_dump().items():
                if value is not None or key in ("stop_reason", "stop_sequence"):
                    message[key] = value
            if getattr(event, "usage", None) is not None:
                for key, value in event.usage.model_dump().items():
                    if value is not None:
                        message.setdefault("usage", {})[key] = value
    if message is None:
        return None
    for index, text in partial_json.items():
        try:
            blocks[index]["input"] = json.loads(text) if text else {}
        except (ValueError, KeyError):
            blocks[index]["input"] = text
    message["content"] = [blocks[i] for i in sorted(blocks)]
    try:
        from anthropic.types import Message

        return Message.model_validate(message)
    except Exception:
        return message


_SIGNATURES: dict = {}  # patched method -> inspect.Signature (computing one costs ~50 us)


class _AnthropicTracer(al.CallTracer):
    def __init__(self, is_async: bool):
        self.is_async = is_async

    def start(self, instance, original, args, kwargs):
        from clew.entities import SpanType

        try:
            signature = _SIGNATURES.get(original)
            if signature is None:
                signature = _SIGNATURES[original] = inspect.signature(original)
            inputs = dict(signature.bind_partial(instance, *args, **kwargs).arguments)
            inputs.pop("self", None)
        except (TypeError, ValueError):
            inputs = dict(kwargs)
        method = getattr(original, "__name__", "create")
        span = al.start_span(
            f"{type(instance).__name__}.{method}",
            SpanType.CHAT_MODEL if method in ("create", "stream") else SpanType.UNKNOWN,
            inputs=inputs,
            attributes={al.MESSAGE_FORMAT: "anthropic"},
        )
        if span is None:
            return None
        # After the inputs were taken: the header is transport, not the user's input.
        al.guarded("adding trace headers", al.inject_trace_headers, kwargs, span)
        tools = inputs.get("tools")
        if tools:
            al.guarded("setting chat tools", span.set_attribute, al.CHAT_TOOLS, [tool_to_chat_tool(t) for t in tools])
        return (span, inputs)

    @staticmethod
    def _finish(span, inputs, output):
        def attributes():
            al.set_model_from_inputs(span, inputs)
            span.set_attribute(al.MODEL_PROVIDER, "anthropic")
            if usage := usage_of(output):
                span.set_attribute(al.CHAT_USAGE, usage)

        al.guarded("setting Anthropic span attributes", attributes)
        span.end(outputs=output)

    def on_result(self, state, result):
        span, inputs = state
        from anthropic import AsyncStream, Stream

        if isinstance(result, (Stream, AsyncStream)):
            hooked = al.hook_sdk_stream(
                result,
                isinstance(result, AsyncStream),
                lambda index, event: al.add_chunk_event(span, index, event),
                lambda events: self._finish(span, inputs, al.guarded("rebuilding a streamed message", rebuild_message, events)),
                lambda exc: self._fail(span, inputs, exc),
            )
            if not hooked:
                self._finish(span, inputs, None)
            return result
        self._finish(span, inputs, result)
        return result

    @staticmethod
    def _fail(span, inputs, exc):
        # MLflow keeps model and provider on failed calls too.
        al.guarded("setting Anthropic span attributes", al.set_model_from_inputs, span, inputs)
        al.guarded("setting Anthropic span attributes", span.set_attribute, al.MODEL_PROVIDER, "anthropic")
        al.end_span_with_error(span, exc)

    def on_error(self, state, exc):
        self._fail(state[0], state[1], exc)


class _StreamHelperTracer(_AnthropicTracer):
    """``messages.stream(...)``: the request is sent when the returned manager is entered.

    The manager keeps the request as a private callable; it is wrapped so the raw
    event stream it returns is recorded like ``create(stream=True)``, and an HTTP
    error raised on entering is recorded on the span.
    """

    def on_result(self, state, manager):
        span, inputs = state
        name = next((k for k in vars(manager) if k.endswith("__api_request")), None)
        if name is None:
            self._finish(span, inputs, None)  # an unknown manager shape: the call is untraced
            return manager
        request = getattr(manager, name)
        tracer = self

        if self.is_async:
            # The async manager holds the request as an awaitable (a coroutine), not a callable.

            async def traced_request():
                try:
                    raw = await request
                except BaseException as exc:
                    tracer._fail(span, inputs, exc)
                    raise
                return tracer._hook(span, inputs, raw)

        else:

            def traced_request():
                try:
                    raw = request()
                except BaseException as exc:
                    tracer._fail(span, inputs, exc)
                    raise
                return tracer._hook(span, inputs, raw)

        setattr(manager, name, traced_request() if self.is_async else traced_request)
        return manager

    def _hook(self, span, inputs, raw):
        try:
            return _AnthropicTracer.on_result(self, (span, inputs), raw)
        except Exception as exc:
            al.log_failure("recording an Anthropic stream", exc)
            return raw


def _install() -> None:
    from anthropic.resources import AsyncMessages, Messages

    al.patch_method(INTEGRATION, Messages, "create", _AnthropicTracer(False), is_async=False)
    al.patch_method(INTEGRATION, AsyncMessages, "create", _AnthropicTracer(True), is_async=True)
    # `stream()` returns its manager synchronously on both clients.
    al.patch_method(INTEGRATION, Messages, "stream", _StreamHelperTracer(False), is_async=False)
    al.patch_method(INTEGRATION, AsyncMessages, "stream", _StreamHelperTracer(True), is_async=False)
