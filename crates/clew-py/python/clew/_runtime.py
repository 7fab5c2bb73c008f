"""Process-wide state of the Python layer: the current-span ContextVar, the fast on/off flag
the decorators check, and the logger. Kept tiny: every traced call reads from here."""

from __future__ import annotations

import atexit
import contextvars
import logging

from clew import _core

_logger = logging.getLogger("clew")

#: The current span (a ``clew.entities.LiveSpan``) or None. A ContextVar, so the current span
#: follows ``contextvars.copy_context()`` into threads and asyncio tasks exactly as MLflow's.
CURRENT_SPAN: contextvars.ContextVar = contextvars.ContextVar("clew_current_span", default=None)

#: ``ENABLED[0]`` mirrors the core's on/off switch; traced functions check it before anything
#: else so a disabled call costs one list read.
ENABLED = [True]


def warn(message: str) -> None:
    """Warnings from the core (tracing problems never raise into user code)."""
    _logger.warning(message)


def sync_enabled() -> None:
    ENABLED[0] = _core.is_enabled()


def _init() -> None:
    from clew.entities.span_event import SpanEvent
    from clew.entities.span_status import SpanStatus

    def make_status(code, description):
        return SpanStatus(code, description)

    def make_event(name, timestamp, attributes):
        return SpanEvent(name=name, timestamp=timestamp, attributes=attributes)

    _core._init(CURRENT_SPAN, make_status, make_event, warn)
    sync_enabled()


def _flush_at_exit() -> None:
    # The core also flushes at process exit; doing it here, while the interpreter is still
    # fully alive, keeps the order of shutdown simple.
    try:
        _core.flush(10.0)
    except Exception:  # never fail interpreter shutdown
        pass


atexit.register(_flush_at_exit)
