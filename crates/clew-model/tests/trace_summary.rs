//! Trace info filled as MLflow fills it: previews, token usage, size stats and whole finalized
//! traces, checked against values produced by the real mlflow 3.17.2 package
//! (`scripts/summary_expectations.py` → `tests/data/summary_expectations.jsonl`) and against
//! the traces captured from a real client and server (`tests/golden/capture/`).

use clew_model::json::span_dict::span_to_json_with;
use clew_model::json::trace_json::{trace_from_dict, trace_to_json};
use clew_model::pyjson::{self, DumpOptions};
use clew_model::summary::finalize::{finalize_trace_info, trace_info_from_spans, FinalizeOptions};
use clew_model::summary::preview::{request_preview, response_preview};
use clew_model::summary::size_stats::SizeStats;
use clew_model::summary::token_usage::{aggregate_usage_nodes, UsageNode};
use clew_model::{keys, Span, SpanId, Trace, TraceData, TraceInfo, TraceState};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

fn expectations(kind: &str) -> Vec<(Value, Value)> {
    let text = include_str!("data/summary_expectations.jsonl");
    let cases: Vec<(Value, Value)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("expectation line is JSON"))
        .filter(|v| v["kind"] == kind)
        .map(|v| (v["input"].clone(), v["expected"].clone()))
        .collect();
    assert!(!cases.is_empty(), "no {kind} expectations");
    cases
}

#[test]
fn previews_match_mlflow_on_every_case() {
    let mut failures = Vec::new();
    for (input, expected) in expectations("preview") {
        let text = input["text"].as_str().unwrap();
        let got = match input["role"].as_str().unwrap() {
            "user" => request_preview(text, keys::MAX_PREVIEW_CHARS),
            _ => response_preview(text, keys::MAX_PREVIEW_CHARS),
        };
        if got != expected.as_str().unwrap() {
            failures.push(format!("{input}: got {got:?}, MLflow {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn token_usage_matches_mlflow_aggregation() {
    for (input, expected) in expectations("token_usage") {
        let spans = input["spans"].as_array().unwrap();
        let mut ids: HashMap<String, SpanId> = HashMap::new();
        let mut id_of = |name: &str| {
            let next = SpanId::from_u64(ids.len() as u64 + 1);
            *ids.entry(name.to_string()).or_insert(next)
        };
        let nodes: Vec<UsageNode> = spans
            .iter()
            .map(|s| UsageNode {
                span_id: id_of(s[0].as_str().unwrap()),
                parent_id: s[1].as_str().map(&mut id_of),
                usage: (!s[2].is_null()).then(|| pyjson::loads(&s[2].to_string()).unwrap()),
            })
            .collect();
        let got = aggregate_usage_nodes(&nodes).map(|u| u.to_json_text());
        let want = expected
            .as_str()
            .filter(|e| !e.starts_with("error:"))
            .map(str::to_string);
        assert_eq!(got, want, "case {}", input["name"]);
    }
}

#[test]
fn size_percentiles_match_mlflow() {
    for (input, expected) in expectations("percentiles") {
        let sizes: Vec<usize> = input
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let s = SizeStats::compute(&sizes, 0).unwrap();
        let want: Vec<u64> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(vec![s.p25, s.p50, s.p75], want, "sizes {sizes:?}");
        assert_eq!(s.max as usize, *sizes.iter().max().unwrap());
    }
}

/// The UTF-8 length of `Trace(info, no spans).to_json()`, as the size stats need it.
fn empty_trace_json_size(info: &TraceInfo) -> usize {
    trace_to_json(&Trace {
        info: info.clone(),
        data: TraceData::default(),
    })
    .len()
}

fn span_sizes(spans: &[Span]) -> Vec<usize> {
    spans
        .iter()
        .map(|s| span_to_json_with(s, &DumpOptions::PYTHON_ASCII).len())
        .collect()
}

/// The info as it stood when the root span started: what the finalize step computes removed.
fn info_at_root_start(finished: &TraceInfo, options: &Value) -> TraceInfo {
    let mut info = finished.clone();
    info.state = TraceState::InProgress;
    info.request_time = 0;
    info.execution_duration = None;
    for key in [
        keys::TRACE_INPUTS,
        keys::TRACE_OUTPUTS,
        keys::TOKEN_USAGE,
        keys::SIZE_STATS,
        keys::SIZE_BYTES,
    ] {
        info.trace_metadata.shift_remove(key);
    }
    info.request_preview = options["explicit_request_preview"]
        .as_str()
        .map(str::to_string);
    info.response_preview = None;
    if options["explicit_trace_name"] != true {
        // A context tag under the same key, which the root name must replace.
        info.tags
            .insert(keys::TRACE_NAME.to_string(), "from-context".to_string());
    }
    // Values the user gave in full; the client cuts them only when sending.
    for (field, map) in [
        ("user_metadata", &mut info.trace_metadata),
        ("user_tags", &mut info.tags),
    ] {
        if let Some(given) = options[field].as_object() {
            for (k, v) in given {
                map.insert(k.clone(), v.as_str().unwrap().to_string());
            }
        }
    }
    info
}

#[test]
fn finalized_traces_equal_what_the_mlflow_client_sends() {
    for (input, expected) in expectations("finalize") {
        let name = input["name"].as_str().unwrap();
        let options = &input["options"];
        let trace = trace_from_dict(&expected).unwrap();
        let mut info = info_at_root_start(&trace.info, options);
        let explicit_state = options["explicit_state"]
            .as_str()
            .map(|s| s.parse::<TraceState>().unwrap());
        let measure = empty_trace_json_size;
        let opts = FinalizeOptions {
            explicit_state,
            explicit_trace_name: options["explicit_trace_name"] == true,
            empty_trace_json_size: Some(&measure),
            ..Default::default()
        };
        finalize_trace_info(
            &mut info,
            &trace.data.spans,
            &span_sizes(&trace.data.spans),
            &opts,
        );

        let want = &trace.info;
        assert_eq!(info.state, want.state, "{name}: state");
        assert_eq!(info.request_time, want.request_time, "{name}: request_time");
        assert_eq!(
            info.execution_duration, want.execution_duration,
            "{name}: execution_duration"
        );
        assert_eq!(
            info.request_preview, want.request_preview,
            "{name}: request_preview"
        );
        assert_eq!(
            info.response_preview, want.response_preview,
            "{name}: response_preview"
        );
        for (k, v) in &want.trace_metadata {
            assert_eq!(info.trace_metadata.get(k), Some(v), "{name}: metadata {k}");
        }
        assert_eq!(
            info.trace_metadata.len(),
            want.trace_metadata.len(),
            "{name}: metadata keys"
        );
        assert_eq!(info.tags, want.tags, "{name}: tags");
    }
}

fn captured(name: &str) -> Trace {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/capture")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    clew_model::json::trace_json::trace_from_json(&text).unwrap()
}

#[test]
fn captured_size_stats_are_reproduced_from_the_spans() {
    // Traces 3 and 4 are left out: the server added `mlflow.llm.cost` to their spans after the
    // client measured them.
    for name in ["trace1_nested.json", "trace2_root_error.json"] {
        let trace = captured(name);
        let mut info = trace.info.clone();
        for key in [keys::SIZE_STATS, keys::SIZE_BYTES, keys::INFO_FINALIZED] {
            info.trace_metadata.shift_remove(key);
        }
        for key in [keys::SPANS_LOCATION, keys::ARTIFACT_LOCATION] {
            info.tags.shift_remove(key);
        }
        let stats =
            SizeStats::compute(&span_sizes(&trace.data.spans), empty_trace_json_size(&info))
                .unwrap();
        assert_eq!(
            &stats.to_json_text(),
            &trace.info.trace_metadata[keys::SIZE_STATS],
            "{name}"
        );
        assert_eq!(
            stats.total_size_bytes.to_string(),
            trace.info.trace_metadata[keys::SIZE_BYTES],
            "{name}"
        );
    }
}

#[test]
fn captured_previews_and_trace_io_are_reproduced() {
    for name in [
        "trace1_nested.json",
        "trace2_root_error.json",
        "trace3_openai_chat.json",
        "trace4_openai_stream.json",
    ] {
        let trace = captured(name);
        let mut info = TraceInfo {
            trace_id: trace.info.trace_id.clone(),
            ..Default::default()
        };
        finalize_trace_info(
            &mut info,
            &trace.data.spans,
            &[],
            &FinalizeOptions::default(),
        );
        let want = &trace.info;
        assert_eq!(info.request_preview, want.request_preview, "{name}");
        assert_eq!(info.response_preview, want.response_preview, "{name}");
        assert_eq!(info.state, want.state, "{name}");
        assert_eq!(info.request_time, want.request_time, "{name}");
        // The stored duration is the server's (latest span end − earliest start, in whole ms),
        // which can be 1 ms more than the client's root end − start.
        let client_ms = want.execution_duration.unwrap();
        assert!(
            matches!(info.execution_duration, Some(d) if d == client_ms || d + 1 == client_ms),
            "{name}"
        );
        for key in [keys::TRACE_INPUTS, keys::TRACE_OUTPUTS, keys::TOKEN_USAGE] {
            assert_eq!(
                info.trace_metadata.get(key),
                want.trace_metadata.get(key),
                "{name}: {key}"
            );
        }
        assert_eq!(
            info.tags[keys::TRACE_NAME],
            want.tags[keys::TRACE_NAME],
            "{name}"
        );
    }
}

#[test]
fn otlp_only_trace_from_the_captured_root_matches_the_server() {
    // The wire notes: OTLP alone with the root → state OK, previews from the root, no trace name.
    let trace = captured("trace1_nested.json");
    let info = trace_info_from_spans("1", &trace.data.spans);
    assert_eq!(info.trace_id, trace.info.trace_id);
    assert_eq!(info.state, TraceState::Ok);
    assert_eq!(info.request_time, trace.info.request_time);
    assert_eq!(info.execution_duration, trace.info.execution_duration); // 58, where the client sent 57
    assert_eq!(info.request_preview, trace.info.request_preview);
    assert_eq!(info.response_preview, trace.info.response_preview);
    assert!(!info.tags.contains_key(keys::TRACE_NAME));
    assert_eq!(
        info.tags[keys::SPANS_LOCATION],
        keys::SPANS_LOCATION_TRACKING_STORE
    );

    // Only the children: still in progress, times from the earliest start to the latest end.
    let children: Vec<Span> = trace
        .data
        .spans
        .iter()
        .filter(|s| !s.is_root())
        .cloned()
        .collect();
    let partial = trace_info_from_spans("1", &children);
    assert_eq!(partial.state, TraceState::InProgress);
    assert_eq!(partial.request_preview, None);
    let min_start = children.iter().map(|s| s.start_time_ns).min().unwrap() / 1_000_000;
    assert_eq!(partial.request_time, min_start);
}

#[test]
fn otlp_only_token_usage_uses_the_servers_stored_form() {
    let trace = captured("trace3_openai_chat.json");
    let info = trace_info_from_spans("1", &trace.data.spans);
    assert_eq!(
        info.trace_metadata[keys::TOKEN_USAGE],
        trace.info.trace_metadata[keys::TOKEN_USAGE]
    );
}

#[test]
fn otlp_only_traces_equal_what_the_mlflow_server_stores() {
    use clew_model::json::span_dict::span_from_dict;
    use clew_model::json::trace_json::trace_info_from_dict;
    for (input, expected) in expectations("otlp_only") {
        let name = input["name"].as_str().unwrap();
        let spans: Vec<Span> = input["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| span_from_dict(s).unwrap())
            .collect();
        let got = trace_info_from_spans(input["experiment_id"].as_str().unwrap(), &spans);
        let want = trace_info_from_dict(&expected).unwrap();
        assert_eq!(got, want, "{name}");
    }
}
