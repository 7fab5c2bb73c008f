"""Tracing of LangChain (``langchain-core``): ``clew.langchain.autolog()``.

Every LangChain run — chain/runnable, chat model, LLM, tool, retriever — becomes
a span nested as the runs nest, recorded as MLflow's ``MlflowLangchainTracer``
records them. Like MLflow, autolog adds a callback handler
(:class:`ClewLangchainTracer`) to every LangChain callback manager, so
``invoke``/``ainvoke``/``stream``/``astream``/``batch`` of any runnable are covered.

- chains and runnables: type ``CHAIN``, inputs/outputs as LangChain passes them;
- chat models: type ``CHAT_MODEL``, inputs ``{"messages": [...]}`` and outputs
  ``{"choices": [{"message": ...}]}`` in the OpenAI chat format,
  ``mlflow.message.format = "langchain"``, ``mlflow.chat.tools`` (bound tools),
  ``mlflow.llm.model`` / ``mlflow.llm.provider`` (from LangSmith params),
  ``mlflow.chat.tokenUsage`` (from ``usage_metadata``), ``new_token`` events when
  streaming;
- LLMs (``LLM``), tools (``TOOL``), retrievers (``RETRIEVER``, outputs as
  ``[{"page_content", "metadata", "id"}]``);
- the call's extra callback arguments (``invocation_params``, ``metadata``, ...)
  as attributes;
- errors: ``exception`` event, status ``ERROR`` (LangChain re-raises them).

Spans made with ``clew.start_span``/``@clew.trace`` inside a tool or a
``RunnableLambda`` nest under the LangChain span, and LangChain runs inside a
user span nest under it.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import json
import logging
from typing import Any, Optional
from uuid import UUID

from clew import _autolog as al

INTEGRATION = "langchain"
_logger = logging.getLogger("clew.autolog")

# RunnableSequence.batch runs step 1 of every input, then step 2 of every input, ... in one
# thread, so an "active span" set by one input's run would wrongly parent another's.
_attach_to_context = contextvars.ContextVar("clew_langchain_attach", default=True)


def autolog(disable: bool = False, log_traces: bool = True, silent: bool = False, **_ignored: Any) -> None:
    """Trace LangChain runs (``disable=True`` removes the patches again)."""
    al.set_integration(INTEGRATION, disable, log_traces, silent, _install)


def instrument_langchain() -> None:
    """Seed name for ``autolog()``: enable automatic instrumentation of LangChain components."""
    autolog()


# ---------------------------------------------------------------------------
# The current-span context (so user spans nest under LangChain spans)


_CONTEXT_API: list = []  # resolved once: [(attach, detach) or None]


def _context_api():
    """(attach(span) -> token, detach(token)) of clew's current-span ContextVar, or None."""
    if not _CONTEXT_API:
        _CONTEXT_API.append(_find_context_api())
    return _CONTEXT_API[0]


def _find_context_api():
    try:
        from clew.tracing import provider  # MLflow-shaped helpers, when the core provides them

        return provider.set_span_in_context, provider.detach_span_from_context
    except Exception:
        pass
    try:
        import clew._runtime as runtime

        var = getattr(runtime, "CURRENT_SPAN", None) or getattr(runtime, "current_span", None)
        if isinstance(var, contextvars.ContextVar):
            return var.set, var.reset
    except Exception:
        pass
    return None


# ---------------------------------------------------------------------------
# LangChain objects in MLflow's chat format


def _message_dict(role: str, content: Any, tool_calls: Any = None, tool_call_id: Any = None) -> dict:
    return {"role": role, "content": content, "tool_calls": tool_calls, "refusal": None, "tool_call_id": tool_call_id}


def _tool_calls_of(message: Any) -> list[dict]:
    calls = [
        {"id": tc["id"], "type": "function", "function": {"name": tc["name"], "arguments": json.dumps(tc["args"])}}
        for tc in getattr(message, "tool_calls", None) or []
    ]
    calls += [
        {"id": tc["id"], "type": "function", "function": {"name": tc["name"], "arguments": tc["args"]}}
        for tc in getattr(message, "invalid_tool_calls", None) or []
    ]
    if calls:
        return calls
    return [
        {
            "id": tc.get("id"),
            "type": tc.get("type", "function"),
            "function": {"name": (tc.get("function") or {}).get("name"), "arguments": (tc.get("function") or {}).get("arguments")},
        }
        for tc in (getattr(message, "additional_kwargs", None) or {}).get("tool_calls", [])
    ]


def message_to_chat(message: Any) -> dict:
    """A LangChain ``BaseMessage`` as an OpenAI-style chat message dict (MLflow's ``ChatMessage``)."""
    from langchain_core.messages import AIMessage, ChatMessage, FunctionMessage, HumanMessage, SystemMessage, ToolMessage

    content = message.content
    if isinstance(message, AIMessage):
        calls = _tool_calls_of(message)
        if calls:
            if isinstance(content, list):
                content = [c for c in content if not (isinstance(c, dict) and c.get("type") == "tool_use")]
            return _message_dict("assistant", content or None, tool_calls=calls)
        return _message_dict("assistant", content)
    if isinstance(message, ChatMessage):
        return _message_dict(message.role, content)
    if isinstance(message, FunctionMessage):
        return _message_dict("function", content)
    if isinstance(message, ToolMessage):
        return _message_dict("tool", content, tool_call_id=message.tool_call_id)
    if isinstance(message, HumanMessage):
        return _message_dict("user", content)
    if isinstance(message, SystemMessage):
        return _message_dict("system", content)
    raise TypeError(f"not a LangChain message: {type(message).__name__}")


_USAGE_KEYS = {
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "total_tokens": "total_tokens",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_input_tokens": "cache_read_input_tokens",
    "cache_creation_input_tokens": "cache_creation_input_tokens",
    "cached_content_token_count": "cache_read_input_tokens",
}


def _usage_of_generation(generation: Any) -> Optional[dict]:
    message = getattr(generation, "message", None)
    if message is None:
        return None
    meta = (
        getattr(message, "usage_metadata", None)
        or (message.response_metadata or {}).get("usage")
        or (message.response_metadata or {}).get("token_usage")
    )
    if not meta:
        return None
    usage = {_USAGE_KEYS[k]: v for k, v in meta.items() if k in _USAGE_KEYS}
    details = meta.get("input_token_details") or {}
    if isinstance(details.get("cache_read"), int):
        usage.setdefault("cache_read_input_tokens", details["cache_read"])
    if isinstance(details.get("cache_creation"), int):
        usage.setdefault("cache_creation_input_tokens", details["cache_creation"])
    cached = (meta.get("prompt_tokens_details") or {}).get("cached_tokens")
    if isinstance(cached, int):
        usage.setdefault("cache_read_input_tokens", cached)
    if usage and usage.get("total_tokens") is None:
        usage["total_tokens"] = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    return usage or None


def token_usage(generations: list) -> Optional[dict]:
    """``mlflow.chat.tokenUsage`` of a run: the last chunk's counts when streamed, else the sum."""
    from langchain_core.outputs import ChatGenerationChunk

    usages = [u for g in generations if (u := _usage_of_generation(g))]
    if not usages:
        return None
    if any(isinstance(g, ChatGenerationChunk) for g in generations):
        return usages[-1]
    total: dict = {}
    for u in usages:
        for k, v in u.items():
            total[k] = total.get(k, 0) + v
    return total


def _tool_definitions(kwargs: dict) -> list[dict]:
    tools = []
    for raw in (kwargs.get("invocation_params") or {}).get("tools") or []:
        if not isinstance(raw, dict):
            continue
        fn = raw.get("function")
        if raw.get("type") == "function" and isinstance(fn, dict) and "name" in fn:
            tools.append({"type": "function", "function": {k: fn[k] for k in ("name", "description", "parameters", "strict") if k in fn}})
        elif raw.get("name"):
            tools.append({"type": "function", "function": {"name": raw["name"], "description": raw.get("description")}})
    return tools


def _span_name(serialized: Optional[dict], name: Optional[str], default: str) -> str:
    if name:
        return name
    serialized = serialized or {}
    return serialized.get("name") or (serialized.get("id") or [default])[-1]


# ---------------------------------------------------------------------------


def _safe(method):
    """A callback never raises into LangChain: tracing failures are logged only."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            al.log_failure(f"LangChain callback {method.__name__}", exc)
            return None

    return wrapper


def _make_tracer_class():
    from langchain_core.callbacks.base import BaseCallbackHandler

    class ClewLangchainTracer(BaseCallbackHandler):
        """LangChain callback handler recording each run as a clew span.

        One instance is shared by every callback manager while autolog is on;
        state is keyed by LangChain's run id, so concurrent runs do not mix.
        It can also be passed explicitly: ``chain.invoke(x, config={"callbacks": [ClewLangchainTracer()]})``.
        """

        # Run in the caller's task/thread so the current-span ContextVar is the caller's.
        run_inline = True
        raise_error = False

        def __init__(self) -> None:
            super().__init__()
            self._spans: dict[str, tuple[Any, Any]] = {}  # run id -> (span, context token)

        # ---- span bookkeeping ---------------------------------------
        def _span(self, run_id: UUID):
            entry = self._spans.get(str(run_id))
            return entry[0] if entry else None

        def _parent(self, parent_run_id: Optional[UUID]):
            import clew

            active = clew.get_current_active_span()
            from_run = self._span(parent_run_id) if parent_run_id else None
            if active is None or from_run is None:
                return active or from_run
            if active.span_id == from_run.span_id:
                return active
            if active.trace_id != from_run.trace_id:
                return from_run
            if any(active.span_id == span.span_id for span, _ in list(self._spans.values())):
                # The active span is another LangChain run (in a stream the steps run
                # interleaved, so the previous step may still be open): LangChain's own
                # parent link is the truth.
                return from_run
            # A user span and a LangChain run are both open on this call path; the one that
            # started later is the inner one (a user span inside a tool, or a run inside it).
            return active if active.start_time_ns >= from_run.start_time_ns else from_run

        def _start(self, run_id, parent_run_id, name, span_type, inputs, attributes):
            if not al.is_recording(INTEGRATION):
                return None
            span = al.start_span(name, span_type, inputs=inputs, attributes=attributes, parent_span=self._parent(parent_run_id))
            if span is None:
                return None
            token = None
            api = _context_api() if _attach_to_context.get() else None
            if api is not None:
                token = al.guarded("activating a LangChain span", api[0], span)
            self._spans[str(run_id)] = (span, token)
            return span

        def _end(self, run_id, outputs=None, error: Optional[BaseException] = None):
            entry = self._spans.pop(str(run_id), None)
            if entry is None:
                return
            span, token = entry
            try:
                if error is not None:
                    from clew.entities import SpanEvent, SpanStatus, SpanStatusCode

                    span.add_event(SpanEvent.from_exception(error))
                    span.end(status=SpanStatus(SpanStatusCode.ERROR, str(error)))
                else:
                    span.end(outputs=outputs)
            finally:
                if token is not None:
                    api = _context_api()
                    try:
                        api[1](token)
                    except ValueError:
                        pass  # token made in another thread/task (batch, parallel branches)

        def _event(self, run_id, name, attributes):
            span = self._span(run_id)
            if span is not None:
                from clew.entities import SpanEvent

                span.add_event(SpanEvent(name=name, attributes=attributes))

        # ---- chat models and LLMs -----------------------------------
        @_safe
        def on_chat_model_start(self, serialized, messages, *, run_id, tags=None, parent_run_id=None, metadata=None, name=None, **kwargs):
            from clew.entities import SpanType

            if metadata:
                kwargs["metadata"] = metadata
            kwargs[al.MESSAGE_FORMAT] = "langchain"
            try:
                inputs = {"messages": [message_to_chat(m) for m in messages[0]]} if len(messages) == 1 else messages
            except Exception:
                inputs = messages
            span = self._start(run_id, parent_run_id, _span_name(serialized, name, "chat model"), SpanType.CHAT_MODEL, inputs, kwargs)
            if span is not None:
                self._model_attributes(span, kwargs)

        @_safe
        def on_llm_start(self, serialized, prompts, *, run_id, tags=None, parent_run_id=None, metadata=None, name=None, **kwargs):
            from clew.entities import SpanType

            if metadata:
                kwargs["metadata"] = metadata
            kwargs[al.MESSAGE_FORMAT] = "langchain"
            span = self._start(run_id, parent_run_id, _span_name(serialized, name, "llm"), SpanType.LLM, prompts, kwargs)
            if span is not None:
                self._model_attributes(span, kwargs)

        @staticmethod
        def _model_attributes(span, kwargs):
            if tools := _tool_definitions(kwargs):
                span.set_attribute(al.CHAT_TOOLS, tools)
            params = kwargs.get("invocation_params") or {}
            meta = kwargs.get("metadata") or {}
            if model := meta.get("ls_model_name") or params.get("model") or params.get("model_name"):
                span.set_attribute(al.MODEL, model)
            if provider := meta.get("ls_provider"):
                span.set_attribute(al.MODEL_PROVIDER, provider)
            elif kind := params.get("_type"):
                span.set_attribute(al.MODEL_PROVIDER, kind.removesuffix("-chat").removeprefix("chat-"))

        @_safe
        def on_llm_new_token(self, token, *, chunk=None, run_id, parent_run_id=None, **kwargs):
            attributes = {"token": token}
            if chunk is not None:
                from langchain_core.load.dump import dumps

                attributes["chunk"] = dumps(chunk)
            self._event(run_id, "new_token", attributes)

        @_safe
        def on_llm_end(self, response, *, run_id, **kwargs):
            span = self._span(run_id)
            if span is None:
                return
            generations = [g for gen_list in response.generations for g in gen_list]
            usage = al.guarded("reading LangChain token usage", token_usage, generations)
            if usage:
                span.set_attribute(al.CHAT_USAGE, usage)
            outputs: Any = response
            if len(response.generations) == 1:
                try:
                    outputs = {
                        "choices": [
                            {
                                "message": message_to_chat(g.message) if hasattr(g, "message") else {"role": "assistant", "content": g.text},
                                "finish_reason": None,
                            }
                            for g in response.generations[0]
                        ]
                    }
                except Exception:
                    outputs = response
            self._end(run_id, outputs=outputs)

        @_safe
        def on_llm_error(self, error, *, run_id, **kwargs):
            self._end(run_id, error=error)

        # ---- chains -------------------------------------------------
        @_safe
        def on_chain_start(self, serialized, inputs, *, run_id, tags=None, parent_run_id=None, metadata=None, run_type=None, name=None, **kwargs):
            from clew.entities import SpanType

            if metadata:
                kwargs["metadata"] = metadata
            span = self._start(run_id, parent_run_id, _span_name(serialized, name, "chain"), SpanType.CHAIN, inputs, kwargs)
            thread_id = (metadata or {}).get("thread_id")
            if span is not None and thread_id:
                import clew

                al.guarded("setting the trace session", clew.update_current_trace, metadata={"mlflow.trace.session": str(thread_id)})

        @_safe
        def on_chain_end(self, outputs, *, run_id, inputs=None, **kwargs):
            span = self._span(run_id)
            if span is not None and inputs:
                span.set_inputs(inputs)
            self._end(run_id, outputs=outputs)

        @_safe
        def on_chain_error(self, error, *, inputs=None, run_id, **kwargs):
            span = self._span(run_id)
            if span is not None and inputs:
                span.set_inputs(inputs)
            self._end(run_id, error=error)

        # ---- tools --------------------------------------------------
        @_safe
        def on_tool_start(self, serialized, input_str, *, run_id, tags=None, parent_run_id=None, metadata=None, name=None, inputs=None, **kwargs):
            from clew.entities import SpanType

            if metadata:
                kwargs["metadata"] = metadata
            # LangChain passes tool-call arguments as the str() of a dict; show the dict.
            try:
                parsed = ast.literal_eval(input_str)
            except Exception:
                parsed = input_str
            self._start(run_id, parent_run_id, _span_name(serialized, name, "tool"), SpanType.TOOL, parsed, kwargs)

        @_safe
        def on_tool_end(self, output, *, run_id, **kwargs):
            self._end(run_id, outputs=output)

        @_safe
        def on_tool_error(self, error, *, run_id, **kwargs):
            self._end(run_id, error=error)

        # ---- retrievers ---------------------------------------------
        @_safe
        def on_retriever_start(self, serialized, query, *, run_id, parent_run_id=None, tags=None, metadata=None, name=None, **kwargs):
            from clew.entities import SpanType

            if metadata:
                kwargs["metadata"] = metadata
            self._start(run_id, parent_run_id, _span_name(serialized, name, "retriever"), SpanType.RETRIEVER, query, kwargs)

        @_safe
        def on_retriever_end(self, documents, *, run_id, **kwargs):
            try:
                docs = [
                    {"page_content": d.page_content, "metadata": dict(d.metadata or {}), "id": getattr(d, "id", None)}
                    for d in documents
                ]
            except Exception:
                docs = documents
            self._end(run_id, outputs=docs)

        @_safe
        def on_retriever_error(self, error, *, run_id, **kwargs):
            self._end(run_id, error=error)

        # ---- events on the current run ------------------------------
        @_safe
        def on_retry(self, retry_state, *, run_id, **kwargs):
            attrs: dict = {"slept": retry_state.idle_for, "attempt": retry_state.attempt_number}
            outcome = retry_state.outcome
            if outcome is None:
                attrs["outcome"] = "N/A"
            elif outcome.failed:
                exc = outcome.exception()
                attrs.update(outcome="failed", exception=str(exc), exception_type=type(exc).__name__)
            else:
                attrs.update(outcome="success", result=str(outcome.result()))
            self._event(run_id, "retry", attrs)

        @_safe
        def on_agent_action(self, action, *, run_id, **kwargs):
            from langchain_core.load.dump import dumps

            self._event(run_id, "agent_action", {"tool": action.tool, "tool_input": dumps(action.tool_input), "log": action.log})

        @_safe
        def on_agent_finish(self, finish, *, run_id, **kwargs):
            from langchain_core.load.dump import dumps

            self._event(run_id, "agent_finish", {"return_values": dumps(finish.return_values), "log": finish.log})

        @_safe
        def on_text(self, text, *, run_id, parent_run_id=None, **kwargs):
            self._event(run_id, "text", {"text": text})

    return ClewLangchainTracer


_tracer_class = None
_tracer = None


def tracer_class():
    """The :class:`ClewLangchainTracer` class (needs ``langchain-core``)."""
    global _tracer_class
    if _tracer_class is None:
        _tracer_class = _make_tracer_class()
    return _tracer_class


def __getattr__(name: str):
    if name == "ClewLangchainTracer":
        return tracer_class()
    raise AttributeError(name)


def _shared_tracer():
    global _tracer
    if _tracer is None:
        _tracer = tracer_class()()
    return _tracer


class _ManagerInitTracer(al.CallTracer):
    """Adds the shared tracer to each new callback manager (inherited by child runs)."""

    def start(self, instance, original, args, kwargs):
        return instance

    def on_result(self, manager, result):
        if type(manager).__module__ == "langgraph.callbacks":
            return result  # LangGraph lifecycle managers accept only their own handler type
        cls = tracer_class()
        if not any(isinstance(h, cls) for h in manager.inheritable_handlers):
            manager.add_handler(_shared_tracer(), inherit=True)
        return result

    def on_error(self, state, exc):
        pass


class _NoAttachTracer(al.CallTracer):
    """Turns off span activation for the duration of ``RunnableSequence.batch``."""

    def start(self, instance, original, args, kwargs):
        return _attach_to_context.set(False)

    def on_result(self, token, result):
        _attach_to_context.reset(token)
        return result

    def on_error(self, token, exc):
        _attach_to_context.reset(token)


class _NoAttachWhileAsyncStreaming(al.CallTracer):
    """Turns off span activation inside async streaming (``astream``, ``atransform``).

    There LangChain runs each step of each chunk in a task of its own, so a run's
    start and end callbacks happen in different contexts: a span made current at the
    start could not be unset at the end and would stay "current" in the caller's
    context after the stream, parenting later spans to a finished trace.
    """

    def start(self, instance, original, args, kwargs):
        return True

    def on_result(self, state, stream):
        async def without_activation():
            token = _attach_to_context.set(False)
            try:
                async for item in stream:
                    yield item
            finally:
                try:
                    _attach_to_context.reset(token)
                except ValueError:
                    pass  # closed from another context; the flag only ever disables activation
                await stream.aclose()

        return without_activation()

    def on_error(self, state, exc):
        pass


def _install() -> None:
    from langchain_core.callbacks import BaseCallbackManager
    from langchain_core.runnables import Runnable, RunnableSequence

    tracer_class()
    al.patch_method(INTEGRATION, BaseCallbackManager, "__init__", _ManagerInitTracer(), is_async=False)
    al.patch_method(INTEGRATION, RunnableSequence, "batch", _NoAttachTracer(), is_async=False)
    # An async generator function: calling it returns the generator synchronously.
    al.patch_method(INTEGRATION, Runnable, "_atransform_stream_with_config", _NoAttachWhileAsyncStreaming(), is_async=False)
