"""Shared machinery of the autolog integrations (``clew.openai``, ``clew.anthropic``, ...).

Two promises hold for every patched library call:

1. The user's call behaves exactly as without clew: same arguments, same
   result object, same exception (re-raised unchanged). If recording fails —
   a bug in clew, an odd response shape — the failure is logged at debug/warning
   level and the call goes on untraced.
2. Errors raised by the library are recorded on the span (an ``exception``
   event and status ``ERROR``) before being re-raised.

An integration describes what to record with a :class:`CallTracer` (start a
span from the call's arguments, finish it from the result or the error); this
module does the patching, the unpatching and the exception safety around it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
from typing import Any, Callable, Iterable, Iterator, Optional

_logger = logging.getLogger("clew.autolog")

# Span attribute keys MLflow's autolog writes (mlflow.tracing.constant.SpanAttributeKey).
CHAT_TOOLS = "mlflow.chat.tools"
CHAT_USAGE = "mlflow.chat.tokenUsage"
MODEL = "mlflow.llm.model"
MODEL_PROVIDER = "mlflow.llm.provider"
MESSAGE_FORMAT = "mlflow.message.format"
# Stream chunk events: ``mlflow.chunk.item.<n>`` with the chunk as JSON text.
CHUNK_EVENT_NAME = "mlflow.chunk.item.{index}"
CHUNK_EVENT_VALUE = "mlflow.chunk.value"


# ---------------------------------------------------------------------------
# Configuration per integration


@dataclasses.dataclass
class IntegrationConfig:
    """Options one integration was enabled with (``autolog(log_traces=..., silent=...)``)."""

    log_traces: bool = True
    silent: bool = False


_lock = threading.Lock()
_configs: dict[str, IntegrationConfig] = {}


def config_of(integration: str) -> Optional[IntegrationConfig]:
    """The options of an enabled integration, or None when it is disabled."""
    return _configs.get(integration)


def is_recording(integration: str) -> bool:
    """Whether calls patched by ``integration`` should record spans now."""
    cfg = _configs.get(integration)
    return cfg is not None and cfg.log_traces


# ---------------------------------------------------------------------------
# JSON text of library objects (the same rules as MLflow's TraceJSONEncoder)


class _JSONEncoder(json.JSONEncoder):
    def default(self, obj):  # noqa: D401 - json API
        dump = getattr(obj, "model_dump", None)  # pydantic v2 models
        if callable(dump):
            try:
                return dump()
            except Exception:
                pass
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            try:
                return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            except Exception:
                pass
        try:
            return super().default(obj)
        except TypeError:
            return str(obj)


def to_json_text(value: Any) -> str:
    """``value`` as JSON text; never raises (unencodable parts become strings)."""
    try:
        return json.dumps(value, cls=_JSONEncoder)
    except Exception:
        return json.dumps(str(value))


# ---------------------------------------------------------------------------
# Exception-safe span helpers


_warned: set = set()


def log_failure(what: str, exc: BaseException) -> None:
    """Record an internal failure of tracing without disturbing the user's program.

    The first failure of each kind is a warning; repeats (a broken integration fails
    on every call) go to the debug level so they do not flood the application's log.
    """
    key = (what, type(exc).__name__)
    level = logging.DEBUG if key in _warned else logging.WARNING
    _warned.add(key)
    _logger.log(level, "clew autolog: %s failed: %s: %s", what, type(exc).__name__, exc, exc_info=_logger.isEnabledFor(logging.DEBUG))


def guarded(what: str, fn: Callable, *args, **kwargs) -> Any:
    """Call ``fn``; on failure log it and return None. Used for every tracing step."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        log_failure(what, exc)
        return None


def start_span(name: str, span_type: str, inputs: Any = None, attributes: Optional[dict] = None, parent_span: Any = None):
    """Start a span under the current active span (or ``parent_span``); None on failure."""
    import clew

    def start():
        # MLflow's autolog spans are children of the active span (OTel context); the parent
        # is passed explicitly so that holds whatever start_span_no_context does without one.
        parent = parent_span if parent_span is not None else clew.get_current_active_span()
        kwargs = dict(name=name, span_type=span_type, inputs=inputs, attributes=attributes)
        if parent is not None:
            kwargs["parent_span"] = parent
        return clew.start_span_no_context(**kwargs)

    return guarded(f"starting span {name!r}", start)


def inject_trace_headers(kwargs: dict, span: Any) -> None:
    """Send the span's W3C ``traceparent`` with the provider request (``extra_headers``).

    As MLflow does, so a traced server (an AI gateway, a clew-instrumented service)
    can join the trace. Headers the user passed win; nothing is added when
    propagation is disabled (``clew.tracing.configure(disable_propagation=True)``).
    """
    from clew import _core

    headers = dict(_core.context_headers(span))
    if headers:
        existing = kwargs.get("extra_headers") or {}
        kwargs["extra_headers"] = {**headers, **existing}


def end_span_with_error(span: Any, exc: BaseException) -> None:
    """Record ``exc`` (exception event + status ERROR) and end the span."""
    if span is None:
        return

    def record():
        try:
            span.record_exception(exc)
        finally:
            span.end()  # an unended span would hold its whole trace back

    guarded("recording an exception", record)


def add_chunk_event(span: Any, index: int, chunk: Any) -> None:
    """Add a stream chunk as event ``mlflow.chunk.item.<index>``."""
    from clew.entities import SpanEvent

    span.add_event(SpanEvent(name=CHUNK_EVENT_NAME.format(index=index), attributes={CHUNK_EVENT_VALUE: to_json_text(chunk)}))


def set_model_from_inputs(span: Any, inputs: dict) -> None:
    """``mlflow.llm.model`` from the request's ``model`` argument, when it is a string."""
    model = inputs.get("model") if isinstance(inputs, dict) else None
    if isinstance(model, str) and model:
        span.set_attribute(MODEL, model)


# ---------------------------------------------------------------------------
# Streams


def wrap_iterator(
    iterator: Iterable,
    on_chunk: Callable[[int, Any], None],
    on_done: Callable[[list], None],
    on_error: Callable[[BaseException], None],
) -> Iterator:
    """Pass ``iterator``'s items through unchanged while recording them.

    ``on_chunk`` sees every item, ``on_done`` the list of items when the stream
    ends — also when the consumer stops early and the stream is closed, so the
    span is ended with what arrived — and ``on_error`` an exception raised
    mid-stream (which is then re-raised). Callback failures are logged only.
    """
    chunks: list = []
    try:
        for chunk in iterator:
            guarded("recording a stream chunk", on_chunk, len(chunks), chunk)
            chunks.append(chunk)
            yield chunk
    except GeneratorExit:
        guarded("finishing a stream", on_done, chunks)
        raise
    except BaseException as exc:
        guarded("recording a stream error", on_error, exc)
        raise
    guarded("finishing a stream", on_done, chunks)


async def wrap_async_iterator(
    iterator: Any,
    on_chunk: Callable[[int, Any], None],
    on_done: Callable[[list], None],
    on_error: Callable[[BaseException], None],
):
    """The ``async for`` counterpart of :func:`wrap_iterator`."""
    chunks: list = []
    try:
        async for chunk in iterator:
            guarded("recording a stream chunk", on_chunk, len(chunks), chunk)
            chunks.append(chunk)
            yield chunk
    except GeneratorExit:
        guarded("finishing a stream", on_done, chunks)
        raise
    except BaseException as exc:
        guarded("recording a stream error", on_error, exc)
        raise
    guarded("finishing a stream", on_done, chunks)


def hook_sdk_stream(stream: Any, is_async: bool, on_chunk, on_done, on_error) -> bool:
    """Route an OpenAI/Anthropic SDK ``Stream``/``AsyncStream`` through the recorders.

    Both SDKs iterate ``self._iterator``; replacing it (as MLflow does) keeps the
    object the user gets — its type, ``close()``, ``response`` — unchanged.
    Returns False if the stream does not have that shape.
    """
    inner = getattr(stream, "_iterator", None)
    if inner is None:
        return False
    wrap = wrap_async_iterator if is_async else wrap_iterator
    stream._iterator = wrap(inner, on_chunk, on_done, on_error)
    return True


# ---------------------------------------------------------------------------
# Patching


class CallTracer:
    """What an integration records for one patched method.

    ``start`` runs before the call and returns a state object (usually the span)
    or None to record nothing; ``on_result`` gets the state and the result and
    returns the result the user should receive (the same object, possibly with
    its stream hooked); ``on_error`` gets the state and the exception.
    """

    def start(self, instance: Any, original: Callable, args: tuple, kwargs: dict) -> Any:
        raise NotImplementedError

    def on_result(self, state: Any, result: Any) -> Any:
        return result

    def on_error(self, state: Any, exc: BaseException) -> None:
        end_span_with_error(state, exc)


@dataclasses.dataclass
class _Patch:
    owner: type
    name: str
    original: Any  # the attribute as found in owner.__dict__ (None: inherited)
    had_own: bool
    patched: Any


_patches: dict[str, list[_Patch]] = {}
_PATCH_MARK = "__clew_autolog__"


def patch_method(integration: str, owner: type, name: str, tracer: CallTracer, is_async: bool) -> bool:
    """Replace ``owner.name`` by a traced version; False if it does not exist.

    Idempotent: a method already patched by ``integration`` is left alone.
    """
    current = getattr(owner, name, None)
    if current is None:
        return False
    if getattr(current, _PATCH_MARK, None) == integration:
        return True  # patched here or on a base class already
    had_own = name in owner.__dict__
    raw = owner.__dict__.get(name)
    original = current  # looked up through the MRO, as the user's call would

    def begin(self, args, kwargs):
        if not is_recording(integration):
            return None
        return guarded(f"{integration} autolog (start)", tracer.start, self, original, args, kwargs)

    def finish(state, result):
        if state is None:
            return result
        try:
            return tracer.on_result(state, result)
        except Exception as exc:
            log_failure(f"{integration} autolog (result)", exc)
            return result

    def fail(state, exc):
        if state is not None:
            guarded(f"{integration} autolog (error)", tracer.on_error, state, exc)

    if is_async:

        @functools.wraps(original)
        async def patched(self, *args, **kwargs):
            state = begin(self, args, kwargs)
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                fail(state, exc)
                raise
            return finish(state, result)

    else:

        @functools.wraps(original)
        def patched(self, *args, **kwargs):
            state = begin(self, args, kwargs)
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                fail(state, exc)
                raise
            return finish(state, result)

    setattr(patched, _PATCH_MARK, integration)
    setattr(owner, name, patched)
    _patches.setdefault(integration, []).append(_Patch(owner, name, raw, had_own, patched))
    return True


def unpatch_all(integration: str) -> None:
    """Restore every method ``integration`` patched (newest first)."""
    for p in reversed(_patches.pop(integration, [])):
        try:
            if p.owner.__dict__.get(p.name) is not p.patched:
                # Someone patched over us; removing our layer would drop theirs.
                _logger.debug("clew autolog: %s.%s was re-patched by others; left in place", p.owner.__name__, p.name)
                continue
            if p.had_own:
                setattr(p.owner, p.name, p.original)
            else:
                delattr(p.owner, p.name)
        except Exception as exc:
            log_failure(f"restoring {p.owner.__name__}.{p.name}", exc)


def is_patched(integration: str) -> bool:
    """Whether ``integration`` currently has patches installed."""
    return bool(_patches.get(integration))


def set_integration(
    integration: str,
    disable: bool,
    log_traces: bool,
    silent: bool,
    install: Callable[[], None],
) -> None:
    """Enable (installing patches via ``install``) or disable an integration.

    Disabling removes the patches, so the library runs exactly as without clew.
    """
    with _lock:
        if disable:
            _configs.pop(integration, None)
            unpatch_all(integration)
            return
        _configs[integration] = IntegrationConfig(log_traces=log_traces, silent=silent)
        if not is_patched(integration):
            try:
                install()
            except ImportError as exc:
                _configs.pop(integration, None)
                unpatch_all(integration)
                if not silent:
                    _logger.warning("clew autolog: %s is not installed (%s); nothing to trace", integration, exc)
            except Exception as exc:
                _configs.pop(integration, None)
                unpatch_all(integration)
                log_failure(f"enabling {integration} autolog", exc)
