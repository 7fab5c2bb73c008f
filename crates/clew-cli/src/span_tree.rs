//! A trace as an indented span tree for the terminal:
//!
//! ```text
//! rag_pipeline [CHAIN] OK 1.42 s
//! ├─ embed_query [EMBEDDING] OK 85.0 ms
//! ├─ vector_search [RETRIEVER] OK 120.0 ms
//! └─ chat_completion [CHAT_MODEL] OK 1.10 s · 540 tokens
//! ```

use crate::format;
use clew_model::{keys, Span, SpanId, SpanStatusCode, Trace};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The header (id, state, time, session, tokens, tags) and the span tree.
pub fn render(trace: &Trace) -> String {
    let info = &trace.info;
    let mut out = String::new();
    let _ = writeln!(out, "Trace {}  {}", info.trace_id, format::trace_name(info));
    let mut facts = vec![
        format!("state {}", info.state),
        format!("started {}", format::local_time_ms(info.request_time)),
    ];
    if let Some(ms) = info.execution_duration {
        facts.push(format!("duration {}", format::duration_ms(ms)));
    }
    if let Some(exp) = info.experiment_id() {
        facts.push(format!("experiment {exp}"));
    }
    let _ = writeln!(out, "  {}", facts.join(" · "));
    for (label, key) in [("session", keys::TRACE_SESSION), ("user", keys::TRACE_USER)] {
        if let Some(value) = info.trace_metadata.get(key) {
            let _ = writeln!(out, "  {label}: {value}");
        }
    }
    if let Some(tokens) = format::token_breakdown(info) {
        let _ = writeln!(out, "  tokens: {tokens}");
    }
    let user_tags: Vec<String> = info
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("mlflow."))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !user_tags.is_empty() {
        let _ = writeln!(out, "  tags: {}", user_tags.join(", "));
    }
    out.push('\n');
    if trace.data.spans.is_empty() {
        out.push_str("(no spans stored for this trace)\n");
        return out;
    }
    out.push_str(&render_spans(&trace.data.spans));
    out
}

/// The spans as a tree. Spans whose parent is not in the trace (a partial trace) are shown as
/// roots; children are ordered by start time.
pub fn render_spans(spans: &[Span]) -> String {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<SpanId, Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        match span.parent_id.filter(|p| ids.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => roots.push(span),
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_time_ns);
    }
    roots.sort_by_key(|s| s.start_time_ns);
    let mut out = String::new();
    for root in roots {
        write_span(&mut out, root, &children, "", None);
    }
    out
}

/// Writes `span` and its subtree. `is_last` is `None` for a root (no branch drawn).
fn write_span(
    out: &mut String,
    span: &Span,
    children: &HashMap<SpanId, Vec<&Span>>,
    prefix: &str,
    is_last: Option<bool>,
) {
    let (branch, child_prefix) = match is_last {
        None => (String::new(), String::new()),
        Some(true) => (format!("{prefix}└─ "), format!("{prefix}   ")),
        Some(false) => (format!("{prefix}├─ "), format!("{prefix}│  ")),
    };
    let _ = writeln!(out, "{branch}{}", describe(span));
    let kids = children.get(&span.span_id).map(Vec::as_slice).unwrap_or(&[]);
    for (i, child) in kids.iter().enumerate() {
        write_span(out, child, children, &child_prefix, Some(i + 1 == kids.len()));
    }
}

/// `name [TYPE] STATUS duration · extras`.
fn describe(span: &Span) -> String {
    let span_type = span
        .span_type()
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".to_string());
    let duration = span
        .duration_ns()
        .map(format::duration_ns)
        .unwrap_or_else(|| "(running)".to_string());
    let mut line = format!("{} [{span_type}] {} {duration}", span.name, span.status.status_code);
    let mut extras = Vec::new();
    if let Some(model) = span.model_name() {
        extras.push(model);
    }
    if let Some(tokens) = span
        .get_attribute(keys::CHAT_TOKEN_USAGE)
        .and_then(|u| u.get("total_tokens").cloned())
    {
        extras.push(format!("{tokens} tokens"));
    }
    if let Some(outputs) = span.outputs() {
        let documents = outputs
            .as_array()
            .map(|items| items.iter().filter(|d| d.get("page_content").is_some()).count())
            .unwrap_or(0);
        if documents > 0 {
            extras.push(format!("{documents} document(s)"));
        }
        let calls: Vec<&str> = outputs
            .pointer("/choices/0/message/tool_calls")
            .and_then(Value::as_array)
            .map(|calls| {
                calls
                    .iter()
                    .filter_map(|c| c.pointer("/function/name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if !calls.is_empty() {
            extras.push(format!("tool calls: {}", calls.join(", ")));
        }
    }
    let chunks = span
        .events
        .iter()
        .filter(|e| e.name.starts_with(keys::CHUNK_EVENT_PREFIX))
        .count();
    if chunks > 0 {
        extras.push(format!("{chunks} stream chunks"));
    }
    let other_events = span
        .events
        .iter()
        .filter(|e| !e.name.starts_with(keys::CHUNK_EVENT_PREFIX) && e.name != keys::EXCEPTION_EVENT)
        .count();
    if other_events > 0 {
        extras.push(format!("{other_events} event(s)"));
    }
    if span.status.status_code == SpanStatusCode::Error {
        let description = if span.status.description.is_empty() {
            span.events
                .iter()
                .find(|e| e.name == keys::EXCEPTION_EVENT)
                .and_then(|e| e.attributes.get(keys::EXCEPTION_MESSAGE))
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string()
        } else {
            span.status.description.clone()
        };
        extras.push(format!("error: {}", format::truncate(&description, 80)));
    }
    if !extras.is_empty() {
        line.push_str(" · ");
        line.push_str(&extras.join(" · "));
    }
    line
}
