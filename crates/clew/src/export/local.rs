//! The embedded store destination: a local SQLite file, the default.

use super::{Destination, ExportError};
use clew_model::{Span, Trace};
use clew_store::{SqliteStore, TraceStore};
use std::sync::Arc;

/// Writes traces to a local SQLite store file (the file `clew server` and the CLI read).
///
/// ```no_run
/// let local = clew::LocalStoreDestination::open_uri("sqlite:///traces.db").unwrap();
/// clew::set_destination(local);
/// ```
#[derive(Clone)]
pub struct LocalStoreDestination {
    uri: String,
    store: Arc<dyn TraceStore>,
}

impl LocalStoreDestination {
    /// Opens (creating if needed) the store at a `sqlite:///path` URI.
    pub fn open_uri(uri: &str) -> Result<Self, clew_store::StoreError> {
        let owned = uri.to_string();
        let store = crate::runtime::block_on(async move { SqliteStore::open_uri(&owned) })
            .map_err(clew_store::StoreError::Unavailable)??;
        Ok(LocalStoreDestination { uri: uri.to_string(), store: Arc::new(store) })
    }

    /// Opens (creating if needed) the store file at `path`.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, clew_store::StoreError> {
        let path = path.as_ref().to_path_buf();
        let describe = format!("sqlite file {}", path.display());
        let store = crate::runtime::block_on(async move { SqliteStore::open(&path) })
            .map_err(clew_store::StoreError::Unavailable)??;
        Ok(LocalStoreDestination { uri: describe, store: Arc::new(store) })
    }

    /// Uses an already open store.
    pub fn from_store(uri: impl Into<String>, store: Arc<dyn TraceStore>) -> Self {
        LocalStoreDestination { uri: uri.into(), store }
    }

    fn call<F, Fut>(&self, f: F) -> Result<(), ExportError>
    where
        F: FnOnce(Arc<dyn TraceStore>) -> Fut,
        Fut: std::future::Future<Output = clew_store::StoreResult<()>> + Send + 'static,
    {
        let fut = f(self.store.clone());
        match crate::runtime::block_on(fut) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ExportError::Failed { destination: self.uri.clone(), message: e.to_string() }),
            Err(message) => Err(ExportError::Unavailable { destination: self.uri.clone(), message }),
        }
    }
}

impl Destination for LocalStoreDestination {
    fn describe(&self) -> String {
        self.uri.clone()
    }
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError> {
        self.call(|store| async move { store.write_traces(traces).await })
    }
    fn export_spans(&self, experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError> {
        let experiment_id = experiment_id.to_string();
        self.call(|store| async move { store.log_spans(&experiment_id, spans).await })
    }
    fn store(&self) -> Option<Arc<dyn TraceStore>> {
        Some(self.store.clone())
    }
}
