//! Distributed tracing with W3C `traceparent` headers.
//!
//! The caller injects its current span into outgoing request headers; the callee continues
//! the trace from the incoming headers, so its spans join the caller's trace:
//!
//! ```
//! # let memory = clew::MemoryDestination::new(); clew::set_destination(memory.clone());
//! // Client side.
//! let root = clew::start_span("call_service");
//! let headers = clew::propagation::get_tracing_context_headers_for_http_request();
//! assert!(headers["traceparent"].starts_with("00-"));
//!
//! // Server side (another process in real life).
//! let _ctx = clew::propagation::set_tracing_context_from_http_request_headers(&headers).unwrap();
//! let handler = clew::start_span("handle_request");
//! assert_eq!(handler.trace_id(), root.trace_id());
//! # drop(handler); drop(_ctx); drop(root); clew::reset();
//! ```

use crate::context::{Context, ContextGuard};
use crate::error::ClewError;
use crate::span::LiveSpan;
use clew_model::propagation::{extract_from_headers, format_traceparent, TRACEPARENT_HEADER};
use std::collections::HashMap;

/// `{"traceparent": "00-<trace>-<span>-<flags>"}` for the current span; empty (with a
/// warning) when there is no recorded current span or propagation is disabled.
pub fn get_tracing_context_headers_for_http_request() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    if crate::config::propagation_disabled() {
        return headers;
    }
    match crate::fluent::get_current_active_span().and_then(|s| s.inner) {
        Some(inner) => {
            headers.insert(TRACEPARENT_HEADER.to_string(), format_traceparent(inner.trace_id, inner.span_id, true));
        }
        None => crate::report::warn_rate_limited(
            "no-span-to-propagate",
            "no active span: no traceparent header to send",
        ),
    }
    headers
}

/// Continues the trace of an incoming request: until the guard drops, new spans are
/// children of the caller's span in the caller's trace. Accepts `traceparent` in any case.
/// A header marked not-sampled makes the spans inside unrecorded. With propagation
/// disabled, the headers are ignored and spans start a new trace.
pub fn set_tracing_context_from_http_request_headers<I, K, V>(headers: I) -> Result<ContextGuard, ClewError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    if crate::config::propagation_disabled() {
        return Ok(Context::default().attach());
    }
    let remote = extract_from_headers(headers).map_err(|e| ClewError::InvalidArgument(e.to_string()))?;
    let parent = if remote.sampled() && crate::config::is_enabled() {
        crate::tracer::remote_parent(remote.trace_id, remote.parent_span_id)
    } else {
        LiveSpan::noop()
    };
    Ok(Context::from_span(parent).attach())
}
