//! The in-process buffer of one trace: finished spans collect here until the trace's first
//! span ends, then the whole trace goes to the exporter.

use crate::export::ExportTarget;
use crate::span::{SpanInner, SpanState};
use compact_str::CompactString;
use clew_model::{keys, Span, SpanEvent, SpanId, SpanStatus, SpanType, TraceId, TraceState};
use indexmap::IndexMap;
use parking_lot::Mutex;
use serde::Serialize;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Changes to a running trace from `update_current_trace` and friends; applied at export.
#[derive(Clone, Debug, Default)]
pub struct TraceOverrides {
    pub tags: IndexMap<String, String>,
    pub metadata: IndexMap<String, String>,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    pub state: Option<TraceState>,
    pub client_request_id: Option<String>,
}

pub(crate) struct TraceBuffer {
    pub(crate) trace_id: TraceId,
    pub(crate) experiment_id: String,
    /// Continued from a remote parent: no root here, so no final trace info is written.
    pub(crate) is_remote: bool,
    pub(crate) target: Arc<ExportTarget>,
    pub(crate) processors: crate::config::Processors,
    finished: Mutex<Finished>,
    pub(crate) overrides: Mutex<TraceOverrides>,
    exported: AtomicBool,
}

/// Ended spans waiting for their trace to be exported, and their approximate size.
#[derive(Default)]
struct Finished {
    spans: Vec<Arc<SpanInner>>,
    bytes: usize,
}

impl TraceBuffer {
    pub(crate) fn new(
        trace_id: TraceId,
        experiment_id: String,
        is_remote: bool,
        target: Arc<ExportTarget>,
        processors: crate::config::Processors,
        overrides: TraceOverrides,
    ) -> Self {
        TraceBuffer {
            trace_id,
            experiment_id,
            is_remote,
            target,
            processors,
            finished: Mutex::new(Finished { spans: Vec::with_capacity(8), bytes: 0 }),
            overrides: Mutex::new(overrides),
            exported: AtomicBool::new(false),
        }
    }

    pub(crate) fn request_id(&self) -> String {
        self.trace_id.to_mlflow()
    }

    /// Takes an ended span (kept in place: only its handle moves); when it is the local
    /// root, hands the trace to the exporter. Conversion and span processors run there, on
    /// the export worker, not on the user's thread.
    pub(crate) fn finish_span(self: Arc<Self>, span: Arc<SpanInner>, approx_bytes: usize) {
        if self.exported.load(Ordering::Acquire) {
            // MLflow drops a child that ends after its trace was exported; we count it.
            crate::export::stats().record_late_span();
            return;
        }
        let is_local_root = span.is_local_root;
        let mut finished = self.finished.lock();
        finished.spans.push(span);
        finished.bytes += approx_bytes;
        if !is_local_root {
            return;
        }
        let Finished { spans, bytes } = std::mem::take(&mut *finished);
        drop(finished);
        if !self.is_remote {
            // A remote trace has more local roots to come; only a real root closes the trace.
            self.exported.store(true, Ordering::Release);
            crate::fluent::note_trace_ended(self.trace_id);
        }
        crate::export::submit(self, spans, bytes as u64);
    }

    /// The ended spans as [`FinishedSpan`]s, after the span processors. `None` when a
    /// processor dropped the root (which drops the trace).
    pub(crate) fn take_finished(&self, spans: Vec<Arc<SpanInner>>) -> Option<Vec<FinishedSpan>> {
        let mut out = Vec::with_capacity(spans.len());
        for inner in spans {
            let mut span = {
                let mut state = inner.state.lock();
                FinishedSpan::take(inner.span_id, inner.parent_id, &mut state)
            };
            let mut keep = true;
            for processor in self.processors.iter() {
                keep &= crate::config::run_processor(processor.as_ref(), &mut span);
            }
            if keep {
                out.push(span);
            } else if inner.is_local_root {
                crate::export::stats().record_processor_drop();
                return None;
            }
        }
        Some(out)
    }
}

/// A span that has ended, before export. Span processors receive it mutably and may redact
/// any field; values are JSON text.
#[derive(Clone, Debug)]
pub struct FinishedSpan {
    pub span_id: SpanId,
    pub parent_id: Option<SpanId>,
    pub name: Cow<'static, str>,
    pub span_type: SpanType,
    pub start_time_ns: i64,
    pub end_time_ns: i64,
    pub status: SpanStatus,
    /// JSON text of the inputs.
    pub inputs: Option<String>,
    /// JSON text of the outputs.
    pub outputs: Option<String>,
    pub function_name: Option<Cow<'static, str>>,
    /// User attributes: key → JSON text.
    pub attributes: Vec<(String, String)>,
    pub events: Vec<SpanEvent>,
}

impl FinishedSpan {
    pub(crate) fn take(span_id: SpanId, parent_id: Option<SpanId>, state: &mut SpanState) -> FinishedSpan {
        FinishedSpan {
            span_id,
            parent_id,
            name: std::mem::take(&mut state.name),
            span_type: std::mem::take(&mut state.span_type),
            start_time_ns: state.start_time_ns,
            end_time_ns: state.end_time_ns.unwrap_or(state.start_time_ns),
            status: std::mem::take(&mut state.status),
            inputs: state.inputs.take().map(CompactString::into_string),
            outputs: state.outputs.take().map(CompactString::into_string),
            function_name: state.function_name.take(),
            attributes: std::mem::take(&mut state.attributes).into_iter().map(|(k, v)| (k, v.into_string())).collect(),
            events: std::mem::take(&mut state.events),
        }
    }

    /// The decoded inputs.
    pub fn inputs_value(&self) -> Option<serde_json::Value> {
        self.inputs.as_deref().and_then(|t| serde_json::from_str(t).ok())
    }
    /// The decoded outputs.
    pub fn outputs_value(&self) -> Option<serde_json::Value> {
        self.outputs.as_deref().and_then(|t| serde_json::from_str(t).ok())
    }
    /// Replaces the inputs (e.g. to redact them).
    pub fn set_inputs<T: Serialize>(&mut self, inputs: T) {
        self.inputs = Some(crate::json_text::to_json_text(&inputs));
    }
    /// Replaces the outputs (e.g. to redact them).
    pub fn set_outputs<T: Serialize>(&mut self, outputs: T) {
        self.outputs = Some(crate::json_text::to_json_text(&outputs));
    }
    /// Sets or replaces an attribute.
    pub fn set_attribute<T: Serialize>(&mut self, key: &str, value: T) {
        let text = crate::json_text::to_json_text(&value);
        match self.attributes.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = text,
            None => self.attributes.push((key.to_string(), text)),
        }
    }
    /// Removes an attribute; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        let before = self.attributes.len();
        self.attributes.retain(|(k, _)| k != key);
        before != self.attributes.len()
    }

    /// The stored form: MLflow's reserved attributes first, then the user's.
    pub(crate) fn into_span(self, trace_id: TraceId, request_id_text: &str) -> Span {
        let mut attributes = IndexMap::with_capacity(self.attributes.len() + 5);
        attributes.insert(keys::TRACE_REQUEST_ID.to_string(), request_id_text.to_string());
        attributes.insert(keys::SPAN_TYPE.to_string(), crate::json_text::to_json_text(self.span_type.as_str()));
        if let Some(f) = &self.function_name {
            attributes.insert(keys::SPAN_FUNCTION_NAME.to_string(), crate::json_text::to_json_text(f.as_ref()));
        }
        if let Some(inputs) = self.inputs {
            attributes.insert(keys::SPAN_INPUTS.to_string(), inputs);
        }
        for (k, v) in self.attributes {
            attributes.insert(k, v);
        }
        if let Some(outputs) = self.outputs {
            attributes.insert(keys::SPAN_OUTPUTS.to_string(), outputs);
        }
        Span {
            trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
            name: self.name.into_owned(),
            start_time_ns: self.start_time_ns,
            end_time_ns: Some(self.end_time_ns),
            status: self.status,
            attributes,
            events: self.events,
            links: Vec::new(),
        }
    }
}
