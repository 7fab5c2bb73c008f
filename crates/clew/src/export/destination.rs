//! Where finished traces go.

use super::{LocalStoreDestination, MemoryDestination, ServerDestination};
use clew_model::{Span, Trace};
use clew_store::TraceStore;
use std::sync::Arc;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("destination {destination} failed: {message}")]
    Failed { destination: String, message: String },
    #[error("destination {destination} is not available: {message}")]
    Unavailable { destination: String, message: String },
}

/// A place traces are written to. Methods run on the export worker thread, never on user
/// threads.
pub trait Destination: Send + Sync + 'static {
    /// A short description for messages, e.g. `sqlite:///clew.db`.
    fn describe(&self) -> String;
    /// Writes finished traces (info and spans).
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError>;
    /// Writes spans of a trace whose root lives in another process (continued from a
    /// `traceparent`); no final trace info exists here.
    fn export_spans(&self, experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError>;
    /// Makes everything exported so far durable.
    fn flush(&self) -> Result<(), ExportError> {
        Ok(())
    }
    /// The store reads go to (`get_trace`, `search_traces`, experiments), if any.
    fn store(&self) -> Option<Arc<dyn TraceStore>> {
        None
    }
    /// A trace held by the destination itself (the in-memory destination), if any.
    fn find_trace(&self, _trace_id: &str) -> Option<Trace> {
        None
    }
    /// True when the destination records its own outcomes in [`super::stats`] (exporters
    /// with a retry buffer, whose traces may succeed or fail in a later call); the worker
    /// then counts nothing for its calls.
    fn counts_itself(&self) -> bool {
        false
    }
}

/// Things [`crate::set_destination`] accepts.
pub trait IntoDestination {
    fn into_destination(self) -> Arc<dyn Destination>;
}

impl<D: Destination> IntoDestination for D {
    fn into_destination(self) -> Arc<dyn Destination> {
        Arc::new(self)
    }
}

impl IntoDestination for Arc<dyn Destination> {
    fn into_destination(self) -> Arc<dyn Destination> {
        self
    }
}

/// Discards everything (benchmarks; tracing with no output).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullDestination;

impl Destination for NullDestination {
    fn describe(&self) -> String {
        "null".to_string()
    }
    fn export(&self, _traces: Vec<Trace>) -> Result<(), ExportError> {
        Ok(())
    }
    fn export_spans(&self, _experiment_id: &str, _spans: Vec<Span>) -> Result<(), ExportError> {
        Ok(())
    }
}

/// A destination that cannot be used; every export fails with the reason, so losses are
/// counted and reported rather than silent.
struct UnavailableDestination {
    uri: String,
    reason: String,
}

impl Destination for UnavailableDestination {
    fn describe(&self) -> String {
        self.uri.clone()
    }
    fn export(&self, _traces: Vec<Trace>) -> Result<(), ExportError> {
        Err(ExportError::Unavailable { destination: self.uri.clone(), message: self.reason.clone() })
    }
    fn export_spans(&self, _experiment_id: &str, _spans: Vec<Span>) -> Result<(), ExportError> {
        Err(ExportError::Unavailable { destination: self.uri.clone(), message: self.reason.clone() })
    }
}

/// The destination for a tracking URI: `sqlite:///path` (the embedded store),
/// `http(s)://host:port` (a tracking server: MLflow or `clew server`), `memory:`.
/// A URI that cannot be used gives a destination that reports why on every export.
pub fn destination_from_uri(uri: &str) -> Arc<dyn Destination> {
    let uri = uri.trim();
    if uri.starts_with("sqlite:") {
        return match LocalStoreDestination::open_uri(uri) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                let reason = format!("cannot open the store: {e}");
                crate::report::warn(&format!("tracking URI {uri}: {reason}"));
                Arc::new(UnavailableDestination { uri: uri.to_string(), reason })
            }
        };
    }
    if uri == "memory" || uri == "memory:" {
        return Arc::new(MemoryDestination::new());
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return match ServerDestination::new(uri) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                let reason = e.to_string();
                crate::report::warn(&format!("tracking URI {uri}: {reason}"));
                Arc::new(UnavailableDestination { uri: uri.to_string(), reason })
            }
        };
    }
    let reason = "unsupported tracking URI scheme; use sqlite:///path/to/file.db, http(s)://host:port or memory:".to_string();
    crate::report::warn(&format!("tracking URI {uri}: {reason}"));
    Arc::new(UnavailableDestination { uri: uri.to_string(), reason })
}
