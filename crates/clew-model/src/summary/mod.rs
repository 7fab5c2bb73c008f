//! Trace info as MLflow fills it: previews, trace inputs/outputs metadata, token usage, size stats.
//!
//! - [`preview`]: chat-aware request/response previews;
//! - [`token_usage`]: `mlflow.trace.tokenUsage` from the spans' `mlflow.chat.tokenUsage`;
//! - [`size_stats`]: `mlflow.trace.sizeStats` / `mlflow.trace.sizeBytes`;
//! - [`finalize`]: all of it applied to a [`crate::TraceInfo`] when the root span ends, the
//!   `to_proto` limits, and the info a server builds from OTLP spans alone.

pub mod finalize;
pub mod preview;
pub mod size_stats;
pub mod token_usage;

pub use finalize::{
    apply_metadata_and_tag_limits, finalize_trace_info, trace_info_from_spans, FinalizeOptions,
};
pub use preview::{request_preview, response_preview};
pub use size_stats::SizeStats;
pub use token_usage::{aggregate_token_usage, TokenUsage};
