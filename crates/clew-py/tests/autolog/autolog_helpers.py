"""Reading back what autolog recorded (used by the test modules).

Kept out of conftest.py: pytest imports every directory's conftest.py under the
same module name, so ``from conftest import ...`` could find another directory's.
"""

from __future__ import annotations

import clew
from span_summary import summarize_trace


def last_trace():
    clew.flush_trace_async_logging()
    trace_id = clew.get_last_active_trace_id()
    assert trace_id is not None, "no trace was recorded"
    return clew.get_trace(trace_id)


def last_spans() -> list[dict]:
    """Summaries of the spans of the last finished trace (see span_summary.py)."""
    return summarize_trace(last_trace())


def all_traces():
    clew.flush_trace_async_logging()
    return clew.search_traces(return_type="list")
