"""``clew.tracing``: configuration, propagation, notebook display, and the module-level
helpers of the MLflow tracing API reference (``trace`` as decorator and context manager,
``set_span_inputs``, ``log_span_event``, ``search_traces`` returning a list, ...)."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Callable, Optional

from clew import _core, _runtime
from clew._runtime import CURRENT_SPAN
from clew.entities import Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType, Trace
from clew.fluent import (
    add_span_exception,
    end_span,
    get_current_active_span,
    get_last_active_trace,
    get_last_active_trace_id,
    get_trace,
    log_span_event,
    set_span_attribute,
    set_span_attributes,
    set_span_chat_tools,
    set_span_inputs,
    set_span_output,
    set_span_outputs,
    start_span,
    start_span_no_context,
    trace,
)
from clew.fluent import search_traces as _search_traces

# ---------------------------------------------------------------------------------------------
# Configuration

_CONFIG = {"sampling_rate": 1.0, "disable_propagation": False}


class _ConfigScope:
    """What ``configure`` returns: usable as a context manager that restores the previous
    settings on exit."""

    def __init__(self, previous: dict):
        self._previous = previous

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        configure(**self._previous)
        return False


def configure(disable_propagation: Optional[bool] = None, sampling_rate: Optional[float] = None,
              span_processors: Optional[list] = None) -> _ConfigScope:
    """Global tracing settings: ``sampling_rate`` (0.0–1.0, decided per trace) and
    ``disable_propagation`` (no ``traceparent`` produced or honoured)."""
    previous = dict(_CONFIG)
    if sampling_rate is not None:
        rate = float(sampling_rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"sampling_rate must be between 0.0 and 1.0, got {sampling_rate}")
        _CONFIG["sampling_rate"] = rate
    if disable_propagation is not None:
        _CONFIG["disable_propagation"] = bool(disable_propagation)
    if span_processors:
        _runtime.warn("clew.tracing.configure: Python span_processors are not supported; ignored")
    _core.configure(sampling_rate, disable_propagation)
    return _ConfigScope(previous)


def enable(experiment_id: Optional[str] = None) -> None:
    """Turns tracing on (optionally sending new traces to ``experiment_id``)."""
    _core.enable(None if experiment_id is None else str(experiment_id))
    _runtime.sync_enabled()


def disable() -> None:
    """Turns tracing off: traced code runs unchanged and records nothing."""
    _core.disable()
    _runtime.sync_enabled()


def reset() -> None:
    """Back to defaults (enabled, sampling 1.0, destination and experiment from the
    environment). Pending traces are written first."""
    from clew import fluent

    _core.reset()
    _CONFIG.update(sampling_rate=1.0, disable_propagation=False)
    fluent._TRACKING_URI[0] = None
    _runtime.sync_enabled()


def set_destination(destination: Any, *, context_local: bool = False) -> None:
    """Where new traces go: a tracking URI string (``sqlite:///…``, ``http(s)://…``,
    ``memory:``) or ``MlflowExperiment(experiment_id, tracking_uri=None)``."""
    from clew import fluent

    if isinstance(destination, str):
        fluent.set_tracking_uri(destination)
        return
    uri = getattr(destination, "tracking_uri", None)
    if uri:
        fluent.set_tracking_uri(uri)
    experiment_id = getattr(destination, "experiment_id", None)
    if experiment_id is None and uri is None:
        raise TypeError(
            f"set_destination expects a tracking URI or MlflowExperiment(experiment_id=...), got {destination!r}"
        )
    if experiment_id is not None:
        _core.enable(str(experiment_id))
        _runtime.sync_enabled()


# ---------------------------------------------------------------------------------------------
# mlflow.tracing.context

_SCOPE: Any = None  # ContextVar created lazily
_ACTIVE_SCOPES = [0]


def _scope_var():
    global _SCOPE
    if _SCOPE is None:
        import contextvars

        _SCOPE = contextvars.ContextVar("clew_trace_context", default=None)
    return _SCOPE


def _apply_scope(root_span) -> None:
    scope = _scope_var().get()
    if not scope:
        return
    metadata, tags = scope
    _core.update_trace(
        root_span,
        tags=list(tags.items()) or None,
        metadata=list(metadata.items()) or None,
    )


# The Rust core has one root-span hook slot; two features use it: context() scopes (tags and
# metadata on traces started inside) and notebook display (clew.notebook records the ids of
# traces made during a cell). The hook is installed only while one of them needs it, so
# root spans cost nothing extra otherwise.
_NOTEBOOK_ROOT_HOOK: list = [None]


def _root_hook(span) -> None:
    if _ACTIVE_SCOPES[0] > 0:
        _apply_scope(span)
    notebook_hook = _NOTEBOOK_ROOT_HOOK[0]
    if notebook_hook is not None:
        notebook_hook(span)


def _refresh_root_hook() -> None:
    needed = _ACTIVE_SCOPES[0] > 0 or _NOTEBOOK_ROOT_HOOK[0] is not None
    _core.set_root_hook(_root_hook if needed else None)


def _set_notebook_root_hook(hook) -> None:
    """Used by clew.notebook: ``hook(live_span)`` is called when a trace's root span starts."""
    _NOTEBOOK_ROOT_HOOK[0] = hook
    _refresh_root_hook()


@contextlib.contextmanager
def context(metadata: Optional[dict] = None, tags: Optional[dict] = None, enabled: Optional[bool] = None,
            session_id: Optional[str] = None, user: Optional[str] = None):
    """Tags and metadata put on every trace *started* inside the block (nested blocks merge,
    the inner one winning); ``enabled=False`` records nothing inside the block."""
    var = _scope_var()
    outer = var.get() or ({}, {})
    new_metadata = dict(outer[0])
    new_metadata.update({str(k): str(v) for k, v in (metadata or {}).items()})
    if session_id is not None:
        new_metadata["mlflow.trace.session"] = str(session_id)
    if user is not None:
        new_metadata["mlflow.trace.user"] = str(user)
    new_tags = dict(outer[1])
    new_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    token = var.set((new_metadata, new_tags))
    _ACTIVE_SCOPES[0] += 1
    _refresh_root_hook()
    span_token = None
    if enabled is False:
        # A no-op span as the current span: everything started inside is unrecorded.
        span_token = CURRENT_SPAN.set(_core.noop_span())
    elif enabled is True and CURRENT_SPAN.get() is not None and not CURRENT_SPAN.get().is_recording:
        span_token = CURRENT_SPAN.set(None)
    try:
        yield
    finally:
        if span_token is not None:
            CURRENT_SPAN.reset(span_token)
        var.reset(token)
        _ACTIVE_SCOPES[0] -= 1
        if _ACTIVE_SCOPES[0] <= 0:
            _ACTIVE_SCOPES[0] = 0
            _refresh_root_hook()


# ---------------------------------------------------------------------------------------------
# Distributed tracing


def get_tracing_context_headers_for_http_request() -> dict:
    """``{"traceparent": ...}`` for the current span, to send with an outgoing request."""
    return dict(_core.context_headers(CURRENT_SPAN.get()))


@contextlib.contextmanager
def set_tracing_context_from_http_request_headers(headers: dict):
    """Continues the caller's trace inside the block: spans started here are children of
    the span that sent ``headers`` (W3C ``traceparent``)."""
    items = [(str(k), str(v)) for k, v in dict(headers).items()]
    try:
        parent = _core.span_from_headers(items)
    except ValueError as e:
        _runtime.warn(f"ignoring the incoming trace context: {e}")
        parent = None
    token = CURRENT_SPAN.set(parent) if parent is not None else None
    try:
        yield
    finally:
        if token is not None:
            CURRENT_SPAN.reset(token)


# ---------------------------------------------------------------------------------------------
# Notebook display (clew.notebook, imported only when asked for)


def enable_notebook_display() -> None:
    """Shows traces inline in Jupyter (a no-op outside a notebook)."""
    try:
        notebook = importlib.import_module("clew.notebook")
    except ImportError as e:
        _runtime.warn(f"notebook display is not available: {e}")
        return
    fn = getattr(notebook, "enable_notebook_display", None)
    if fn is not None:
        fn()


def disable_notebook_display() -> None:
    try:
        notebook = importlib.import_module("clew.notebook")
    except ImportError:
        return
    fn = getattr(notebook, "disable_notebook_display", None)
    if fn is not None:
        fn()


# ---------------------------------------------------------------------------------------------
# The API reference's other names


def mlflow_trace(func: Optional[Callable] = None, *, span_type: Optional[str] = None, name: Optional[str] = None, **kwargs: Any):
    """``@mlflow_trace(span_type=..., name=...)`` (or bare ``@mlflow_trace``)."""
    if func is not None and not isinstance(func, str):
        return trace(func, name=name, span_type=span_type or SpanType.UNKNOWN, **kwargs)
    if isinstance(func, str):
        name = func
    return trace(name=name, span_type=span_type or SpanType.UNKNOWN, **kwargs)


def search_traces(experiment_ids: Optional[list] = None, filter_string: Optional[str] = None,
                  max_results: Optional[int] = None, order_by: Optional[list] = None,
                  return_type: str = "list", **kwargs: Any):
    """Like ``clew.search_traces``, returning a list of ``Trace`` by default (as the MLflow
    tracing API reference documents for ``mlflow.tracing.search_traces``)."""
    return _search_traces(experiment_ids=experiment_ids, filter_string=filter_string, max_results=max_results,
                          order_by=order_by, return_type=return_type, **kwargs)


def _instrument(module: str) -> None:
    try:
        integration = importlib.import_module(f"clew.{module}")
    except ImportError as e:
        raise ImportError(f"clew.{module} is not available: {e}") from e
    integration.autolog()


def instrument_openai() -> None:
    """Traces OpenAI client calls (``clew.openai.autolog()``)."""
    _instrument("openai")


def instrument_anthropic() -> None:
    """Traces Anthropic client calls (``clew.anthropic.autolog()``)."""
    _instrument("anthropic")


def instrument_langchain() -> None:
    """Traces LangChain runs (``clew.langchain.autolog()``)."""
    _instrument("langchain")


def instrument_transformers() -> None:
    """Traces transformers pipelines (``clew.transformers.autolog()``)."""
    _instrument("transformers")


__all__ = [
    "Span", "SpanEvent", "SpanStatus", "SpanStatusCode", "SpanType", "Trace",
    "add_span_exception", "configure", "context", "disable", "disable_notebook_display", "enable",
    "enable_notebook_display", "end_span", "get_current_active_span", "get_last_active_trace",
    "get_last_active_trace_id", "get_trace", "get_tracing_context_headers_for_http_request",
    "instrument_anthropic", "instrument_langchain", "instrument_openai", "instrument_transformers",
    "log_span_event", "mlflow_trace", "reset", "search_traces", "set_destination", "set_span_attribute",
    "set_span_attributes", "set_span_chat_tools", "set_span_inputs", "set_span_output", "set_span_outputs",
    "set_tracing_context_from_http_request_headers", "start_span", "start_span_no_context", "trace",
]
