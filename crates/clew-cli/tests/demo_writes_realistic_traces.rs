//! `clew demo` writes, through the SDK, the traces it promises: read back from the store file.

mod common;

use clew_model::{keys, Span, SpanStatusCode, SpanType, Trace, TraceState};
use clew_store::TraceStore;
use common::{all_traces, block_on, Sandbox};
use serde_json::Value;

fn by_scenario<'a>(traces: &'a [Trace], scenario: &str) -> Vec<&'a Trace> {
    traces
        .iter()
        .filter(|t| t.info.tags.get("demo.scenario").map(String::as_str) == Some(scenario))
        .collect()
}

fn span<'a>(trace: &'a Trace, name: &str) -> &'a Span {
    trace
        .data
        .spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {}", trace.info.trace_id))
}

fn root(trace: &Trace) -> &Span {
    trace.data.root().expect("root span")
}

fn types(trace: &Trace) -> Vec<(String, SpanType)> {
    trace
        .data
        .spans
        .iter()
        .map(|s| (s.name.clone(), s.span_type().unwrap()))
        .collect()
}

fn assert_children_of_root(trace: &Trace) {
    let root_id = root(trace).span_id;
    for s in trace.data.spans.iter().filter(|s| !s.is_root()) {
        assert_eq!(s.parent_id, Some(root_id), "{} is not a child of the root", s.name);
    }
}

/// Twelve traces: each of the six scenarios twice.
fn demo_traces() -> (Sandbox, Vec<Trace>) {
    let sandbox = Sandbox::new();
    let ids = sandbox.demo(12);
    let store = sandbox.open_store();
    let traces = all_traces(&store, &ids);
    assert_eq!(traces.len(), 12, "every reported trace id is in the store");
    (sandbox, traces)
}

#[test]
fn demo_goes_to_its_experiment_with_tags_sessions_and_users() {
    let (sandbox, traces) = demo_traces();
    let store = sandbox.open_store();
    let experiment = block_on(store.get_experiment_by_name("clew-demo"))
        .unwrap()
        .expect("experiment clew-demo");
    for trace in &traces {
        assert_eq!(trace.info.experiment_id(), Some(experiment.experiment_id.as_str()));
        assert_eq!(trace.info.tags.get("environment").map(String::as_str), Some("demo"));
    }
    for scenario in ["rag", "agent", "chat", "async", "error", "streaming"] {
        assert_eq!(by_scenario(&traces, scenario).len(), 2, "scenario {scenario}");
    }
    // RAG, chat and streaming traces of a round share one session and user.
    let in_first_session: Vec<_> = traces
        .iter()
        .filter(|t| t.info.trace_metadata.get(keys::TRACE_SESSION).map(String::as_str) == Some("demo-session-001"))
        .collect();
    assert_eq!(in_first_session.len(), 3);
    assert!(in_first_session
        .iter()
        .all(|t| t.info.trace_metadata.get(keys::TRACE_USER).map(String::as_str) == Some("alice")));
}

#[test]
fn rag_chain_has_embedding_retriever_documents_and_an_openai_chat_call() {
    let (_sandbox, traces) = demo_traces();
    for trace in by_scenario(&traces, "rag") {
        assert_eq!(
            types(trace),
            vec![
                ("rag_pipeline".to_string(), SpanType::Chain),
                ("embed_query".to_string(), SpanType::Embedding),
                ("vector_search".to_string(), SpanType::Retriever),
                ("chat_completion".to_string(), SpanType::ChatModel),
            ]
        );
        assert_children_of_root(trace);
        let documents = span(trace, "vector_search").outputs().expect("retriever outputs");
        let documents = documents.as_array().expect("a list of documents");
        assert_eq!(documents.len(), 3);
        for doc in documents {
            assert!(doc["page_content"].as_str().is_some_and(|c| !c.is_empty()), "{doc}");
            assert!(
                doc["metadata"]["doc_uri"].as_str().unwrap().starts_with("docs/"),
                "{doc}"
            );
            assert!(
                doc["metadata"]["chunk_id"].as_str().unwrap().starts_with("chunk_"),
                "{doc}"
            );
            assert!(doc["metadata"]["score"].as_f64().unwrap() > 0.5, "{doc}");
        }
        let chat = span(trace, "chat_completion");
        assert_eq!(chat.get_attribute(keys::MESSAGE_FORMAT), Some(Value::from("openai")));
        assert_eq!(chat.model_name().as_deref(), Some("gpt-4o-mini"));
        let usage = chat.get_attribute(keys::CHAT_TOKEN_USAGE).expect("token usage");
        assert_eq!(
            usage["total_tokens"].as_i64().unwrap(),
            usage["input_tokens"].as_i64().unwrap() + usage["output_tokens"].as_i64().unwrap()
        );
        let messages = &chat.inputs().unwrap()["messages"];
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages[1]["role"], "user");
        assert_eq!(chat.outputs().unwrap()["choices"][0]["message"]["role"], "assistant");
        // The trace's token usage is aggregated from the chat span.
        assert_eq!(trace.info.token_usage().unwrap()["total_tokens"], usage["total_tokens"]);
        assert_eq!(trace.info.state, TraceState::Ok);
    }
}

#[test]
fn agent_calls_tools_the_model_asked_for() {
    let (_sandbox, traces) = demo_traces();
    for trace in by_scenario(&traces, "agent") {
        let names: Vec<_> = types(trace);
        assert_eq!(names[0], ("travel_agent".to_string(), SpanType::Agent));
        assert_children_of_root(trace);
        let chats: Vec<&Span> = trace
            .data
            .spans
            .iter()
            .filter(|s| s.span_type() == Some(SpanType::ChatModel))
            .collect();
        assert_eq!(chats.len(), 2);
        let first = chats.iter().min_by_key(|s| s.start_time_ns).unwrap();
        let outputs = first.outputs().unwrap();
        let calls = outputs["choices"][0]["message"]["tool_calls"]
            .as_array()
            .expect("tool_calls");
        let called: Vec<&str> = calls.iter().map(|c| c["function"]["name"].as_str().unwrap()).collect();
        assert_eq!(called, ["get_weather", "search_flights"]);
        assert_eq!(outputs["choices"][0]["finish_reason"], "tool_calls");
        // Each requested tool ran as a TOOL span, after the model asked for it.
        for name in called {
            let tool = span(trace, name);
            assert_eq!(tool.span_type(), Some(SpanType::Tool));
            assert!(tool.start_time_ns >= first.end_time_ns.unwrap());
        }
        let tools = first.get_attribute(keys::CHAT_TOOLS).expect("mlflow.chat.tools");
        assert_eq!(tools[0]["type"], "function");
        assert_eq!(tools[1]["function"]["name"], "search_flights");
        let last = chats.iter().max_by_key(|s| s.start_time_ns).unwrap();
        let final_messages = last.inputs().unwrap()["messages"].as_array().unwrap().clone();
        assert_eq!(final_messages.iter().filter(|m| m["role"] == "tool").count(), 2);
        assert!(root(trace).outputs().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("sunny"));
    }
}

#[test]
fn async_children_ran_concurrently_under_their_root() {
    let (_sandbox, traces) = demo_traces();
    for trace in by_scenario(&traces, "async") {
        assert_eq!(trace.data.spans.len(), 4);
        assert_eq!(root(trace).span_type(), Some(SpanType::Agent));
        assert_children_of_root(trace);
        let (web, docs) = (span(trace, "search_web"), span(trace, "search_docs"));
        // Concurrent: each started before the other ended.
        assert!(web.start_time_ns < docs.end_time_ns.unwrap() && docs.start_time_ns < web.end_time_ns.unwrap());
        let summarize = span(trace, "summarize");
        assert!(summarize.start_time_ns >= web.end_time_ns.unwrap().max(docs.end_time_ns.unwrap()));
        assert!(root(trace).end_time_ns.unwrap() >= summarize.end_time_ns.unwrap());
    }
}

#[test]
fn error_trace_records_the_exception_and_is_error() {
    let (_sandbox, traces) = demo_traces();
    for trace in by_scenario(&traces, "error") {
        assert_eq!(trace.info.state, TraceState::Error);
        for name in ["run_query", "sql_agent"] {
            let s = span(trace, name);
            assert_eq!(s.status.status_code, SpanStatusCode::Error, "{name}");
            assert!(s.status.description.contains("does not exist"), "{:?}", s.status);
            let event = s
                .events
                .iter()
                .find(|e| e.name == keys::EXCEPTION_EVENT)
                .expect("exception event");
            assert_eq!(event.attributes[keys::EXCEPTION_TYPE], "QueryError");
            assert_eq!(
                event.attributes[keys::EXCEPTION_MESSAGE],
                "relation \"shipments\" does not exist"
            );
        }
        assert_eq!(span(trace, "generate_sql").status.status_code, SpanStatusCode::Ok);
    }
}

#[test]
fn streaming_span_has_chunk_events_that_assemble_into_the_output() {
    let (_sandbox, traces) = demo_traces();
    for trace in by_scenario(&traces, "streaming") {
        let s = root(trace);
        assert_eq!(s.span_type(), Some(SpanType::ChatModel));
        let chunks: Vec<_> = s
            .events
            .iter()
            .filter(|e| e.name.starts_with(keys::CHUNK_EVENT_PREFIX))
            .collect();
        assert!(chunks.len() > 3);
        let mut assembled = String::new();
        for (index, event) in chunks.iter().enumerate() {
            assert_eq!(event.name, format!("mlflow.chunk.item.{index}"));
            let text = event.attributes[keys::CHUNK_VALUE]
                .as_str()
                .expect("chunk value is JSON text");
            let chunk: Value = serde_json::from_str(text).unwrap();
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assembled.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap());
        }
        assert!(chunks.windows(2).all(|w| w[0].timestamp_ns <= w[1].timestamp_ns));
        let output = s.outputs().unwrap();
        assert_eq!(output["choices"][0]["message"]["content"].as_str().unwrap(), assembled);
    }
}

#[test]
fn demo_reports_what_it_wrote_for_people() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .clew(&["demo", "--traces", "3", "--experiment-name", "my demo"])
        .ok();
    assert!(
        run.stdout.contains("Wrote 3 traces to experiment \"my demo\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("traces list --experiment-name 'my demo'"),
        "{}",
        run.stdout
    );
    let store = sandbox.open_store();
    let experiment = block_on(store.get_experiment_by_name("my demo"))
        .unwrap()
        .expect("experiment created");
    let page = block_on(store.search_traces(&clew_store::SearchTracesRequest {
        experiment_ids: vec![experiment.experiment_id],
        ..Default::default()
    }))
    .unwrap();
    assert_eq!(page.traces.len(), 3);
}
