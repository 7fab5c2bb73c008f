"""Tracing of the ``openai`` client: ``clew.openai.autolog()``.

Each call of ``chat.completions.create/parse``, ``completions.create``,
``embeddings.create``, ``responses.create/parse`` and ``images.generate`` (sync
and async clients) becomes one span, recorded as MLflow's
``mlflow.openai.autolog()`` records it:

- name: the resource class (``Completions``, ``AsyncCompletions``, ``Responses``,
  ``Embeddings``, ...); type: ``CHAT_MODEL`` (chat, Responses), ``LLM`` (legacy
  completions), ``EMBEDDING``, ``TOOL`` (images);
- inputs: the call's keyword arguments; attributes: each argument except
  ``messages``/``input``, ``mlflow.message.format = "openai"`` (chat and LLM),
  ``mlflow.chat.tools``, ``mlflow.llm.model``, ``mlflow.chat.tokenUsage``;
- outputs: the response object (serialised like pydantic ``model_dump``);
- ``stream=True``: every chunk is an ``mlflow.chunk.item.N`` event and the output
  is the rebuilt final result (a ``ChatCompletion`` with the text and tool calls
  joined, or the Responses API's completed ``Response``);
- errors, also mid-stream: ``exception`` event, status ``ERROR``, re-raised.
"""

from __future__ import annotations

from typing import Any

from clew import _autolog as al

INTEGRATION = "openai"

# Responses API tools run by OpenAI itself; MLflow lists them as name-only functions.
_BUILT_IN_TOOLS = {
    "file_search",
    "computer_use_preview",
    "web_search_preview",
    "local_shell",
    "mcp",
    "code_interpreter",
    "image_generation",
}


def autolog(disable: bool = False, log_traces: bool = True, silent: bool = False, **_ignored: Any) -> None:
    """Trace every OpenAI client call (``disable=True`` removes the patches again).

    Extra MLflow options (``exclusive``, ``disable_for_unsupported_versions``,
    ``disable_openai_agent_tracer``) are accepted and ignored.
    """
    al.set_integration(INTEGRATION, disable, log_traces, silent, _install)


def instrument_openai() -> None:
    """Seed name for ``autolog()``: enable automatic tracing of OpenAI API calls."""
    autolog()


# ---------------------------------------------------------------------------


_SPAN_TYPES: dict = {}  # resource class -> span type (the lookup imports several modules)


def _span_type(cls: type) -> str:
    kind = _SPAN_TYPES.get(cls)
    if kind is None:
        kind = _SPAN_TYPES[cls] = _find_span_type(cls)
    return kind


def _find_span_type(cls: type) -> str:
    from clew.entities import SpanType

    kinds = []
    try:
        from openai.resources.chat.completions import AsyncCompletions as AsyncChat
        from openai.resources.chat.completions import Completions as Chat

        kinds += [(Chat, SpanType.CHAT_MODEL), (AsyncChat, SpanType.CHAT_MODEL)]
    except ImportError:
        pass
    for module, names, kind in (
        ("openai.resources.completions", ("Completions", "AsyncCompletions"), SpanType.LLM),
        ("openai.resources.embeddings", ("Embeddings", "AsyncEmbeddings"), SpanType.EMBEDDING),
        ("openai.resources.images", ("Images", "AsyncImages"), SpanType.TOOL),
        ("openai.resources.responses", ("Responses", "AsyncResponses"), SpanType.CHAT_MODEL),
        ("openai.resources.beta.chat.completions", ("Completions", "AsyncCompletions"), SpanType.CHAT_MODEL),
    ):
        try:
            mod = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        kinds += [(getattr(mod, n), kind) for n in names if hasattr(mod, n)]
    for base, kind in kinds:
        if issubclass(cls, base):
            return kind
    return SpanType.UNKNOWN


def normalize_tools(tools: Any) -> list[dict]:
    """Request ``tools`` as MLflow ``ChatTool`` dicts (``{"type": "function", "function": {...}}``).

    Chat Completions tools keep their ``function`` part; Responses API function
    tools (flat) are nested; built-in tools become a function named after their type.
    """
    out = []
    for tool in tools or []:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type", "function")
        if kind == "function":
            source = tool["function"] if isinstance(tool.get("function"), dict) else tool
            fn = {k: source[k] for k in ("name", "description", "parameters", "strict") if k in source}
            out.append({"type": "function", "function": fn})
        elif kind in _BUILT_IN_TOOLS:
            out.append({"type": "function", "function": {"name": kind}})
    return out


def _usage_of(output: Any) -> dict | None:
    usage = getattr(output, "usage", None)
    if usage is None:
        return None
    if getattr(usage, "prompt_tokens", None) is not None:  # chat / completions / embeddings
        result = {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": getattr(usage, "completion_tokens", None),
            "total_tokens": usage.total_tokens,
        }
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
    elif getattr(usage, "input_tokens", None) is not None:  # Responses API
        result = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        }
        cached = getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None)
    else:
        return None
    if cached is not None:
        result["cache_read_input_tokens"] = cached
    return result


def _records_usage(output: Any) -> bool:
    # MLflow reports token usage for chat completions and Responses (and their parsed
    # subclasses), not for embeddings or legacy completions.
    kinds = []
    try:
        from openai.types.chat import ChatCompletion

        kinds.append(ChatCompletion)
    except ImportError:
        pass
    try:
        from openai.types.responses import Response

        kinds.append(Response)
    except ImportError:
        pass
    return bool(kinds) and isinstance(output, tuple(kinds))


def _set_result_attributes(span: Any, inputs: dict, output: Any) -> None:
    tools = normalize_tools(inputs.get("tools"))
    if tools:
        span.set_attribute(al.CHAT_TOOLS, tools)
    model = getattr(output, "model", None)
    if isinstance(model, str) and model:
        # The response names the real model (Azure puts a deployment name in the request).
        span.set_attribute(al.MODEL, model)
    else:
        al.set_model_from_inputs(span, inputs)
    if _records_usage(output) and (usage := _usage_of(output)):
        span.set_attribute(al.CHAT_USAGE, usage)


def _parse_raw(result: Any) -> Any:
    """``with_raw_response`` calls return a wrapper; record the parsed body."""
    try:
        from openai._legacy_response import LegacyAPIResponse
    except ImportError:
        return result
    if isinstance(result, LegacyAPIResponse):
        try:
            return result.parse()
        except Exception:
            return result
    return result


# ---- stream reconstruction -------------------------------------------------


def _rebuild_chat_completion(chunks: list) -> Any:
    """One ``ChatCompletion`` from ``chat.completion.chunk`` s: text and tool calls joined."""
    from openai.types.chat import ChatCompletion

    chunks = [c for c in chunks if getattr(c, "object", None) == "chat.completion.chunk"]
    if not chunks:
        return None
    text: list[str] = []
    calls: dict[int, dict] = {}
    finish_reason = None
    for chunk in chunks:
        for choice in chunk.choices or []:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                if isinstance(delta.content, str):
                    text.append(delta.content)
                for tc in delta.tool_calls or []:
                    call = calls.setdefault(tc.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                    if tc.id:
                        call["id"] = tc.id
                    if tc.type:
                        call["type"] = tc.type
                    if tc.function is not None:
                        if tc.function.name:
                            call["function"]["name"] += tc.function.name
                        if tc.function.arguments:
                            call["function"]["arguments"] += tc.function.arguments
            if choice.finish_reason:
                finish_reason = choice.finish_reason
    message: dict = {"role": "assistant", "content": "".join(text)}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
        message["content"] = message["content"] or None
    last = chunks[-1]
    usage = next((c.usage for c in reversed(chunks) if getattr(c, "usage", None)), None)
    return ChatCompletion.model_validate(
        {
            "id": last.id,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason or "stop"}],
            "created": last.created,
            "model": last.model,
            "object": "chat.completion",
            "system_fingerprint": last.system_fingerprint,
            "usage": usage.model_dump() if usage is not None else None,
        }
    )


def _rebuild_responses_output(chunks: list) -> Any:
    """The final ``Response`` of a Responses API stream."""
    for chunk in reversed(chunks):
        if getattr(chunk, "type", None) == "response.completed":
            return chunk.response
    # No completed event (e.g. the stream was closed early): the finished items.
    items = [c.item.to_dict() for c in chunks if getattr(c, "type", None) == "response.output_item.done"]
    return {"output": items}


def _rebuild_completion_text(chunks: list) -> str:
    return "".join((c.choices[0].text or "") for c in chunks if getattr(c, "choices", None))


class _OpenAITracer(al.CallTracer):
    def __init__(self, is_async: bool):
        self.is_async = is_async

    def start(self, instance, original, args, kwargs):
        from clew.entities import SpanType

        span_type = _span_type(type(instance))
        inputs = dict(kwargs)
        attributes = {k: v for k, v in kwargs.items() if k not in ("messages", "input")}
        if span_type in (SpanType.CHAT_MODEL, SpanType.LLM):
            attributes[al.MESSAGE_FORMAT] = "openai"
        span = al.start_span(type(instance).__name__, span_type, inputs=inputs, attributes=attributes)
        if span is None:
            return None
        # After the inputs were taken: the header is transport, not the user's input.
        al.guarded("adding trace headers", al.inject_trace_headers, kwargs, span)
        is_responses = type(instance).__name__ in ("Responses", "AsyncResponses") or getattr(original, "__qualname__", "").split(".")[0] in ("Responses", "AsyncResponses")
        return (span, inputs, is_responses)

    def on_result(self, state, result):
        span, inputs, is_responses = state
        parsed = _parse_raw(result)
        from openai import AsyncStream, Stream

        if isinstance(parsed, (Stream, AsyncStream)):

            def on_chunk(index, chunk):
                al.add_chunk_event(span, index, chunk)

            def rebuild(chunks):
                if not chunks:
                    return None
                if is_responses:
                    return _rebuild_responses_output(chunks)
                if getattr(chunks[0], "object", None) == "text_completion":
                    return _rebuild_completion_text(chunks)
                return _rebuild_chat_completion(chunks)

            def on_done(chunks):
                # A result that cannot be rebuilt still ends the span (without outputs).
                self._finish(span, inputs, al.guarded("rebuilding a streamed result", rebuild, chunks))

            hooked = al.hook_sdk_stream(parsed, isinstance(parsed, AsyncStream), on_chunk, on_done, lambda e: self._fail(span, inputs, e))
            if not hooked:
                self._finish(span, inputs, None)
            return result
        self._finish(span, inputs, parsed)
        return result

    @staticmethod
    def _finish(span, inputs, output):
        al.guarded("setting OpenAI span attributes", _set_result_attributes, span, inputs, output)
        span.end(outputs=output)

    @staticmethod
    def _fail(span, inputs, exc):
        # MLflow names the requested model on failed calls too.
        al.guarded("setting the model attribute", al.set_model_from_inputs, span, inputs)
        al.end_span_with_error(span, exc)

    def on_error(self, state, exc):
        self._fail(state[0], state[1], exc)


def _install() -> None:
    import openai  # noqa: F401 - ImportError here means "not installed"

    sync, asyn = _OpenAITracer(False), _OpenAITracer(True)
    targets = [
        ("openai.resources.chat.completions", "Completions", "AsyncCompletions", ("create", "parse")),
        ("openai.resources.completions", "Completions", "AsyncCompletions", ("create",)),
        ("openai.resources.embeddings", "Embeddings", "AsyncEmbeddings", ("create",)),
        ("openai.resources.images", "Images", "AsyncImages", ("generate",)),
        ("openai.resources.responses", "Responses", "AsyncResponses", ("create", "parse")),
        ("openai.resources.beta.chat.completions", "Completions", "AsyncCompletions", ("parse",)),
    ]
    for module, sync_name, async_name, methods in targets:
        try:
            mod = __import__(module, fromlist=[sync_name, async_name])
        except ImportError:
            continue
        for method in methods:
            if hasattr(mod, sync_name):
                al.patch_method(INTEGRATION, getattr(mod, sync_name), method, sync, is_async=False)
            if hasattr(mod, async_name):
                al.patch_method(INTEGRATION, getattr(mod, async_name), method, asyn, is_async=True)
