//! MLflow wire forms read and written back, on payloads captured from a real MLflow 3.17.2
//! client and server (`tests/golden/capture/`, copied from the wire capture).

use clew_model::json::span_dict::{span_from_dict, span_to_dict};
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn read_json(path: &PathBuf) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn captured_traces() -> Vec<(String, Value)> {
    let dir = golden_dir().join("capture");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the four captured traces in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| (p.display().to_string(), read_json(&p)))
        .collect()
}

#[test]
fn captured_span_dicts_read_and_write_back_equal() {
    for (path, trace) in captured_traces() {
        let spans = trace["data"]["spans"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no spans"));
        assert!(!spans.is_empty(), "{path}: no spans");
        for span_dict in spans {
            let span = span_from_dict(span_dict).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                &span_to_dict(&span),
                span_dict,
                "{path}: span {}",
                span.name
            );
        }
    }
}

#[test]
fn captured_traces_read_and_write_back_equal() {
    use clew_model::json::trace_json::{trace_from_dict, trace_to_dict};
    for (path, trace_value) in captured_traces() {
        let trace = trace_from_dict(&trace_value).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(trace_to_dict(&trace), trace_value, "{path}");
    }
}

fn wire_bodies(kind: &str) -> Vec<(String, Value)> {
    let dir = golden_dir().join("capture/wire");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(kind))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no captured {kind} bodies in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| (p.display().to_string(), read_json(&p)))
        .collect()
}

/// The span dicts of the captured `trace.to_json()` samples, by MLflow trace id.
fn captured_span_dicts(trace_id: &str) -> Option<Vec<clew_model::Span>> {
    captured_traces()
        .into_iter()
        .find(|(_, t)| t["info"]["trace_id"] == trace_id)
        .map(|(path, t)| {
            t["data"]["spans"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: no spans"))
                .iter()
                .map(|s| span_from_dict(s).unwrap_or_else(|e| panic!("{path}: {e}")))
                .collect()
        })
}

fn by_span_id(mut spans: Vec<clew_model::Span>) -> Vec<clew_model::Span> {
    spans.sort_by_key(|s| s.span_id);
    spans
}

#[test]
fn captured_start_trace_v3_trace_infos_write_back_equal() {
    use clew_model::json::rest::{trace_info_from_proto_value, trace_info_to_proto_value};
    for (path, body) in wire_bodies("start_trace_v3") {
        let info_value = &body["trace"]["trace_info"];
        let info =
            trace_info_from_proto_value(info_value).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            info.execution_duration.is_some(),
            "{path}: duration not read"
        );
        assert_eq!(&trace_info_to_proto_value(&info), info_value, "{path}");
    }
}

/// GetTrace / BatchGetTraces responses from the real server read and write back equal, and
/// their spans are the spans of the same trace's `to_json()` sample.
#[test]
fn captured_get_trace_responses_agree_with_trace_json() {
    use clew_model::json::rest::{trace_from_rest_value, trace_to_rest_value};
    let mut compared = 0;
    for kind in ["get_response", "batchget_response"] {
        for (path, body) in wire_bodies(kind) {
            let traces: Vec<&Value> = match body.get("traces") {
                Some(Value::Array(items)) => items.iter().collect(),
                _ => vec![&body["trace"]],
            };
            for trace_value in traces {
                let trace =
                    trace_from_rest_value(trace_value).unwrap_or_else(|e| panic!("{path}: {e}"));
                assert_eq!(&trace_to_rest_value(&trace), trace_value, "{path}");
                if let Some(expected) = captured_span_dicts(trace.trace_id()) {
                    assert_eq!(
                        by_span_id(trace.data.spans.clone()),
                        by_span_id(expected),
                        "{path}: spans vs to_json sample"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(
        compared > 0,
        "no captured response matched a to_json sample"
    );
}

/// The OTLP request the real client sent (decoded with `MessageToJson`: camelCase, base64
/// ids, int64 strings, enum names) gives the spans the server later returned.
#[test]
fn captured_otlp_request_spans_match_what_the_server_stored() {
    use clew_model::json::rest::span_from_rest_value;
    let mut compared = 0;
    for (path, body) in wire_bodies("otlp_request") {
        let spans: Vec<clew_model::Span> = body["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
            .map(|s| span_from_rest_value(s).unwrap_or_else(|e| panic!("{path}: {e}")))
            .collect();
        assert!(!spans.is_empty(), "{path}: no spans");
        let trace_id = spans[0].request_id();
        if let Some(stored) = captured_span_dicts(&trace_id) {
            let stored: Vec<_> = stored
                .into_iter()
                .filter(|s| spans.iter().any(|x| x.span_id == s.span_id))
                .collect();
            assert_eq!(by_span_id(spans), by_span_id(stored), "{path}");
            compared += 1;
        }
    }
    assert!(
        compared > 0,
        "no captured OTLP request matched a to_json sample"
    );
}
