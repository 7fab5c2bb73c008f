//! Seed "MLflow tracing API", the API listing itself: the functions and types it declares
//! without a usage example, each called once with what it is documented to do checked.
//!
//! ```python
//! start_span(name, span_type=None, inputs=None, attributes=None)
//! get_current_active_span(); end_span()
//! set_span_attribute(key, value); set_span_attributes(attributes); set_span_chat_tools(tools)
//! log_span_event(name, attributes=None, timestamp=None)
//! set_span_inputs(inputs); set_span_output(output); add_span_exception(exception)
//! get_trace(trace_id); search_traces(experiment_ids=None, filter_string=None, max_results=None)
//! get_last_active_trace()
//! class SpanType / SpanStatus / SpanStatusCode; class Trace / Span / SpanContext / SpanEvent
//! ```
//!
//! The notebook display functions and the `instrument_*` autolog functions have no Rust form
//! (see docs/api.md).

use clew::{ChatTool, SearchOptions, SpanBuilder, SpanStatusCode, SpanType};
use serde_json::json;

/// An error to record with `add_span_exception`.
#[derive(Debug)]
struct TimeoutError;

impl std::fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model did not answer within 30 s")
    }
}

impl std::error::Error for TimeoutError {}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    let experiment = clew::set_experiment("api-tour").unwrap();
    assert!(
        clew::get_current_active_span().is_none(),
        "no span is active outside a span"
    );

    let event_time_ns = 1_700_000_000_123_456_789;
    {
        // start_span(name, span_type, inputs, attributes)
        let root = SpanBuilder::new("agent_turn")
            .span_type(SpanType::Agent)
            .inputs(json!({"question": "2 + 2?"}))
            .attributes([("team", json!("search")), ("attempt", json!(1))])
            .start();
        // get_current_active_span()
        let current = clew::get_current_active_span().expect("agent_turn is active");
        assert_eq!(current.span_id(), root.span_id());

        {
            let _llm = SpanBuilder::new("llm").span_type(SpanType::ChatModel).start();
            clew::set_span_inputs(json!({"messages": [{"role": "user", "content": "2 + 2?"}]}));
            clew::set_span_attribute("model", "gpt-4o");
            clew::set_span_attributes([("temperature", json!(0.0)), ("seed", json!(7))]);
            clew::set_span_chat_tools(&[ChatTool::function("add", Some("Adds two numbers"), None)]);
            clew::log_span_event("first_token", [("latency_ms", 84)], None);
            clew::log_span_event("cache_lookup", [("hit", false)], Some(event_time_ns));
            clew::add_span_exception(&TimeoutError);
        }
        {
            let _tool = SpanBuilder::new("add").span_type(SpanType::Tool).start();
            clew::set_span_output(4);
            // end_span(): ends the current span now, before its block closes.
            clew::end_span();
            clew::set_span_output("ignored: the span has ended");
        }
        clew::set_span_output(json!({"answer": 4}));
    }

    // get_last_active_trace()
    let trace = clew::get_last_active_trace().expect("the trace just ended");
    assert_eq!(trace.info.experiment_id(), Some(experiment.experiment_id.as_str()));
    let root = trace.data.root().unwrap();
    assert_eq!(root.span_type(), Some(SpanType::Agent));
    assert_eq!(root.get_attribute("team"), Some(json!("search")));
    assert_eq!(root.get_attribute("attempt"), Some(json!(1)));
    assert_eq!(root.outputs(), Some(json!({"answer": 4})));

    let llm = &trace.search_spans(Some(&SpanType::ChatModel), None, None)[0].clone();
    assert_eq!(llm.get_attribute("model"), Some(json!("gpt-4o")));
    assert_eq!(llm.get_attribute("seed"), Some(json!(7)));
    assert_eq!(
        llm.get_attribute("mlflow.chat.tools").unwrap()[0]["function"]["name"],
        "add"
    );
    let events: Vec<&str> = llm.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["first_token", "cache_lookup", "exception"]);
    assert_eq!(llm.events[0].attributes["latency_ms"], 84);
    assert_eq!(llm.events[1].timestamp_ns, event_time_ns);
    assert_eq!(llm.status.status_code, SpanStatusCode::Error);
    assert_eq!(llm.events[2].attributes["exception.type"], "TimeoutError");

    let tool = &trace.search_spans(Some(&SpanType::Tool), None, None)[0].clone();
    assert_eq!(
        tool.outputs(),
        Some(json!(4)),
        "set_span_output after end_span changes nothing"
    );

    // The Span fields of the seed's entity listing.
    let context = (llm.trace_id, llm.span_id);
    assert_eq!(context.0, root.trace_id);
    assert_eq!(llm.parent_id, Some(root.span_id));
    assert!(llm.end_time_ns.unwrap() >= llm.start_time_ns);
    assert_eq!(
        llm.status.description,
        "TimeoutError: the model did not answer within 30 s"
    );

    // get_trace(trace_id) and search_traces(experiment_ids, filter_string, max_results).
    let by_id = clew::get_trace(trace.info.request_id()).unwrap();
    assert_eq!(by_id.data.spans.len(), 3);
    let found = clew::search_traces(
        SearchOptions::new()
            .experiment_ids([experiment.experiment_id.clone()])
            .filter("trace.status = 'OK' AND span.type = 'TOOL'")
            .max_results(5),
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].info.trace_id, trace.info.trace_id);
    let none = clew::search_traces(
        SearchOptions::new()
            .experiment_ids([experiment.experiment_id])
            .filter("trace.status = 'ERROR'"),
    )
    .unwrap();
    assert!(none.is_empty(), "an error on a child does not make the trace ERROR");

    // The enumerations.
    for name in [
        "UNKNOWN",
        "LLM",
        "CHAT_MODEL",
        "CHAIN",
        "AGENT",
        "TOOL",
        "RETRIEVER",
        "EMBEDDING",
        "RERANKER",
        "PARSER",
    ] {
        assert_eq!(SpanType::from(name).as_str(), name);
    }
    for name in ["UNSET", "OK", "ERROR"] {
        assert_eq!(name.parse::<SpanStatusCode>().unwrap().as_str(), name);
    }
    println!("trace {} has {} spans", trace.info.request_id(), trace.data.spans.len());
}
