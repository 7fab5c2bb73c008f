//! Helpers that act on the current span or trace, with MLflow's names.

use crate::context;
use crate::span::LiveSpan;
use crate::trace_buffer::TraceOverrides;
use clew_model::{keys, ChatTool, SpanEvent, Trace, TraceId, TraceState};
use parking_lot::Mutex;
use serde::Serialize;
use std::cell::Cell;

/// The current span, if one is being recorded.
pub fn get_current_active_span() -> Option<LiveSpan> {
    context::current_slot().filter(LiveSpan::is_recording)
}

/// The trace id (`tr-…`) of the current span, if one is being recorded.
pub fn get_active_trace_id() -> Option<String> {
    get_current_active_span().map(|s| s.trace_id())
}

static LAST_TRACE_ID: Mutex<Option<TraceId>> = Mutex::new(None);
thread_local! {
    static LAST_TRACE_ID_THIS_THREAD: Cell<Option<TraceId>> = const { Cell::new(None) };
}

pub(crate) fn note_trace_ended(trace_id: TraceId) {
    *LAST_TRACE_ID.lock() = Some(trace_id);
    LAST_TRACE_ID_THIS_THREAD.with(|c| c.set(Some(trace_id)));
}

/// The id of the last trace whose root span ended in this process.
pub fn get_last_active_trace_id() -> Option<String> {
    LAST_TRACE_ID.lock().map(|t| t.to_mlflow())
}

/// The id of the last trace whose root span ended on this thread.
pub fn get_last_active_trace_id_thread_local() -> Option<String> {
    LAST_TRACE_ID_THIS_THREAD.with(|c| c.get()).map(|t| t.to_mlflow())
}

/// The last trace whose root span ended (read back from the destination).
pub fn get_last_active_trace() -> Option<Trace> {
    get_last_active_trace_id().and_then(|id| crate::client::get_trace(&id))
}

/// Sets an attribute on the current span (no-op without one).
pub fn set_span_attribute<T: Serialize>(key: impl Into<String>, value: T) {
    if let Some(span) = get_current_active_span() {
        span.set_attribute(key, value);
    }
}

/// Sets several attributes on the current span.
pub fn set_span_attributes<K: Into<String>, V: Serialize>(attributes: impl IntoIterator<Item = (K, V)>) {
    if let Some(span) = get_current_active_span() {
        span.set_attributes(attributes);
    }
}

/// Sets the current span's inputs.
pub fn set_span_inputs<T: Serialize>(inputs: T) {
    if let Some(span) = get_current_active_span() {
        span.set_inputs(inputs);
    }
}

/// Sets the current span's outputs.
pub fn set_span_output<T: Serialize>(output: T) {
    if let Some(span) = get_current_active_span() {
        span.set_outputs(output);
    }
}

/// Adds an event to the current span (timestamp: now, unless given).
pub fn log_span_event<K: Into<String>, V: Into<serde_json::Value>>(
    name: &str,
    attributes: impl IntoIterator<Item = (K, V)>,
    timestamp_ns: Option<i64>,
) {
    if let Some(span) = get_current_active_span() {
        let event = match timestamp_ns {
            Some(ts) => SpanEvent::at(name, ts),
            None => SpanEvent::new(name),
        };
        span.add_event(event.with_attributes(attributes));
    }
}

/// Records an error on the current span (exception event, status ERROR).
pub fn add_span_exception<E: std::error::Error + ?Sized>(error: &E) {
    if let Some(span) = get_current_active_span() {
        span.record_exception(error);
    }
}

/// Sets `mlflow.chat.tools` on the current span.
pub fn set_span_chat_tools(tools: &[ChatTool]) {
    if let Some(span) = get_current_active_span() {
        span.set_chat_tools(tools);
    }
}

/// Ends the current span now (its guard still restores the context when dropped).
pub fn end_span() {
    if let Some(span) = get_current_active_span() {
        span.end();
    }
}

/// Changes to the current trace for [`update_current_trace`].
///
/// ```
/// use clew::TraceUpdate;
/// let _root = clew::start_span("chat");
/// clew::update_current_trace(TraceUpdate::new().tag("env", "dev").session_id("sess-1").user("alice"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct TraceUpdate {
    overrides: TraceOverrides,
}

impl TraceUpdate {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.tags.insert(key.into(), value.into());
        self
    }
    pub fn tags<K: Into<String>, V: Into<String>>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self {
        for (k, v) in tags {
            self = self.tag(k, v);
        }
        self
    }
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.metadata.insert(key.into(), value.into());
        self
    }
    /// Metadata `mlflow.trace.session`.
    pub fn session_id(self, session: impl Into<String>) -> Self {
        self.metadata(keys::TRACE_SESSION, session)
    }
    /// Metadata `mlflow.trace.user`.
    pub fn user(self, user: impl Into<String>) -> Self {
        self.metadata(keys::TRACE_USER, user)
    }
    /// Metadata `mlflow.modelId`.
    pub fn model_id(self, model_id: impl Into<String>) -> Self {
        self.metadata(keys::MODEL_ID, model_id)
    }
    pub fn client_request_id(mut self, id: impl Into<String>) -> Self {
        self.overrides.client_request_id = Some(id.into());
        self
    }
    /// Replaces the automatic request preview.
    pub fn request_preview(mut self, preview: impl Into<String>) -> Self {
        self.overrides.request_preview = Some(preview.into());
        self
    }
    /// Replaces the automatic response preview.
    pub fn response_preview(mut self, preview: impl Into<String>) -> Self {
        self.overrides.response_preview = Some(preview.into());
        self
    }
    /// Overrides the state taken from the root span (`OK` or `ERROR`).
    pub fn state(mut self, state: TraceState) -> Self {
        self.overrides.state = Some(state);
        self
    }
}

fn merge(into: &mut TraceOverrides, from: TraceOverrides) {
    into.tags.extend(from.tags);
    into.metadata.extend(from.metadata);
    if from.request_preview.is_some() {
        into.request_preview = from.request_preview;
    }
    if from.response_preview.is_some() {
        into.response_preview = from.response_preview;
    }
    if from.state.is_some() {
        into.state = from.state;
    }
    if from.client_request_id.is_some() {
        into.client_request_id = from.client_request_id;
    }
}

/// Updates the current trace in memory; sent when it is exported. Without a current span
/// this warns and does nothing.
pub fn update_current_trace(update: TraceUpdate) {
    match get_current_active_span().and_then(|s| s.inner) {
        Some(inner) => match inner.trace.get() {
            Some(trace) => merge(&mut trace.overrides.lock(), update.overrides),
            None => {}
        },
        None => {
            if crate::config::is_enabled() {
                crate::report::warn_rate_limited(
                    "update-no-trace",
                    "update_current_trace called with no active span; nothing was updated",
                );
            }
        }
    }
}

/// Runs `f` on the overrides of the trace `trace_id` if it is the current one and still
/// running here; returns whether it was.
pub(crate) fn with_running_trace(trace_id: &str, f: impl FnOnce(&mut TraceOverrides)) -> bool {
    match get_current_active_span().and_then(|s| s.inner) {
        Some(inner) if inner.trace_id.to_mlflow() == trace_id => match inner.trace.get() {
            Some(trace) => {
                f(&mut trace.overrides.lock());
                true
            }
            None => false,
        },
        _ => false,
    }
}

thread_local! {
    static SCOPED: std::cell::RefCell<Vec<TraceOverrides>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Tags and metadata applied to every trace *started* while the guard lives (MLflow's
/// `mlflow.tracing.context`); nested scopes merge, the inner one winning.
///
/// ```
/// let _scope = clew::trace_context(clew::TraceUpdate::new().session_id("s-1"));
/// let _root = clew::start_span("turn"); // carries mlflow.trace.session = s-1
/// ```
pub fn trace_context(update: TraceUpdate) -> TraceContextGuard {
    SCOPED.with(|s| s.borrow_mut().push(update.overrides));
    TraceContextGuard { _not_send: std::marker::PhantomData }
}

/// Ends a [`trace_context`] scope when dropped.
#[must_use = "the scope ends when the guard is dropped"]
pub struct TraceContextGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for TraceContextGuard {
    fn drop(&mut self) {
        let _ = SCOPED.try_with(|s| s.borrow_mut().pop());
    }
}

pub(crate) fn scoped_overrides() -> TraceOverrides {
    SCOPED.with(|s| {
        let scopes = s.borrow();
        let mut merged = TraceOverrides::default();
        for scope in scopes.iter() {
            merge(&mut merged, scope.clone());
        }
        merged
    })
}
