//! Golden files written by the real `mlflow` package (`scripts/gen_golden.sh`) are read and
//! written back equal, and the forms agree with each other.
//!
//! Byte-for-byte where MLflow's output is a function of its input. Protobuf map fields
//! (`trace_metadata`, `tags`) come out of Python protobuf in hash order, so two *independent*
//! MLflow serialisations of one TraceInfo list them differently: cross-form checks therefore
//! compare parsed values (map equality ignores order). Reading then writing one file keeps
//! its order, so those checks stay byte-for-byte.

use clew_model::json::otlp::any_to_value;
use clew_model::json::otlp::{
    export_request_from_protobuf, export_request_to_protobuf, spans_from_export_request,
    spans_to_export_request,
};
use clew_model::json::otlp_json::export_request_from_otlp_json;
use clew_model::json::rest::{
    span_from_rest_value, trace_from_rest_json, trace_info_from_proto_json,
    trace_info_to_proto_json, trace_to_rest_json,
};
use clew_model::json::span_dict::{span_from_json, span_to_json};
use clew_model::json::trace_json::{
    trace_from_json, trace_info_from_dict, trace_to_json, trace_to_json_pretty,
};
use clew_model::pyjson::{self, DumpOptions};
use clew_model::Span;
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn golden_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// The per-trace case directories (`nested`, `error`, ...); `foreign_otlp` is checked apart.
fn trace_cases() -> Vec<PathBuf> {
    let cases: Vec<_> = sorted_files(&golden_root().join("mlflow"))
        .into_iter()
        .filter(|p| p.is_dir() && p.join("trace.json").exists())
        .collect();
    assert!(
        cases.len() >= 4,
        "expected the generated MLflow cases under tests/golden/mlflow"
    );
    cases
}

fn golden_spans(case: &Path) -> Vec<(PathBuf, String)> {
    let files = sorted_files(&case.join("spans"));
    assert!(!files.is_empty(), "{}: no span files", case.display());
    files
        .into_iter()
        .map(|p| {
            let text = read(&p);
            (p, text)
        })
        .collect()
}

#[test]
fn span_dicts_write_back_byte_for_byte() {
    for case in trace_cases() {
        for (path, text) in golden_spans(&case) {
            let span = span_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(span_to_json(&span), text, "{}", path.display());
        }
    }
}

#[test]
fn trace_json_writes_back_byte_for_byte() {
    for case in trace_cases() {
        let text = read(&case.join("trace.json"));
        let trace = trace_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(trace_to_json(&trace), text, "{}/trace.json", case.display());

        let pretty = read(&case.join("trace.pretty.json"));
        let trace_from_pretty =
            trace_from_json(&pretty).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            trace_to_json_pretty(&trace_from_pretty),
            pretty,
            "{}/trace.pretty.json",
            case.display()
        );
    }
}

#[test]
fn rest_trace_info_writes_back_byte_for_byte() {
    for case in trace_cases() {
        let text = read(&case.join("trace_info.rest.json"));
        let info =
            trace_info_from_proto_json(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            trace_info_to_proto_json(&info),
            text,
            "{}/trace_info.rest.json",
            case.display()
        );
    }
}

#[test]
fn rest_trace_writes_back_byte_for_byte() {
    for case in trace_cases() {
        let text = read(&case.join("trace.rest.json"));
        let trace =
            trace_from_rest_json(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            trace_to_rest_json(&trace),
            text,
            "{}/trace.rest.json",
            case.display()
        );
    }
}

#[test]
fn otlp_protobuf_writes_back_byte_for_byte() {
    for case in trace_cases() {
        let bytes = std::fs::read(case.join("otlp.pb"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let request = export_request_from_protobuf(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let spans = spans_from_export_request(&request)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let resource: IndexMap<String, Value> = request.resource_spans[0]
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .map(|kv| (kv.key.clone(), any_to_value(kv.value.as_ref())))
            .collect();
        let rebuilt = spans_to_export_request(&spans, &resource);
        assert_eq!(
            export_request_to_protobuf(&rebuilt),
            bytes,
            "{}/otlp.pb",
            case.display()
        );
    }
}

#[test]
fn otlp_json_reads_as_the_same_request_as_protobuf() {
    let mut cases = trace_cases();
    cases.push(golden_root().join("mlflow/foreign_otlp"));
    for case in cases {
        let bytes = std::fs::read(case.join("otlp.pb"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let from_pb = export_request_from_protobuf(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let json = read(&case.join("otlp.json"));
        let from_json = export_request_from_otlp_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(from_json, from_pb, "{}/otlp.json", case.display());
    }
}

/// OTLP → Span → span dict equals what MLflow's OTLP ingest (`Span.from_otel_proto`) stores.
#[test]
fn otlp_spans_convert_to_the_dicts_mlflow_ingest_stores() {
    let mut cases = trace_cases();
    cases.push(golden_root().join("mlflow/foreign_otlp"));
    for case in cases {
        let bytes = std::fs::read(case.join("otlp.pb"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let request = export_request_from_protobuf(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let spans = spans_from_export_request(&request)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let expected = sorted_files(&case.join("from_otlp"));
        assert_eq!(spans.len(), expected.len(), "{}", case.display());
        for (span, path) in spans.iter().zip(expected) {
            assert_eq!(span_to_json(span), read(&path), "{}", path.display());
        }
    }
}

/// The span dicts, the spans inside trace.json, the REST spans and the OTLP spans are one
/// set of spans; the TraceInfo in trace.json and in REST proto-JSON is one TraceInfo.
#[test]
fn forms_agree_with_each_other() {
    for case in trace_cases() {
        let dict_spans: Vec<Span> = golden_spans(&case)
            .iter()
            .map(|(p, t)| span_from_json(t).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();

        let trace = trace_from_json(&read(&case.join("trace.json")))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            trace.data.spans,
            dict_spans,
            "{}: trace.json spans vs spans/",
            case.display()
        );

        let rest_trace: Value = serde_json::from_str(&read(&case.join("trace.rest.json")))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let rest_spans: Vec<Span> = rest_trace["spans"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no REST spans", case.display()))
            .iter()
            .map(|v| span_from_rest_value(v).unwrap_or_else(|e| panic!("{}: {e}", case.display())))
            .collect();
        assert_eq!(
            rest_spans,
            dict_spans,
            "{}: REST spans vs spans/",
            case.display()
        );

        let request =
            export_request_from_protobuf(&std::fs::read(case.join("otlp.pb")).unwrap_or_default())
                .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let otlp_spans = spans_from_export_request(&request)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            otlp_spans,
            dict_spans,
            "{}: OTLP spans vs spans/",
            case.display()
        );

        let info_from_trace_json = {
            let v: Value =
                serde_json::from_str(&read(&case.join("trace.json"))).unwrap_or_default();
            trace_info_from_dict(&v["info"]).unwrap_or_else(|e| panic!("{}: {e}", case.display()))
        };
        let info_from_rest = trace_info_from_proto_json(&read(&case.join("trace_info.rest.json")))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        // TraceInfo's maps are IndexMaps: equality ignores the (hash-ordered) key order.
        assert_eq!(
            info_from_trace_json,
            info_from_rest,
            "{}: trace.json info vs REST",
            case.display()
        );
        assert_eq!(trace.info, info_from_rest, "{}", case.display());
    }
}

/// `pyjson` against 2000 random values dumped by CPython's `json` module.
#[test]
fn pyjson_matches_python_json_dumps_on_the_corpus() {
    let corpus = read(&golden_root().join("pyjson/corpus.jsonl"));
    let mut checked_with_serde = 0;
    let mut lines = 0;
    for (n, line) in corpus.lines().enumerate() {
        lines += 1;
        let row: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
        let field = |k: &str| {
            row[k]
                .as_str()
                .unwrap_or_else(|| panic!("corpus line {}: no {k}", n + 1))
                .to_string()
        };
        let source = field("source");
        let value = pyjson::loads(&source).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
        assert_eq!(value.dumps(), field("unicode"), "line {} unicode", n + 1);
        assert_eq!(
            value.dumps_with(&DumpOptions::PYTHON_ASCII),
            field("ascii"),
            "line {} ascii",
            n + 1
        );
        assert_eq!(
            value.dumps_with(&DumpOptions::COMPACT_ASCII),
            field("compact"),
            "line {} compact",
            n + 1
        );
        assert_eq!(
            value.dumps_with(&DumpOptions::PRETTY_ASCII),
            field("pretty"),
            "line {} pretty",
            n + 1
        );
        // Values serde_json can hold (no NaN/Infinity) must dump the same from a serde Value.
        if let Ok(serde_value) = serde_json::from_str::<Value>(&source) {
            assert_eq!(
                pyjson::dumps(&serde_value),
                field("unicode"),
                "line {} serde unicode",
                n + 1
            );
            assert_eq!(
                pyjson::dumps_ascii(&serde_value),
                field("ascii"),
                "line {} serde ascii",
                n + 1
            );
            checked_with_serde += 1;
        }
    }
    assert!(lines >= 1000, "corpus too small: {lines}");
    assert!(
        checked_with_serde > lines / 2,
        "only {checked_with_serde} of {lines} lines checked through serde_json"
    );
}

/// Truncated and byte-flipped goldens are rejected or read, never a panic.
#[test]
fn mangled_goldens_never_panic() {
    use clew_model::json::otlp_json::export_request_from_otlp_json;
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound.max(1) as u64) as usize
    };
    for case in trace_cases() {
        let texts = [
            read(&case.join("trace.json")),
            read(&case.join("trace.rest.json")),
            read(&case.join("otlp.json")),
        ];
        let pb = std::fs::read(case.join("otlp.pb")).unwrap_or_default();
        for round in 0..200 {
            for text in &texts {
                let mut bytes = text.clone().into_bytes();
                if round % 2 == 0 {
                    bytes.truncate(next(bytes.len()));
                } else {
                    for _ in 0..4 {
                        let i = next(bytes.len());
                        let replacements = b"{}[]\":,0-9aeE\\ nNtf";
                        bytes[i] = replacements[next(replacements.len())];
                    }
                }
                let mangled = String::from_utf8_lossy(&bytes);
                let _ = trace_from_json(&mangled);
                let _ = trace_from_rest_json(&mangled);
                let _ = span_from_json(&mangled);
                let _ = clew_model::pyjson::loads(&mangled);
                if let Ok(request) = export_request_from_otlp_json(mangled.as_bytes()) {
                    let _ = spans_from_export_request(&request);
                }
            }
            let mut bytes = pb.clone();
            if round % 2 == 0 {
                bytes.truncate(next(bytes.len()));
            } else {
                let i = next(bytes.len());
                bytes[i] = bytes[i].wrapping_add(1 + next(255) as u8);
            }
            if let Ok(request) = export_request_from_protobuf(&bytes) {
                let _ = spans_from_export_request(&request);
            }
        }
    }
}

/// `span_json_len` (used for every exported span's size stats) counts exactly the bytes
/// `span_to_json_with` writes, in both of MLflow's encodings, for every golden span.
#[test]
fn span_json_len_matches_the_written_length_for_every_golden_span() {
    use clew_model::json::span_dict::{span_json_len, span_to_json_with};
    use clew_model::pyjson::DumpOptions;
    let mut checked = 0;
    for case in trace_cases() {
        for (path, text) in golden_spans(&case) {
            let span = span_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for opts in [DumpOptions::PYTHON_ASCII, DumpOptions::PYTHON_UNICODE] {
                assert_eq!(span_json_len(&span, &opts), span_to_json_with(&span, &opts).len(), "{}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 5, "golden spans found: {checked}");
}
