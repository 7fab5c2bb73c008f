//! [`SpanRecord`]: a span split into the indexed columns every backend stores and the payload
//! (span JSON) it loads lazily. Backend-neutral: the PostgreSQL backend reuses it.

use crate::payload;
use clew_model::{keys, Span, SpanStatusCode};
use serde_json::Value;

/// OTel semantic-convention keys MLflow copies into trace metadata (spec §3.4).
pub const SESSION_ID_ATTRIBUTE: &str = "session.id";
pub const USER_ID_ATTRIBUTE: &str = "user.id";

/// The row of one span.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    /// MLflow trace id (`tr-…`) the span belongs to.
    pub trace_id: String,
    /// The 64-bit span id reinterpreted as a signed integer (SQL has no unsigned 64-bit type).
    pub span_id: i64,
    pub parent_span_id: Option<i64>,
    pub name: String,
    /// `mlflow.spanType`, decoded.
    pub span_type: Option<String>,
    /// `OK`, `ERROR` or `UNSET` (what `span.status` filters compare with).
    pub status: &'static str,
    pub start_time_ns: i64,
    pub end_time_ns: Option<i64>,
    pub token_usage: Option<TokenUsage>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// MLflow span JSON: the searchable content.
    pub content: String,
    /// `content` encoded for storage ([`payload::encode`]).
    pub payload: Vec<u8>,
    /// For a root span: the request preview of its non-empty `mlflow.spanInputs`, derived
    /// here (on the caller's thread) so the single writer need not parse the span again.
    pub request_preview: Option<String>,
    /// For a root span: the response preview of its non-empty `mlflow.spanOutputs`.
    pub response_preview: Option<String>,
}

/// Token counts of one span or a whole trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
}

impl TokenUsage {
    /// Reads MLflow's usage JSON (`{"input_tokens", "output_tokens", "total_tokens"}`).
    pub fn from_json(value: &Value) -> Option<TokenUsage> {
        let field = |k: &str| value.get(k).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)));
        let usage = TokenUsage {
            input_tokens: field("input_tokens"),
            output_tokens: field("output_tokens"),
            total_tokens: field("total_tokens"),
        };
        (usage != TokenUsage::default()).then_some(usage)
    }
    /// Parses the text of `mlflow.trace.tokenUsage` / `mlflow.chat.tokenUsage`.
    pub fn from_json_text(text: &str) -> Option<TokenUsage> {
        TokenUsage::from_json(&serde_json::from_str(text).ok()?)
    }
    /// MLflow's usage JSON, as `mlflow.trace.tokenUsage` holds it.
    pub fn to_json_text(self) -> String {
        let mut map = serde_json::Map::new();
        let mut put = |k: &str, v: Option<i64>| {
            if let Some(v) = v {
                map.insert(k.to_string(), Value::from(v));
            }
        };
        put("input_tokens", self.input_tokens);
        put("output_tokens", self.output_tokens);
        put("total_tokens", self.total_tokens);
        Value::Object(map).to_string()
    }
}

impl SpanRecord {
    pub fn from_span(span: &Span) -> SpanRecord {
        // MLflow computes `mlflow.traceRequestId` when storing a span that lacks it (spans
        // from plain OTel SDKs); span JSON without it does not read back.
        let has_request_id = span.attributes.get(keys::TRACE_REQUEST_ID).is_some_and(|v| !v.is_empty() && v != "\"\"");
        if !has_request_id {
            let mut with_id = span.clone();
            let id = serde_json::Value::String(span.trace_id.to_mlflow()).to_string();
            with_id.attributes.shift_insert(0, keys::TRACE_REQUEST_ID.to_string(), id);
            return Self::from_span(&with_id);
        }
        let string_attribute = |key: &str| {
            if let Some(text) = span.attributes.get(key).and_then(|raw| plain_json_string(raw)) {
                return Some(text.to_string());
            }
            match span.get_attribute(key) {
                Some(Value::String(s)) => Some(s),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            }
        };
        let trace_id = match span.attributes.get(keys::TRACE_REQUEST_ID).and_then(|raw| plain_json_string(raw)) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => span.request_id(),
        };
        SpanRecord {
            trace_id,
            span_id: span.span_id.as_u64() as i64,
            parent_span_id: span.parent_id.map(|p| p.as_u64() as i64),
            name: span.name.clone(),
            span_type: string_attribute(keys::SPAN_TYPE),
            status: match span.status.status_code {
                SpanStatusCode::Ok => "OK",
                SpanStatusCode::Error => "ERROR",
                SpanStatusCode::Unset => "UNSET",
            },
            start_time_ns: span.start_time_ns,
            end_time_ns: span.end_time_ns,
            token_usage: span.get_attribute(keys::CHAT_TOKEN_USAGE).as_ref().and_then(TokenUsage::from_json),
            session_id: string_attribute(SESSION_ID_ATTRIBUTE),
            user_id: string_attribute(USER_ID_ATTRIBUTE),
            payload: Vec::new(),
            content: payload::span_json(span),
            request_preview: root_preview(span, keys::SPAN_INPUTS, request_preview),
            response_preview: root_preview(span, keys::SPAN_OUTPUTS, response_preview),
        }
        .with_payload()
    }
}

impl SpanRecord {
    fn with_payload(mut self) -> SpanRecord {
        self.payload = payload::encode(&self.content);
        self
    }
}

/// The string a JSON string literal without escapes holds (`"CHAIN"` → `CHAIN`), read without
/// a parser: span types, ids and names are such literals, and every stored span asks for a
/// few. `None` for anything else (the caller then parses): exactly the literals a JSON parser
/// reads as that same string.
fn plain_json_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    inner.bytes().all(|b| b != b'"' && b != b'\\' && b >= 0x20).then_some(inner)
}

/// A root span's preview of a non-empty attribute (what the summary shows before the final
/// trace info brings the client's own previews); `None` for child spans.
fn root_preview(span: &Span, key: &str, derive: fn(&str) -> String) -> Option<String> {
    if span.parent_id.is_some() {
        return None;
    }
    span.attributes.get(key).filter(|v| !v.is_empty()).map(|v| derive(v))
}

/// The request preview MLflow derives from a root span's inputs JSON (chat-aware, ≤ 1000 chars).
pub fn request_preview(inputs_json: &str) -> String {
    clew_model::summary::preview::request_preview(inputs_json, keys::MAX_PREVIEW_CHARS)
}

/// The response preview MLflow derives from a root span's outputs JSON.
pub fn response_preview(outputs_json: &str) -> String {
    clew_model::summary::preview::response_preview(outputs_json, keys::MAX_PREVIEW_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_string_shortcut_reads_what_a_json_parser_reads() {
        let cases = ["\"CHAIN\"", "\"\"", "\"é ü\"", "\"a\\\"b\"", "\"a\\nb\"", "\"a\u{1}b\"", "\"a\" \"b\"", "\"", "CHAIN", "1", "null", " \"x\"", "\"x\" "];
        for raw in cases {
            if let Some(text) = plain_json_string(raw) {
                assert_eq!(serde_json::from_str::<Value>(raw).ok(), Some(Value::String(text.to_string())), "{raw:?}");
            }
        }
        assert_eq!(plain_json_string("\"CHAIN\""), Some("CHAIN"));
        assert_eq!(plain_json_string("\"a\\\"b\""), None);
        assert_eq!(plain_json_string("\"a\" \"b\""), None);
    }

    #[test]
    fn records_read_types_ids_and_users_as_before() {
        use clew_model::{SpanId, SpanStatus, TraceId};
        let mut span = Span {
            trace_id: TraceId::from_u128(5),
            span_id: SpanId::from_u64(1),
            parent_id: None,
            name: "s".into(),
            start_time_ns: 1,
            end_time_ns: Some(2),
            status: SpanStatus::ok(),
            attributes: Default::default(),
            events: vec![],
            links: vec![],
        };
        span.attributes.insert(keys::TRACE_REQUEST_ID.into(), "\"tr-custom\"".into());
        span.attributes.insert(keys::SPAN_TYPE.into(), "\"LLM\"".into());
        span.attributes.insert(SESSION_ID_ATTRIBUTE.into(), "\"s\\u00e9\"".into());
        span.attributes.insert(USER_ID_ATTRIBUTE.into(), "42".into());
        let record = SpanRecord::from_span(&span);
        assert_eq!(record.trace_id, "tr-custom");
        assert_eq!(record.span_type.as_deref(), Some("LLM"));
        assert_eq!(record.session_id.as_deref(), Some("sé"));
        assert_eq!(record.user_id.as_deref(), Some("42"));
        span.attributes.insert(keys::TRACE_REQUEST_ID.into(), "\"\"".into());
        assert_eq!(SpanRecord::from_span(&span).trace_id, TraceId::from_u128(5).to_mlflow());
    }
}
