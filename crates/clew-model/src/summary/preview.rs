//! Request and response previews, chat-aware exactly as MLflow builds them
//! (`mlflow.tracing.utils.truncation._get_truncated_preview`).
//!
//! The preview is the text of a chat message when the JSON holds one, else the raw JSON text,
//! cut to `max_chars` characters as `content[:max-3] + "..."`.
//!
//! Where a message is looked for, in this order (the first key that matches decides):
//! 1. `messages`: a non-empty list → its items that are messages (`role` and `content` keys);
//! 2. `choices[0].message` (OpenAI chat completion response);
//! 3. `input`: a non-empty list (Responses API request);
//! 4. `output`: a non-empty list (Responses API response);
//! 5. `request`: the same search inside it (ResponsesAgent input).
//!
//! From those messages the last one with the wanted role (`user` for the request, `assistant`
//! for the response) is taken, else the last one. Its text is the `content` string, or the first
//! list part that is a string or a `{"type": "text"|"output_text", "text": ...}` dict. An empty
//! text falls back to the raw JSON.

use crate::pyjson::{self, PyValue};
use indexmap::IndexMap;

/// The role whose message becomes the request preview.
pub const REQUEST_ROLE: &str = "user";
/// The role whose message becomes the response preview.
pub const RESPONSE_ROLE: &str = "assistant";

/// The request preview of a trace from the root span's `mlflow.spanInputs` JSON text.
///
/// ```
/// use clew_model::summary::preview::request_preview;
/// let inputs = r#"{"messages": [{"role": "system", "content": "Be terse."},
///                               {"role": "user", "content": "Capital of France?"}]}"#;
/// assert_eq!(request_preview(inputs, 1000), "Capital of France?");
/// assert_eq!(request_preview(r#"{"x": 1}"#, 1000), r#"{"x": 1}"#);
/// assert_eq!(request_preview(&"a".repeat(20), 10), "aaaaaaa...");
/// ```
pub fn request_preview(inputs_json_text: &str, max_chars: usize) -> String {
    preview(inputs_json_text, REQUEST_ROLE, max_chars)
}

/// The response preview of a trace from the root span's `mlflow.spanOutputs` JSON text.
///
/// ```
/// use clew_model::summary::preview::response_preview;
/// let outputs = r#"{"choices": [{"message": {"role": "assistant", "content": "Paris."}}]}"#;
/// assert_eq!(response_preview(outputs, 1000), "Paris.");
/// ```
pub fn response_preview(outputs_json_text: &str, max_chars: usize) -> String {
    preview(outputs_json_text, RESPONSE_ROLE, max_chars)
}

/// The preview of `json_text` for messages of `role`, cut to `max_chars` characters.
///
/// Text that is not JSON is previewed as it is. JSON is read as Python's `json.loads` reads
/// it ([`pyjson::loads`]), including its `NaN` / `Infinity` extensions.
pub fn preview(json_text: &str, role: &str, max_chars: usize) -> String {
    let extracted = pyjson::loads(json_text)
        .ok()
        .and_then(|value| chat_text(&value, role));
    let content = match extracted {
        Some(text) if !text.is_empty() => text,
        _ => json_text.to_string(),
    };
    truncate_like_python(&content, max_chars)
}

/// The chat text MLflow would show for `value` and `role`, if `value` holds chat messages.
///
/// ```
/// use clew_model::pyjson::loads;
/// use clew_model::summary::preview::chat_text;
/// let v = loads(r#"{"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}"#).unwrap();
/// assert_eq!(chat_text(&v, "user").as_deref(), Some("hi"));
/// assert_eq!(chat_text(&loads(r#"{"q": 1}"#).unwrap(), "user"), None);
/// ```
pub fn chat_text(value: &PyValue, role: &str) -> Option<String> {
    let messages = find_messages(value)?;
    let message = last_message_with_role(&messages, role)?;
    message_text(message)
}

fn dict(value: &PyValue) -> Option<&IndexMap<String, PyValue>> {
    match value {
        PyValue::Dict(d) => Some(d),
        _ => None,
    }
}

fn list(value: &PyValue) -> Option<&Vec<PyValue>> {
    match value {
        PyValue::List(l) => Some(l),
        _ => None,
    }
}

/// MLflow's `_try_extract_messages`, as a loop over nested `request` objects.
fn find_messages(value: &PyValue) -> Option<Vec<&PyValue>> {
    let mut current = value;
    loop {
        let obj = dict(current)?;
        if let Some(items) = obj.get("messages").and_then(list).filter(|l| !l.is_empty()) {
            return Some(items.iter().filter(|m| is_message(m)).collect());
        }
        if let Some(message) = obj
            .get("choices")
            .and_then(list)
            .and_then(|choices| choices.first())
            .and_then(dict)
            .and_then(|choice| choice.get("message"))
            .filter(|m| is_message(m))
        {
            return Some(vec![message]);
        }
        for key in ["input", "output"] {
            if let Some(items) = obj.get(key).and_then(list).filter(|l| !l.is_empty()) {
                return Some(items.iter().filter(|m| is_message(m)).collect());
            }
        }
        current = obj.get("request")?;
    }
}

/// A dict with `role` and `content` keys (so never empty, hence truthy).
fn is_message(value: &PyValue) -> bool {
    dict(value).is_some_and(|m| m.contains_key("role") && m.contains_key("content"))
}

/// The last message whose role is `role`, else the last message.
fn last_message_with_role<'a>(messages: &[&'a PyValue], role: &str) -> Option<&'a PyValue> {
    messages
        .iter()
        .rev()
        .find(|m| matches!(dict(m).and_then(|d| d.get("role")), Some(PyValue::Str(r)) if r == role))
        .or_else(|| messages.last())
        .copied()
}

/// MLflow's `_get_text_content_from_message`. `None` stands for a text that is not a string
/// (MLflow would then fail or show a non-text value; clew falls back to the raw JSON).
fn message_text(message: &PyValue) -> Option<String> {
    match dict(message)?.get("content") {
        Some(PyValue::Str(s)) => Some(s.clone()),
        Some(PyValue::List(parts)) => {
            for part in parts {
                match part {
                    PyValue::Str(s) => return Some(s.clone()),
                    PyValue::Dict(p) => {
                        let is_text = matches!(p.get("type"), Some(PyValue::Str(t)) if t == "text" || t == "output_text");
                        if is_text {
                            return match p.get("text") {
                                Some(PyValue::Str(s)) => Some(s.clone()),
                                Some(PyValue::Null) | None => Some(String::new()),
                                Some(_) => None,
                            };
                        }
                    }
                    _ => {}
                }
            }
            Some(String::new())
        }
        _ => Some(String::new()),
    }
}

/// `content if len(content) <= max else content[:max-3] + "..."`, counted in characters,
/// with Python's slice semantics (also for `max < 3`).
pub fn truncate_like_python(content: &str, max_chars: usize) -> String {
    let len = content.chars().count();
    if len <= max_chars {
        return content.to_string();
    }
    // content[:max-3]: a negative stop counts from the end.
    let keep = if max_chars >= 3 {
        max_chars - 3
    } else {
        len.saturating_sub(3 - max_chars)
    };
    let mut out: String = content.chars().take(keep).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_user_message_wins_for_request_and_last_assistant_for_response() {
        let t = r#"{"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                    {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]}"#;
        assert_eq!(request_preview(t, 1000), "q2");
        assert_eq!(response_preview(t, 1000), "a2");
    }

    #[test]
    fn empty_or_missing_text_falls_back_to_raw_json() {
        let t = r#"{"messages": [{"role": "user", "content": ""}]}"#;
        assert_eq!(request_preview(t, 1000), t);
        let t = r#"{"messages": [{"role": "user", "content": [{"type": "image"}]}]}"#;
        assert_eq!(request_preview(t, 1000), t);
    }

    #[test]
    fn nan_in_the_json_does_not_stop_message_extraction() {
        let t = r#"{"messages": [{"role": "user", "content": "NaN here"}], "temperature": NaN}"#;
        assert_eq!(request_preview(t, 1000), "NaN here");
        assert_eq!(request_preview("NaN", 1000), "NaN");
    }

    #[test]
    fn truncation_counts_characters_and_follows_python_slices() {
        assert_eq!(truncate_like_python("ééééé", 4), "é...");
        assert_eq!(truncate_like_python("abcdef", 1), "abcd...");
        assert_eq!(truncate_like_python("abc", 3), "abc");
    }

    #[test]
    fn deeply_nested_request_keys_do_not_overflow() {
        let mut t = String::new();
        for _ in 0..100 {
            t.push_str(r#"{"request": "#);
        }
        t.push_str(r#"{"messages": [{"role": "user", "content": "deep"}]}"#);
        t.push_str(&"}".repeat(100));
        assert_eq!(request_preview(&t, 1000), "deep");
    }
}
