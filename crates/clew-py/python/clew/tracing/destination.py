"""Trace destinations for ``clew.tracing.set_destination``."""

from __future__ import annotations

from typing import Optional


class MlflowExperiment:
    """Send traces to an experiment, optionally of another tracking server / store.

    ``set_destination(MlflowExperiment(experiment_id="1", tracking_uri="http://127.0.0.1:5000"))``
    """

    def __init__(self, experiment_id: Optional[str] = None, tracking_uri: Optional[str] = None):
        self.experiment_id = experiment_id
        self.tracking_uri = tracking_uri

    def __repr__(self) -> str:
        return f"MlflowExperiment(experiment_id={self.experiment_id!r}, tracking_uri={self.tracking_uri!r})"


#: MLflow 3's name for the same destination (``mlflow.entities.trace_location``).
MlflowExperimentLocation = MlflowExperiment
