//! Seed "MLflow tracing API", usage example "Simulate chat model with tools".
//!
//! ```python
//! def chat_with_tools(messages, tools=None):
//!     with mlflow.tracing.trace("chat_completion", SpanType.CHAT_MODEL) as span:
//!         if tools:
//!             mlflow.tracing.set_span_chat_tools(tools)
//!         mlflow.tracing.set_span_inputs({"messages": messages, "tools": tools or []})
//!         mlflow.tracing.set_span_attributes({"model_name": "gpt-4-turbo", "temperature": 0.7,
//!                                             "max_tokens": 1000})
//!         if tools and "calculator" in [t["name"] for t in tools]:
//!             with mlflow.tracing.trace("tool_call", SpanType.TOOL) as tool_span:
//!                 mlflow.tracing.set_span_inputs({"tool_name": "calculator",
//!                                                 "arguments": {"expression": "2 + 2"}})
//!                 tool_result = 4
//!                 mlflow.tracing.set_span_output({"result": tool_result})
//!         response = {"role": "assistant", "content": "The calculation result is 4."}
//!         mlflow.tracing.set_span_output({"response": response})
//!         return response
//!
//! tools = [{"name": "calculator", "description": "Perform mathematical calculations",
//!           "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}}]
//! messages = [{"role": "user", "content": "What is 2 + 2?"}]
//! response = chat_with_tools(messages, tools=tools)
//! ```
//!
//! `set_span_chat_tools` takes typed `ChatTool`s; `ChatTool::from_value` reads the flat form the
//! seed writes (`{name, description, parameters}`) as well as OpenAI's `{type, function}` form,
//! and the attribute `mlflow.chat.tools` is stored in OpenAI's form, as MLflow stores it.

use clew::{ChatTool, SpanBuilder, SpanType};
use serde_json::{json, Value};

/// Simulates a chat model with tool calling.
fn chat_with_tools(messages: &[Value], tools: Option<&[Value]>) -> Value {
    let _span = SpanBuilder::new("chat_completion")
        .span_type(SpanType::ChatModel)
        .start();

    // Chat tools, if provided.
    if let Some(tools) = tools {
        let chat_tools: Vec<ChatTool> = tools
            .iter()
            .map(|t| ChatTool::from_value(t).expect("a valid tool definition"))
            .collect();
        clew::set_span_chat_tools(&chat_tools);
    }

    // Input messages.
    clew::set_span_inputs(json!({"messages": messages, "tools": tools.unwrap_or(&[])}));

    // Model attributes.
    clew::set_span_attributes([
        ("model_name", json!("gpt-4-turbo")),
        ("temperature", json!(0.7)),
        ("max_tokens", json!(1000)),
    ]);

    // Simulate tool calling.
    if tools.is_some_and(|tools| tools.iter().any(|t| t["name"] == "calculator")) {
        let _tool_span = SpanBuilder::new("tool_call").span_type(SpanType::Tool).start();
        clew::set_span_inputs(json!({"tool_name": "calculator", "arguments": {"expression": "2 + 2"}}));
        let tool_result = 4;
        clew::set_span_output(json!({"result": tool_result}));
    }

    // Final response.
    let response = json!({"role": "assistant", "content": "The calculation result is 4."});
    clew::set_span_output(json!({"response": response}));
    response
}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    clew::enable(None);

    // Available tools.
    let tools = vec![json!({
        "name": "calculator",
        "description": "Perform mathematical calculations",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}
    })];

    let messages = vec![json!({"role": "user", "content": "What is 2 + 2?"})];
    let response = chat_with_tools(&messages, Some(&tools));
    assert_eq!(response["content"], "The calculation result is 4.");

    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    assert_eq!(trace.data.spans.len(), 2);
    let chat = trace.data.root().unwrap();
    assert_eq!(
        (chat.name.as_str(), chat.span_type()),
        ("chat_completion", Some(SpanType::ChatModel))
    );
    assert_eq!(
        chat.get_attribute("mlflow.chat.tools"),
        Some(json!([{
            "type": "function",
            "function": {
                "name": "calculator",
                "description": "Perform mathematical calculations",
                "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}
            }
        }]))
    );
    assert_eq!(chat.inputs().unwrap()["messages"], json!(messages));
    assert_eq!(chat.inputs().unwrap()["tools"], json!(tools));
    assert_eq!(chat.get_attribute("model_name"), Some(json!("gpt-4-turbo")));
    assert_eq!(chat.get_attribute("temperature"), Some(json!(0.7)));
    assert_eq!(chat.get_attribute("max_tokens"), Some(json!(1000)));
    assert_eq!(chat.outputs(), Some(json!({"response": response})));

    let tool = &trace.data.spans[1];
    assert_eq!(
        (tool.name.as_str(), tool.span_type()),
        ("tool_call", Some(SpanType::Tool))
    );
    assert_eq!(tool.parent_id, Some(chat.span_id));
    assert_eq!(tool.inputs().unwrap()["arguments"]["expression"], "2 + 2");
    assert_eq!(tool.outputs(), Some(json!({"result": 4})));

    // Without tools: no tool span and no mlflow.chat.tools.
    chat_with_tools(&messages, None);
    let plain = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    assert_eq!(plain.data.spans.len(), 1);
    assert_eq!(plain.data.spans[0].get_attribute("mlflow.chat.tools"), None);
    assert_eq!(plain.data.spans[0].inputs().unwrap()["tools"], json!([]));
}
