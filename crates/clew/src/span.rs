//! Live spans: the mutable handle user code holds while a span runs.
//!
//! A [`LiveSpan`] is an `Arc` handle: cheap to clone, `Send + Sync`, so it can be moved into
//! threads and tasks or held by another language's runtime. A span that is not recorded
//! (tracing disabled, sampled out) is a no-op handle with no allocation.

use crate::json_text::to_json_compact;
use compact_str::CompactString;
use crate::trace_buffer::TraceBuffer;
use clew_model::{keys, SpanEvent, SpanId, SpanStatus, SpanStatusCode, SpanType, TraceId};
use parking_lot::Mutex;
use serde::Serialize;
use std::borrow::Cow;
use std::sync::{Arc, Weak};

/// The no-op trace id MLflow reports for spans that are not recorded.
pub const NO_OP_SPAN_TRACE_ID: &str = "MLFLOW_NO_OP_SPAN_TRACE_ID";

pub(crate) struct SpanInner {
    pub(crate) span_id: SpanId,
    pub(crate) parent_id: Option<SpanId>,
    pub(crate) trace_id: TraceId,
    /// The trace's buffer. The span that started the trace here owns it; the others refer to
    /// it weakly, so a trace whose root is dropped without ending frees everything.
    pub(crate) trace: TraceRef,
    /// The first span of this trace in this process: ending it exports the trace.
    pub(crate) is_local_root: bool,
    /// A stand-in for a parent in another process: never ended or exported itself.
    pub(crate) placeholder: bool,
    pub(crate) state: Mutex<SpanState>,
}

pub(crate) enum TraceRef {
    Owner(Arc<TraceBuffer>),
    Member(Weak<TraceBuffer>),
}

impl TraceRef {
    /// A reference for a new span in the same trace.
    pub(crate) fn member(&self) -> TraceRef {
        match self {
            TraceRef::Owner(buffer) => TraceRef::Member(Arc::downgrade(buffer)),
            TraceRef::Member(weak) => TraceRef::Member(weak.clone()),
        }
    }
    /// The buffer, unless the trace is gone (its root was dropped without ending).
    pub(crate) fn get(&self) -> Option<Arc<TraceBuffer>> {
        match self {
            TraceRef::Owner(buffer) => Some(buffer.clone()),
            TraceRef::Member(weak) => weak.upgrade(),
        }
    }
}

impl SpanInner {
    pub(crate) fn is_placeholder(&self) -> bool {
        self.placeholder
    }
}

/// What a span accumulates while it runs. Values are JSON text already.
pub(crate) struct SpanState {
    pub(crate) name: Cow<'static, str>,
    pub(crate) span_type: SpanType,
    pub(crate) start_time_ns: i64,
    pub(crate) status: SpanStatus,
    pub(crate) inputs: Option<CompactString>,
    pub(crate) outputs: Option<CompactString>,
    pub(crate) function_name: Option<Cow<'static, str>>,
    /// User attributes in first-set order; a later set replaces the value in place.
    pub(crate) attributes: Vec<(String, CompactString)>,
    pub(crate) events: Vec<SpanEvent>,
    pub(crate) end_time_ns: Option<i64>,
}

/// A span while it runs. Clone it freely; all clones are the same span.
///
/// ```
/// let span = clew::start_span("my_span");
/// span.set_inputs(&serde_json::json!({"x": 1, "y": 2}));
/// span.set_outputs(3);
/// ```
#[derive(Clone, Default)]
pub struct LiveSpan {
    pub(crate) inner: Option<Arc<SpanInner>>,
}

impl std::fmt::Debug for LiveSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            None => f.write_str("LiveSpan(no-op)"),
            Some(inner) => write!(
                f,
                "LiveSpan({} {} {:?})",
                inner.trace_id.to_mlflow(),
                inner.span_id,
                inner.state.lock().name
            ),
        }
    }
}

impl LiveSpan {
    /// A span that records nothing.
    pub fn noop() -> Self {
        LiveSpan { inner: None }
    }

    pub(crate) fn from_inner(inner: Arc<SpanInner>) -> Self {
        LiveSpan { inner: Some(inner) }
    }

    /// Whether this span records anything (false when disabled or sampled out).
    pub fn is_recording(&self) -> bool {
        self.inner.is_some()
    }

    /// MLflow's trace id (`tr-…`), or `MLFLOW_NO_OP_SPAN_TRACE_ID` for a no-op span.
    pub fn trace_id(&self) -> String {
        match &self.inner {
            Some(inner) => inner.trace_id.to_mlflow(),
            None => NO_OP_SPAN_TRACE_ID.to_string(),
        }
    }

    /// The 16-hex span id, `None` for a no-op span.
    pub fn span_id(&self) -> Option<String> {
        self.inner.as_ref().map(|i| i.span_id.to_hex())
    }

    /// The parent's 16-hex span id, `None` for a root or no-op span.
    pub fn parent_id(&self) -> Option<String> {
        self.inner.as_ref().and_then(|i| i.parent_id.map(|p| p.to_hex()))
    }

    pub fn name(&self) -> Option<String> {
        self.inner.as_ref().map(|i| i.state.lock().name.to_string())
    }

    pub fn span_type(&self) -> Option<SpanType> {
        self.inner.as_ref().map(|i| i.state.lock().span_type.clone())
    }

    pub fn status(&self) -> Option<SpanStatus> {
        self.inner.as_ref().map(|i| i.state.lock().status.clone())
    }

    pub(crate) fn with_state(&self, f: impl FnOnce(&mut SpanState)) {
        if let Some(inner) = &self.inner {
            let mut state = inner.state.lock();
            if state.end_time_ns.is_none() {
                f(&mut state);
            }
        }
    }

    /// Sets the span's inputs (any `Serialize` value; stored as JSON text).
    pub fn set_inputs<T: Serialize>(&self, inputs: T) {
        if self.inner.is_some() {
            let text = to_json_compact(&inputs);
            self.with_state(|s| s.inputs = Some(text));
        }
    }

    /// Sets the span's outputs (any `Serialize` value; stored as JSON text).
    /// For RETRIEVER spans, pass a list of [`clew_model::Document`]s.
    pub fn set_outputs<T: Serialize>(&self, outputs: T) {
        if self.inner.is_some() {
            let text = to_json_compact(&outputs);
            self.with_state(|s| s.outputs = Some(text));
        }
    }

    /// Sets the inputs from JSON text that is already serialised.
    pub fn set_inputs_json(&self, json_text: impl Into<CompactString>) {
        let text = json_text.into();
        self.with_state(|s| s.inputs = Some(text));
    }

    /// Sets the outputs from JSON text that is already serialised.
    pub fn set_outputs_json(&self, json_text: impl Into<CompactString>) {
        let text = json_text.into();
        self.with_state(|s| s.outputs = Some(text));
    }

    /// Sets one attribute (any `Serialize` value). Setting a reserved `mlflow.*` key such as
    /// `mlflow.spanInputs` goes to the matching field.
    pub fn set_attribute<T: Serialize>(&self, key: impl Into<String>, value: T) {
        if self.inner.is_some() {
            let text = to_json_compact(&value);
            let key = key.into();
            self.with_state(|s| s.put_attribute(key, text));
        }
    }

    /// Sets several attributes at once.
    pub fn set_attributes<K, V, I>(&self, attributes: I)
    where
        K: Into<String>,
        V: Serialize,
        I: IntoIterator<Item = (K, V)>,
    {
        if self.inner.is_some() {
            let texts: Vec<(String, CompactString)> =
                attributes.into_iter().map(|(k, v)| (k.into(), to_json_compact(&v))).collect();
            self.with_state(|s| {
                for (k, v) in texts {
                    s.put_attribute(k, v);
                }
            });
        }
    }

    /// Adds an event.
    pub fn add_event(&self, event: SpanEvent) {
        self.with_state(|s| s.events.push(event));
    }

    /// Sets the status: a [`SpanStatus`], a [`SpanStatusCode`], or `"OK"` / `"ERROR"` / `"UNSET"`.
    /// OpenTelemetry's rule holds: a description is kept only for ERROR.
    pub fn set_status(&self, status: impl Into<SpanStatus>) {
        let mut status = status.into();
        if status.status_code != SpanStatusCode::Error {
            status.description.clear();
        }
        self.with_state(|s| s.status = status);
    }

    /// Records an error: an `exception` event and status ERROR `"<Type>: <message>"`.
    pub fn record_exception<E: std::error::Error + ?Sized>(&self, error: &E) {
        if self.inner.is_some() {
            self.record_exception_event(SpanEvent::from_error(error));
        }
    }

    /// Records an exception from its parts (used by bindings and the macro).
    pub fn record_exception_parts(&self, type_name: &str, message: &str, stacktrace: &str) {
        if self.inner.is_some() {
            self.record_exception_event(SpanEvent::exception(type_name, message, stacktrace));
        }
    }

    fn record_exception_event(&self, event: SpanEvent) {
        let type_name = event.attributes.get(keys::EXCEPTION_TYPE).and_then(|v| v.as_str()).unwrap_or("Error");
        let message = event.attributes.get(keys::EXCEPTION_MESSAGE).and_then(|v| v.as_str()).unwrap_or("");
        let description = format!("{type_name}: {message}");
        self.with_state(|s| {
            s.status = SpanStatus::error(description);
            s.events.push(event);
        });
    }

    /// Sets one attribute from JSON text that is already serialised (for language bindings,
    /// which serialise their own values). Reserved `mlflow.*` keys go to their fields.
    pub fn set_attribute_json(&self, key: impl Into<String>, json_text: impl Into<CompactString>) {
        if self.inner.is_some() {
            let (key, text) = (key.into(), json_text.into());
            self.with_state(|s| s.put_attribute(key, text));
        }
    }

    /// The inputs as JSON text, if set.
    pub fn inputs_json(&self) -> Option<String> {
        self.inner.as_ref().and_then(|i| i.state.lock().inputs.as_ref().map(|t| t.to_string()))
    }

    /// The outputs as JSON text, if set.
    pub fn outputs_json(&self) -> Option<String> {
        self.inner.as_ref().and_then(|i| i.state.lock().outputs.as_ref().map(|t| t.to_string()))
    }

    /// Whether outputs were set (cheaper than [`LiveSpan::outputs_json`]).
    pub fn has_outputs(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.state.lock().outputs.is_some())
    }

    /// The user attributes (key, JSON text) in first-set order; the reserved `mlflow.*`
    /// attributes (inputs, outputs, type, function name) are read with their own getters.
    pub fn attributes_json(&self) -> Vec<(String, String)> {
        match &self.inner {
            Some(i) => i.state.lock().attributes.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            None => Vec::new(),
        }
    }

    /// The recorded `mlflow.spanFunctionName`, if any.
    pub fn function_name(&self) -> Option<String> {
        self.inner.as_ref().and_then(|i| i.state.lock().function_name.as_ref().map(|n| n.to_string()))
    }

    /// The events added so far.
    pub fn events(&self) -> Vec<SpanEvent> {
        self.inner.as_ref().map(|i| i.state.lock().events.clone()).unwrap_or_default()
    }

    /// Start time (ns since the epoch); `None` for a no-op span.
    pub fn start_time_ns(&self) -> Option<i64> {
        self.inner.as_ref().map(|i| i.state.lock().start_time_ns)
    }

    /// End time (ns since the epoch) once ended.
    pub fn end_time_ns(&self) -> Option<i64> {
        self.inner.as_ref().and_then(|i| i.state.lock().end_time_ns)
    }

    /// Changes the span type.
    pub fn set_span_type(&self, span_type: impl Into<SpanType>) {
        let span_type = span_type.into();
        self.with_state(|s| s.span_type = span_type);
    }

    /// Sets `mlflow.chat.tools` from tool definitions.
    pub fn set_chat_tools(&self, tools: &[clew_model::ChatTool]) {
        self.set_attribute(keys::CHAT_TOOLS, tools);
    }

    /// Records the name of the function this span wraps (`mlflow.spanFunctionName`).
    pub fn set_function_name(&self, name: impl Into<Cow<'static, str>>) {
        let name = name.into();
        self.with_state(|s| s.function_name = Some(name));
    }

    /// Ends the span now: status becomes OK unless it is ERROR. Ending twice does nothing.
    /// Ending a trace's first span exports the trace.
    pub fn end(&self) {
        if self.inner.is_some() {
            self.end_at(crate::clock::now_ns());
        }
    }

    /// Ends the span with an explicit end time (ns since the epoch).
    pub fn end_at(&self, end_time_ns: i64) {
        let Some(inner) = &self.inner else { return };
        let approx_bytes = {
            let mut state = inner.state.lock();
            if state.end_time_ns.is_some() {
                return;
            }
            state.end_time_ns = Some(end_time_ns);
            if state.status.status_code != SpanStatusCode::Error {
                state.status = SpanStatus::ok();
            }
            state.approx_bytes()
        };
        match inner.trace.get() {
            Some(trace) => trace.finish_span(inner.clone(), approx_bytes),
            // The trace's root was dropped without ending: nothing will export this span.
            None => crate::export::stats().record_late_span(),
        }
    }
}

impl SpanState {
    pub(crate) fn new(name: Cow<'static, str>, span_type: SpanType, start_time_ns: i64) -> Self {
        SpanState {
            name,
            span_type,
            start_time_ns,
            status: SpanStatus::unset(),
            inputs: None,
            outputs: None,
            function_name: None,
            attributes: Vec::new(),
            events: Vec::new(),
            end_time_ns: None,
        }
    }

    /// Rough size in bytes, for the export queue's byte bound.
    pub(crate) fn approx_bytes(&self) -> usize {
        const FIXED: usize = 256;
        FIXED
            + self.name.len()
            + self.inputs.as_ref().map_or(0, |t| t.len())
            + self.outputs.as_ref().map_or(0, |t| t.len())
            + self.attributes.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>()
            + self.events.len() * 128
    }

    pub(crate) fn put_attribute(&mut self, key: String, text: CompactString) {
        match key.as_str() {
            keys::SPAN_INPUTS => self.inputs = Some(text),
            keys::SPAN_OUTPUTS => self.outputs = Some(text),
            keys::SPAN_TYPE => {
                if let Ok(serde_json::Value::String(t)) = serde_json::from_str::<serde_json::Value>(&text) {
                    self.span_type = SpanType::from(t);
                }
            }
            // Derived from the trace; a user value would desynchronise the span from its trace.
            keys::TRACE_REQUEST_ID => {}
            _ => match self.attributes.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = text,
                None => self.attributes.push((key, text)),
            },
        }
    }
}
