//! OTLP/JSON (the OTLP spec's JSON mapping: camelCase names, **hex** trace and span ids,
//! 64-bit integers as strings, enums as numbers) for `ExportTraceServiceRequest`.
//!
//! The `opentelemetry-proto` crate's serde support (`with-serde`) already implements this
//! mapping, so these functions wrap it, with one repair on the way in: the crate requires
//! `values` inside `arrayValue` / `kvlistValue`, but proto3 JSON writers (Python's
//! `MessageToDict`, collectors) omit empty repeated fields, so `{"arrayValue": {}}` is filled
//! in before deserialising.
//!
//! Known limit of the crate: a double written as `"NaN"` / `"Infinity"` (protobuf's JSON for
//! non-finite doubles) is rejected, and non-finite doubles are written as `null`.

use crate::ModelError;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;

/// Parses an OTLP/JSON export request body.
///
/// ```
/// use clew_model::json::otlp_json::export_request_from_otlp_json;
/// let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
///   "spanId":"0000000000000001","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
/// let request = export_request_from_otlp_json(body).unwrap();
/// assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].span_id, vec![0, 0, 0, 0, 0, 0, 0, 1]);
/// assert!(export_request_from_otlp_json(b"{\"resourceSpans\": 3}").is_err());
/// ```
pub fn export_request_from_otlp_json(body: &[u8]) -> Result<ExportTraceServiceRequest, ModelError> {
    let invalid = |e: serde_json::Error| ModelError::InvalidJson {
        what: "OTLP/JSON ExportTraceServiceRequest",
        reason: e.to_string(),
    };
    let mut value: Value = serde_json::from_slice(body).map_err(invalid)?;
    fill_empty_value_lists(&mut value);
    serde_json::from_value(value).map_err(invalid)
}

/// Adds the `"values": []` that proto3 JSON leaves out of empty `arrayValue` / `kvlistValue`.
fn fill_empty_value_lists(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if matches!(key.as_str(), "arrayValue" | "kvlistValue") {
                    if let Value::Object(inner) = child {
                        inner
                            .entry("values")
                            .or_insert_with(|| Value::Array(Vec::new()));
                    }
                }
                fill_empty_value_lists(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fill_empty_value_lists),
        _ => {}
    }
}

/// Writes an export request as OTLP/JSON.
pub fn export_request_to_otlp_json(request: &ExportTraceServiceRequest) -> String {
    // Serialising these plain structs into a String cannot fail; an empty object is the
    // defensive fallback rather than a panic.
    serde_json::to_string(request).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::otlp::{spans_from_export_request, spans_to_export_request};
    use crate::{Span, SpanEvent, SpanId, SpanStatus, TraceId};

    fn sample_span() -> Span {
        let mut span = Span {
            trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
            span_id: SpanId::from_u64(1),
            parent_id: Some(SpanId::from_u64(2)),
            name: "s".into(),
            start_time_ns: 1795238771687890236,
            end_time_ns: Some(1795238771745461080),
            status: SpanStatus::ok(),
            attributes: Default::default(),
            events: vec![SpanEvent::at("e", 5).with_attribute("x", 1)],
            links: vec![],
        };
        span.attributes.insert(
            "mlflow.traceRequestId".into(),
            "\"tr-0af7651916cd43dd8448eb211c80319c\"".into(),
        );
        span.attributes.insert("n".into(), "null".into());
        span.attributes
            .insert("l".into(), "[1, \"a\", null, {\"k\": 1.5}]".into());
        span
    }

    #[test]
    fn writes_hex_ids_camel_case_and_int64_strings() {
        let text = export_request_to_otlp_json(&spans_to_export_request(
            &[sample_span()],
            &Default::default(),
        ));
        for expected in [
            r#""traceId":"0af7651916cd43dd8448eb211c80319c""#,
            r#""parentSpanId":"0000000000000002""#,
            r#""startTimeUnixNano":"1795238771687890236""#,
            r#"{"intValue":"1"}"#,
            r#""status":{"message":"","code":1}"#,
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        let back = export_request_from_otlp_json(text.as_bytes()).unwrap();
        assert_eq!(
            spans_from_export_request(&back).unwrap(),
            vec![sample_span()]
        );
    }

    #[test]
    fn reads_numbers_for_int64_and_ignores_unknown_fields() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0AF7651916CD43DD8448EB211C80319C",
            "spanId":"0000000000000001","name":"s","startTimeUnixNano":5,"kind":2,"unknownField":true,
            "attributes":[{"key":"k","value":{"intValue":7}}],"status":{"code":2,"message":"bad"}}]}]}]}"#;
        let request = export_request_from_otlp_json(body).unwrap();
        let spans = spans_from_export_request(&request).unwrap();
        assert_eq!(
            spans[0].trace_id.to_hex(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(spans[0].attributes["k"], "7");
        assert_eq!(spans[0].status, SpanStatus::error("bad"));
        assert_eq!(spans[0].start_time_ns, 5);
    }

    #[test]
    fn empty_arrays_and_kvlists_without_values_are_accepted() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
            "spanId":"0000000000000001","name":"s","attributes":[{"key":"a","value":{"arrayValue":{}}},
            {"key":"k","value":{"kvlistValue":{}}}]}]}]}]}"#;
        let spans =
            spans_from_export_request(&export_request_from_otlp_json(body).unwrap()).unwrap();
        assert_eq!(spans[0].attributes["a"], "[]");
        assert_eq!(spans[0].attributes["k"], "{}");
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b"{"[..],
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#,
        ] {
            assert!(export_request_from_otlp_json(body).is_err());
        }
    }
}
