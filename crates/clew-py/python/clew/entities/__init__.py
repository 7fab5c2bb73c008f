"""clew's entities, with MLflow's names: ``from clew.entities import SpanType, SpanEvent, ...``."""

from clew._core import LiveSpan
from clew.entities.document import Document
from clew.entities.experiment import Experiment
from clew.entities.span import Span, SpanContext
from clew.entities.span_event import SpanEvent
from clew.entities.span_status import SpanStatus, SpanStatusCode
from clew.entities.span_type import SpanType
from clew.entities.trace import Trace, TraceData, TraceInfo, TraceLocation, TraceState

#: MLflow's name for a span that records nothing; clew's no-op spans are LiveSpans whose
#: ``is_recording`` is False.
NoOpSpan = LiveSpan

__all__ = [
    "Document", "Experiment", "LiveSpan", "NoOpSpan", "Span", "SpanContext", "SpanEvent", "SpanStatus",
    "SpanStatusCode", "SpanType", "Trace", "TraceData", "TraceInfo", "TraceLocation", "TraceState",
]
