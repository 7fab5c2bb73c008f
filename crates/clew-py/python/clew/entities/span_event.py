"""``SpanEvent``: something that happened at a point in a span (an exception, a chunk, ...)."""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any


def _now_ns() -> int:
    return time.time_ns()


@dataclass
class SpanEvent:
    """An event of a span.

    Args:
        name: the event's name.
        timestamp: when it happened, in nanoseconds since the epoch (default: now).
        attributes: key/value pairs (str, int, float, bool, or lists of them).
    """

    name: str
    timestamp: int = field(default_factory=_now_ns)
    attributes: dict = field(default_factory=dict)

    @classmethod
    def from_exception(cls, exception: BaseException) -> "SpanEvent":
        """An ``exception`` event with ``exception.message``, ``exception.type`` and
        ``exception.stacktrace``, as MLflow records it."""
        try:
            stacktrace = "".join(
                traceback.format_exception(type(exception), exception, exception.__traceback__)
            ).strip()
        except Exception:
            stacktrace = repr(exception)
        return cls(
            name="exception",
            attributes={
                "exception.message": str(exception),
                "exception.type": exception.__class__.__name__,
                "exception.stacktrace": stacktrace,
            },
        )

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "timestamp": self.timestamp,
            "attributes": json.dumps(self.attributes, default=str) if self.attributes else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """The event as it appears in a span dict (OpenTelemetry field names)."""
        return {"name": self.name, "time_unix_nano": self.timestamp, "attributes": dict(self.attributes)}
