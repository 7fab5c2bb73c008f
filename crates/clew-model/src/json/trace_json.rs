//! `Trace.to_json()` / `Trace.from_json()` (spec §3.2): `{"info": TraceInfo.to_dict(),
//! "data": {"spans": [span dicts]}}`.
//!
//! `info` is the TraceInfoV3 proto-JSON with `execution_duration` replaced by the integer
//! `execution_duration_ms` (last key). The text is `json.dumps(..)` with Python's defaults,
//! so non-ASCII is `\u`-escaped (unlike span dicts in `spans.content`).

use super::fields::{as_object, optional_array, parse_json_text};
use super::span_dict::{span_from_dict, span_to_dict};
use super::trace_info_proto::{
    trace_info_from_object, trace_info_from_v2_object, trace_info_to_object, DurationStyle,
};
use crate::pyjson::{self, DumpOptions};
use crate::{ModelError, Trace, TraceData, TraceInfo};
use serde_json::{Map, Value};

/// `TraceInfo.to_dict()`.
///
/// ```
/// use clew_model::{TraceInfo, TraceState};
/// use clew_model::json::trace_json::trace_info_to_dict;
/// let info = TraceInfo { trace_id: "tr-1".into(), request_time: 1795238771687,
///     execution_duration: Some(58), state: TraceState::Ok, ..Default::default() };
/// let dict = trace_info_to_dict(&info);
/// assert_eq!(dict["request_time"], "2026-11-21T05:26:11.687Z");
/// assert_eq!(dict["execution_duration_ms"], 58);
/// assert_eq!(dict["trace_location"]["mlflow_experiment"]["experiment_id"], "0");
/// ```
pub fn trace_info_to_dict(info: &TraceInfo) -> Value {
    trace_info_to_object(info, DurationStyle::DictMilliseconds)
}

/// `TraceInfo.from_dict()`: the v3 dict (`execution_duration_ms` or a Duration string) or the
/// legacy v2 dict, recognised by its `request_id` key.
///
/// ```
/// use clew_model::json::trace_json::trace_info_from_dict;
/// let v2 = serde_json::json!({"request_id": "tr-1", "experiment_id": "3", "timestamp_ms": 10,
///     "execution_time_ms": 5, "status": "OK", "request_metadata": {}, "tags": {"a": "b"}});
/// let info = trace_info_from_dict(&v2).unwrap();
/// assert_eq!(info.experiment_id(), Some("3"));
/// assert_eq!(info.execution_duration, Some(5));
/// ```
pub fn trace_info_from_dict(value: &Value) -> Result<TraceInfo, ModelError> {
    let obj = as_object(value, "trace_info")?;
    if obj.contains_key("request_id") {
        return trace_info_from_v2_object(obj);
    }
    trace_info_from_object(value)
}

/// `Trace.to_dict()`.
pub fn trace_to_dict(trace: &Trace) -> Value {
    let mut data = Map::new();
    data.insert(
        "spans".into(),
        Value::Array(trace.data.spans.iter().map(span_to_dict).collect()),
    );
    let mut dict = Map::new();
    dict.insert("info".into(), trace_info_to_dict(&trace.info));
    dict.insert("data".into(), Value::Object(data));
    Value::Object(dict)
}

/// `Trace.to_json()`: `json.dumps(trace.to_dict())`, ASCII-escaped.
///
/// ```
/// use clew_model::Trace;
/// use clew_model::json::trace_json::{trace_to_json, trace_from_json};
/// let mut trace = Trace::default();
/// trace.info.trace_id = "tr-0af7651916cd43dd8448eb211c80319c".into();
/// let text = trace_to_json(&trace);
/// assert!(text.starts_with(r#"{"info": {"trace_id": "tr-0af7651916cd43dd8448eb211c80319c", "trace_location""#));
/// assert_eq!(trace_from_json(&text).unwrap(), trace);
/// ```
pub fn trace_to_json(trace: &Trace) -> String {
    pyjson::dumps_with(&trace_to_dict(trace), &DumpOptions::PYTHON_ASCII)
}

/// `Trace.to_json(pretty=True)`: indented by two spaces.
pub fn trace_to_json_pretty(trace: &Trace) -> String {
    pyjson::dumps_with(&trace_to_dict(trace), &DumpOptions::PRETTY_ASCII)
}

/// `Trace.from_dict()`: both `info` and `data` are required.
pub fn trace_from_dict(value: &Value) -> Result<Trace, ModelError> {
    let obj = as_object(value, "trace")?;
    let info = obj
        .get("info")
        .filter(|v| !v.is_null())
        .ok_or(ModelError::MissingField("trace.info"))?;
    let data = obj
        .get("data")
        .filter(|v| !v.is_null())
        .ok_or(ModelError::MissingField("trace.data"))?;
    let data = as_object(data, "trace.data")?;
    let spans = optional_array(data, "spans", "trace.data.spans")?
        .iter()
        .map(span_from_dict)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trace {
        info: trace_info_from_dict(info)?,
        data: TraceData { spans },
    })
}

/// `Trace.from_json()`.
pub fn trace_from_json(text: &str) -> Result<Trace, ModelError> {
    trace_from_dict(&parse_json_text(text, "trace")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TraceLocation, TraceState};
    use serde_json::json;

    fn sample_info() -> TraceInfo {
        let mut info = TraceInfo {
            trace_id: "tr-27c8e20f42592b0ecb8702ed170a9010".into(),
            client_request_id: Some("req-ü".into()),
            trace_location: TraceLocation::experiment("1"),
            request_time: 1795238771687,
            state: TraceState::Ok,
            request_preview: Some("{\"q\": 1}".into()),
            response_preview: None,
            execution_duration: Some(58),
            ..Default::default()
        };
        info.trace_metadata
            .insert("mlflow.user".into(), "root".into());
        info.tags.insert("env".into(), "dev".into());
        info
    }

    #[test]
    fn info_dict_has_proto_field_order_and_duration_last() {
        let text = pyjson::dumps_ascii(&trace_info_to_dict(&sample_info()));
        assert_eq!(
            text,
            r#"{"trace_id": "tr-27c8e20f42592b0ecb8702ed170a9010", "client_request_id": "req-\u00fc", "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}}, "request_time": "2026-11-21T05:26:11.687Z", "state": "OK", "trace_metadata": {"mlflow.user": "root"}, "tags": {"env": "dev"}, "request_preview": "{\"q\": 1}", "execution_duration_ms": 58}"#
        );
        assert_eq!(
            trace_info_from_dict(&trace_info_to_dict(&sample_info())).unwrap(),
            sample_info()
        );
    }

    #[test]
    fn missing_info_or_data_is_rejected() {
        assert_eq!(
            trace_from_dict(&json!({"data": {"spans": []}})).unwrap_err(),
            ModelError::MissingField("trace.info")
        );
        let info = trace_info_to_dict(&sample_info());
        assert_eq!(
            trace_from_dict(&json!({"info": info})).unwrap_err(),
            ModelError::MissingField("trace.data")
        );
        let err = trace_info_from_dict(&json!({"trace_id": "tr-1", "state": "DONE"})).unwrap_err();
        assert!(err.to_string().contains("trace_info.state"), "{err}");
        let err =
            trace_info_from_dict(&json!({"trace_id": "tr-1", "request_time": "noon"})).unwrap_err();
        assert!(err.to_string().contains("trace_info.request_time"), "{err}");
    }

    #[test]
    fn pretty_form_is_indented() {
        let trace = Trace {
            info: sample_info(),
            ..Default::default()
        };
        let pretty = trace_to_json_pretty(&trace);
        assert!(pretty.starts_with("{\n  \"info\": {\n    \"trace_id\": "));
        assert_eq!(trace_from_json(&pretty).unwrap(), trace);
    }
}
