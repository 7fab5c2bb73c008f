"""Names the MLflow tracing API reference imports from ``mlflow.tracing.provider``."""

from clew.entities import SpanStatus, SpanStatusCode, SpanType
from clew.tracing import disable, enable, reset, set_destination

__all__ = ["SpanStatus", "SpanStatusCode", "SpanType", "disable", "enable", "reset", "set_destination"]
