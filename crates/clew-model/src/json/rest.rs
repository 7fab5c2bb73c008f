//! The proto-JSON MLflow's REST API speaks (`message_to_json` / `parse_dict`, spec §3.3):
//! `TraceInfoV3`, OTel spans inside `mlflow.Trace` (GetTrace, BatchGetTraces) and the trace.
//!
//! Written as MLflow writes it: snake_case proto field names in field-number order, enums by
//! name, bytes (span ids) in base64, **int64 as JSON numbers** (MLflow's override of stock
//! protobuf), proto3 defaults omitted (UNSET status code, empty parent id, `kind` 0), compact
//! separators and ASCII escapes (`json.dumps(.., separators=(",", ":"))`).
//!
//! Read leniently, as protobuf's parser does: numbers or numeric strings for integers,
//! base64 or base64url for bytes, enum names or numbers, unknown fields ignored.

use super::fields::{as_object, int_value, invalid, kind, optional, optional_array};
use super::otlp::{span_from_otlp, span_to_otlp};
use super::trace_info_proto::{trace_info_from_object, trace_info_to_object, DurationStyle};
use crate::ids::decode_b64;
use crate::pyjson::{self, DumpOptions};
use crate::{ModelError, Span, Trace, TraceData, TraceInfo};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::trace::v1::{span as otlp_span, Span as OtlpSpan, Status};
use serde_json::{Map, Value};

/// TraceInfoV3 as a proto-JSON value (`request_time` RFC 3339, `execution_duration` a
/// Duration string like `"0.057s"`).
///
/// ```
/// use clew_model::{TraceInfo, TraceState};
/// use clew_model::json::rest::trace_info_to_proto_value;
/// let info = TraceInfo { trace_id: "tr-1".into(), request_time: 1795238771687,
///     execution_duration: Some(57), state: TraceState::Ok, ..Default::default() };
/// let v = trace_info_to_proto_value(&info);
/// assert_eq!(v["execution_duration"], "0.057s");
/// assert_eq!(v["request_time"], "2026-11-21T05:26:11.687Z");
/// ```
pub fn trace_info_to_proto_value(info: &TraceInfo) -> Value {
    trace_info_to_object(info, DurationStyle::ProtoDuration)
}

/// TraceInfoV3 as compact proto-JSON text (`message_to_json(info, pretty=False)`).
pub fn trace_info_to_proto_json(info: &TraceInfo) -> String {
    pyjson::dumps_with(
        &trace_info_to_proto_value(info),
        &DumpOptions::COMPACT_ASCII,
    )
}

/// Reads TraceInfoV3 proto-JSON (also accepts `execution_duration_ms`).
pub fn trace_info_from_proto_value(value: &Value) -> Result<TraceInfo, ModelError> {
    trace_info_from_object(value)
}

/// Parses TraceInfoV3 proto-JSON text.
///
/// ```
/// use clew_model::json::rest::trace_info_from_proto_json;
/// let info = trace_info_from_proto_json(r#"{"trace_id":"tr-1","request_time":"2026-11-21T05:26:11.687Z",
///   "execution_duration":"0.057s","state":"OK","unknown":1}"#).unwrap();
/// assert_eq!(info.execution_duration, Some(57));
/// ```
pub fn trace_info_from_proto_json(text: &str) -> Result<TraceInfo, ModelError> {
    trace_info_from_proto_value(&parse(text, "TraceInfoV3")?)
}

/// An OTel span as the REST read APIs return it (inside `mlflow.Trace.spans`).
///
/// ```
/// use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// use clew_model::json::rest::span_to_rest_value;
/// let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(2), parent_id: None,
///     name: "f".into(), start_time_ns: 10, end_time_ns: Some(20), status: SpanStatus::ok(),
///     attributes: Default::default(), events: vec![], links: vec![] };
/// span.attributes.insert("k".into(), "3".into());
/// let v = span_to_rest_value(&span);
/// assert_eq!(v["span_id"], "AAAAAAAAAAI=");
/// assert_eq!(v["attributes"][0]["value"]["int_value"], 3);
/// assert!(v.get("parent_span_id").is_none());
/// ```
pub fn span_to_rest_value(span: &Span) -> Value {
    otlp_span_to_proto_value(&span_to_otlp(span))
}

/// [`span_to_rest_value`] as compact JSON text.
pub fn span_to_rest_json(span: &Span) -> String {
    pyjson::dumps_with(&span_to_rest_value(span), &DumpOptions::COMPACT_ASCII)
}

/// Reads an OTel span in REST proto-JSON.
pub fn span_from_rest_value(value: &Value) -> Result<Span, ModelError> {
    span_from_otlp(&otlp_span_from_proto_value(value)?)
}

/// Parses an OTel span in REST proto-JSON text.
///
/// ```
/// use clew_model::json::rest::span_from_rest_json;
/// let span = span_from_rest_json(r#"{"trace_id":"CvdlGRbNQ92ESOshHIAxnA==","span_id":"AAAAAAAAAAE=",
///   "name":"s","start_time_unix_nano":"5","status":{"code":"STATUS_CODE_OK"},
///   "attributes":[{"key":"x","value":{"int_value":"7"}}]}"#).unwrap();
/// assert_eq!(span.attributes["x"], "7");
/// assert_eq!(span.start_time_ns, 5);
/// ```
pub fn span_from_rest_json(text: &str) -> Result<Span, ModelError> {
    span_from_rest_value(&parse(text, "span")?)
}

/// `mlflow.Trace` (`{"trace_info": …, "spans": […]}`) as GetTrace / BatchGetTraces return it.
pub fn trace_to_rest_value(trace: &Trace) -> Value {
    let mut obj = Map::new();
    obj.insert("trace_info".into(), trace_info_to_proto_value(&trace.info));
    if !trace.data.spans.is_empty() {
        obj.insert(
            "spans".into(),
            Value::Array(trace.data.spans.iter().map(span_to_rest_value).collect()),
        );
    }
    Value::Object(obj)
}

/// [`trace_to_rest_value`] as compact JSON text.
pub fn trace_to_rest_json(trace: &Trace) -> String {
    pyjson::dumps_with(&trace_to_rest_value(trace), &DumpOptions::COMPACT_ASCII)
}

/// Reads `mlflow.Trace` proto-JSON.
pub fn trace_from_rest_value(value: &Value) -> Result<Trace, ModelError> {
    let obj = as_object(value, "trace")?;
    let info = optional(obj, "trace_info").ok_or(ModelError::MissingField("trace.trace_info"))?;
    let spans = optional_array(obj, "spans", "trace.spans")?
        .iter()
        .map(span_from_rest_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trace {
        info: trace_info_from_proto_value(info)?,
        data: TraceData { spans },
    })
}

/// Parses `mlflow.Trace` proto-JSON text.
pub fn trace_from_rest_json(text: &str) -> Result<Trace, ModelError> {
    trace_from_rest_value(&parse(text, "trace")?)
}

fn parse(text: &str, what: &'static str) -> Result<Value, ModelError> {
    serde_json::from_str(text).map_err(|e| ModelError::InvalidJson {
        what,
        reason: e.to_string(),
    })
}

// ---- OTel span (prost) → proto-JSON, `MessageToDict` + MLflow's int64-as-number rule ----

const SPAN_KIND_NAMES: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUS_CODE_NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

fn enum_name(names: &[&str], number: i32) -> Value {
    match usize::try_from(number).ok().and_then(|i| names.get(i)) {
        Some(name) => Value::String((*name).to_string()),
        None => Value::from(number),
    }
}

/// Inserts a proto3 scalar only when it differs from its default.
fn put_nonempty_str(obj: &mut Map<String, Value>, key: &str, s: &str) {
    if !s.is_empty() {
        obj.insert(key.into(), Value::String(s.to_string()));
    }
}
fn put_nonempty_bytes(obj: &mut Map<String, Value>, key: &str, bytes: &[u8]) {
    if !bytes.is_empty() {
        obj.insert(key.into(), Value::String(B64.encode(bytes)));
    }
}
fn put_nonzero(obj: &mut Map<String, Value>, key: &str, n: u64) {
    if n != 0 {
        obj.insert(key.into(), Value::from(n));
    }
}

fn otlp_span_to_proto_value(span: &OtlpSpan) -> Value {
    let mut obj = Map::new();
    put_nonempty_bytes(&mut obj, "trace_id", &span.trace_id);
    put_nonempty_bytes(&mut obj, "span_id", &span.span_id);
    put_nonempty_str(&mut obj, "trace_state", &span.trace_state);
    put_nonempty_bytes(&mut obj, "parent_span_id", &span.parent_span_id);
    put_nonempty_str(&mut obj, "name", &span.name);
    if span.kind != 0 {
        obj.insert("kind".into(), enum_name(&SPAN_KIND_NAMES, span.kind));
    }
    put_nonzero(&mut obj, "start_time_unix_nano", span.start_time_unix_nano);
    put_nonzero(&mut obj, "end_time_unix_nano", span.end_time_unix_nano);
    if !span.attributes.is_empty() {
        obj.insert("attributes".into(), key_values_to_value(&span.attributes));
    }
    put_nonzero(
        &mut obj,
        "dropped_attributes_count",
        u64::from(span.dropped_attributes_count),
    );
    if !span.events.is_empty() {
        obj.insert(
            "events".into(),
            Value::Array(span.events.iter().map(event_to_value).collect()),
        );
    }
    put_nonzero(
        &mut obj,
        "dropped_events_count",
        u64::from(span.dropped_events_count),
    );
    if !span.links.is_empty() {
        obj.insert(
            "links".into(),
            Value::Array(span.links.iter().map(link_to_value).collect()),
        );
    }
    put_nonzero(
        &mut obj,
        "dropped_links_count",
        u64::from(span.dropped_links_count),
    );
    if let Some(status) = &span.status {
        // MLflow's `to_otel_proto` always copies a status in, so it is present even when
        // both of its fields are defaults (`"status": {}`).
        let mut s = Map::new();
        put_nonempty_str(&mut s, "message", &status.message);
        if status.code != 0 {
            s.insert("code".into(), enum_name(&STATUS_CODE_NAMES, status.code));
        }
        obj.insert("status".into(), Value::Object(s));
    }
    put_nonzero(&mut obj, "flags", u64::from(span.flags));
    Value::Object(obj)
}

fn event_to_value(event: &otlp_span::Event) -> Value {
    let mut obj = Map::new();
    put_nonzero(&mut obj, "time_unix_nano", event.time_unix_nano);
    put_nonempty_str(&mut obj, "name", &event.name);
    if !event.attributes.is_empty() {
        obj.insert("attributes".into(), key_values_to_value(&event.attributes));
    }
    put_nonzero(
        &mut obj,
        "dropped_attributes_count",
        u64::from(event.dropped_attributes_count),
    );
    Value::Object(obj)
}

fn link_to_value(link: &otlp_span::Link) -> Value {
    let mut obj = Map::new();
    put_nonempty_bytes(&mut obj, "trace_id", &link.trace_id);
    put_nonempty_bytes(&mut obj, "span_id", &link.span_id);
    put_nonempty_str(&mut obj, "trace_state", &link.trace_state);
    if !link.attributes.is_empty() {
        obj.insert("attributes".into(), key_values_to_value(&link.attributes));
    }
    put_nonzero(
        &mut obj,
        "dropped_attributes_count",
        u64::from(link.dropped_attributes_count),
    );
    put_nonzero(&mut obj, "flags", u64::from(link.flags));
    Value::Object(obj)
}

fn key_values_to_value(kvs: &[KeyValue]) -> Value {
    Value::Array(
        kvs.iter()
            .map(|kv| {
                let mut obj = Map::new();
                put_nonempty_str(&mut obj, "key", &kv.key);
                if let Some(value) = &kv.value {
                    obj.insert("value".into(), any_value_to_value(value));
                }
                Value::Object(obj)
            })
            .collect(),
    )
}

fn any_value_to_value(value: &AnyValue) -> Value {
    let mut obj = Map::new();
    match &value.value {
        None => {}
        Some(any_value::Value::StringValue(s)) => {
            obj.insert("string_value".into(), Value::String(s.clone()));
        }
        Some(any_value::Value::BoolValue(b)) => {
            obj.insert("bool_value".into(), Value::Bool(*b));
        }
        Some(any_value::Value::IntValue(i)) => {
            obj.insert("int_value".into(), Value::from(*i));
        }
        Some(any_value::Value::DoubleValue(f)) => {
            // protobuf's JSON writes non-finite doubles as the strings "NaN", "Infinity".
            let v = serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(pyjson::float_repr(*f)));
            obj.insert("double_value".into(), v);
        }
        Some(any_value::Value::ArrayValue(array)) => {
            let mut inner = Map::new();
            if !array.values.is_empty() {
                inner.insert(
                    "values".into(),
                    Value::Array(array.values.iter().map(any_value_to_value).collect()),
                );
            }
            obj.insert("array_value".into(), Value::Object(inner));
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let mut inner = Map::new();
            if !list.values.is_empty() {
                inner.insert("values".into(), key_values_to_value(&list.values));
            }
            obj.insert("kvlist_value".into(), Value::Object(inner));
        }
        Some(any_value::Value::BytesValue(bytes)) => {
            obj.insert("bytes_value".into(), Value::String(B64.encode(bytes)));
        }
        Some(any_value::Value::StringValueStrindex(i)) => {
            obj.insert("string_value_strindex".into(), Value::from(*i));
        }
    }
    Value::Object(obj)
}

// ---- proto-JSON → OTel span (prost), lenient as `ParseDict(ignore_unknown_fields=True)` ----

fn otlp_span_from_proto_value(value: &Value) -> Result<OtlpSpan, ModelError> {
    let obj = as_object(value, "span")?;
    Ok(OtlpSpan {
        trace_id: bytes_field(obj, &["trace_id", "traceId"], "span.trace_id")?,
        span_id: bytes_field(obj, &["span_id", "spanId"], "span.span_id")?,
        trace_state: str_field(obj, &["trace_state", "traceState"], "span.trace_state")?,
        parent_span_id: bytes_field(
            obj,
            &["parent_span_id", "parentSpanId"],
            "span.parent_span_id",
        )?,
        flags: u32_field(obj, &["flags"], "span.flags")?,
        name: str_field(obj, &["name"], "span.name")?,
        kind: enum_field(obj, &["kind"], &SPAN_KIND_NAMES, "span.kind")?,
        start_time_unix_nano: u64_field(
            obj,
            &["start_time_unix_nano", "startTimeUnixNano"],
            "span.start_time_unix_nano",
        )?,
        end_time_unix_nano: u64_field(
            obj,
            &["end_time_unix_nano", "endTimeUnixNano"],
            "span.end_time_unix_nano",
        )?,
        attributes: key_values_field(obj, "span.attributes")?,
        dropped_attributes_count: u32_field(
            obj,
            &["dropped_attributes_count", "droppedAttributesCount"],
            "span.dropped_attributes_count",
        )?,
        events: array_field(obj, &["events"], "span.events")?
            .iter()
            .map(|e| {
                let e = as_object(e, "span.events[]")?;
                Ok(otlp_span::Event {
                    time_unix_nano: u64_field(
                        e,
                        &["time_unix_nano", "timeUnixNano"],
                        "span.events[].time_unix_nano",
                    )?,
                    name: str_field(e, &["name"], "span.events[].name")?,
                    attributes: key_values_field(e, "span.events[].attributes")?,
                    dropped_attributes_count: u32_field(
                        e,
                        &["dropped_attributes_count", "droppedAttributesCount"],
                        "span.events[].dropped_attributes_count",
                    )?,
                })
            })
            .collect::<Result<_, ModelError>>()?,
        dropped_events_count: u32_field(
            obj,
            &["dropped_events_count", "droppedEventsCount"],
            "span.dropped_events_count",
        )?,
        links: array_field(obj, &["links"], "span.links")?
            .iter()
            .map(|l| {
                let l = as_object(l, "span.links[]")?;
                Ok(otlp_span::Link {
                    trace_id: bytes_field(l, &["trace_id", "traceId"], "span.links[].trace_id")?,
                    span_id: bytes_field(l, &["span_id", "spanId"], "span.links[].span_id")?,
                    trace_state: str_field(
                        l,
                        &["trace_state", "traceState"],
                        "span.links[].trace_state",
                    )?,
                    attributes: key_values_field(l, "span.links[].attributes")?,
                    dropped_attributes_count: u32_field(
                        l,
                        &["dropped_attributes_count", "droppedAttributesCount"],
                        "span.links[].dropped_attributes_count",
                    )?,
                    flags: u32_field(l, &["flags"], "span.links[].flags")?,
                })
            })
            .collect::<Result<_, ModelError>>()?,
        dropped_links_count: u32_field(
            obj,
            &["dropped_links_count", "droppedLinksCount"],
            "span.dropped_links_count",
        )?,
        status: match first(obj, &["status"]) {
            None => None,
            Some(s) => {
                let s = as_object(s, "span.status")?;
                Some(Status {
                    message: str_field(s, &["message"], "span.status.message")?,
                    code: enum_field(s, &["code"], &STATUS_CODE_NAMES, "span.status.code")?,
                })
            }
        },
    })
}

/// The first present, non-null value among a field's JSON names (proto name, then lowerCamelCase,
/// both of which protobuf's parser accepts).
fn first<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| optional(obj, n))
}

fn str_field(
    obj: &Map<String, Value>,
    names: &[&str],
    field: &'static str,
) -> Result<String, ModelError> {
    match first(obj, names) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(invalid(
            field,
            format!("expected a string, got {}", kind(v)),
        )),
    }
}

fn bytes_field(
    obj: &Map<String, Value>,
    names: &[&str],
    field: &'static str,
) -> Result<Vec<u8>, ModelError> {
    match first(obj, names) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => {
            decode_b64(s).ok_or_else(|| invalid(field, format!("{s:?} is not base64")))
        }
        Some(v) => Err(invalid(
            field,
            format!("expected a base64 string, got {}", kind(v)),
        )),
    }
}

fn u64_field(
    obj: &Map<String, Value>,
    names: &[&str],
    field: &'static str,
) -> Result<u64, ModelError> {
    match first(obj, names) {
        None => Ok(0),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => {
            Ok(s.trim().parse::<u64>().unwrap_or(0))
        }
        Some(v) => {
            let i = int_value(v, field)?;
            u64::try_from(i).map_err(|_| invalid(field, format!("{i} is negative")))
        }
    }
}

fn u32_field(
    obj: &Map<String, Value>,
    names: &[&str],
    field: &'static str,
) -> Result<u32, ModelError> {
    let n = u64_field(obj, names, field)?;
    u32::try_from(n).map_err(|_| invalid(field, format!("{n} does not fit in 32 bits")))
}

fn enum_field(
    obj: &Map<String, Value>,
    names: &[&str],
    enum_names: &[&str],
    field: &'static str,
) -> Result<i32, ModelError> {
    match first(obj, names) {
        None => Ok(0),
        Some(Value::String(s)) => match enum_names.iter().position(|n| n == s) {
            Some(i) => Ok(i as i32),
            None => s
                .trim()
                .parse::<i32>()
                .map_err(|_| invalid(field, format!("unknown enum value {s:?}"))),
        },
        Some(v) => {
            let i = int_value(v, field)?;
            i32::try_from(i).map_err(|_| invalid(field, format!("{i} is not an enum number")))
        }
    }
}

fn array_field<'a>(
    obj: &'a Map<String, Value>,
    names: &[&str],
    field: &'static str,
) -> Result<&'a [Value], ModelError> {
    match first(obj, names) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(invalid(
            field,
            format!("expected an array, got {}", kind(v)),
        )),
    }
}

fn key_values_field(
    obj: &Map<String, Value>,
    field: &'static str,
) -> Result<Vec<KeyValue>, ModelError> {
    array_field(obj, &["attributes"], field)?
        .iter()
        .map(|kv| key_value_from_value(kv, field))
        .collect()
}

fn key_value_from_value(value: &Value, field: &'static str) -> Result<KeyValue, ModelError> {
    let obj = as_object(value, field)?;
    Ok(KeyValue {
        key: str_field(obj, &["key"], field)?,
        value: first(obj, &["value"])
            .map(|v| any_value_from_value(v, field))
            .transpose()?,
        key_strindex: 0,
    })
}

fn any_value_from_value(value: &Value, field: &'static str) -> Result<AnyValue, ModelError> {
    let obj = as_object(value, field)?;
    let kind = if let Some(v) = first(obj, &["string_value", "stringValue"]) {
        Some(any_value::Value::StringValue(
            v.as_str()
                .ok_or_else(|| invalid(field, "string_value must be a string"))?
                .to_string(),
        ))
    } else if let Some(v) = first(obj, &["bool_value", "boolValue"]) {
        Some(any_value::Value::BoolValue(v.as_bool().ok_or_else(
            || invalid(field, "bool_value must be a boolean"),
        )?))
    } else if let Some(v) = first(obj, &["int_value", "intValue"]) {
        Some(any_value::Value::IntValue(int_value(v, field)?))
    } else if let Some(v) = first(obj, &["double_value", "doubleValue"]) {
        Some(any_value::Value::DoubleValue(double_value(v, field)?))
    } else if let Some(v) = first(obj, &["array_value", "arrayValue"]) {
        let inner = as_object(v, field)?;
        let values = array_field(inner, &["values"], field)?
            .iter()
            .map(|x| any_value_from_value(x, field))
            .collect::<Result<_, _>>()?;
        Some(any_value::Value::ArrayValue(ArrayValue { values }))
    } else if let Some(v) = first(obj, &["kvlist_value", "kvlistValue"]) {
        let inner = as_object(v, field)?;
        let values = array_field(inner, &["values"], field)?
            .iter()
            .map(|x| key_value_from_value(x, field))
            .collect::<Result<_, _>>()?;
        Some(any_value::Value::KvlistValue(KeyValueList { values }))
    } else if let Some(v) = first(obj, &["bytes_value", "bytesValue"]) {
        let text = v
            .as_str()
            .ok_or_else(|| invalid(field, "bytes_value must be a base64 string"))?;
        Some(any_value::Value::BytesValue(decode_b64(text).ok_or_else(
            || invalid(field, format!("{text:?} is not base64")),
        )?))
    } else {
        None
    };
    Ok(AnyValue { value: kind })
}

fn double_value(v: &Value, field: &'static str) -> Result<f64, ModelError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| invalid(field, format!("{n} is not a double"))),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(field, format!("{other:?} is not a double"))),
        },
        other => Err(invalid(
            field,
            format!("expected a number, got {}", kind(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanEvent, SpanId, SpanStatus, TraceId, TraceState};
    use serde_json::json;

    fn sample_span() -> Span {
        let mut span = Span {
            trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
            span_id: SpanId::from_u64(1),
            parent_id: Some(SpanId::from_u64(2)),
            name: "s".into(),
            start_time_ns: 1795238771687890236,
            end_time_ns: Some(1795238771745461080),
            status: SpanStatus::error("ValueError: boom"),
            attributes: Default::default(),
            events: vec![SpanEvent::at("e", 5).with_attribute("x", 1)],
            links: vec![],
        };
        span.attributes.insert(
            "mlflow.traceRequestId".into(),
            "\"tr-0af7651916cd43dd8448eb211c80319c\"".into(),
        );
        span.attributes.insert(
            "mlflow.spanInputs".into(),
            r#"{"x": [1, 2.5, true, null], "e": {}, "l": []}"#.into(),
        );
        span
    }

    #[test]
    fn span_rest_json_matches_mlflow_layout() {
        let text = span_to_rest_json(&sample_span());
        assert_eq!(
            text,
            concat!(
                r#"{"trace_id":"CvdlGRbNQ92ESOshHIAxnA==","span_id":"AAAAAAAAAAE=","parent_span_id":"AAAAAAAAAAI=","name":"s","#,
                r#""start_time_unix_nano":1795238771687890236,"end_time_unix_nano":1795238771745461080,"#,
                r#""attributes":[{"key":"mlflow.traceRequestId","value":{"string_value":"tr-0af7651916cd43dd8448eb211c80319c"}},"#,
                r#"{"key":"mlflow.spanInputs","value":{"kvlist_value":{"values":[{"key":"x","value":{"array_value":{"values":[{"int_value":1},{"double_value":2.5},{"bool_value":true},{}]}}},"#,
                r#"{"key":"e","value":{"kvlist_value":{}}},{"key":"l","value":{"array_value":{}}}]}}}],"#,
                r#""events":[{"time_unix_nano":5,"name":"e","attributes":[{"key":"x","value":{"int_value":1}}]}],"#,
                r#""status":{"message":"ValueError: boom","code":"STATUS_CODE_ERROR"}}"#
            )
        );
        assert_eq!(span_from_rest_json(&text).unwrap(), sample_span());
    }

    #[test]
    fn span_rest_json_accepts_strings_for_numbers_camel_case_and_base64url() {
        let v = json!({"traceId": "CvdlGRbNQ92ESOshHIAxnA", "span_id": "AAAAAAAAAAE=", "name": "s",
            "start_time_unix_nano": "7", "kind": "SPAN_KIND_SERVER", "status": {"code": 1},
            "attributes": [{"key": "d", "value": {"doubleValue": "NaN"}}, {"key": "i", "value": {"int_value": "-3"}}],
            "whatever": [1]});
        let span = span_from_rest_value(&v).unwrap();
        assert_eq!(span.start_time_ns, 7);
        assert_eq!(span.status, SpanStatus::ok());
        assert_eq!(span.attributes["d"], "NaN");
        assert_eq!(span.attributes["i"], "-3");
        let err = span_from_rest_value(&json!({"trace_id": "!!", "span_id": "AAAAAAAAAAE="}))
            .unwrap_err();
        assert!(err.to_string().contains("span.trace_id"), "{err}");
        let err = span_from_rest_value(&json!({"trace_id": "CvdlGRbNQ92ESOshHIAxnA==", "span_id": "AAAAAAAAAAE=", "status": {"code": "MAYBE"}})).unwrap_err();
        assert!(err.to_string().contains("span.status.code"), "{err}");
    }

    #[test]
    fn trace_info_proto_json_uses_duration_strings() {
        let info = TraceInfo {
            trace_id: "tr-27c8e20f42592b0ecb8702ed170a9010".into(),
            request_time: 1795238771687,
            execution_duration: Some(57),
            state: TraceState::Ok,
            ..Default::default()
        };
        let text = trace_info_to_proto_json(&info);
        assert_eq!(
            text,
            r#"{"trace_id":"tr-27c8e20f42592b0ecb8702ed170a9010","trace_location":{"type":"MLFLOW_EXPERIMENT","mlflow_experiment":{"experiment_id":"0"}},"request_time":"2026-11-21T05:26:11.687Z","execution_duration":"0.057s","state":"OK"}"#
        );
        assert_eq!(trace_info_from_proto_json(&text).unwrap(), info);
    }

    #[test]
    fn trace_rest_json_round_trips() {
        let trace = Trace {
            info: TraceInfo {
                trace_id: "tr-0af7651916cd43dd8448eb211c80319c".into(),
                ..Default::default()
            },
            data: TraceData {
                spans: vec![sample_span()],
            },
        };
        let text = trace_to_rest_json(&trace);
        assert_eq!(trace_from_rest_json(&text).unwrap(), trace);
        assert_eq!(
            trace_from_rest_value(&json!({"spans": []})).unwrap_err(),
            ModelError::MissingField("trace.trace_info")
        );
    }
}
