//! Trace-level token usage (`mlflow.trace.tokenUsage`), aggregated from the spans'
//! `mlflow.chat.tokenUsage` attributes as MLflow does (`_aggregate_from_nodes`).
//!
//! The span tree is walked depth-first from its roots (spans without a parent, or whose parent
//! is not among the spans). A span's usage counts only if no ancestor has usage, so a rollup on
//! a parent (pydantic_ai, dspy, ...) is not added to its children's. `input_tokens`,
//! `output_tokens` and `total_tokens` are always present (missing ones count 0); the cache keys
//! appear only when some counted span has them, in the order the walk first meets them.

use crate::pyjson::{self, PyValue};
use crate::{keys, Span, SpanId};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Keys always present in aggregated usage, in MLflow's order.
pub const REQUIRED_KEYS: [&str; 3] = ["input_tokens", "output_tokens", "total_tokens"];
/// Keys added only when a counted span has them.
pub const CACHE_KEYS: [&str; 3] = [
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_input_tokens_above_1hr",
];

/// One token count. Python adds ints exactly and turns the sum into a float once a float is
/// involved; `true`/`false` count as 1/0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TokenCount {
    Int(i128),
    Float(f64),
}

impl TokenCount {
    fn add(self, other: TokenCount) -> TokenCount {
        match (self, other) {
            (TokenCount::Int(a), TokenCount::Int(b)) => TokenCount::Int(a.saturating_add(b)),
            (a, b) => TokenCount::Float(a.as_f64() + b.as_f64()),
        }
    }
    /// The count as a float.
    pub fn as_f64(self) -> f64 {
        match self {
            TokenCount::Int(i) => i as f64,
            TokenCount::Float(f) => f,
        }
    }
    /// The count as an integer, when it is one (a float with no fraction counts).
    pub fn as_i64(self) -> Option<i64> {
        match self {
            TokenCount::Int(i) => i64::try_from(i).ok(),
            TokenCount::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                Some(f as i64)
            }
            TokenCount::Float(_) => None,
        }
    }
    fn from_py(value: &PyValue) -> Option<TokenCount> {
        match value {
            PyValue::Bool(b) => Some(TokenCount::Int(i128::from(*b))),
            PyValue::Int(i) => Some(TokenCount::Int(*i)),
            PyValue::Float(f) => Some(TokenCount::Float(*f)),
            _ => None,
        }
    }
    fn write_python_json(self, out: &mut String) {
        match self {
            TokenCount::Int(i) => {
                let _ = write!(out, "{i}");
            }
            TokenCount::Float(f) => out.push_str(&pyjson::float_repr(f)),
        }
    }
}

/// Aggregated token usage, keys in MLflow's order.
///
/// ```
/// use clew_model::summary::token_usage::{TokenUsage, TokenCount};
/// let mut u = TokenUsage::default();
/// u.add("input_tokens", TokenCount::Int(23));
/// u.add("output_tokens", TokenCount::Int(7));
/// u.add("total_tokens", TokenCount::Int(30));
/// assert_eq!(u.to_json_text(), r#"{"input_tokens": 23, "output_tokens": 7, "total_tokens": 30}"#);
/// assert_eq!(u.get_i64("total_tokens"), Some(30));
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TokenUsage {
    entries: Vec<(String, TokenCount)>,
}

impl TokenUsage {
    fn with_required_keys() -> Self {
        TokenUsage {
            entries: REQUIRED_KEYS
                .iter()
                .map(|k| (k.to_string(), TokenCount::Int(0)))
                .collect(),
        }
    }
    /// Adds `count` to `key` (appending the key if new).
    pub fn add(&mut self, key: &str, count: TokenCount) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = v.add(count),
            None => self.entries.push((key.to_string(), count)),
        }
    }
    pub fn get(&self, key: &str) -> Option<TokenCount> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(TokenCount::as_i64)
    }
    /// `(key, count)` in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, TokenCount)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }
    /// The JSON text MLflow's client writes (`json.dumps(usage)`): `", "` and `": "` separators,
    /// keys in aggregation order.
    pub fn to_json_text(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            // Keys are fixed ASCII identifiers, so they need no escaping.
            let _ = write!(out, "\"{k}\": ");
            v.write_python_json(&mut out);
        }
        out.push('}');
        out
    }
    /// The JSON text an MLflow server returns for stored usage: integer counts only, keys in the
    /// fixed column order (input, output, total, cache read, cache creation, cache 1h), keys
    /// whose count is not an integer left out. `None` when nothing is left.
    pub fn to_stored_json_text(&self) -> Option<String> {
        let mut stored = TokenUsage::default();
        for key in REQUIRED_KEYS.iter().chain(CACHE_KEYS.iter()) {
            if let Some(i) = self.get(key).and_then(TokenCount::as_i64) {
                stored
                    .entries
                    .push((key.to_string(), TokenCount::Int(i128::from(i))));
            }
        }
        (!stored.entries.is_empty()).then(|| stored.to_json_text())
    }
}

/// A span as the aggregation sees it: its id, its parent and its decoded usage value.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageNode {
    pub span_id: SpanId,
    pub parent_id: Option<SpanId>,
    /// The decoded `mlflow.chat.tokenUsage` value; `None` (or JSON null) means no usage.
    pub usage: Option<PyValue>,
}

impl UsageNode {
    /// The node of a span, its usage attribute decoded as MLflow's `get_attribute` does: empty
    /// text is no usage, text that is not JSON is a string.
    pub fn from_span(span: &Span) -> UsageNode {
        let usage = span
            .attributes
            .get(keys::CHAT_TOKEN_USAGE)
            .filter(|t| !t.is_empty())
            .map(|t| pyjson::loads(t).unwrap_or_else(|_| PyValue::Str(t.clone())));
        UsageNode {
            span_id: span.span_id,
            parent_id: span.parent_id,
            usage,
        }
    }
}

/// Aggregates the spans' token usage. `None` when no span has usage, or when a counted usage
/// is malformed (not an object, or a count that is not a number): MLflow then logs a warning
/// and writes no usage.
///
/// The order of `spans` matters only for the order of the cache keys; pass them in start
/// order, as MLflow's in-memory trace holds them.
///
/// ```
/// use clew_model::{Span, SpanId, TraceId, SpanStatus};
/// use clew_model::summary::token_usage::aggregate_token_usage;
/// let span = |id: u64, parent: Option<u64>, usage: Option<&str>| Span {
///     trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(id),
///     parent_id: parent.map(SpanId::from_u64), name: "s".into(), start_time_ns: 0,
///     end_time_ns: Some(1), status: SpanStatus::ok(), events: vec![], links: vec![],
///     attributes: usage.map(|u| ("mlflow.chat.tokenUsage".to_string(), u.to_string())).into_iter().collect(),
/// };
/// let spans = vec![
///     span(1, None, Some(r#"{"input_tokens": 10, "output_tokens": 10, "total_tokens": 20}"#)),
///     span(2, Some(1), Some(r#"{"input_tokens": 4, "output_tokens": 4, "total_tokens": 8}"#)),
/// ];
/// let usage = aggregate_token_usage(&spans).unwrap();
/// assert_eq!(usage.get_i64("total_tokens"), Some(20)); // the child is inside the parent's rollup
/// ```
pub fn aggregate_token_usage(spans: &[Span]) -> Option<TokenUsage> {
    let nodes: Vec<UsageNode> = spans.iter().map(UsageNode::from_span).collect();
    aggregate_usage_nodes(&nodes)
}

/// [`aggregate_token_usage`] over bare nodes (e.g. span rows read back from a store).
pub fn aggregate_usage_nodes(nodes: &[UsageNode]) -> Option<TokenUsage> {
    let ids: HashSet<SpanId> = nodes.iter().map(|n| n.span_id).collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match node.parent_id {
            Some(p) if ids.contains(&p) => children.entry(p).or_default().push(i),
            _ => roots.push(i),
        }
    }

    let mut totals = TokenUsage::with_required_keys();
    let mut has_data = false;
    // The same stack discipline as MLflow (push in order, pop from the end), so optional keys
    // come out in the same order. `visited` guards against cycles made of duplicate span ids.
    let mut visited = vec![false; nodes.len()];
    let mut stack: Vec<(usize, bool)> = roots.into_iter().map(|r| (r, false)).collect();
    while let Some((i, ancestor_has_data)) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        let node = &nodes[i];
        let data = node.usage.as_ref().filter(|v| **v != PyValue::Null);
        if let (Some(data), false) = (data, ancestor_has_data) {
            let PyValue::Dict(obj) = data else {
                return None;
            };
            for key in REQUIRED_KEYS {
                if let Some(v) = obj.get(key) {
                    totals.add(key, TokenCount::from_py(v)?);
                }
            }
            for key in CACHE_KEYS {
                if let Some(v) = obj.get(key) {
                    totals.add(key, TokenCount::from_py(v)?);
                }
            }
            has_data = true;
        }
        let next = ancestor_has_data || data.is_some();
        if let Some(kids) = children.get(&node.span_id) {
            stack.extend(kids.iter().map(|&c| (c, next)));
        }
    }
    has_data.then_some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, parent: Option<u64>, usage: Option<PyValue>) -> UsageNode {
        UsageNode {
            span_id: SpanId::from_u64(id),
            parent_id: parent.map(SpanId::from_u64),
            usage,
        }
    }

    #[test]
    fn no_usage_anywhere_gives_none() {
        assert_eq!(
            aggregate_usage_nodes(&[node(1, None, None), node(2, Some(1), Some(PyValue::Null))]),
            None
        );
    }

    #[test]
    fn cycles_of_duplicate_ids_terminate() {
        let u =
            pyjson::loads(r#"{"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}"#).unwrap();
        let nodes = [
            node(1, None, None),
            node(2, Some(1), None),
            node(1, Some(2), Some(u)),
        ];
        let usage = aggregate_usage_nodes(&nodes).unwrap();
        assert_eq!(usage.get_i64("total_tokens"), Some(2));
    }

    #[test]
    fn stored_form_uses_column_order_and_integers() {
        let mut u = TokenUsage::with_required_keys();
        u.add("cache_creation_input_tokens", TokenCount::Int(3));
        u.add("cache_read_input_tokens", TokenCount::Int(5));
        assert_eq!(
            u.to_stored_json_text().unwrap(),
            r#"{"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3}"#
        );
    }
}
