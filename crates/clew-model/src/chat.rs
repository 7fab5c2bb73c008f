//! Chat shapes (`mlflow.types.chat`): messages, tool calls and tool definitions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallFunction {
    pub name: String,
    /// JSON text of the arguments.
    pub arguments: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: ToolCallFunction,
}

fn function_type() -> String {
    "function".to_string()
}

/// A chat message. `content` is a string, a list of content parts, or absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: Some(Value::String(content.into())),
            tool_calls: None,
            refusal: None,
            tool_call_id: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatToolFunction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A tool definition, as recorded in `mlflow.chat.tools`.
///
/// ```
/// use clew_model::ChatTool;
/// let t = ChatTool::function("calculator", Some("Perform mathematical calculations"), None);
/// assert_eq!(serde_json::to_value(&t).unwrap()["function"]["name"], "calculator");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatTool {
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: ChatToolFunction,
}

impl ChatTool {
    pub fn function(name: &str, description: Option<&str>, parameters: Option<Value>) -> Self {
        ChatTool {
            kind: function_type(),
            function: ChatToolFunction {
                name: name.to_string(),
                description: description.map(str::to_string),
                parameters,
                strict: None,
            },
        }
    }

    /// Reads a tool from either the OpenAI form `{type, function:{name,...}}` or the flat form
    /// `{name, description, parameters}` the seed document shows.
    pub fn from_value(v: &Value) -> Result<ChatTool, String> {
        if v.get("function").is_some() {
            return serde_json::from_value(v.clone()).map_err(|e| format!("invalid chat tool: {e}"));
        }
        let f: ChatToolFunction =
            serde_json::from_value(v.clone()).map_err(|e| format!("invalid chat tool: {e}"))?;
        Ok(ChatTool { kind: function_type(), function: f })
    }
}
