//! Span links: pointers from a span to a span of (possibly) another trace, as OpenTelemetry
//! and MLflow (3.x `Link`) record them.

use crate::{SpanId, TraceId};
use indexmap::IndexMap;
use serde_json::Value;

/// A link to another span. MLflow writes it in span dicts as
/// `{"trace_id": "tr-<hex>", "span_id": "<16 hex>", "attributes": {...} | null}`.
///
/// ```
/// use clew_model::{SpanLink, SpanId, TraceId};
/// let link = SpanLink::new(TraceId::from_u128(7), SpanId::from_u64(9));
/// assert!(link.attributes.is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpanLink {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// Typed (not JSON-text) values; `None` when the link has no attributes, as MLflow keeps it.
    pub attributes: Option<IndexMap<String, Value>>,
}

impl SpanLink {
    /// A link without attributes.
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Self {
        SpanLink {
            trace_id,
            span_id,
            attributes: None,
        }
    }
}
