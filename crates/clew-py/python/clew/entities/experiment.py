"""``Experiment``: a container of traces."""

from __future__ import annotations


class Experiment:
    def __init__(self, experiment_id: str, name: str, artifact_location: str = "", lifecycle_stage: str = "active",
                 tags: dict = None, creation_time: int = None, last_update_time: int = None):
        self.experiment_id = experiment_id
        self.name = name
        self.artifact_location = artifact_location
        self.lifecycle_stage = lifecycle_stage
        self.tags = dict(tags or {})
        self.creation_time = creation_time
        self.last_update_time = last_update_time

    @classmethod
    def _from_core(cls, d: dict) -> "Experiment":
        return cls(**d)

    def __repr__(self) -> str:
        return f"<Experiment: experiment_id={self.experiment_id!r}, name={self.name!r}, lifecycle_stage={self.lifecycle_stage!r}>"
