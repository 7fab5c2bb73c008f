//! The helpers that act on the current span and trace, with MLflow's names.

mod common;
use clew::{SpanType, TraceState, TraceUpdate};
use clew_model::keys;
use common::{exported, setup, span};
use serde_json::json;

#[test]
fn helpers_write_to_the_current_span() {
    let (_g, memory) = setup();
    {
        let _root = clew::SpanBuilder::new("user_query_processing").span_type(SpanType::Chain).start();
        clew::set_span_inputs(json!({"query": "What is machine learning?"}));
        {
            let _r = clew::SpanBuilder::new("document_retrieval").span_type(SpanType::Retriever).start();
            clew::set_span_output(json!({"retrieved_docs": ["Doc1", "Doc2", "Doc3"]}));
            clew::set_span_attribute("num_documents", 3);
        }
        clew::set_span_attributes([("a", 1), ("b", 2)]);
        clew::log_span_event("checkpoint", [("step", 1)], Some(42));
        clew::set_span_output(json!({"final_answer": "ML is..."}));
    }
    let t = &exported(&memory)[0];
    let root = span(t, "user_query_processing");
    assert_eq!(root.inputs(), Some(json!({"query": "What is machine learning?"})));
    assert_eq!(root.outputs(), Some(json!({"final_answer": "ML is..."})));
    assert_eq!(root.attributes["a"], "1");
    assert_eq!(root.events[0].timestamp_ns, 42);
    let r = span(t, "document_retrieval");
    assert_eq!(r.attributes["num_documents"], "3");
    assert_eq!(r.outputs().unwrap()["retrieved_docs"][1], "Doc2");
}

#[test]
fn active_and_last_trace_ids() {
    let (_g, _memory) = setup();
    assert!(clew::get_current_active_span().is_none());
    assert!(clew::get_active_trace_id().is_none());
    let id = {
        let root = clew::start_span("root");
        assert_eq!(clew::get_active_trace_id(), Some(root.trace_id()));
        assert_eq!(clew::get_current_active_span().unwrap().span_id(), root.span_id());
        root.trace_id()
    };
    assert!(clew::get_current_active_span().is_none());
    assert_eq!(clew::get_last_active_trace_id(), Some(id.clone()));
    assert_eq!(clew::get_last_active_trace_id_thread_local(), Some(id.clone()));
    let trace = clew::get_last_active_trace().expect("the last trace is readable");
    assert_eq!(trace.info.trace_id, id);
}

#[test]
fn update_current_trace_sets_tags_metadata_previews_and_state() {
    let (_g, memory) = setup();
    {
        let root = clew::start_span("chat");
        root.set_inputs(json!({"messages": [{"role": "user", "content": "hi"}]}));
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("env", "dev")
                .metadata("custom", "x")
                .session_id("sess-1")
                .user("alice")
                .client_request_id("req-7")
                .response_preview("explicit response")
                .state(TraceState::Error),
        );
    }
    let info = &exported(&memory)[0].info;
    assert_eq!(info.tags["env"], "dev");
    assert_eq!(info.tags[keys::TRACE_NAME], "chat");
    assert_eq!(info.trace_metadata["custom"], "x");
    assert_eq!(info.trace_metadata[keys::TRACE_SESSION], "sess-1");
    assert_eq!(info.trace_metadata[keys::TRACE_USER], "alice");
    assert_eq!(info.client_request_id.as_deref(), Some("req-7"));
    assert_eq!(info.response_preview.as_deref(), Some("explicit response"));
    // The chat-aware request preview is the last user message.
    assert_eq!(info.request_preview.as_deref(), Some("hi"));
    assert_eq!(info.state, TraceState::Error);
}

#[test]
fn trace_info_is_filled_as_mlflow_fills_it() {
    let (_g, memory) = setup();
    {
        let root = clew::start_span("answer");
        root.set_inputs(json!({"question": "What is MLflow tracing?"}));
        {
            let llm = clew::SpanBuilder::new("llm").span_type(SpanType::ChatModel).start();
            llm.set_attribute(keys::CHAT_TOKEN_USAGE, json!({"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}));
            {
                // Nested usage under a span that has usage is not counted again.
                let inner = clew::start_span("inner_llm");
                inner.set_attribute(keys::CHAT_TOKEN_USAGE, json!({"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}));
            }
        }
        {
            let llm2 = clew::SpanBuilder::new("llm2").span_type(SpanType::ChatModel).start();
            llm2.set_attribute(keys::CHAT_TOKEN_USAGE, json!({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}));
        }
        root.set_outputs(json!({"answer": "42"}));
    }
    let t = &exported(&memory)[0];
    let info = &t.info;
    let root = span(t, "answer");
    assert_eq!(info.request_time, root.start_time_ns / 1_000_000);
    assert_eq!(info.execution_duration, Some((root.end_time_ns.unwrap() - root.start_time_ns) / 1_000_000));
    assert_eq!(info.state, TraceState::Ok);
    assert_eq!(info.experiment_id(), Some("0"));
    assert_eq!(info.trace_metadata[keys::TRACE_INPUTS], r#"{"question": "What is MLflow tracing?"}"#);
    assert_eq!(info.trace_metadata[keys::TRACE_OUTPUTS], r#"{"answer": "42"}"#);
    assert_eq!(info.trace_metadata[keys::TRACE_SCHEMA_VERSION], "3");
    assert_eq!(info.request_preview.as_deref(), Some(r#"{"question": "What is MLflow tracing?"}"#));
    let usage: serde_json::Value = serde_json::from_str(&info.trace_metadata[keys::TOKEN_USAGE]).unwrap();
    assert_eq!(usage, json!({"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}));
    let stats: serde_json::Value = serde_json::from_str(&info.trace_metadata[keys::SIZE_STATS]).unwrap();
    assert_eq!(stats["num_spans"], 4);
    assert_eq!(info.trace_metadata[keys::SIZE_BYTES], stats["total_size_bytes"].to_string());
}

#[test]
fn trace_context_scopes_metadata_for_traces_started_inside() {
    let (_g, memory) = setup();
    {
        let _scope = clew::trace_context(TraceUpdate::new().session_id("s-1").tag("team", "a"));
        let _root = clew::start_span("in_scope");
    }
    {
        let _root = clew::start_span("out_of_scope");
    }
    let traces = exported(&memory);
    assert_eq!(traces[0].info.trace_metadata[keys::TRACE_SESSION], "s-1");
    assert_eq!(traces[0].info.tags["team"], "a");
    assert!(!traces[1].info.trace_metadata.contains_key(keys::TRACE_SESSION));
}

#[test]
fn set_and_delete_trace_tag_on_a_running_trace() {
    let (_g, memory) = setup();
    {
        let root = clew::start_span("root");
        clew::set_trace_tag(&root.trace_id(), "reviewed", "yes").unwrap();
        clew::set_trace_tag(&root.trace_id(), "tmp", "1").unwrap();
        clew::delete_trace_tag(&root.trace_id(), "tmp").unwrap();
        assert!(clew::delete_trace_tag(&root.trace_id(), "missing").is_err());
    }
    let info = &exported(&memory)[0].info;
    assert_eq!(info.tags["reviewed"], "yes");
    assert!(!info.tags.contains_key("tmp"));
}

#[test]
fn span_processors_can_redact_and_drop() {
    let (_g, memory) = setup();
    clew::configure(clew::TracingConfig::new().span_processor(|s: &mut clew::FinishedSpan| {
        if s.name == "secret" {
            return false;
        }
        s.remove_attribute("api_key");
        if s.inputs.is_some() {
            s.set_inputs("[REDACTED]");
        }
        true
    }));
    {
        let root = clew::start_span("root");
        root.set_inputs(json!({"password": "hunter2"}));
        root.set_attribute("api_key", "sk-123");
        let _secret = clew::start_span("secret");
    }
    {
        let _dropped_root = clew::start_span("secret");
    }
    let traces = exported(&memory);
    assert_eq!(traces.len(), 1, "a dropped root drops its trace");
    let t = &traces[0];
    assert_eq!(t.data.spans.len(), 1);
    let root = span(t, "root");
    assert_eq!(root.attributes[keys::SPAN_INPUTS], "\"[REDACTED]\"");
    assert!(!root.attributes.contains_key("api_key"));
}

#[test]
fn a_panicking_processor_keeps_the_span_and_is_counted() {
    let (_g, memory) = setup();
    let before = clew::export::stats().snapshot().processor_panics;
    clew::configure(clew::TracingConfig::new().span_processor(|_: &mut clew::FinishedSpan| -> bool { panic!("bad processor") }));
    {
        let _root = clew::start_span("root");
    }
    assert_eq!(exported(&memory).len(), 1);
    assert_eq!(clew::export::stats().snapshot().processor_panics, before + 1);
}
