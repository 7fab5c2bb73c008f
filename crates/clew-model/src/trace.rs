//! A whole trace: its info and its spans.

use crate::{Span, SpanId, SpanType, TraceInfo};
use regex::Regex;

/// The spans of a trace.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TraceData {
    pub spans: Vec<Span>,
}

impl TraceData {
    /// The root span (no parent), if present.
    pub fn root(&self) -> Option<&Span> {
        self.spans.iter().find(|s| s.parent_id.is_none())
    }
    /// Raw JSON text of the root's inputs (`mlflow.spanInputs`).
    pub fn request(&self) -> Option<&str> {
        self.root().and_then(|r| r.attributes.get(crate::keys::SPAN_INPUTS)).map(String::as_str)
    }
    /// Raw JSON text of the root's outputs (`mlflow.spanOutputs`).
    pub fn response(&self) -> Option<&str> {
        self.root().and_then(|r| r.attributes.get(crate::keys::SPAN_OUTPUTS)).map(String::as_str)
    }
}

/// A trace: [`TraceInfo`] plus [`TraceData`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Trace {
    pub info: TraceInfo,
    pub data: TraceData,
}

/// How `search_spans` matches a span name: exactly, or with a regex (`Regex::is_match`, like
/// Python's `re.search`).
#[derive(Clone, Debug)]
pub enum NameMatcher {
    Exact(String),
    Regex(Regex),
}

impl From<&str> for NameMatcher {
    fn from(s: &str) -> Self {
        NameMatcher::Exact(s.to_string())
    }
}
impl From<String> for NameMatcher {
    fn from(s: String) -> Self {
        NameMatcher::Exact(s)
    }
}
impl From<Regex> for NameMatcher {
    fn from(r: Regex) -> Self {
        NameMatcher::Regex(r)
    }
}

impl NameMatcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(n) => n == name,
            NameMatcher::Regex(r) => r.is_match(name),
        }
    }
}

impl Trace {
    /// Spans matching every given criterion (all `None` returns every span).
    ///
    /// ```
    /// use clew_model::{Trace, SpanType};
    /// let t = Trace::default();
    /// assert!(t.search_spans(Some(&SpanType::Retriever), None, None).is_empty());
    /// ```
    pub fn search_spans(
        &self,
        span_type: Option<&SpanType>,
        name: Option<&NameMatcher>,
        span_id: Option<SpanId>,
    ) -> Vec<&Span> {
        self.data
            .spans
            .iter()
            .filter(|s| span_type.is_none_or(|t| s.span_type().as_ref() == Some(t)))
            .filter(|s| name.is_none_or(|n| n.matches(&s.name)))
            .filter(|s| span_id.is_none_or(|id| s.span_id == id))
            .collect()
    }
    /// The trace id (`tr-…`).
    pub fn trace_id(&self) -> &str {
        &self.info.trace_id
    }
}
