//! MLflow's span dict (`Span.to_dict()` / `Span.from_dict()`, spec §3.1): the form of
//! `traces.json`, of the SQL `spans.content` column and of `Trace.to_json()["data"]["spans"]`.
//!
//! Written in 3.17.2's key order:
//! `trace_id, span_id, parent_span_id, name, start_time_unix_nano, end_time_unix_nano, events,
//! status, attributes, links` — ids in base64 of their big-endian bytes, times as integer ns,
//! attribute values as JSON **text**, event attributes typed.
//!
//! Read: that form, the 3.5.0 variant (`tr-`/hex ids, status `"OK"`) and the v2 form
//! (`context: {trace_id, span_id}` in hex, `start_time`, `status_code`, ...).

use super::fields::{
    as_object, int_value, invalid, kind, optional, optional_array, optional_str, parse_json_text,
    required, required_str, span_id_from_base64, span_id_from_hex, trace_id_from_base64,
    trace_id_from_hex_forms,
};
use crate::pyjson::{self, DumpOptions};
use crate::{keys, ModelError, Span, SpanEvent, SpanLink, SpanStatus, SpanStatusCode};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// The span as MLflow's `Span.to_dict()` builds it.
///
/// ```
/// use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// use clew_model::json::span_dict::span_to_dict;
/// let mut span = Span {
///     trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
///     span_id: SpanId::from_u64(1), parent_id: None, name: "my_func".into(),
///     start_time_ns: 1, end_time_ns: Some(2), status: SpanStatus::ok(),
///     attributes: Default::default(), events: vec![], links: vec![],
/// };
/// span.attributes.insert("mlflow.spanOutputs".into(), "3".into());
/// let dict = span_to_dict(&span);
/// assert_eq!(dict["trace_id"], "CvdlGRbNQ92ESOshHIAxnA==");
/// assert_eq!(dict["status"]["code"], "STATUS_CODE_OK");
/// assert_eq!(dict["attributes"]["mlflow.spanOutputs"], "3");
/// ```
pub fn span_to_dict(span: &Span) -> Value {
    let mut dict = Map::new();
    dict.insert("trace_id".into(), Value::String(span.trace_id.to_base64()));
    dict.insert("span_id".into(), Value::String(span.span_id.to_base64()));
    dict.insert(
        "parent_span_id".into(),
        span.parent_id
            .map_or(Value::Null, |p| Value::String(p.to_base64())),
    );
    dict.insert("name".into(), Value::String(span.name.clone()));
    dict.insert(
        "start_time_unix_nano".into(),
        Value::from(span.start_time_ns),
    );
    dict.insert(
        "end_time_unix_nano".into(),
        span.end_time_ns.map_or(Value::Null, Value::from),
    );
    dict.insert(
        "events".into(),
        Value::Array(span.events.iter().map(event_to_dict).collect()),
    );
    let mut status = Map::new();
    status.insert(
        "code".into(),
        Value::String(span.status.status_code.as_otel_name().to_string()),
    );
    status.insert(
        "message".into(),
        Value::String(span.status.description.clone()),
    );
    dict.insert("status".into(), Value::Object(status));
    let attributes: Map<String, Value> = span
        .attributes
        .iter()
        .map(|(k, text)| (k.clone(), Value::String(text.clone())))
        .collect();
    dict.insert("attributes".into(), Value::Object(attributes));
    dict.insert(
        "links".into(),
        Value::Array(span.links.iter().map(link_to_dict).collect()),
    );
    Value::Object(dict)
}

fn event_to_dict(event: &SpanEvent) -> Value {
    let mut dict = Map::new();
    dict.insert("name".into(), Value::String(event.name.clone()));
    dict.insert("time_unix_nano".into(), Value::from(event.timestamp_ns));
    dict.insert(
        "attributes".into(),
        Value::Object(
            event
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    );
    Value::Object(dict)
}

/// MLflow's `Link.to_dict()`: `tr-` trace id, hex span id, attributes or `null`.
fn link_to_dict(link: &SpanLink) -> Value {
    let mut dict = Map::new();
    dict.insert("trace_id".into(), Value::String(link.trace_id.to_mlflow()));
    dict.insert("span_id".into(), Value::String(link.span_id.to_hex()));
    dict.insert(
        "attributes".into(),
        link.attributes.as_ref().map_or(Value::Null, |a| {
            Value::Object(a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }),
    );
    Value::Object(dict)
}

/// `json.dumps(span.to_dict(), ensure_ascii=False)`: exactly the text MLflow's SQL store keeps
/// in `spans.content` (non-ASCII unescaped, separators `", "` / `": "`).
///
/// ```
/// # use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// # let span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(1), parent_id: None,
/// #   name: "é".into(), start_time_ns: 1, end_time_ns: None, status: SpanStatus::unset(),
/// #   attributes: Default::default(), events: vec![], links: vec![] };
/// let text = clew_model::json::span_dict::span_to_json(&span);
/// assert!(text.starts_with(r#"{"trace_id": "AAAAAAAAAAAAAAAAAAAAAQ==", "span_id": "AAAAAAAAAAE=", "parent_span_id": null, "name": "é""#));
/// ```
pub fn span_to_json(span: &Span) -> String {
    span_to_json_with(span, &DumpOptions::PYTHON_UNICODE)
}

/// [`span_to_json`] with other `json.dumps` options (e.g. [`DumpOptions::PYTHON_ASCII`]).
pub fn span_to_json_with(span: &Span, opts: &DumpOptions) -> String {
    if opts.indent.is_some() {
        return pyjson::dumps_with(&span_to_dict(span), opts);
    }
    // Written field by field, in `span_to_dict`'s key order, without building a `Value` tree:
    // this runs for every span exported or stored. The goldens pin it byte for byte.
    let ascii = opts.ensure_ascii;
    let sep = opts.item_separator;
    // Values are JSON text, whose quotes are escaped again here: room for that up front
    // saves regrowing (and copying) the buffer.
    let attributes_len: usize = span.attributes.iter().map(|(k, v)| k.len() + v.len() + v.len() / 4 + 8).sum();
    let mut out = String::with_capacity(256 + span.name.len() + attributes_len);
    let key = |out: &mut String, name: &str, first: bool| {
        if !first {
            out.push_str(sep);
        }
        pyjson::write_string(out, name, ascii);
        out.push_str(opts.key_separator);
    };
    out.push('{');
    key(&mut out, "trace_id", true);
    write_base64(&mut out, &span.trace_id.to_bytes());
    key(&mut out, "span_id", false);
    write_base64(&mut out, &span.span_id.to_bytes());
    key(&mut out, "parent_span_id", false);
    match span.parent_id {
        Some(parent) => write_base64(&mut out, &parent.to_bytes()),
        None => out.push_str("null"),
    }
    key(&mut out, "name", false);
    pyjson::write_string(&mut out, &span.name, ascii);
    key(&mut out, "start_time_unix_nano", false);
    write_int(&mut out, span.start_time_ns);
    key(&mut out, "end_time_unix_nano", false);
    match span.end_time_ns {
        Some(end) => write_int(&mut out, end),
        None => out.push_str("null"),
    }
    key(&mut out, "events", false);
    write_list(&mut out, span.events.iter().map(event_to_dict), opts);
    key(&mut out, "status", false);
    out.push('{');
    key(&mut out, "code", true);
    pyjson::write_string(&mut out, span.status.status_code.as_otel_name(), ascii);
    key(&mut out, "message", false);
    pyjson::write_string(&mut out, &span.status.description, ascii);
    out.push('}');
    key(&mut out, "attributes", false);
    out.push('{');
    for (i, (k, text)) in span.attributes.iter().enumerate() {
        key(&mut out, k, i == 0);
        pyjson::write_string(&mut out, text, ascii);
    }
    out.push('}');
    key(&mut out, "links", false);
    write_list(&mut out, span.links.iter().map(link_to_dict), opts);
    out.push('}');
    out
}

/// An id as a JSON string of its base64 (what `TraceId::to_base64` / `SpanId::to_base64`
/// give), written in place: base64 needs no escapes, and no `String` is made per id.
fn write_base64(out: &mut String, bytes: &[u8]) {
    use base64::Engine;
    let mut buf = [0u8; 24];
    out.push('"');
    match base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut buf) {
        Ok(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        // Ids are 8 or 16 bytes (≤ 24 base64 characters); anything longer takes the long way.
        Err(_) => out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
    out.push('"');
}

/// An integer in decimal, written in place.
fn write_int(out: &mut String, n: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{n}");
}

/// The byte length of [`span_to_json_with`]`(span, opts)` without writing it: string escapes
/// are counted, not produced. This is what MLflow's `sizeStats` measure, computed for every
/// exported span.
///
/// ```
/// # use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// use clew_model::json::span_dict::{span_json_len, span_to_json_with};
/// use clew_model::pyjson::DumpOptions;
/// # let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(1), parent_id: None,
/// #   name: "é\n".into(), start_time_ns: 1, end_time_ns: None, status: SpanStatus::unset(),
/// #   attributes: Default::default(), events: vec![], links: vec![] };
/// # span.attributes.insert("k".into(), "\"v\"".into());
/// let opts = DumpOptions::PYTHON_ASCII;
/// assert_eq!(span_json_len(&span, &opts), span_to_json_with(&span, &opts).len());
/// ```
pub fn span_json_len(span: &Span, opts: &DumpOptions) -> usize {
    if opts.indent.is_some() {
        return span_to_json_with(span, opts).len();
    }
    let ascii = opts.ensure_ascii;
    let sep = opts.item_separator.len();
    let kv = opts.key_separator.len();
    let key = |name: &str| pyjson::escaped_len(name, ascii) + kv;
    const B64_TRACE_ID: usize = 24 + 2;
    const B64_SPAN_ID: usize = 12 + 2;
    let digits = |n: i64| n.to_string().len();
    let mut len = 2; // {}
    len += key("trace_id") + B64_TRACE_ID;
    len += sep + key("span_id") + B64_SPAN_ID;
    len += sep + key("parent_span_id") + if span.parent_id.is_some() { B64_SPAN_ID } else { 4 };
    len += sep + key("name") + pyjson::escaped_len(&span.name, ascii);
    len += sep + key("start_time_unix_nano") + digits(span.start_time_ns);
    len += sep + key("end_time_unix_nano") + span.end_time_ns.map_or(4, digits);
    len += sep + key("events") + list_len(span.events.iter().map(event_to_dict), opts);
    len += sep + key("status") + 2 + key("code") + pyjson::escaped_len(span.status.status_code.as_otel_name(), ascii);
    len += sep + key("message") + pyjson::escaped_len(&span.status.description, ascii);
    len += sep + key("attributes") + 2;
    for (i, (k, text)) in span.attributes.iter().enumerate() {
        len += if i > 0 { sep } else { 0 } + key(k) + pyjson::escaped_len(text, ascii);
    }
    len += sep + key("links") + list_len(span.links.iter().map(link_to_dict), opts);
    len
}

fn list_len(items: impl Iterator<Item = Value>, opts: &DumpOptions) -> usize {
    let mut len = 2;
    for (i, item) in items.enumerate() {
        len += if i > 0 { opts.item_separator.len() } else { 0 } + pyjson::dumps_with(&item, opts).len();
    }
    len
}

/// `[a, b, ...]` of small dicts (events, links).
fn write_list(out: &mut String, items: impl Iterator<Item = Value>, opts: &DumpOptions) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(opts.item_separator);
        }
        out.push_str(&pyjson::dumps_with(&item, opts));
    }
    out.push(']');
}

/// Parses span dict JSON text ([`span_from_dict`] on the parsed value).
///
/// ```
/// let text = r#"{"trace_id": "CvdlGRbNQ92ESOshHIAxnA==", "span_id": "AAAAAAAAAAE=", "parent_span_id": null,
///   "name": "f", "start_time_unix_nano": 1, "end_time_unix_nano": 2, "events": [],
///   "status": {"code": "STATUS_CODE_OK", "message": ""},
///   "attributes": {"mlflow.traceRequestId": "\"tr-0af7651916cd43dd8448eb211c80319c\""}}"#;
/// let span = clew_model::json::span_dict::span_from_json(text).unwrap();
/// assert_eq!(span.request_id(), "tr-0af7651916cd43dd8448eb211c80319c");
/// ```
pub fn span_from_json(text: &str) -> Result<Span, ModelError> {
    span_from_dict(&parse_json_text(text, "span")?)
}

/// Reads a span dict: the current form, the 3.5.0 variant or the v2 form. As in MLflow, a
/// missing or empty `mlflow.traceRequestId` attribute is rejected.
pub fn span_from_dict(value: &Value) -> Result<Span, ModelError> {
    let obj = as_object(value, "span")?;
    let attributes = read_attributes(obj)?;
    match attributes.get(keys::TRACE_REQUEST_ID) {
        Some(text) if !text.is_empty() => {}
        _ => {
            return Err(ModelError::MissingField(
                "span.attributes.mlflow.traceRequestId",
            ))
        }
    }
    if obj.contains_key("context") {
        return span_from_v2_dict(obj, attributes);
    }

    let trace_id_text = required_str(obj, "trace_id", "span.trace_id")?;
    let span_id_text = required_str(obj, "span_id", "span.span_id")?;
    let parent_text =
        optional_str(obj, "parent_span_id", "span.parent_span_id")?.filter(|s| !s.is_empty());
    // MLflow picks the encoding from the trace id: strict base64 means the current form,
    // anything else (`tr-…`, hex) the 3.5.0 variant. A bare 32-hex id is valid base64 too, so
    // unlike MLflow we also require the base64 to decode to 16 bytes.
    let (trace_id, span_id, parent_id) = if is_base64_trace_id(trace_id_text) {
        (
            trace_id_from_base64(trace_id_text, "span.trace_id")?,
            span_id_from_base64(span_id_text, "span.span_id")?,
            parent_text
                .map(|p| span_id_from_base64(p, "span.parent_span_id"))
                .transpose()?,
        )
    } else {
        (
            trace_id_from_hex_forms(trace_id_text, "span.trace_id")?,
            span_id_from_hex(span_id_text, "span.span_id")?,
            parent_text
                .map(|p| span_id_from_hex(p, "span.parent_span_id"))
                .transpose()?,
        )
    };

    let status_obj = as_object(required(obj, "status", "span.status")?, "span.status")?;
    let code_text = required_str(status_obj, "code", "span.status.code")?;
    let status_code = parse_status_code(code_text, "span.status.code")?;
    let description = optional_str(status_obj, "message", "span.status.message")?.unwrap_or("");

    let start_time_ns = int_value(
        required(obj, "start_time_unix_nano", "span.start_time_unix_nano")?,
        "span.start_time_unix_nano",
    )?;
    let end_time_ns = read_end_time(
        optional(obj, "end_time_unix_nano"),
        "span.end_time_unix_nano",
    )?;

    let events = read_events(obj, "time_unix_nano", "span.events[].time_unix_nano")?;

    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        name: required_str(obj, "name", "span.name")?.to_string(),
        start_time_ns,
        end_time_ns,
        status: SpanStatus::new(status_code, description),
        attributes,
        events,
        links: read_links(obj)?,
    })
}

/// The v2 span dict: `{name, context: {trace_id, span_id}, parent_id, start_time, end_time,
/// status_code, status_message, attributes, events: [{name, timestamp, attributes}]}`, hex ids.
fn span_from_v2_dict(
    obj: &Map<String, Value>,
    attributes: IndexMap<String, String>,
) -> Result<Span, ModelError> {
    let context = as_object(required(obj, "context", "span.context")?, "span.context")?;
    let trace_id = trace_id_from_hex_forms(
        required_str(context, "trace_id", "span.context.trace_id")?,
        "span.context.trace_id",
    )?;
    let span_id = span_id_from_hex(
        required_str(context, "span_id", "span.context.span_id")?,
        "span.context.span_id",
    )?;
    let parent_id = optional_str(obj, "parent_id", "span.parent_id")?
        .filter(|s| !s.is_empty())
        .map(|p| span_id_from_hex(p, "span.parent_id"))
        .transpose()?;
    let status_code = match optional_str(obj, "status_code", "span.status_code")? {
        Some(code) => parse_status_code(code, "span.status_code")?,
        None => SpanStatusCode::Unset,
    };
    let description = optional_str(obj, "status_message", "span.status_message")?.unwrap_or("");
    let events = read_events(obj, "timestamp", "span.events[].timestamp")?;
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        name: required_str(obj, "name", "span.name")?.to_string(),
        start_time_ns: int_value(
            required(obj, "start_time", "span.start_time")?,
            "span.start_time",
        )?,
        end_time_ns: read_end_time(optional(obj, "end_time"), "span.end_time")?,
        status: SpanStatus::new(status_code, description),
        attributes,
        events,
        links: read_links(obj)?,
    })
}

/// `STATUS_CODE_OK` or (3.5.0, v2) `OK`; unknown names are an error, as in MLflow.
fn parse_status_code(text: &str, field: &'static str) -> Result<SpanStatusCode, ModelError> {
    match text {
        "STATUS_CODE_UNSET" | "UNSET" => Ok(SpanStatusCode::Unset),
        "STATUS_CODE_OK" | "OK" => Ok(SpanStatusCode::Ok),
        "STATUS_CODE_ERROR" | "ERROR" => Ok(SpanStatusCode::Error),
        other => Err(invalid(field, format!("unknown status code {other:?}"))),
    }
}

/// `int(x) if x else None`: a zero or missing end time means "not ended".
fn read_end_time(v: Option<&Value>, field: &'static str) -> Result<Option<i64>, ModelError> {
    match v {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => Ok(Some(int_value(v, field)?).filter(|t| *t != 0)),
    }
}

/// Attribute values are JSON text. A foreign writer may have stored a non-string value; it is
/// kept as its JSON text so nothing is lost.
fn read_attributes(obj: &Map<String, Value>) -> Result<IndexMap<String, String>, ModelError> {
    let Some(attributes) = optional(obj, "attributes") else {
        return Ok(IndexMap::new());
    };
    let attributes = as_object(attributes, "span.attributes")?;
    Ok(attributes
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => pyjson::dumps(other),
            };
            (k.clone(), text)
        })
        .collect())
}

/// The `events` list of a span dict; the v3 form stamps events with `time_unix_nano`, the v2
/// form with `timestamp`.
fn read_events(
    obj: &Map<String, Value>,
    time_key: &'static str,
    time_field: &'static str,
) -> Result<Vec<SpanEvent>, ModelError> {
    let mut events = Vec::new();
    for event in optional_array(obj, "events", "span.events")? {
        let event = as_object(event, "span.events[]")?;
        events.push(SpanEvent {
            name: required_str(event, "name", "span.events[].name")?.to_string(),
            timestamp_ns: int_value(required(event, time_key, time_field)?, time_field)?,
            attributes: read_event_attributes(event, "span.events[].attributes")?,
        });
    }
    Ok(events)
}

fn read_event_attributes(
    event: &Map<String, Value>,
    field: &'static str,
) -> Result<IndexMap<String, Value>, ModelError> {
    match optional(event, "attributes") {
        None => Ok(IndexMap::new()),
        Some(Value::Object(map)) => Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Some(other) => Err(invalid(
            field,
            format!("expected an object, got {}", kind(other)),
        )),
    }
}

fn read_links(obj: &Map<String, Value>) -> Result<Vec<SpanLink>, ModelError> {
    let mut links = Vec::new();
    for link in optional_array(obj, "links", "span.links")? {
        let link = as_object(link, "span.links[]")?;
        let attributes = match optional(link, "attributes") {
            None => None,
            Some(Value::Object(map)) => {
                Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            Some(other) => {
                return Err(invalid(
                    "span.links[].attributes",
                    format!("expected an object, got {}", kind(other)),
                ))
            }
        };
        links.push(SpanLink {
            trace_id: trace_id_from_hex_forms(
                required_str(link, "trace_id", "span.links[].trace_id")?,
                "span.links[].trace_id",
            )?,
            span_id: span_id_from_hex(
                required_str(link, "span_id", "span.links[].span_id")?,
                "span.links[].span_id",
            )?,
            attributes,
        });
    }
    Ok(links)
}

/// Python's `base64.b64decode(s, validate=True)` succeeding (standard alphabet, correct
/// padding) and giving the 16 bytes of a trace id.
fn is_base64_trace_id(s: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .is_ok_and(|bytes| bytes.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, TraceId};
    use serde_json::json;

    fn sample_span() -> Span {
        let mut attributes = IndexMap::new();
        attributes.insert(
            keys::TRACE_REQUEST_ID.to_string(),
            "\"tr-0af7651916cd43dd8448eb211c80319c\"".to_string(),
        );
        attributes.insert(
            keys::SPAN_INPUTS.to_string(),
            "{\"x\": 1, \"y\": 2}".to_string(),
        );
        Span {
            trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
            span_id: SpanId::from_u64(1),
            parent_id: Some(SpanId::from_u64(2)),
            name: "my_func".into(),
            start_time_ns: 1767225600123000000,
            end_time_ns: Some(1767225600138000000),
            status: SpanStatus::error("boom"),
            attributes,
            events: vec![SpanEvent::at("e", 5)
                .with_attribute("n", 1.5)
                .with_attribute("flags", json!([true, false]))],
            links: vec![SpanLink::new(TraceId::from_u128(3), SpanId::from_u64(4))],
        }
    }

    #[test]
    fn dict_has_mlflow_key_order_and_encodings() {
        let text = span_to_json(&sample_span());
        assert_eq!(
            text,
            concat!(
                r#"{"trace_id": "CvdlGRbNQ92ESOshHIAxnA==", "span_id": "AAAAAAAAAAE=", "parent_span_id": "AAAAAAAAAAI=", "#,
                r#""name": "my_func", "start_time_unix_nano": 1767225600123000000, "end_time_unix_nano": 1767225600138000000, "#,
                r#""events": [{"name": "e", "time_unix_nano": 5, "attributes": {"n": 1.5, "flags": [true, false]}}], "#,
                r#""status": {"code": "STATUS_CODE_ERROR", "message": "boom"}, "#,
                r#""attributes": {"mlflow.traceRequestId": "\"tr-0af7651916cd43dd8448eb211c80319c\"", "mlflow.spanInputs": "{\"x\": 1, \"y\": 2}"}, "#,
                r#""links": [{"trace_id": "tr-00000000000000000000000000000003", "span_id": "0000000000000004", "attributes": null}]}"#
            )
        );
        assert_eq!(span_from_json(&text).unwrap(), sample_span());
    }

    #[test]
    fn reads_the_3_5_0_variant_with_hex_ids_and_plain_status() {
        let dict = json!({
            "trace_id": "tr-0af7651916cd43dd8448eb211c80319c", "span_id": "0000000000000001",
            "parent_span_id": "0000000000000002", "name": "my_func",
            "start_time_unix_nano": 1767225600123000000_i64, "end_time_unix_nano": 1767225600138000000_i64,
            "events": [{"name": "e", "time_unix_nano": 5, "attributes": {"n": 1.5, "flags": [true, false]}}],
            "status": {"code": "ERROR", "message": "boom"},
            "attributes": {"mlflow.traceRequestId": "\"tr-0af7651916cd43dd8448eb211c80319c\"", "mlflow.spanInputs": "{\"x\": 1, \"y\": 2}"},
        });
        let mut expected = sample_span();
        expected.links.clear();
        assert_eq!(span_from_dict(&dict).unwrap(), expected);
    }

    #[test]
    fn reads_the_v2_form() {
        let dict = json!({
            "name": "my_func",
            "context": {"trace_id": "0x0af7651916cd43dd8448eb211c80319c", "span_id": "0x0000000000000001"},
            "parent_id": "0x0000000000000002",
            "start_time": 1767225600123000000_i64, "end_time": 1767225600138000000_i64,
            "status_code": "ERROR", "status_message": "boom",
            "attributes": {"mlflow.traceRequestId": "\"tr-0af7651916cd43dd8448eb211c80319c\"", "mlflow.spanInputs": "{\"x\": 1, \"y\": 2}"},
            "events": [{"name": "e", "timestamp": 5, "attributes": {"n": 1.5, "flags": [true, false]}}],
        });
        let mut expected = sample_span();
        expected.links.clear();
        assert_eq!(span_from_dict(&dict).unwrap(), expected);
    }

    #[test]
    fn rejects_bad_input_with_the_field_named() {
        let mut dict = span_to_dict(&sample_span());
        dict["attributes"]
            .as_object_mut()
            .unwrap()
            .shift_remove(keys::TRACE_REQUEST_ID);
        assert!(span_from_dict(&dict)
            .unwrap_err()
            .to_string()
            .contains("mlflow.traceRequestId"));

        let mut dict = span_to_dict(&sample_span());
        dict["status"]["code"] = json!("STATUS_CODE_MAYBE");
        assert!(span_from_dict(&dict)
            .unwrap_err()
            .to_string()
            .contains("span.status.code"));

        let mut dict = span_to_dict(&sample_span());
        dict["start_time_unix_nano"] = json!("soon");
        assert!(span_from_dict(&dict)
            .unwrap_err()
            .to_string()
            .contains("span.start_time_unix_nano"));

        let mut dict = span_to_dict(&sample_span());
        dict["span_id"] = json!("AAAA");
        assert!(span_from_dict(&dict)
            .unwrap_err()
            .to_string()
            .contains("span.span_id"));

        assert!(span_from_json("[1]").is_err());
        assert!(span_from_json("{").is_err());
    }

    #[test]
    fn non_finite_event_floats_written_by_python_are_read() {
        let mut dict = span_to_dict(&sample_span());
        dict["events"][0]["attributes"]["n"] = json!("__NAN__");
        let text = pyjson::dumps(&dict).replace("\"__NAN__\"", "NaN");
        let span = span_from_json(&text).unwrap();
        assert_eq!(span.events[0].attributes["n"], "NaN");
    }

    #[test]
    fn zero_end_time_and_string_times_are_accepted() {
        let mut dict = span_to_dict(&sample_span());
        dict["end_time_unix_nano"] = json!(0);
        dict["start_time_unix_nano"] = json!("1767225600123000000");
        let span = span_from_dict(&dict).unwrap();
        assert_eq!(span.end_time_ns, None);
        assert_eq!(span.start_time_ns, 1767225600123000000);
    }
}
