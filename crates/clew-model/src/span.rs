//! A finished span. Attribute values are kept as MLflow keeps them: JSON text.

use crate::{keys, SpanEvent, SpanId, SpanLink, SpanStatus, SpanType, TraceId};
use indexmap::IndexMap;
use serde_json::Value;

/// Span attributes: key → JSON text of the value (a string attribute is stored quoted).
pub type Attributes = IndexMap<String, String>;

/// An immutable span, as stored and exchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_id: Option<SpanId>,
    pub name: String,
    pub start_time_ns: i64,
    pub end_time_ns: Option<i64>,
    pub status: SpanStatus,
    /// Key → JSON text. Use [`Span::get_attribute`] for the decoded value.
    pub attributes: Attributes,
    pub events: Vec<SpanEvent>,
    /// Links to other spans (OTel span links); usually empty.
    pub links: Vec<SpanLink>,
}

impl Span {
    /// MLflow's trace id (`tr-…`): the `mlflow.traceRequestId` attribute, else derived.
    pub fn request_id(&self) -> String {
        match self.get_attribute(keys::TRACE_REQUEST_ID) {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => self.trace_id.to_mlflow(),
        }
    }
    /// The decoded value of an attribute. Text that is not JSON comes back as a string;
    /// an empty value reads as `None`, as in MLflow.
    pub fn get_attribute(&self, key: &str) -> Option<Value> {
        let raw = self.attributes.get(key)?;
        if raw.is_empty() {
            return None;
        }
        Some(serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone())))
    }
    /// Every attribute, decoded.
    pub fn decoded_attributes(&self) -> IndexMap<String, Value> {
        self.attributes
            .keys()
            .filter_map(|k| self.get_attribute(k).map(|v| (k.clone(), v)))
            .collect()
    }
    /// The span type, or `None` for foreign spans that carry none.
    pub fn span_type(&self) -> Option<SpanType> {
        match self.get_attribute(keys::SPAN_TYPE)? {
            Value::String(s) => Some(SpanType::from(s)),
            _ => None,
        }
    }
    pub fn inputs(&self) -> Option<Value> {
        self.get_attribute(keys::SPAN_INPUTS)
    }
    pub fn outputs(&self) -> Option<Value> {
        self.get_attribute(keys::SPAN_OUTPUTS)
    }
    pub fn model_name(&self) -> Option<String> {
        self.get_attribute(keys::LLM_MODEL).and_then(|v| v.as_str().map(str::to_string))
    }
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }
    /// Duration in nanoseconds, once ended.
    pub fn duration_ns(&self) -> Option<i64> {
        self.end_time_ns.map(|e| e - self.start_time_ns)
    }
}
