//! MLflow wire forms read and written back, on payloads captured from a real MLflow 3.17.2
//! client and server (`tests/golden/capture/`, copied from the wire capture).

use clew_model::json::span_dict::{span_from_dict, span_to_dict};
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
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
    assert!(files.len() >= 4, "expected the four captured traces in {}", dir.display());
    files.into_iter().map(|p| (p.display().to_string(), read_json(&p))).collect()
}

#[test]
fn captured_span_dicts_read_and_write_back_equal() {
    for (path, trace) in captured_traces() {
        let spans = trace["data"]["spans"].as_array().unwrap_or_else(|| panic!("{path}: no spans"));
        assert!(!spans.is_empty(), "{path}: no spans");
        for span_dict in spans {
            let span = span_from_dict(span_dict).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(&span_to_dict(&span), span_dict, "{path}: span {}", span.name);
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
