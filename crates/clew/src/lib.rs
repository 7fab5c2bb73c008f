//! # clew — tracing for LLM and agent applications
//!
//! clew records traces — trees of spans with inputs, outputs, attributes, events and
//! status — with the API and data model of MLflow Tracing, and stores them in a local
//! SQLite file by default (the same file `clew server` and the `clew` CLI read).
//!
//! ```
//! use clew::{SpanType, SpanEvent};
//! # let memory = clew::MemoryDestination::new(); clew::set_destination(memory.clone());
//! {
//!     let root = clew::start_span("answer");
//!     root.set_span_type(SpanType::Chain);
//!     root.set_inputs(serde_json::json!({"question": "What is MLflow?"}));
//!     {
//!         let child = clew::start_span("retrieve");
//!         child.set_span_type(SpanType::Retriever);
//!         child.add_event(SpanEvent::new("cache_miss"));
//!     }
//!     root.set_outputs("MLflow is an open source platform...");
//! } // the root ends here and the trace is exported in the background
//! let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
//! assert_eq!(trace.data.spans.len(), 2);
//! # clew::reset();
//! ```
//!
//! Export never blocks or fails user code: traces go to a background worker, and anything
//! dropped or failed is counted in [`export::stats`] and reported on stderr.

mod client;
mod clock;
pub mod config;
pub mod context;
mod environment;
mod error;
pub mod export;
mod finalize;
mod fluent;
mod ids;
mod json_text;
pub mod propagation;
mod report;
mod runtime;
mod span;
mod trace_buffer;
mod tracer;

#[doc(hidden)]
pub mod __private;

pub use clew_macros::trace;
pub use clew_model::{
    ChatMessage, ChatTool, Document, Experiment, NameMatcher, Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType,
    Trace, TraceData, TraceInfo, TraceLocation, TraceState,
};
pub use client::{
    delete_trace_tag, get_experiment_by_name, get_trace, search_traces, set_experiment, set_experiment_by_id,
    set_trace_tag, try_get_trace, SearchOptions, TraceList,
};
pub use config::{configure, disable, enable, is_enabled, reset, set_destination, SpanProcessor, TracingConfig};
pub use error::ClewError;
pub use export::{flush, flush_timeout, Destination, LocalStoreDestination, MemoryDestination, NullDestination};
pub use fluent::{
    add_span_exception, end_span, get_active_trace_id, get_current_active_span, get_last_active_trace,
    get_last_active_trace_id, get_last_active_trace_id_thread_local, log_span_event, set_span_attribute,
    set_span_attributes, set_span_chat_tools, set_span_inputs, set_span_output, trace_context,
    update_current_trace, TraceContextGuard, TraceUpdate,
};
pub use span::{LiveSpan, NO_OP_SPAN_TRACE_ID};
pub use trace_buffer::FinishedSpan;
pub use tracer::{start_span, start_span_no_context, SpanBuilder, SpanGuard};

/// Re-exported so `#[clew::trace]` and users need no direct serde_json dependency.
pub use serde_json;

/// A captured backtrace as text when `RUST_BACKTRACE` enables it, else a short note.
pub(crate) fn backtrace_text() -> String {
    let bt = std::backtrace::Backtrace::capture();
    match bt.status() {
        std::backtrace::BacktraceStatus::Captured => bt.to_string(),
        _ => "(set RUST_BACKTRACE=1 to record a backtrace)".to_string(),
    }
}
