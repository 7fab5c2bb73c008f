//! What a span records from start to end: nesting, status, inputs/outputs, attributes,
//! events, exceptions, and the closure forms.

mod common;
use clew::{SpanBuilder, SpanEvent, SpanStatus, SpanStatusCode, SpanType};
use clew_model::keys;
use common::{exported, setup, span};
use serde_json::json;

#[test]
fn nested_spans_become_children_of_the_current_span() {
    let (_g, memory) = setup();
    {
        let root = clew::start_span("root");
        {
            let child = clew::start_span("child");
            let _grandchild = clew::start_span("grandchild");
            assert_eq!(child.trace_id(), root.trace_id());
        }
        let _sibling = clew::start_span("sibling");
    }
    let traces = exported(&memory);
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert_eq!(t.data.spans.len(), 4);
    let root = span(t, "root");
    assert_eq!(root.parent_id, None);
    assert_eq!(span(t, "child").parent_id, Some(root.span_id));
    assert_eq!(span(t, "grandchild").parent_id, Some(span(t, "child").span_id));
    assert_eq!(span(t, "sibling").parent_id, Some(root.span_id));
    assert!(t.info.trace_id.starts_with("tr-") && t.info.trace_id.len() == 35);
    assert_eq!(t.data.spans.iter().filter(|s| s.trace_id.to_mlflow() == t.info.trace_id).count(), 4);
}

#[test]
fn inputs_outputs_and_attributes_are_stored_as_python_json_text() {
    let (_g, memory) = setup();
    {
        let s = clew::start_span("my_span");
        let (x, y) = (1, 2);
        s.set_inputs(json!({"x": x, "y": y}));
        s.set_outputs(x + y);
        s.set_attribute("messages_length", 3);
        s.set_attributes([("environment", json!("production")), ("custom_metadata", json!({"key": "value"}))]);
        s.set_attribute("messages_length", 4); // replaces in place
    }
    let t = &exported(&memory)[0];
    let s = span(t, "my_span");
    assert_eq!(s.attributes[keys::SPAN_INPUTS], r#"{"x": 1, "y": 2}"#);
    assert_eq!(s.attributes[keys::SPAN_OUTPUTS], "3");
    assert_eq!(s.attributes["messages_length"], "4");
    assert_eq!(s.attributes["environment"], "\"production\"");
    assert_eq!(s.attributes["custom_metadata"], r#"{"key": "value"}"#);
    assert_eq!(s.attributes[keys::TRACE_REQUEST_ID], format!("\"{}\"", t.info.trace_id));
    assert_eq!(s.attributes[keys::SPAN_TYPE], "\"UNKNOWN\"");
    assert_eq!(s.inputs(), Some(json!({"x": 1, "y": 2})));
}

#[test]
fn status_is_ok_on_end_unless_error_and_strings_are_accepted() {
    let (_g, memory) = setup();
    {
        let root = clew::start_span("manual_span");
        root.set_span_type(SpanType::Chain);
        root.set_status(SpanStatus::new(SpanStatusCode::Ok, ""));
        root.set_status("OK");
        root.set_status("ERROR");
        root.set_status(SpanStatus::error("Failed to connect to database"));
        {
            let ok_child = clew::start_span("unset_child");
            ok_child.set_status("UNSET");
        }
    }
    let t = &exported(&memory)[0];
    let root = span(t, "manual_span");
    assert_eq!(root.status.status_code, SpanStatusCode::Error);
    assert_eq!(root.status.description, "Failed to connect to database");
    assert_eq!(root.span_type(), Some(SpanType::Chain));
    assert_eq!(span(t, "unset_child").status.status_code, SpanStatusCode::Ok);
    assert_eq!(t.info.state, clew::TraceState::Error);
}

#[derive(Debug)]
struct InvalidInput(&'static str);
impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for InvalidInput {}

#[test]
fn events_carry_explicit_or_current_timestamps_and_exceptions() {
    let (_g, memory) = setup();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    {
        let s = clew::start_span("manual_span");
        s.add_event(
            SpanEvent::new("validation_completed")
                .with_attribute("records_validated", 1000)
                .with_attribute("errors_found", 3)
                .with_attribute("validation_type", "schema"),
        );
        s.add_event(SpanEvent::at("data_checkpoint", 1_700_000_000_000_000_000).with_attribute("checkpoint_id", "ckpt_123"));
        let err = InvalidInput("Invalid input format");
        s.add_event(SpanEvent::from_error(&err));
    }
    let t = &exported(&memory)[0];
    let s = span(t, "manual_span");
    assert_eq!(s.events.len(), 3);
    assert_eq!(s.events[0].name, "validation_completed");
    assert!(s.events[0].timestamp_ns >= before);
    assert_eq!(s.events[0].attributes["records_validated"], 1000);
    assert_eq!(s.events[1].timestamp_ns, 1_700_000_000_000_000_000);
    assert_eq!(s.events[2].name, "exception");
    assert_eq!(s.events[2].attributes[keys::EXCEPTION_MESSAGE], "Invalid input format");
    assert_eq!(s.events[2].attributes[keys::EXCEPTION_TYPE], "InvalidInput");
    assert!(s.events[2].attributes[keys::EXCEPTION_STACKTRACE].as_str().unwrap().contains("Invalid input format"));
    // An event alone does not change the status.
    assert_eq!(s.status.status_code, SpanStatusCode::Ok);
}

#[test]
fn record_exception_sets_error_with_type_and_message() {
    let (_g, memory) = setup();
    {
        let s = clew::start_span("failing");
        s.record_exception(&InvalidInput("Empty data provided"));
    }
    let s = &exported(&memory)[0].data.spans[0];
    assert_eq!(s.status.status_code, SpanStatusCode::Error);
    assert_eq!(s.status.description, "InvalidInput: Empty data provided");
    assert_eq!(s.events[0].name, "exception");
}

#[test]
fn try_run_records_an_err_and_returns_it() {
    let (_g, memory) = setup();
    let result: Result<i32, InvalidInput> = SpanBuilder::new("data_processing")
        .inputs(json!({"data": []}))
        .try_run(|_span| Err(InvalidInput("Empty data provided")));
    assert!(result.is_err());
    let s = &exported(&memory)[0].data.spans[0];
    assert_eq!(s.status.status_code, SpanStatusCode::Error);
    assert_eq!(s.status.description, "InvalidInput: Empty data provided");
    assert_eq!(s.events[0].attributes[keys::EXCEPTION_MESSAGE], "Empty data provided");
    assert_eq!(s.inputs(), Some(json!({"data": []})));
}

#[test]
fn a_panic_leaving_a_span_is_recorded_and_resumed() {
    let (_g, memory) = setup();
    let outcome = std::panic::catch_unwind(|| {
        SpanBuilder::new("outer").run(|_| {
            let _inner = clew::start_span("inner");
            panic!("boom");
        })
    });
    assert!(outcome.is_err(), "the panic must propagate");
    let t = &exported(&memory)[0];
    for name in ["outer", "inner"] {
        let s = span(t, name);
        assert_eq!(s.status.status_code, SpanStatusCode::Error, "{name}");
        assert_eq!(s.events[0].name, "exception");
        assert_eq!(s.events[0].attributes[keys::EXCEPTION_TYPE], "panic");
    }
}

#[test]
fn builder_sets_type_inputs_and_attributes_and_run_returns_the_value() {
    let (_g, memory) = setup();
    let v = SpanBuilder::new("sum")
        .span_type(SpanType::Tool)
        .inputs([1, 2, 3])
        .attribute("model_name", "gpt-4")
        .run(|s| {
            s.set_outputs(6);
            6
        });
    assert_eq!(v, 6);
    let s = &exported(&memory)[0].data.spans[0];
    assert_eq!(s.span_type(), Some(SpanType::Tool));
    assert_eq!(s.attributes[keys::SPAN_INPUTS], "[1, 2, 3]");
    assert_eq!(s.attributes["model_name"], "\"gpt-4\"");
    assert_eq!(s.outputs(), Some(json!(6)));
}

#[test]
fn detached_spans_are_not_current_and_end_explicitly() {
    let (_g, memory) = setup();
    let root = clew::start_span_no_context("detached_root", None);
    assert!(clew::get_current_active_span().is_none());
    let child = clew::start_span_no_context("detached_child", Some(&root));
    child.end();
    child.end(); // a second end does nothing
    root.end();
    let t = &exported(&memory)[0];
    assert_eq!(t.data.spans.len(), 2);
    assert_eq!(span(t, "detached_child").parent_id, Some(span(t, "detached_root").span_id));
}

#[test]
fn a_child_ending_after_its_root_is_dropped_and_counted() {
    let (_g, memory) = setup();
    let before = clew::export::stats().snapshot().late_spans_dropped;
    let root = clew::start_span_no_context("root", None);
    let late = clew::start_span_no_context("late", Some(&root));
    root.end();
    late.end();
    let t = &exported(&memory)[0];
    assert_eq!(t.data.spans.len(), 1);
    assert_eq!(clew::export::stats().snapshot().late_spans_dropped, before + 1);
}

#[test]
fn retriever_outputs_are_documents() {
    let (_g, memory) = setup();
    {
        let s = SpanBuilder::new("retrieve_documents").span_type(SpanType::Retriever).start();
        s.set_outputs(vec![
            clew::Document::new("The content of the document...")
                .with_metadata("doc_uri", "path/to/document.md")
                .with_metadata("relevance_score", 0.95)
                .with_id("doc_123"),
        ]);
    }
    let t = &exported(&memory)[0];
    let r = t.search_spans(Some(&SpanType::Retriever), None, None)[0];
    let docs = r.outputs().unwrap();
    assert_eq!(docs[0]["page_content"], "The content of the document...");
    assert_eq!(docs[0]["metadata"]["doc_uri"], "path/to/document.md");
    assert_eq!(docs[0]["metadata"]["relevance_score"], 0.95);
    assert_eq!(docs[0]["id"], "doc_123");
}

#[test]
fn chat_tools_attribute_holds_tool_definitions() {
    let (_g, memory) = setup();
    {
        let _s = SpanBuilder::new("chat_completion").span_type(SpanType::ChatModel).start();
        let tool = clew::ChatTool::from_value(&json!({
            "name": "calculator", "description": "Perform mathematical calculations",
            "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}
        }))
        .unwrap();
        clew::set_span_chat_tools(&[tool]);
    }
    let s = &exported(&memory)[0].data.spans[0];
    let tools = s.get_attribute(keys::CHAT_TOOLS).unwrap();
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["function"]["name"], "calculator");
}
