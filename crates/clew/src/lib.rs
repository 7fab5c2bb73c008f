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

/// Records each call of a function as a span: MLflow's `@mlflow.trace` as an attribute.
///
/// The span is named after the function (or `name`), gets `mlflow.spanFunctionName`, the
/// arguments as inputs (`{"arg": value, ...}`, `self` left out) and the return value as
/// outputs. Values are serialised with `serde::Serialize` when their type implements it, else
/// recorded as their `Debug` text, else as `"<unserializable: Type>"`, so any argument type
/// compiles.
///
/// ```
/// # let memory = clew::MemoryDestination::new(); clew::set_destination(memory.clone());
/// #[clew::trace]
/// fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
///
/// #[clew::trace(name = "pipeline", span_type = "CHAIN")]
/// fn run(question: &str) -> i32 {
///     add(question.len() as i32, 1) // a child span of "pipeline"
/// }
///
/// run("What is MLflow?");
/// # clew::flush();
/// let trace = clew::get_last_active_trace().unwrap();
/// let child = trace.data.spans.iter().find(|s| s.name == "add").unwrap();
/// assert_eq!(child.inputs(), Some(serde_json::json!({"a": 15, "b": 1})));
/// assert_eq!(child.outputs(), Some(serde_json::json!(16)));
/// # clew::reset();
/// ```
///
/// Options, all optional: `name = "..."`; `span_type = "RETRIEVER"` or any expression that
/// converts into [`SpanType`] (`SpanType::Retriever`); `attributes(key = value, "dotted.key" =
/// value)` with any `Serialize` values (evaluated only when the span is recorded; they may read
/// the arguments); `skip(arg, ...)` to leave arguments out of the inputs; `skip_all`; and
/// `crate = path` if `clew` was renamed. An unknown option is a compile error.
///
/// ```
/// use clew::{Document, SpanType};
/// # struct VectorIndex;
/// # impl VectorIndex { fn search(&self, _q: &str, _k: usize) -> Vec<Document> { vec![Document::new("...")] } }
/// #[clew::trace(span_type = SpanType::Retriever, skip(index), attributes(top_k = k, "index.name" = "docs"))]
/// fn retrieve(index: &VectorIndex, query: &str, k: usize) -> Vec<Document> {
///     index.search(query, k) // the Documents become the outputs
/// }
/// # retrieve(&VectorIndex, "q", 2);
/// ```
///
/// A return type spelled `Result<T, E>` (also `io::Result<T>`, `anyhow::Result<T>`): `Ok(v)`
/// records `v` as outputs; `Err(e)` is recorded as an exception (an `exception` event with the
/// error's type, message and `source()` chain, status ERROR `"Type: message"`) and returned
/// unchanged. `?` and early `return`s in the body are captured. A panic is recorded with its
/// message and resumes.
///
/// ```
/// # let memory = clew::MemoryDestination::new(); clew::set_destination(memory.clone());
/// #[clew::trace]
/// fn parse(text: &str) -> Result<i64, std::num::ParseIntError> {
///     let n: i64 = text.parse()?;
///     Ok(n * 2)
/// }
///
/// assert!(parse("x").is_err());
/// # clew::flush();
/// let span = &clew::get_last_active_trace().unwrap().data.spans[0];
/// assert_eq!(span.status.description, "ParseIntError: invalid digit found in string");
/// # clew::reset();
/// ```
///
/// `async fn` stays `async fn` (and `Send` when its body is). The span starts at the first
/// poll, as a child of the span current then — the caller's span for `traced().await` — and
/// stays current at every poll, across `.await`s and threads. To carry it into
/// `tokio::spawn`, use [`context::FutureExt::with_current_context`]. A future dropped before
/// it completes (`select!`, a timeout) ends its span with an exception `Cancelled`, status
/// ERROR. Methods in `#[async_trait]` impls (bodies `Box::pin(async move { … })`) are traced
/// the same way.
///
/// ```
/// # let memory = clew::MemoryDestination::new(); clew::set_destination(memory.clone());
/// #[clew::trace(span_type = "LLM")]
/// async fn generate(prompt: String) -> String {
///     tokio::task::yield_now().await;
///     format!("echo: {prompt}")
/// }
///
/// #[clew::trace]
/// async fn answer(question: &str) -> String {
///     generate(question.to_string()).await // a child of "answer"
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let reply = tokio::spawn(async { answer("hi").await }).await.unwrap();
/// assert_eq!(reply, "echo: hi");
/// # });
/// # clew::flush();
/// let trace = clew::get_last_active_trace().unwrap();
/// assert_eq!(trace.data.spans.len(), 2);
/// # clew::reset();
/// ```
///
/// With tracing disabled ([`disable`]) the function runs unchanged at the cost of a few
/// atomic loads: nothing is allocated or serialised.
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
