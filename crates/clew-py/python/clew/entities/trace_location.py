"""Trace locations, with MLflow 3's module path (``mlflow.entities.trace_location``)."""

from clew.entities.trace import TraceLocation
from clew.tracing.destination import MlflowExperiment, MlflowExperimentLocation


class TraceLocationType:
    """Kinds of trace locations (clew stores traces in experiments)."""

    MLFLOW_EXPERIMENT = "MLFLOW_EXPERIMENT"
    TRACE_LOCATION_TYPE_UNSPECIFIED = "TRACE_LOCATION_TYPE_UNSPECIFIED"


__all__ = ["MlflowExperiment", "MlflowExperimentLocation", "TraceLocation", "TraceLocationType"]
