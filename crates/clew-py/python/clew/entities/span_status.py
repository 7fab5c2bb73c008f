"""Span status: ``SpanStatusCode`` (UNSET/OK/ERROR) and ``SpanStatus`` (code + description)."""

from __future__ import annotations

from enum import Enum


class SpanStatusCode(str, Enum):
    """A span's status code. A ``str`` enum: ``SpanStatusCode.OK == "OK"``."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


# OpenTelemetry's names, as they appear in span dicts ("STATUS_CODE_OK").
_FROM_OTEL = {
    "STATUS_CODE_UNSET": SpanStatusCode.UNSET,
    "STATUS_CODE_OK": SpanStatusCode.OK,
    "STATUS_CODE_ERROR": SpanStatusCode.ERROR,
}


def _code(value) -> SpanStatusCode:
    if isinstance(value, SpanStatusCode):
        return value
    text = str(getattr(value, "value", value)).upper()
    if text in _FROM_OTEL:
        return _FROM_OTEL[text]
    try:
        return SpanStatusCode(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a valid SpanStatusCode; use one of 'UNSET', 'OK', 'ERROR'"
        ) from None


class SpanStatus:
    """A span's status: ``SpanStatus(SpanStatusCode.ERROR, description="...")``.

    The class also carries the string constants ``OK``, ``ERROR``, ``CANCELLED`` and
    ``TIMEOUT`` that the MLflow tracing API reference lists under ``SpanStatus``;
    ``span.set_status(SpanStatus.OK)`` works with them (CANCELLED and TIMEOUT record ERROR).
    """

    OK = "OK"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"

    __slots__ = ("status_code", "description")

    def __init__(self, status_code, description: str = ""):
        if str(getattr(status_code, "value", status_code)).upper() in ("CANCELLED", "TIMEOUT"):
            description = description or str(getattr(status_code, "value", status_code)).upper()
            status_code = SpanStatusCode.ERROR
        self.status_code = _code(status_code)
        self.description = description or ""

    def __eq__(self, other) -> bool:
        if isinstance(other, SpanStatus):
            return self.status_code == other.status_code and self.description == other.description
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.status_code, self.description))

    def __repr__(self) -> str:
        return f"SpanStatus(status_code={self.status_code.value!r}, description={self.description!r})"

    def to_dict(self) -> dict:
        return {"status_code": self.status_code.value, "description": self.description}
