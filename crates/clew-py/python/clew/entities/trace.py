"""``Trace`` = ``TraceInfo`` + ``TraceData`` (the spans), with MLflow's JSON forms."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Optional, Union

from clew.entities.span import Span


class TraceState(str, Enum):
    """A trace's state (MLflow 3)."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    def __str__(self) -> str:
        return self.value


def _state(value: Any) -> TraceState:
    text = str(getattr(value, "value", value) or "STATE_UNSPECIFIED")
    if text == "TRACE_STATUS_UNSPECIFIED":
        text = "STATE_UNSPECIFIED"
    try:
        return TraceState(text)
    except ValueError:
        return TraceState.STATE_UNSPECIFIED


class TraceLocation:
    """Where a trace lives: an MLflow experiment."""

    def __init__(self, experiment_id: Optional[str] = "0", type: str = "MLFLOW_EXPERIMENT"):
        self.type = type
        self.experiment_id = experiment_id

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> "TraceLocation":
        return cls(experiment_id)

    def to_dict(self) -> dict:
        if self.experiment_id is None:
            return {"type": self.type}
        return {"type": self.type, "mlflow_experiment": {"experiment_id": self.experiment_id}}

    @classmethod
    def from_dict(cls, d: dict) -> "TraceLocation":
        exp = (d or {}).get("mlflow_experiment") or {}
        return cls(exp.get("experiment_id"), (d or {}).get("type", "MLFLOW_EXPERIMENT"))

    def __repr__(self) -> str:
        return f"TraceLocation(type={self.type!r}, experiment_id={self.experiment_id!r})"


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$")


def _ms_from_timestamp(value: Any) -> Optional[int]:
    """Protobuf Timestamp JSON (``2026-11-21T05:26:11.687Z``) or an int to ms."""
    if value is None or isinstance(value, int):
        return value
    m = _TS.match(str(value))
    if not m:
        raise ValueError(f"request_time: {value!r} is not a timestamp like 2026-01-01T00:00:00.000Z")
    seconds = int(datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    frac = (m.group(2) or "").ljust(9, "0")
    return seconds * 1000 + int(frac[:3] or 0)


def _timestamp_from_ms(ms: Optional[int]) -> Optional[str]:
    """ms to protobuf Timestamp JSON (0, 3 fractional digits as protobuf writes them)."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _ms_from_duration(value: Any) -> Optional[int]:
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("s"):
        return int(round(float(text[:-1]) * 1000))
    return int(text)


class TraceInfo:
    """Metadata of a trace (MLflow's TraceInfo v3), with MLflow 2's names as aliases
    (``request_id``, ``experiment_id``, ``timestamp_ms``, ``execution_time_ms``, ``status``,
    ``request_metadata``)."""

    def __init__(
        self,
        trace_id: str,
        trace_location: Optional[TraceLocation] = None,
        request_time: int = 0,
        state: Union[TraceState, str] = TraceState.STATE_UNSPECIFIED,
        request_preview: Optional[str] = None,
        response_preview: Optional[str] = None,
        client_request_id: Optional[str] = None,
        execution_duration: Optional[int] = None,
        trace_metadata: Optional[dict] = None,
        tags: Optional[dict] = None,
        assessments: Optional[list] = None,
    ):
        self.trace_id = trace_id
        self.trace_location = trace_location or TraceLocation("0")
        self.request_time = request_time
        self.state = _state(state)
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.client_request_id = client_request_id
        self.execution_duration = execution_duration
        self.trace_metadata = dict(trace_metadata or {})
        self.tags = dict(tags or {})
        self.assessments = list(assessments or [])

    # MLflow 2 names.
    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def experiment_id(self) -> Optional[str]:
        return self.trace_location.experiment_id

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> Optional[int]:
        return self.execution_duration

    @property
    def status(self) -> str:
        return self.state.value

    @property
    def request_metadata(self) -> dict:
        return self.trace_metadata

    @property
    def token_usage(self) -> Optional[dict]:
        raw = self.trace_metadata.get("mlflow.trace.tokenUsage")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def to_dict(self) -> dict:
        """MLflow's ``TraceInfo.to_dict()`` (same keys, same order; empty maps left out)."""
        d: dict = {"trace_id": self.trace_id}
        if self.client_request_id is not None:
            d["client_request_id"] = self.client_request_id
        d["trace_location"] = self.trace_location.to_dict()
        d["request_time"] = _timestamp_from_ms(self.request_time)
        d["state"] = self.state.value
        if self.trace_metadata:
            d["trace_metadata"] = dict(self.trace_metadata)
        if self.assessments:
            d["assessments"] = [a.to_dictionary() if hasattr(a, "to_dictionary") else a for a in self.assessments]
        if self.tags:
            d["tags"] = dict(self.tags)
        if self.request_preview is not None:
            d["request_preview"] = self.request_preview
        if self.response_preview is not None:
            d["response_preview"] = self.response_preview
        if self.execution_duration is not None:
            d["execution_duration_ms"] = self.execution_duration
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TraceInfo":
        if "request_id" in d:  # MLflow 2 (TraceInfoV2) dict
            return cls(
                trace_id=d["request_id"],
                trace_location=TraceLocation(d.get("experiment_id")),
                request_time=d.get("timestamp_ms") or 0,
                state={"IN_PROGRESS": "IN_PROGRESS", "OK": "OK", "ERROR": "ERROR"}.get(d.get("status"), "STATE_UNSPECIFIED"),
                execution_duration=d.get("execution_time_ms"),
                trace_metadata=d.get("request_metadata") or {},
                tags=d.get("tags") or {},
            )
        duration = d.get("execution_duration_ms")
        if duration is None:
            duration = _ms_from_duration(d.get("execution_duration"))
        return cls(
            trace_id=d["trace_id"],
            trace_location=TraceLocation.from_dict(d.get("trace_location") or {}),
            request_time=_ms_from_timestamp(d.get("request_time")) or 0,
            state=d.get("state"),
            request_preview=d.get("request_preview"),
            response_preview=d.get("response_preview"),
            client_request_id=d.get("client_request_id"),
            execution_duration=duration,
            trace_metadata=d.get("trace_metadata") or {},
            tags=d.get("tags") or {},
            assessments=d.get("assessments") or [],
        )

    def __repr__(self) -> str:
        return f"TraceInfo(trace_id={self.trace_id!r}, state={self.state.value!r}, request_time={self.request_time}, execution_duration={self.execution_duration})"


class TraceData:
    """The spans of a trace."""

    def __init__(self, spans: Optional[list] = None, **_ignored: Any):
        self.spans: list = list(spans or [])

    def _root(self) -> Optional[Span]:
        for span in self.spans:
            if span.parent_id is None:
                return span
        return None

    @property
    def request(self) -> Optional[str]:
        """The root span's inputs as JSON text."""
        root = self._root()
        return root._attributes_raw.get("mlflow.spanInputs") if root else None

    @property
    def response(self) -> Optional[str]:
        """The root span's outputs as JSON text."""
        root = self._root()
        return root._attributes_raw.get("mlflow.spanOutputs") if root else None

    @property
    def intermediate_outputs(self) -> Optional[dict]:
        root = self._root()
        return root.get_attribute("mlflow.trace.intermediate_outputs") if root else None

    def to_dict(self) -> dict:
        return {"spans": [s.to_dict() for s in self.spans]}

    @classmethod
    def from_dict(cls, d: dict) -> "TraceData":
        return cls(spans=[Span(s) for s in d.get("spans") or []])


class Trace:
    """A trace: ``info`` (TraceInfo) and ``data`` (TraceData with ``spans``).

    Also answers the MLflow 2 style reads the tracing API reference uses directly on the
    trace (``request_id``, ``timestamp_ms``, ``execution_time_ms``, ``status``, ``spans``,
    ``tags``, ``request_metadata``, ``experiment_id``).
    """

    def __init__(self, info: TraceInfo, data: TraceData):
        self.info = info
        self.data = data

    # --- MLflow 2 style reads -------------------------------------------------------------
    @property
    def request_id(self) -> str:
        return self.info.trace_id

    @property
    def trace_id(self) -> str:
        return self.info.trace_id

    @property
    def experiment_id(self) -> Optional[str]:
        return self.info.experiment_id

    @property
    def timestamp_ms(self) -> int:
        return self.info.request_time

    @property
    def execution_time_ms(self) -> Optional[int]:
        return self.info.execution_duration

    @property
    def status(self) -> str:
        return self.info.state.value

    @property
    def request_metadata(self) -> dict:
        return self.info.trace_metadata

    @property
    def tags(self) -> dict:
        return self.info.tags

    @property
    def spans(self) -> list:
        return self.data.spans

    # --- queries --------------------------------------------------------------------------
    def search_spans(self, span_type: Optional[str] = None, name: Union[str, "re.Pattern", None] = None, span_id: Optional[str] = None) -> list:
        """Spans matching every given criterion: type, name (exact or a compiled regex), id."""
        if span_type is not None:
            span_type = str(getattr(span_type, "value", span_type))
        if name is not None and not isinstance(name, (str, re.Pattern)):
            raise ValueError(f"name must be a str or a compiled re.Pattern, got {type(name).__name__}")
        found = []
        for span in self.data.spans:
            if span_type is not None and span.span_type != span_type:
                continue
            if isinstance(name, str) and span.name != name:
                continue
            if isinstance(name, re.Pattern) and not name.fullmatch(span.name):
                continue
            if span_id is not None and span.span_id != span_id:
                continue
            found.append(span)
        return found

    # --- forms ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        return json.dumps(self.to_dict(), indent=2 if pretty else None)

    @classmethod
    def from_dict(cls, trace_dict: dict) -> "Trace":
        info = trace_dict.get("info")
        data = trace_dict.get("data")
        if info is None or data is None:
            raise ValueError("a trace dict needs both 'info' and 'data'")
        return cls(info=TraceInfo.from_dict(info), data=TraceData.from_dict(data))

    @classmethod
    def from_json(cls, trace_json: str) -> "Trace":
        try:
            d = json.loads(trace_json)
        except ValueError as e:
            raise ValueError(f"not a trace JSON document: {e}") from None
        if not isinstance(d, dict):
            raise ValueError("a trace JSON document must be an object")
        return cls.from_dict(d)

    def to_pandas_dataframe_row(self) -> dict:
        def loads(v):
            try:
                return json.loads(v)
            except Exception:
                return v

        return {
            "trace_id": self.info.trace_id,
            "trace": self.to_json(),
            "client_request_id": self.info.client_request_id,
            "state": self.info.state,
            "request_time": self.info.request_time,
            "execution_duration": self.info.execution_duration,
            "request": loads(self.data.request),
            "response": loads(self.data.response),
            "trace_metadata": self.info.trace_metadata,
            "tags": self.info.tags,
            "spans": [s.to_dict() for s in self.data.spans],
            "assessments": list(self.info.assessments),
        }

    @staticmethod
    def pandas_dataframe_columns() -> list:
        return [
            "trace_id", "trace", "client_request_id", "state", "request_time", "execution_duration",
            "request", "response", "trace_metadata", "tags", "spans", "assessments",
        ]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Optional[dict]:
        # Jupyter display (clew.notebook): text/plain always, text/html unless notebook
        # display is disabled. IPython prefers this over _repr_html_.
        try:
            from clew import notebook
        except Exception:
            return None
        return notebook.trace_mimebundle(self, include, exclude)

    def _repr_html_(self) -> Optional[str]:
        # Notebook display lives in clew.notebook (imported lazily: it is optional).
        try:
            from clew import notebook
        except Exception:
            return None
        render = getattr(notebook, "trace_html", None) or getattr(notebook, "render_trace_html", None)
        if render is None:
            return None
        try:
            return render(self)
        except Exception:
            return None

    def __repr__(self) -> str:
        return f"Trace(trace_id={self.info.trace_id})"
