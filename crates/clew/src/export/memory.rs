//! The in-memory destination, for tests: traces are kept in a list you can inspect.

use super::{Destination, ExportError};
use clew_model::{Span, Trace};
use parking_lot::Mutex;
use std::sync::Arc;

/// Keeps exported traces in memory. Clones share the same list.
///
/// ```
/// let memory = clew::MemoryDestination::new();
/// clew::set_destination(memory.clone());
/// { let _s = clew::start_span("hello"); }
/// clew::flush();
/// assert_eq!(memory.traces().last().unwrap().data.spans[0].name, "hello");
/// # clew::reset();
/// ```
#[derive(Clone, Default)]
pub struct MemoryDestination {
    traces: Arc<Mutex<Vec<Trace>>>,
    remote_spans: Arc<Mutex<Vec<Span>>>,
}

impl MemoryDestination {
    pub fn new() -> Self {
        Self::default()
    }
    /// Every trace exported so far, oldest first.
    pub fn traces(&self) -> Vec<Trace> {
        self.traces.lock().clone()
    }
    /// Spans exported for traces rooted in another process.
    pub fn remote_spans(&self) -> Vec<Span> {
        self.remote_spans.lock().clone()
    }
    pub fn clear(&self) {
        self.traces.lock().clear();
        self.remote_spans.lock().clear();
    }
}

impl Destination for MemoryDestination {
    fn describe(&self) -> String {
        "memory:".to_string()
    }
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError> {
        self.traces.lock().extend(traces);
        Ok(())
    }
    fn export_spans(&self, _experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError> {
        self.remote_spans.lock().extend(spans);
        Ok(())
    }
    fn find_trace(&self, trace_id: &str) -> Option<Trace> {
        self.traces.lock().iter().rev().find(|t| t.info.trace_id == trace_id).cloned()
    }
}
