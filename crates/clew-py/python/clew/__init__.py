"""clew: tracing for LLM and agent applications, on a Rust core, with MLflow Tracing's API.

``import clew as mlflow`` runs MLflow tracing code unchanged::

    import clew as mlflow

    @mlflow.trace
    def add(x, y):
        return x + y

    add(1, 2)
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
"""

from __future__ import annotations

import importlib
from typing import Any

from clew import _core, _runtime

_runtime._init()

from clew import entities  # noqa: E402
from clew.fluent import (  # noqa: E402
    add_span_exception,
    delete_trace_tag,
    end_span,
    flush_trace_async_logging,
    get_active_trace_id,
    get_current_active_span,
    get_experiment_by_name,
    get_last_active_trace,
    get_last_active_trace_id,
    get_trace,
    get_tracking_uri,
    log_span_event,
    search_traces,
    set_experiment,
    set_span_attribute,
    set_span_attributes,
    set_span_chat_tools,
    set_span_inputs,
    set_span_output,
    set_span_outputs,
    set_trace_tag,
    set_tracking_uri,
    start_span,
    start_span_no_context,
    trace,
    update_current_trace,
)
from clew import tracing  # noqa: E402
from clew.entities import SpanType  # noqa: E402

__version__ = _core.__version__

# Integrations and the notebook module are imported on first use (`clew.openai.autolog()`),
# so `import clew` stays light and works without those libraries.
_LAZY_SUBMODULES = ("openai", "anthropic", "langchain", "transformers", "notebook")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"clew.{name}")
    raise AttributeError(f"module 'clew' has no attribute {name!r}")


def flush(timeout: float = 60.0) -> bool:
    """Waits until finished traces are written; returns whether everything was."""
    return _core.flush(timeout)


def autolog(disable: bool = False, **kwargs: Any) -> None:
    """Turns on tracing of every supported library that is installed (OpenAI, Anthropic,
    LangChain, transformers); libraries that are not installed are skipped."""
    for name in ("openai", "anthropic", "langchain", "transformers"):
        try:
            importlib.import_module(name if name != "langchain" else "langchain_core")
        except ImportError:
            continue
        try:
            integration = importlib.import_module(f"clew.{name}")
        except ImportError:
            continue
        fn = getattr(integration, "autolog", None)
        if fn is None:
            continue
        try:
            fn(disable=disable, **kwargs)
        except TypeError:
            fn()


__all__ = [
    "SpanType", "add_span_exception", "autolog", "delete_trace_tag", "end_span", "entities", "flush",
    "flush_trace_async_logging", "get_active_trace_id", "get_current_active_span", "get_experiment_by_name",
    "get_last_active_trace", "get_last_active_trace_id", "get_trace", "get_tracking_uri", "log_span_event",
    "search_traces", "set_experiment", "set_span_attribute", "set_span_attributes", "set_span_chat_tools",
    "set_span_inputs", "set_span_output", "set_span_outputs", "set_trace_tag", "set_tracking_uri", "start_span",
    "start_span_no_context", "trace", "tracing", "update_current_trace",
]

# Inside a Jupyter kernel, traces made in a cell are shown under it (clew.notebook; MLflow's
# behaviour). Only checked when IPython is already loaded, so scripts pay nothing.
if "IPython" in __import__("sys").modules:
    try:
        importlib.import_module("clew.notebook").install()
    except Exception:  # display is a convenience; never fail the import over it
        pass
