//! `mlflow.TraceInfoV3` in proto-JSON, as MLflow's REST API writes it (`message_to_json`) and
//! as `TraceInfo.to_dict()` starts from (`MessageToDict(preserving_proto_field_name=True)`).
//!
//! Keys come in proto field-number order (`trace_id, client_request_id, trace_location,
//! request_time, execution_duration, state, trace_metadata, assessments, tags,
//! request_preview, response_preview`), enums by name, `request_time` an RFC 3339 string,
//! `execution_duration` a Duration string (`"0.057s"`), unset fields and empty maps and lists
//! omitted.

use super::fields::{as_object, int_value, invalid, kind, optional, optional_str, required_str};
use super::proto_time::{duration_from_ms, ms_from_duration, ms_from_timestamp, timestamp_from_ms};
use crate::{ModelError, TraceInfo, TraceLocation, TraceState};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// How the execution duration is written: the proto's Duration string, or the integer
/// `execution_duration_ms` that `TraceInfo.to_dict()` puts last.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationStyle {
    ProtoDuration,
    DictMilliseconds,
}

/// Builds the TraceInfoV3 object in either style.
pub(crate) fn trace_info_to_object(info: &TraceInfo, style: DurationStyle) -> Value {
    let mut obj = Map::new();
    obj.insert("trace_id".into(), Value::String(info.trace_id.clone()));
    if let Some(id) = &info.client_request_id {
        obj.insert("client_request_id".into(), Value::String(id.clone()));
    }
    obj.insert(
        "trace_location".into(),
        trace_location_to_value(&info.trace_location),
    );
    obj.insert(
        "request_time".into(),
        Value::String(timestamp_from_ms(info.request_time)),
    );
    if let (Some(ms), DurationStyle::ProtoDuration) = (info.execution_duration, style) {
        obj.insert(
            "execution_duration".into(),
            Value::String(duration_from_ms(ms)),
        );
    }
    obj.insert(
        "state".into(),
        Value::String(info.state.as_str().to_string()),
    );
    if !info.trace_metadata.is_empty() {
        obj.insert(
            "trace_metadata".into(),
            string_map_to_value(&info.trace_metadata),
        );
    }
    if !info.assessments.is_empty() {
        obj.insert("assessments".into(), Value::Array(info.assessments.clone()));
    }
    if !info.tags.is_empty() {
        obj.insert("tags".into(), string_map_to_value(&info.tags));
    }
    if let Some(preview) = &info.request_preview {
        obj.insert("request_preview".into(), Value::String(preview.clone()));
    }
    if let Some(preview) = &info.response_preview {
        obj.insert("response_preview".into(), Value::String(preview.clone()));
    }
    if let (Some(ms), DurationStyle::DictMilliseconds) = (info.execution_duration, style) {
        obj.insert("execution_duration_ms".into(), Value::from(ms));
    }
    Value::Object(obj)
}

fn string_map_to_value(map: &IndexMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn trace_location_to_value(location: &TraceLocation) -> Value {
    let mut obj = Map::new();
    match location {
        TraceLocation::MlflowExperiment { experiment_id } => {
            obj.insert("type".into(), Value::String("MLFLOW_EXPERIMENT".into()));
            let mut inner = Map::new();
            inner.insert("experiment_id".into(), Value::String(experiment_id.clone()));
            obj.insert("mlflow_experiment".into(), Value::Object(inner));
        }
        TraceLocation::InferenceTable { full_table_name } => {
            obj.insert("type".into(), Value::String("INFERENCE_TABLE".into()));
            let mut inner = Map::new();
            inner.insert(
                "full_table_name".into(),
                Value::String(full_table_name.clone()),
            );
            obj.insert("inference_table".into(), Value::Object(inner));
        }
        TraceLocation::Unspecified => {
            obj.insert(
                "type".into(),
                Value::String("TRACE_LOCATION_TYPE_UNSPECIFIED".into()),
            );
        }
    }
    Value::Object(obj)
}

/// Reads TraceInfoV3 from proto-JSON or from the `to_dict()` form (either duration style is
/// accepted; enum numbers as well as names; `request_time` as a string or integer ms).
pub(crate) fn trace_info_from_object(value: &Value) -> Result<TraceInfo, ModelError> {
    let obj = as_object(value, "trace_info")?;
    let trace_id = required_str(obj, "trace_id", "trace_info.trace_id")?.to_string();
    let trace_location = match optional(obj, "trace_location") {
        Some(v) => trace_location_from_value(v)?,
        None => TraceLocation::Unspecified,
    };
    let request_time = match optional(obj, "request_time") {
        None => 0,
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => ms_from_timestamp(s, "trace_info.request_time")?,
        },
        Some(v) => int_value(v, "trace_info.request_time")?,
    };
    let execution_duration = if let Some(v) = optional(obj, "execution_duration_ms") {
        Some(int_value(v, "trace_info.execution_duration_ms")?)
    } else {
        match optional(obj, "execution_duration") {
            None => None,
            Some(Value::String(s)) => Some(ms_from_duration(s, "trace_info.execution_duration")?),
            Some(v) => Some(int_value(v, "trace_info.execution_duration")?),
        }
    };
    let state = match optional(obj, "state") {
        None => TraceState::StateUnspecified,
        Some(Value::String(s)) => s
            .parse::<TraceState>()
            .map_err(|e| invalid("trace_info.state", e))?,
        Some(v) => match int_value(v, "trace_info.state")? {
            0 => TraceState::StateUnspecified,
            1 => TraceState::Ok,
            2 => TraceState::Error,
            3 => TraceState::InProgress,
            n => {
                return Err(invalid(
                    "trace_info.state",
                    format!("unknown state number {n}"),
                ))
            }
        },
    };
    let assessments = match optional(obj, "assessments") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(v) => {
            return Err(invalid(
                "trace_info.assessments",
                format!("expected an array, got {}", kind(v)),
            ))
        }
    };
    Ok(TraceInfo {
        trace_id,
        client_request_id: optional_str(obj, "client_request_id", "trace_info.client_request_id")?
            .map(str::to_string),
        trace_location,
        request_time,
        state,
        request_preview: optional_str(obj, "request_preview", "trace_info.request_preview")?
            .map(str::to_string),
        response_preview: optional_str(obj, "response_preview", "trace_info.response_preview")?
            .map(str::to_string),
        execution_duration,
        trace_metadata: string_map(obj, "trace_metadata", "trace_info.trace_metadata")?,
        tags: string_map(obj, "tags", "trace_info.tags")?,
        assessments,
    })
}

/// A `map<string, string>`; non-string values are kept as their JSON text (protobuf would
/// reject them; MLflow's Python entities `str()` them).
pub(crate) fn string_map(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<IndexMap<String, String>, ModelError> {
    match optional(obj, key) {
        None => Ok(IndexMap::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => crate::pyjson::dumps(other),
                };
                (k.clone(), text)
            })
            .collect()),
        Some(v) => Err(invalid(
            field,
            format!("expected an object, got {}", kind(v)),
        )),
    }
}

fn trace_location_from_value(value: &Value) -> Result<TraceLocation, ModelError> {
    let obj = as_object(value, "trace_info.trace_location")?;
    if let Some(experiment) = optional(obj, "mlflow_experiment") {
        let experiment = as_object(experiment, "trace_info.trace_location.mlflow_experiment")?;
        let id = required_str(
            experiment,
            "experiment_id",
            "trace_info.trace_location.mlflow_experiment.experiment_id",
        )?;
        return Ok(TraceLocation::experiment(id));
    }
    if let Some(table) = optional(obj, "inference_table") {
        let table = as_object(table, "trace_info.trace_location.inference_table")?;
        let name = required_str(
            table,
            "full_table_name",
            "trace_info.trace_location.inference_table.full_table_name",
        )?;
        return Ok(TraceLocation::InferenceTable {
            full_table_name: name.to_string(),
        });
    }
    // A type without its sub-location (or a Databricks UC location clew does not model).
    Ok(TraceLocation::Unspecified)
}

/// The legacy TraceInfoV2 dict (`request_id`, `experiment_id`, `timestamp_ms`,
/// `execution_time_ms`, `status`, `request_metadata`, `tags`), converted as `to_v3()` does.
pub(crate) fn trace_info_from_v2_object(obj: &Map<String, Value>) -> Result<TraceInfo, ModelError> {
    let status = required_str(obj, "status", "trace_info.status")?;
    let state = status
        .parse::<TraceState>()
        .map_err(|e| invalid("trace_info.status", e))?;
    let experiment_id = match optional(obj, "experiment_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v) => {
            return Err(invalid(
                "trace_info.experiment_id",
                format!("expected a string, got {}", kind(v)),
            ))
        }
        None => return Err(ModelError::MissingField("trace_info.experiment_id")),
    };
    Ok(TraceInfo {
        trace_id: required_str(obj, "request_id", "trace_info.request_id")?.to_string(),
        client_request_id: None,
        trace_location: TraceLocation::experiment(experiment_id),
        request_time: match optional(obj, "timestamp_ms") {
            Some(v) => int_value(v, "trace_info.timestamp_ms")?,
            None => return Err(ModelError::MissingField("trace_info.timestamp_ms")),
        },
        state,
        request_preview: None,
        response_preview: None,
        execution_duration: optional(obj, "execution_time_ms")
            .map(|v| int_value(v, "trace_info.execution_time_ms"))
            .transpose()?,
        trace_metadata: string_map(obj, "request_metadata", "trace_info.request_metadata")?,
        tags: string_map(obj, "tags", "trace_info.tags")?,
        assessments: match optional(obj, "assessments") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
    })
}
