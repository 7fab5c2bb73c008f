//! Starting spans: the guard form, the closure form, and detached spans.

use crate::context::{self, ContextGuard};
use crate::span::{LiveSpan, SpanInner, SpanState, TraceRef};
use crate::trace_buffer::{TraceBuffer, TraceOverrides};
use clew_model::{SpanId, SpanType, TraceId};
use parking_lot::Mutex;
use serde::Serialize;
use std::borrow::Cow;
use std::sync::Arc;

/// Where a new span's parent comes from.
#[derive(Clone, Debug)]
pub(crate) enum Parent {
    /// The current span (the usual case).
    Current,
    /// A new trace, whatever is current.
    Root,
    /// This span.
    Span(LiveSpan),
}

/// Creates a span (not yet current). The cheap path when tracing is off is one atomic load.
pub(crate) fn create_span(
    name: Cow<'static, str>,
    span_type: SpanType,
    parent: Parent,
    start_time_ns: Option<i64>,
) -> LiveSpan {
    if !crate::config::is_enabled() {
        return LiveSpan::noop();
    }
    let start = start_time_ns.unwrap_or_else(crate::clock::now_ns);
    match parent {
        Parent::Current => {
            // Children are made while the slot is borrowed (no handle clone); a root is made
            // after, since its first use may open the store.
            let mut name_and_type = Some((name, span_type));
            let child = context::with_current_slot(|current| {
                let parent = current?;
                let (name, span_type) = name_and_type.take()?;
                Some(child_or_root(name, span_type, start, Some(parent)))
            });
            match (child, name_and_type) {
                (Some(span), _) => span,
                (None, Some((name, span_type))) => child_or_root(name, span_type, start, None),
                (None, None) => LiveSpan::noop(),
            }
        }
        Parent::Root => child_or_root(name, span_type, start, None),
        Parent::Span(span) => child_or_root(name, span_type, start, Some(&span)),
    }
}

fn child_or_root(name: Cow<'static, str>, span_type: SpanType, start: i64, parent: Option<&LiveSpan>) -> LiveSpan {
    match parent {
        // Inside a span that is not recorded (sampled out): record nothing either.
        Some(LiveSpan { inner: None }) => LiveSpan::noop(),
        Some(LiveSpan { inner: Some(parent) }) => {
            let is_local_root = parent.is_placeholder();
            new_span(name, span_type, start, parent.trace_id, parent.trace.member(), Some(parent.span_id), is_local_root)
        }
        None => {
            let trace_id = crate::ids::new_trace_id();
            if !crate::config::is_sampled(trace_id) {
                return LiveSpan::noop();
            }
            let settings = crate::config::root_settings();
            let overrides = crate::fluent::scoped_overrides();
            let buffer = Arc::new(TraceBuffer::new(
                trace_id,
                settings.experiment_id,
                false,
                settings.target,
                settings.processors,
                overrides,
            ));
            new_span(name, span_type, start, trace_id, TraceRef::Owner(buffer), None, true)
        }
    }
}

fn new_span(
    name: Cow<'static, str>,
    span_type: SpanType,
    start: i64,
    trace_id: TraceId,
    trace: TraceRef,
    parent_id: Option<SpanId>,
    is_local_root: bool,
) -> LiveSpan {
    LiveSpan::from_inner(Arc::new(SpanInner {
        span_id: crate::ids::new_span_id(),
        parent_id,
        trace_id,
        trace,
        is_local_root,
        placeholder: false,
        state: Mutex::new(SpanState::new(name, span_type, start)),
    }))
}

/// A stand-in for a parent span in another process (from a `traceparent` header): spans
/// made under it join that trace and are exported on their own.
pub(crate) fn remote_parent(trace_id: TraceId, span_id: SpanId) -> LiveSpan {
    let settings = crate::config::root_settings();
    let buffer = Arc::new(TraceBuffer::new(
        trace_id,
        settings.experiment_id,
        true,
        settings.target,
        settings.processors,
        TraceOverrides::default(),
    ));
    LiveSpan::from_inner(Arc::new(SpanInner {
        span_id,
        parent_id: None,
        trace_id,
        trace: TraceRef::Owner(buffer),
        is_local_root: false,
        placeholder: true,
        state: Mutex::new(SpanState::new(Cow::Borrowed("remote parent"), SpanType::Unknown, 0)),
    }))
}

/// Starts a span as the current span until the returned guard drops. Nested spans become
/// its children. On drop the span ends with status OK unless it is ERROR; if the thread is
/// panicking, the panic is recorded as an exception first.
///
/// ```
/// use clew::SpanType;
/// let span = clew::start_span("my_span");
/// span.set_span_type(SpanType::Chain);
/// let (x, y) = (1, 2);
/// span.set_inputs(serde_json::json!({"x": x, "y": y}));
/// span.set_outputs(x + y);
/// ```
pub fn start_span(name: impl Into<Cow<'static, str>>) -> SpanGuard {
    if !crate::config::is_enabled() {
        return SpanGuard { span: LiveSpan::noop(), _context: None };
    }
    SpanBuilder::new(name).start()
}

/// Builds a span with a type, inputs and attributes, then starts it ([`SpanBuilder::start`])
/// or runs a closure inside it ([`SpanBuilder::run`], [`SpanBuilder::try_run`]).
///
/// ```
/// use clew::{SpanBuilder, SpanType};
/// let total = SpanBuilder::new("sum").span_type(SpanType::Tool).inputs(&[1, 2, 3])
///     .run(|span| { let t = 6; span.set_outputs(t); t });
/// assert_eq!(total, 6);
/// ```
#[must_use = "a builder does nothing until started"]
pub struct SpanBuilder {
    name: Cow<'static, str>,
    span_type: SpanType,
    inputs: Option<compact_str::CompactString>,
    attributes: Vec<(String, compact_str::CompactString)>,
    parent: Parent,
    start_time_ns: Option<i64>,
}

impl SpanBuilder {
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        SpanBuilder {
            name: name.into(),
            span_type: SpanType::Unknown,
            inputs: None,
            attributes: Vec::new(),
            parent: Parent::Current,
            start_time_ns: None,
        }
    }
    pub fn span_type(mut self, span_type: impl Into<SpanType>) -> Self {
        self.span_type = span_type.into();
        self
    }
    pub fn inputs<T: Serialize>(mut self, inputs: T) -> Self {
        if crate::config::is_enabled() {
            self.inputs = Some(crate::json_text::to_json_compact(&inputs));
        }
        self
    }
    pub fn attribute<T: Serialize>(mut self, key: impl Into<String>, value: T) -> Self {
        if crate::config::is_enabled() {
            self.attributes.push((key.into(), crate::json_text::to_json_compact(&value)));
        }
        self
    }
    pub fn attributes<K: Into<String>, V: Serialize>(mut self, attributes: impl IntoIterator<Item = (K, V)>) -> Self {
        for (k, v) in attributes {
            self = self.attribute(k, v);
        }
        self
    }
    /// Makes the span a child of `parent` instead of the current span.
    pub fn parent(mut self, parent: &LiveSpan) -> Self {
        self.parent = Parent::Span(parent.clone());
        self
    }
    /// Starts a new trace even if a span is current.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }
    /// An explicit start time (ns since the epoch).
    pub fn start_time_ns(mut self, start_time_ns: i64) -> Self {
        self.start_time_ns = Some(start_time_ns);
        self
    }

    /// Starts the span without making it current; the caller ends it with [`LiveSpan::end`].
    pub fn start_detached(self) -> LiveSpan {
        let span = create_span(self.name, self.span_type, self.parent, self.start_time_ns);
        if span.is_recording() {
            let inputs = self.inputs;
            let attributes = self.attributes;
            span.with_state(|s| {
                if inputs.is_some() {
                    s.inputs = inputs;
                }
                for (k, v) in attributes {
                    s.put_attribute(k, v);
                }
            });
        }
        span
    }

    /// Starts the span as the current span until the guard drops.
    pub fn start(self) -> SpanGuard {
        let enabled = crate::config::is_enabled();
        let span = self.start_detached();
        // A sampled-out span still becomes current so its children are not recorded either.
        let context = enabled.then(|| ContextGuard::enter_span(span.clone()));
        SpanGuard { span, _context: context }
    }

    /// Runs `f` inside the span. A panic leaving `f` is recorded (exception event, ERROR) and
    /// resumed.
    pub fn run<R>(self, f: impl FnOnce(&LiveSpan) -> R) -> R {
        let guard = self.start();
        f(&guard)
    }

    /// Runs `f` inside the span; an `Err` is recorded as an exception (event and ERROR
    /// status) and returned.
    pub fn try_run<T, E: std::fmt::Display>(self, f: impl FnOnce(&LiveSpan) -> Result<T, E>) -> Result<T, E> {
        let guard = self.start();
        let result = f(&guard);
        if let Err(e) = &result {
            record_error_display(&guard, e);
        }
        result
    }

    /// Runs a future inside the span: the span is current at every poll (across `.await`s
    /// and threads) and ends when the future completes.
    pub async fn run_async<F: std::future::Future>(self, f: impl FnOnce(LiveSpan) -> F) -> F::Output {
        use crate::context::FutureExt;
        let span = self.start_detached();
        let guard = EndOnDrop(span.clone());
        let output = f(span.clone()).in_span(&span).await;
        drop(guard);
        output
    }
}

/// Records an error known only by `Display`: type from the Rust type name.
pub(crate) fn record_error_display<E: std::fmt::Display>(span: &LiveSpan, error: &E) {
    if span.is_recording() {
        let type_name = clew_model::event::short_type_name(std::any::type_name::<E>());
        let message = error.to_string();
        span.record_exception_parts(&type_name, &message, &message);
    }
}

/// Ends a span on drop, recording a panic if one is unwinding.
pub(crate) struct EndOnDrop(pub(crate) LiveSpan);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        end_recording_panic(&self.0);
    }
}

fn end_recording_panic(span: &LiveSpan) {
    if !span.is_recording() {
        return;
    }
    if std::thread::panicking() {
        span.record_exception_parts("panic", "the code in this span panicked", &crate::backtrace_text());
    }
    span.end();
}

/// The current span while it lives; ends the span when dropped.
///
/// Derefs to [`LiveSpan`]. Don't hold it across `.await`: for async code use
/// [`SpanBuilder::run_async`] or [`crate::context::FutureExt::in_span`].
#[must_use = "the span ends when the guard is dropped"]
pub struct SpanGuard {
    span: LiveSpan,
    _context: Option<ContextGuard>,
}

impl SpanGuard {
    /// The span (a clone of the handle).
    pub fn span(&self) -> LiveSpan {
        self.span.clone()
    }
}

impl std::ops::Deref for SpanGuard {
    type Target = LiveSpan;
    fn deref(&self) -> &LiveSpan {
        &self.span
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        end_recording_panic(&self.span);
        // `_context` drops after this, restoring the previous current span.
    }
}

/// Starts a span that is not made current; end it with [`LiveSpan::end`]. With no parent it
/// starts a new trace.
pub fn start_span_no_context(name: impl Into<Cow<'static, str>>, parent: Option<&LiveSpan>) -> LiveSpan {
    let builder = SpanBuilder::new(name);
    match parent {
        Some(p) => builder.parent(p).start_detached(),
        None => builder.root().start_detached(),
    }
}
