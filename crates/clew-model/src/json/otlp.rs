//! [`Span`] ↔ OTLP protobuf span (`opentelemetry.proto.trace.v1.Span`), as MLflow's
//! `Span.to_otel_proto()` / `Span.from_otel_proto()` convert (spec §3.3, §8).
//!
//! - Attribute JSON text is decoded (Python `json.loads` rules) and written as a typed
//!   `AnyValue`: null → no value, bool, str, int → `int_value`, float → `double_value`,
//!   list → `array_value`, dict → `kvlist_value`. Text that is not JSON travels as a string.
//! - Back: the `AnyValue` is decoded and dumped with `json.dumps(ensure_ascii=False)`, so a
//!   span survives OTLP with its attribute text unchanged.
//! - `mlflow.traceRequestId` is derived from the trace id on the way in (as MLflow's server
//!   does: it does not trust a client-sent value); kept in its place when present, appended
//!   when absent.
//! - Event and link attributes stay typed.

use super::fields::invalid;
use crate::pyjson::{self, PyValue};
use crate::{
    keys, ModelError, Span, SpanEvent, SpanId, SpanLink, SpanStatus, SpanStatusCode, TraceId,
};
use indexmap::IndexMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span as otlp_span, ResourceSpans, ScopeSpans, Span as OtlpSpan, Status,
};
use serde_json::Value;

/// The OTLP span MLflow's `Span.to_otel_proto()` builds.
///
/// ```
/// use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// use clew_model::json::otlp::span_to_otlp;
/// use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
/// let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(2), parent_id: None,
///     name: "f".into(), start_time_ns: 10, end_time_ns: Some(20), status: SpanStatus::ok(),
///     attributes: Default::default(), events: vec![], links: vec![] };
/// span.attributes.insert("mlflow.spanInputs".into(), r#"{"x": 1}"#.into());
/// let proto = span_to_otlp(&span);
/// assert_eq!(proto.span_id, 2u64.to_be_bytes().to_vec());
/// assert!(matches!(proto.attributes[0].value.as_ref().and_then(|v| v.value.as_ref()),
///                  Some(AnyValueKind::KvlistValue(_))));
/// ```
pub fn span_to_otlp(span: &Span) -> OtlpSpan {
    let status = Status {
        message: if span.status.description.is_empty() {
            String::new()
        } else {
            span.status.description.clone()
        },
        code: span.status.status_code.to_proto(),
    };
    OtlpSpan {
        trace_id: span.trace_id.to_bytes().to_vec(),
        span_id: span.span_id.to_bytes().to_vec(),
        trace_state: String::new(),
        parent_span_id: span
            .parent_id
            .map(|p| p.to_bytes().to_vec())
            .unwrap_or_default(),
        flags: 0,
        name: span.name.clone(),
        kind: 0,
        start_time_unix_nano: ns_to_proto(span.start_time_ns),
        end_time_unix_nano: span.end_time_ns.map(ns_to_proto).unwrap_or(0),
        attributes: span
            .attributes
            .iter()
            .map(|(key, text)| key_value(key, attribute_text_to_any(text)))
            .collect(),
        dropped_attributes_count: 0,
        events: span.events.iter().map(event_to_otlp).collect(),
        dropped_events_count: 0,
        links: span.links.iter().map(link_to_otlp).collect(),
        dropped_links_count: 0,
        status: Some(status),
    }
}

/// A [`Span`] from an OTLP span, as MLflow's `Span.from_otel_proto()` reads it.
///
/// ```
/// use clew_model::json::otlp::{span_from_otlp, span_to_otlp};
/// # use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// # let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(2), parent_id: None,
/// #     name: "f".into(), start_time_ns: 10, end_time_ns: Some(20), status: SpanStatus::ok(),
/// #     attributes: Default::default(), events: vec![], links: vec![] };
/// span.attributes.insert("mlflow.traceRequestId".into(), "\"tr-00000000000000000000000000000001\"".into());
/// span.attributes.insert("temperature".into(), "0.1".into());
/// assert_eq!(span_from_otlp(&span_to_otlp(&span)).unwrap(), span);
/// ```
pub fn span_from_otlp(proto: &OtlpSpan) -> Result<Span, ModelError> {
    convert_span_from_otlp(proto, RequestIdSource::DerivedFromTraceId)
}

/// [`span_from_otlp`] that keeps a `mlflow.traceRequestId` the span already carries (MLflow's
/// `preserve_request_id=True`, for trusted round trips such as archived payloads); only a
/// span without one gets the derived id.
///
/// ```
/// use clew_model::json::otlp::{span_from_otlp_preserving_request_id, span_to_otlp};
/// # use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// # let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(2), parent_id: None,
/// #     name: "f".into(), start_time_ns: 10, end_time_ns: Some(20), status: SpanStatus::ok(),
/// #     attributes: Default::default(), events: vec![], links: vec![] };
/// span.attributes.insert("mlflow.traceRequestId".into(), "\"tr-custom\"".into());
/// let back = span_from_otlp_preserving_request_id(&span_to_otlp(&span)).unwrap();
/// assert_eq!(back.request_id(), "tr-custom");
/// ```
pub fn span_from_otlp_preserving_request_id(proto: &OtlpSpan) -> Result<Span, ModelError> {
    convert_span_from_otlp(proto, RequestIdSource::KeepExisting)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RequestIdSource {
    DerivedFromTraceId,
    KeepExisting,
}

fn convert_span_from_otlp(
    proto: &OtlpSpan,
    request_id: RequestIdSource,
) -> Result<Span, ModelError> {
    let mut span = span_without_attributes(proto)?;
    span.name = proto.name.clone();
    let mut attributes: IndexMap<String, String> =
        IndexMap::with_capacity(proto.attributes.len() + 1);
    for kv in &proto.attributes {
        attributes.insert(kv.key.clone(), any_to_attribute_text(kv.value.as_ref()));
    }
    span.attributes = attributes;
    add_request_id(&mut span, request_id);
    Ok(span)
}

/// [`span_from_otlp`] that takes the name and the attributes out of the protobuf instead of
/// copying them (OTLP ingest converts every span of a request once); on an error the
/// protobuf is left as it was. Each attribute's text comes from `attribute_text`, which must
/// write what `json.dumps` of the decoded value writes, or a deliberate variant of it
/// (store-time translation strips one level of double JSON encoding on the way).
/// `mlflow.traceRequestId` is derived from the trace id, as in [`span_from_otlp`].
pub(crate) fn span_from_otlp_taking(
    proto: &mut OtlpSpan,
    mut attribute_text: impl FnMut(Option<AnyValue>) -> String,
) -> Result<Span, ModelError> {
    let mut span = span_without_attributes(proto)?;
    span.name = std::mem::take(&mut proto.name);
    let mut attributes: IndexMap<String, String> =
        IndexMap::with_capacity(proto.attributes.len() + 1);
    for kv in std::mem::take(&mut proto.attributes) {
        attributes.insert(kv.key, attribute_text(kv.value));
    }
    span.attributes = attributes;
    add_request_id(&mut span, RequestIdSource::DerivedFromTraceId);
    Ok(span)
}

/// `json.dumps(value, ensure_ascii=False)` of an OTLP attribute value as MLflow decodes it:
/// the attribute text [`span_from_otlp`] stores. A string is escaped straight from the
/// protobuf's text, without an intermediate value.
pub fn any_to_attribute_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => {
            let mut out = String::with_capacity(s.len() + 2);
            pyjson::write_string(&mut out, s, false);
            out
        }
        _ => any_to_py(value).dumps(),
    }
}

/// Sets `mlflow.traceRequestId` from the trace id (in place when present), unless the source
/// says to keep a value the span carries.
fn add_request_id(span: &mut Span, request_id: RequestIdSource) {
    let keep_existing = request_id == RequestIdSource::KeepExisting
        && span.attributes.contains_key(keys::TRACE_REQUEST_ID);
    if !keep_existing {
        // `tr-` and hex digits: JSON text needs only the quotes.
        let text = format!("\"{}\"", span.trace_id.to_mlflow());
        span.attributes.insert(keys::TRACE_REQUEST_ID.to_string(), text);
    }
}

/// Everything of the span but its name and attributes, validated (ids, times).
fn span_without_attributes(proto: &OtlpSpan) -> Result<Span, ModelError> {
    if proto.trace_id.is_empty() {
        return Err(ModelError::MissingField("span.trace_id"));
    }
    if proto.span_id.is_empty() {
        return Err(ModelError::MissingField("span.span_id"));
    }
    let trace_id = TraceId::from_bytes(&proto.trace_id)?;
    let span_id = SpanId::from_bytes(&proto.span_id)?;
    let parent_id = if proto.parent_span_id.is_empty() {
        None
    } else {
        Some(SpanId::from_bytes(&proto.parent_span_id)?)
    };
    let status = proto.status.as_ref().map_or_else(SpanStatus::unset, |s| {
        SpanStatus::new(SpanStatusCode::from_proto(s.code), s.message.clone())
    });
    let events = proto
        .events
        .iter()
        .map(|e| {
            Ok(SpanEvent {
                name: e.name.clone(),
                timestamp_ns: ns_from_proto(e.time_unix_nano, "span.events[].time_unix_nano")?,
                attributes: typed_attributes(&e.attributes),
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let links = proto
        .links
        .iter()
        .map(|l| {
            let attributes = typed_attributes(&l.attributes);
            Ok(SpanLink {
                trace_id: TraceId::from_bytes(&l.trace_id)?,
                span_id: SpanId::from_bytes(&l.span_id)?,
                attributes: if attributes.is_empty() {
                    None
                } else {
                    Some(attributes)
                },
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let end_time_ns = ns_from_proto(proto.end_time_unix_nano, "span.end_time_unix_nano")?;
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        name: String::new(),
        start_time_ns: ns_from_proto(proto.start_time_unix_nano, "span.start_time_unix_nano")?,
        end_time_ns: (end_time_ns != 0).then_some(end_time_ns),
        status,
        attributes: IndexMap::new(),
        events,
        links,
    })
}

/// One OTLP export request holding `spans`, shaped as MLflow's exporter sends it: one
/// `ResourceSpans` with the given resource attributes and one unnamed `ScopeSpans`.
///
/// ```
/// use clew_model::json::otlp::spans_to_export_request;
/// let mut resource = indexmap::IndexMap::new();
/// resource.insert("service.name".to_string(), serde_json::json!("demo"));
/// let request = spans_to_export_request(&[], &resource);
/// assert_eq!(request.resource_spans.len(), 1);
/// ```
pub fn spans_to_export_request(
    spans: &[Span],
    resource_attributes: &IndexMap<String, Value>,
) -> ExportTraceServiceRequest {
    let resource = Resource {
        attributes: resource_attributes
            .iter()
            .map(|(k, v)| key_value(k, value_to_any(v)))
            .collect(),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                // MLflow adds an unnamed ScopeSpans without a scope message.
                scope: None,
                spans: spans.iter().map(span_to_otlp).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Every span of an export request, in order (resource and scope are not kept, as in MLflow).
pub fn spans_from_export_request(
    request: &ExportTraceServiceRequest,
) -> Result<Vec<Span>, ModelError> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter())
        .flat_map(|ss| ss.spans.iter())
        .map(span_from_otlp)
        .collect()
}

/// Decodes a binary OTLP `ExportTraceServiceRequest`.
///
/// ```
/// assert!(clew_model::json::otlp::export_request_from_protobuf(&[0xff]).is_err());
/// ```
pub fn export_request_from_protobuf(bytes: &[u8]) -> Result<ExportTraceServiceRequest, ModelError> {
    use prost::Message;
    ExportTraceServiceRequest::decode(bytes)
        .map_err(|e| ModelError::InvalidProto(format!("ExportTraceServiceRequest: {e}")))
}

/// Encodes an `ExportTraceServiceRequest` as binary protobuf.
pub fn export_request_to_protobuf(request: &ExportTraceServiceRequest) -> Vec<u8> {
    use prost::Message;
    request.encode_to_vec()
}

fn event_to_otlp(event: &SpanEvent) -> otlp_span::Event {
    otlp_span::Event {
        time_unix_nano: ns_to_proto(event.timestamp_ns),
        name: event.name.clone(),
        attributes: event
            .attributes
            .iter()
            .map(|(k, v)| key_value(k, value_to_any(v)))
            .collect(),
        dropped_attributes_count: 0,
    }
}

fn link_to_otlp(link: &SpanLink) -> otlp_span::Link {
    otlp_span::Link {
        trace_id: link.trace_id.to_bytes().to_vec(),
        span_id: link.span_id.to_bytes().to_vec(),
        trace_state: String::new(),
        attributes: link
            .attributes
            .iter()
            .flatten()
            .map(|(k, v)| key_value(k, value_to_any(v)))
            .collect(),
        dropped_attributes_count: 0,
        flags: 0,
    }
}

/// A key/value pair; a null value leaves the value unset, as Python's protobuf does.
fn key_value(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value,
        key_strindex: 0,
    }
}

/// Attribute text → typed value: `json.loads` (non-JSON text is a plain string; empty text
/// reads as None, as MLflow's attribute getter treats falsy values).
pub fn attribute_text_to_any(text: &str) -> Option<AnyValue> {
    if text.is_empty() {
        return None;
    }
    match pyjson::loads(text) {
        Ok(value) => py_to_any(&value),
        Err(_) => Some(any(any_value::Value::StringValue(text.to_string()))),
    }
}

fn any(value: any_value::Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

fn py_to_any(value: &PyValue) -> Option<AnyValue> {
    let kind = match value {
        PyValue::Null => return None,
        PyValue::Bool(b) => any_value::Value::BoolValue(*b),
        PyValue::Str(s) => any_value::Value::StringValue(s.clone()),
        // Python would fail on an int beyond int64; a double keeps it numeric.
        PyValue::Int(i) => i64::try_from(*i).map_or(
            any_value::Value::DoubleValue(*i as f64),
            any_value::Value::IntValue,
        ),
        PyValue::Float(f) => any_value::Value::DoubleValue(*f),
        PyValue::List(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items
                .iter()
                .map(|v| py_to_any(v).unwrap_or_default())
                .collect(),
        }),
        PyValue::Dict(map) => any_value::Value::KvlistValue(KeyValueList {
            values: map
                .iter()
                .map(|(k, v)| key_value(k, py_to_any(v)))
                .collect(),
        }),
    };
    Some(any(kind))
}

/// A typed (event/link/resource) attribute value → `AnyValue`.
pub fn value_to_any(value: &Value) -> Option<AnyValue> {
    py_to_any(&PyValue::from_value(value))
}

/// `AnyValue` → the Python value MLflow decodes it to (`_decode_otel_proto_anyvalue`).
/// Bytes become Python's `str(bytes)` text, which is what MLflow's JSON encoder writes.
pub fn any_to_py(value: Option<&AnyValue>) -> PyValue {
    let Some(kind) = value.and_then(|v| v.value.as_ref()) else {
        return PyValue::Null;
    };
    match kind {
        any_value::Value::StringValue(s) => PyValue::Str(s.clone()),
        any_value::Value::BoolValue(b) => PyValue::Bool(*b),
        any_value::Value::IntValue(i) => PyValue::Int(i128::from(*i)),
        any_value::Value::DoubleValue(f) => PyValue::Float(*f),
        any_value::Value::ArrayValue(array) => {
            PyValue::List(array.values.iter().map(|v| any_to_py(Some(v))).collect())
        }
        any_value::Value::KvlistValue(list) => PyValue::Dict(
            list.values
                .iter()
                .map(|kv| (kv.key.clone(), any_to_py(kv.value.as_ref())))
                .collect(),
        ),
        any_value::Value::BytesValue(bytes) => PyValue::Str(python_bytes_repr(bytes)),
        // Only meaningful with a profiles dictionary; MLflow has no notion of it.
        any_value::Value::StringValueStrindex(i) => PyValue::Int(i128::from(*i)),
    }
}

/// `AnyValue` → a typed JSON value (for event, link and resource attributes). Non-finite
/// doubles, which JSON values cannot hold, become their Python text (`"NaN"`).
pub fn any_to_value(value: Option<&AnyValue>) -> Value {
    any_to_py(value).to_value()
}

fn typed_attributes(attributes: &[KeyValue]) -> IndexMap<String, Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), any_to_value(kv.value.as_ref())))
        .collect()
}

/// Python's `str(b"...")`: `b'...'`, quotes chosen as Python chooses them.
fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from("b");
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

fn ns_to_proto(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

fn ns_from_proto(ns: u64, field: &'static str) -> Result<i64, ModelError> {
    i64::try_from(ns).map_err(|_| invalid(field, format!("{ns} does not fit in int64 nanoseconds")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn span_with(attributes: &[(&str, &str)]) -> Span {
        Span {
            trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
            span_id: SpanId::from_u64(1),
            parent_id: Some(SpanId::from_u64(2)),
            name: "s".into(),
            start_time_ns: 100,
            end_time_ns: Some(200),
            status: SpanStatus::error("ValueError: boom"),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            events: vec![SpanEvent::at("e", 150)
                .with_attribute("k", 1)
                .with_attribute("f", 0.5)
                .with_attribute("l", json!(["a", "b"]))],
            links: vec![],
        }
    }

    #[test]
    fn attribute_text_survives_the_round_trip() {
        let span = span_with(&[
            (
                "mlflow.traceRequestId",
                "\"tr-0af7651916cd43dd8448eb211c80319c\"",
            ),
            (
                "mlflow.spanInputs",
                r#"{"x": [1, 2.5, null, true, {"y": "é"}], "n": NaN, "big": 1e+100}"#,
            ),
            ("plain", "not json"),
            ("nothing", "null"),
            ("float", "1.0"),
        ]);
        let back = span_from_otlp(&span_to_otlp(&span)).unwrap();
        // Text that is not JSON travels as a string and comes back JSON-quoted, as in MLflow.
        let mut expected = span.clone();
        expected
            .attributes
            .insert("plain".into(), "\"not json\"".into());
        assert_eq!(back, expected);
    }

    #[test]
    fn request_id_is_derived_from_the_trace_id() {
        let mut span = span_with(&[("a", "1")]);
        let back = span_from_otlp(&span_to_otlp(&span)).unwrap();
        assert_eq!(
            back.attributes.keys().collect::<Vec<_>>(),
            ["a", keys::TRACE_REQUEST_ID]
        );
        assert_eq!(back.request_id(), "tr-0af7651916cd43dd8448eb211c80319c");
        // A client-sent value is not trusted: MLflow's server replaces it in place.
        span.attributes.insert(
            keys::TRACE_REQUEST_ID.into(),
            "\"tr-ffffffffffffffffffffffffffffffff\"".into(),
        );
        span.attributes.insert("z".into(), "2".into());
        let back = span_from_otlp(&span_to_otlp(&span)).unwrap();
        assert_eq!(
            back.attributes.keys().collect::<Vec<_>>(),
            ["a", keys::TRACE_REQUEST_ID, "z"]
        );
        assert_eq!(back.request_id(), "tr-0af7651916cd43dd8448eb211c80319c");
    }

    #[test]
    fn typed_values_map_as_mlflow_maps_them() {
        let proto = span_to_otlp(&span_with(&[
            ("i", "3"),
            ("d", "3.0"),
            ("s", "\"x\""),
            ("n", "null"),
            ("e", ""),
        ]));
        let kinds: Vec<_> = proto
            .attributes
            .iter()
            .map(|kv| kv.value.as_ref().and_then(|v| v.value.clone()))
            .collect();
        assert_eq!(kinds[0], Some(any_value::Value::IntValue(3)));
        assert_eq!(kinds[1], Some(any_value::Value::DoubleValue(3.0)));
        assert_eq!(kinds[2], Some(any_value::Value::StringValue("x".into())));
        assert_eq!(kinds[3], None);
        assert_eq!(kinds[4], None);
        assert_eq!(proto.status.as_ref().map(|s| s.code), Some(2));
        assert_eq!(
            proto.events[0].attributes[0].value,
            Some(any(any_value::Value::IntValue(1)))
        );
    }

    #[test]
    fn bad_ids_are_rejected_with_the_field_named() {
        let mut proto = span_to_otlp(&span_with(&[]));
        proto.trace_id.clear();
        assert_eq!(
            span_from_otlp(&proto).unwrap_err(),
            ModelError::MissingField("span.trace_id")
        );
        let mut proto = span_to_otlp(&span_with(&[]));
        proto.span_id = vec![1, 2, 3];
        assert!(span_from_otlp(&proto).is_err());
        let mut proto = span_to_otlp(&span_with(&[]));
        proto.start_time_unix_nano = u64::MAX;
        assert!(span_from_otlp(&proto)
            .unwrap_err()
            .to_string()
            .contains("span.start_time_unix_nano"));
    }

    #[test]
    fn bytes_read_as_python_str_of_bytes() {
        assert_eq!(python_bytes_repr(b"a'\x00\n"), "b\"a'\\x00\\n\"");
        assert_eq!(python_bytes_repr(b"ab"), "b'ab'");
    }

    #[test]
    fn export_requests_round_trip_through_protobuf() {
        let spans = vec![span_with(&[(
            "mlflow.traceRequestId",
            "\"tr-0af7651916cd43dd8448eb211c80319c\"",
        )])];
        let request = spans_to_export_request(&spans, &IndexMap::new());
        let bytes = export_request_to_protobuf(&request);
        let decoded = export_request_from_protobuf(&bytes).unwrap();
        assert_eq!(spans_from_export_request(&decoded).unwrap(), spans);
    }
}
