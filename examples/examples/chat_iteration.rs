//! Seed "Span tracing with context managers", § Advanced example (and the commented-out
//! `start_session` loop below it).
//!
//! ```python
//! mlflow.openai.autolog()
//! workspace = WorkspaceClient()
//! client = workspace.serving_endpoints.get_open_ai_client()
//!
//! @mlflow.trace(span_type=SpanType.CHAIN)
//! def chat_iteration(messages, user_input):
//!     with mlflow.start_span(name="User", span_type=SpanType.CHAIN) as span:
//!         span.set_inputs({"messages": messages, "timestamp": time.time()})
//!         span.set_attribute("messages_length", len(messages))
//!         span.set_attributes({"environment": "production", "custom_metadata": {"key": "value"}})
//!         span.add_event(SpanEvent(name="processing_started",
//!             attributes={"stage": "initialization", "memory_usage_mb": 256}))
//!         span.set_outputs(user_input)
//!
//!     messages.append({"role": "user", "content": user_input})
//!     response = client.chat.completions.create(
//!         model="databricks-claude-sonnet-4-5", max_tokens=100, messages=messages)
//!     answer = response.choices[0].message.content
//!     print(f"Assistant: {answer}")
//!     messages.append({"role": "assistant", "content": answer})
//!
//! chat_iteration(messages=[{"role": "system", "content": "You are a friendly chat bot"}],
//!                user_input="What is your favorite color?")
//! ```
//!
//! No OpenAI client or Databricks workspace here: `fake_chat_completions_create` stands in for
//! `client.chat.completions.create` and returns an OpenAI-shaped response. It also records the
//! CHAT_MODEL span that `mlflow.openai.autolog()` would have recorded for the real call (clew
//! has no autolog for Rust clients yet). The `start_session` loop reads scripted inputs instead
//! of `input(">> ")` so it can run unattended.

use clew::{SpanBuilder, SpanEvent, SpanStatusCode, SpanType};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const MODEL: &str = "databricks-claude-sonnet-4-5";

/// Stands in for `client.chat.completions.create(model=..., max_tokens=..., messages=...)`:
/// answers from a small script, in the OpenAI response shape, inside the span autolog would make.
fn fake_chat_completions_create(model: &str, max_tokens: u32, messages: &[Value]) -> Value {
    SpanBuilder::new("Completions")
        .span_type(SpanType::ChatModel)
        .inputs(json!({"model": model, "max_tokens": max_tokens, "messages": messages}))
        .run(|span| {
            let question = messages.last().and_then(|m| m["content"].as_str()).unwrap_or("");
            let answer = match question {
                "What is your favorite color?" => "I like teal: calm like the sea, bright like a screen.",
                "BYE" => "Goodbye! It was nice chatting.",
                _ => "Tell me more!",
            };
            let (prompt_tokens, completion_tokens) = (12 * messages.len() as i64, (answer.len() / 4) as i64);
            let response = json!({
                "id": "chatcmpl-fake-1",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            });
            span.set_attribute("mlflow.message.format", "openai");
            span.set_attribute("mlflow.llm.model", model);
            span.set_attribute(
                "mlflow.chat.tokenUsage",
                json!({"input_tokens": prompt_tokens, "output_tokens": completion_tokens,
                       "total_tokens": prompt_tokens + completion_tokens}),
            );
            span.set_outputs(&response);
            response
        })
}

#[clew::trace(span_type = SpanType::Chain)]
fn chat_iteration(messages: &mut Vec<Value>, user_input: &str) {
    {
        let span = SpanBuilder::new("User").span_type(SpanType::Chain).start();
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        span.set_inputs(json!({"messages": messages, "timestamp": timestamp}));

        // One attribute.
        span.set_attribute("messages_length", messages.len());

        // Several attributes at once.
        span.set_attributes([
            ("environment", json!("production")),
            ("custom_metadata", json!({"key": "value"})),
        ]);

        // Events during execution.
        span.add_event(
            SpanEvent::new("processing_started")
                .with_attribute("stage", "initialization")
                .with_attribute("memory_usage_mb", 256),
        );

        span.set_outputs(user_input);
    }

    messages.push(json!({"role": "user", "content": user_input}));

    let response = fake_chat_completions_create(MODEL, 100, messages);
    let answer = response["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("Assistant: {answer}");

    messages.push(json!({"role": "assistant", "content": answer}));
}

/// The seed's commented-out session loop, with scripted user inputs.
#[clew::trace(span_type = SpanType::Chain)]
fn start_session(inputs: &[&str]) {
    let mut messages = vec![json!({"role": "system", "content": "You are a friendly chat bot"})];
    for user_input in inputs {
        println!(">> {user_input}");
        chat_iteration(&mut messages, user_input);
        if *user_input == "BYE" {
            break;
        }
    }
}

pub fn main() {
    let _store = clew_examples::use_temp_store();

    let mut messages = vec![json!({"role": "system", "content": "You are a friendly chat bot"})];
    chat_iteration(&mut messages, "What is your favorite color?");

    // The conversation grew by the user turn and the answer.
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": "What is your favorite color?"})
    );
    assert_eq!(messages[2]["role"], "assistant");

    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    let names: Vec<&str> = trace.data.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["chat_iteration", "User", "Completions"]);
    let root = trace.data.root().unwrap();
    assert_eq!(root.span_type(), Some(SpanType::Chain));
    // The decorator recorded the arguments as they were when the call started.
    assert_eq!(root.inputs().unwrap()["user_input"], "What is your favorite color?");
    assert_eq!(root.inputs().unwrap()["messages"].as_array().unwrap().len(), 1);
    assert_eq!(root.outputs(), Some(Value::Null));

    let user = &trace.search_spans(None, Some(&"User".into()), None)[0].clone();
    assert_eq!(user.parent_id, Some(root.span_id));
    assert_eq!(user.span_type(), Some(SpanType::Chain));
    assert!(user.inputs().unwrap()["timestamp"].as_f64().unwrap() > 1.7e9);
    assert_eq!(user.get_attribute("messages_length"), Some(json!(1)));
    assert_eq!(user.get_attribute("environment"), Some(json!("production")));
    assert_eq!(user.get_attribute("custom_metadata"), Some(json!({"key": "value"})));
    assert_eq!(user.events[0].name, "processing_started");
    assert_eq!(user.events[0].attributes["stage"], "initialization");
    assert_eq!(user.events[0].attributes["memory_usage_mb"], 256);
    assert_eq!(user.outputs(), Some(json!("What is your favorite color?")));

    let completion = &trace.search_spans(Some(&SpanType::ChatModel), None, None)[0].clone();
    assert_eq!(
        completion.parent_id,
        Some(root.span_id),
        "the client call is a sibling of User"
    );
    assert_eq!(completion.inputs().unwrap()["max_tokens"], 100);
    assert_eq!(completion.model_name().as_deref(), Some(MODEL));
    assert!(
        trace.info.token_usage().is_some(),
        "token usage is aggregated into the trace"
    );
    assert!(trace
        .data
        .spans
        .iter()
        .all(|s| s.status.status_code == SpanStatusCode::Ok));

    // Nested tracing for a longer conversation: one trace, one chat_iteration per turn.
    start_session(&["Hi there", "What is your favorite color?", "BYE", "never sent"]);
    let session = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    let session_root = session.data.root().unwrap();
    assert_eq!(session_root.name, "start_session");
    let turns = session.search_spans(None, Some(&"chat_iteration".into()), None);
    assert_eq!(turns.len(), 3, "the loop stops after BYE");
    assert!(turns.iter().all(|t| t.parent_id == Some(session_root.span_id)));
    assert_eq!(session.data.spans.len(), 1 + 3 * 3);
}
