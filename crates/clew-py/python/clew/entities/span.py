"""``Span``: a finished span as read back from a store (immutable), and ``SpanContext``."""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from clew.entities.span_event import SpanEvent
from clew.entities.span_status import SpanStatus, _code

_REQUEST_ID = "mlflow.traceRequestId"
_SPAN_TYPE = "mlflow.spanType"
_INPUTS = "mlflow.spanInputs"
_OUTPUTS = "mlflow.spanOutputs"


def _b64_to_hex(value: Optional[str], width: int) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str) and len(value) == width and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b64decode(value).hex().rjust(width, "0")
    except Exception:
        return str(value)


def _hex_to_b64(value: Optional[str], width: int) -> Optional[str]:
    if value is None:
        return None
    return base64.b64encode(bytes.fromhex(value.rjust(width, "0"))).decode("ascii")


def _decode(text: Any) -> Any:
    """An attribute value: JSON text decoded; text that is not JSON is returned as is."""
    if not isinstance(text, str):
        return text
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class SpanContext:
    """Ids of a span: ``trace_id`` (MLflow's ``tr-…``) and ``span_id`` (16 hex)."""

    __slots__ = ("trace_id", "span_id")

    def __init__(self, trace_id: str, span_id: str):
        self.trace_id = trace_id
        self.span_id = span_id

    def __repr__(self) -> str:
        return f"SpanContext(trace_id={self.trace_id!r}, span_id={self.span_id!r})"


class Span:
    """A finished span (MLflow's ``mlflow.entities.Span``), built from its dict form.

    Attribute values are kept as MLflow keeps them, JSON text; the properties decode them.
    """

    def __init__(self, span_dict: dict):
        self._dict = span_dict
        self._attributes_raw = span_dict.get("attributes") or {}

    # --- identity -------------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        """MLflow's trace id (``tr-…``)."""
        rid = _decode(self._attributes_raw.get(_REQUEST_ID))
        if isinstance(rid, str) and rid:
            return rid
        return "tr-" + (_b64_to_hex(self._dict.get("trace_id"), 32) or "")

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def _trace_id(self) -> str:
        """The OpenTelemetry trace id (32 hex)."""
        return _b64_to_hex(self._dict.get("trace_id"), 32) or ""

    @property
    def span_id(self) -> str:
        return _b64_to_hex(self._dict.get("span_id"), 16)

    @property
    def parent_id(self) -> Optional[str]:
        return _b64_to_hex(self._dict.get("parent_span_id"), 16)

    @property
    def context(self) -> SpanContext:
        return SpanContext(self.trace_id, self.span_id)

    @property
    def name(self) -> str:
        return self._dict.get("name", "")

    # --- times ----------------------------------------------------------------------------
    @property
    def start_time_ns(self) -> int:
        return self._dict.get("start_time_unix_nano")

    @property
    def end_time_ns(self) -> Optional[int]:
        return self._dict.get("end_time_unix_nano")

    # --- status ---------------------------------------------------------------------------
    @property
    def status(self) -> SpanStatus:
        status = self._dict.get("status") or {}
        return SpanStatus(_code(status.get("code") or "UNSET"), status.get("message") or "")

    @property
    def status_code(self) -> str:
        return self.status.status_code.value

    @property
    def status_message(self) -> str:
        return self.status.description

    # --- content --------------------------------------------------------------------------
    @property
    def span_type(self) -> Optional[str]:
        return _decode(self._attributes_raw.get(_SPAN_TYPE))

    @property
    def inputs(self) -> Any:
        return _decode(self._attributes_raw.get(_INPUTS))

    @property
    def outputs(self) -> Any:
        return _decode(self._attributes_raw.get(_OUTPUTS))

    @property
    def attributes(self) -> dict:
        """All attributes, decoded."""
        return {k: _decode(v) for k, v in self._attributes_raw.items()}

    def get_attribute(self, key: str) -> Any:
        return _decode(self._attributes_raw.get(key))

    @property
    def events(self) -> list:
        return [
            SpanEvent(name=e.get("name", ""), timestamp=e.get("time_unix_nano", 0), attributes=dict(e.get("attributes") or {}))
            for e in self._dict.get("events") or []
        ]

    # --- forms ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The span dict (MLflow's ``Span.to_dict()``: base64 ids, JSON-text attributes)."""
        return json.loads(json.dumps(self._dict))

    @classmethod
    def from_dict(cls, data: dict) -> "Span":
        return cls(json.loads(json.dumps(data)))

    def __repr__(self) -> str:
        return f"Span(name={self.name!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r}, parent_id={self.parent_id!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Span) and self._dict == other._dict
