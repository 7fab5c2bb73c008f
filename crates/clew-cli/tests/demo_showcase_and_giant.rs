//! `clew demo --showcase` writes one trace per format the web UI renders, and `--giant N` one
//! trace of N spans; read back from the store file.

mod common;

use clew_model::{keys, SpanType, Trace, TraceState};
use clew_store::TraceStore;
use common::{all_traces, block_on, Sandbox};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

fn scenario<'a>(traces: &'a [Trace], name: &str) -> &'a Trace {
    traces
        .iter()
        .find(|t| t.info.tags.get("demo.scenario").map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no {name} trace"))
}

#[test]
fn showcase_adds_one_trace_per_format_after_the_scenarios() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .clew(&["--json", "demo", "--traces", "6", "--showcase"])
        .ok()
        .json();
    let ids: Vec<String> = run["trace_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 11, "6 scenario traces + 5 showcase traces");
    let traces = all_traces(&sandbox.open_store(), &ids);
    assert_eq!(traces.len(), 11);

    // OpenAI Responses API: a function_call, then its output fed back, then output_text.
    let responses = scenario(&traces, "responses");
    let calls: Vec<_> = responses
        .data
        .spans
        .iter()
        .filter(|s| s.name == "responses.create")
        .collect();
    assert_eq!(calls.len(), 2);
    let first = calls.iter().min_by_key(|s| s.start_time_ns).unwrap();
    assert_eq!(
        first.outputs().unwrap()["output"][0]["type"],
        "function_call"
    );
    let second = calls.iter().max_by_key(|s| s.start_time_ns).unwrap();
    let input = second.inputs().unwrap()["input"]
        .as_array()
        .unwrap()
        .clone();
    assert!(input
        .iter()
        .any(|item| item["type"] == "function_call_output"));
    assert_eq!(
        second.outputs().unwrap()["output"][0]["content"][0]["type"],
        "output_text"
    );

    // Anthropic Messages: system, tool_use / tool_result blocks, tool definitions.
    let anthropic = scenario(&traces, "anthropic").data.root().unwrap().clone();
    assert_eq!(
        anthropic.get_attribute(keys::MESSAGE_FORMAT),
        Some(Value::from("anthropic"))
    );
    let inputs = anthropic.inputs().unwrap();
    assert!(inputs["system"].as_str().unwrap().contains("financial"));
    let blocks: Vec<&str> = inputs["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["type"].as_str().unwrap())
        })
        .collect();
    assert!(
        blocks.contains(&"tool_use") && blocks.contains(&"tool_result"),
        "{blocks:?}"
    );
    assert_eq!(inputs["tools"][0]["name"], "get_stock_price");
    assert_eq!(anthropic.outputs().unwrap()["stop_reason"], "end_turn");

    // OTel GenAI: the conversation only in gen_ai.* attributes, as JSON text in strings.
    let genai = scenario(&traces, "genai").data.root().unwrap().clone();
    assert!(genai.inputs().is_none());
    let input = genai.get_attribute("gen_ai.input.messages").unwrap();
    let parsed: Value = serde_json::from_str(input.as_str().expect("a string attribute")).unwrap();
    assert_eq!(
        parsed[0]["parts"][0]["content"],
        "Translate 'good morning' into Portuguese."
    );
    let output: Value = serde_json::from_str(
        genai
            .get_attribute("gen_ai.output.messages")
            .unwrap()
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(output[0]["role"], "assistant");

    // Huge values.
    let large = scenario(&traces, "large");
    let span = large
        .data
        .spans
        .iter()
        .find(|s| s.name == "summarize_orders")
        .unwrap();
    assert_eq!(
        span.inputs().unwrap()["orders"].as_array().unwrap().len(),
        2_000
    );
    let report = span.outputs().unwrap();
    assert!(report.as_str().unwrap().len() > 50_000);
    assert!(
        span.attributes[keys::SPAN_INPUTS].len() > 200_000,
        "the input is stored whole"
    );

    // In progress: the root and the chat call have not ended.
    let running = scenario(&traces, "in_progress");
    assert_eq!(running.info.state, TraceState::InProgress);
    assert_eq!(running.info.execution_duration, None);
    assert_eq!(running.data.spans.len(), 3);
    assert_eq!(
        running
            .data
            .spans
            .iter()
            .filter(|s| s.end_time_ns.is_none())
            .count(),
        2
    );

    // The showcase comes after the scenarios in (simulated) time; the async scenario runs in
    // real time, so it is left out.
    let newest_scenario = traces[..6]
        .iter()
        .filter(|t| t.info.tags["demo.scenario"] != "async")
        .map(|t| t.info.request_time)
        .max()
        .unwrap();
    assert!(traces[6..]
        .iter()
        .all(|t| t.info.request_time > newest_scenario));
}

#[test]
fn giant_writes_one_connected_trace_of_n_spans() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .clew(&[
            "--json",
            "demo",
            "--giant",
            "3000",
            "--experiment-name",
            "giant",
        ])
        .ok()
        .json();
    assert_eq!(run["spans"], 3000);
    let trace_id = run["trace_ids"][0].as_str().unwrap().to_string();
    let store = sandbox.open_store();
    let trace = block_on(store.get_trace(&trace_id))
        .unwrap()
        .expect("the giant trace");
    assert_eq!(trace.data.spans.len(), 3000);
    assert_eq!(trace.info.state, TraceState::Ok);
    assert_eq!(
        trace.info.tags.get("demo.scenario").map(String::as_str),
        Some("giant")
    );
    assert_eq!(
        trace.info.tags.get("demo.giant.spans").map(String::as_str),
        Some("3000")
    );

    // One root; every other span's parent is in the trace and encloses it in time.
    let by_id: HashMap<_, _> = trace.data.spans.iter().map(|s| (s.span_id, s)).collect();
    assert_eq!(trace.data.spans.iter().filter(|s| s.is_root()).count(), 1);
    for span in trace.data.spans.iter().filter(|s| !s.is_root()) {
        let parent = by_id[&span.parent_id.unwrap()];
        assert!(
            parent.start_time_ns <= span.start_time_ns && span.end_time_ns <= parent.end_time_ns
        );
    }
    let types: HashSet<SpanType> = trace
        .data
        .spans
        .iter()
        .filter_map(|s| s.span_type())
        .collect();
    assert!(types.len() >= 7, "{types:?}");
    assert!(trace.data.spans.iter().any(|s| s.name == "step_1"));

    // Asking for both kinds of demo at once is a usage error.
    let both = sandbox.clew(&["demo", "--giant", "10", "--showcase"]);
    assert_eq!(both.code, 2, "{}", both.stderr);
}
