//! The one durable ingest path: the REST API (StartTraceV3) and OTLP (HTTP and gRPC) write
//! through here. A successful return means the store committed the write; when too many
//! spans are already waiting to be committed, the request is refused at once (429 /
//! `RESOURCE_EXHAUSTED` with Retry-After) instead of queueing without bound.

use crate::error::ApiError;
use crate::metrics::Metrics;
use clew_model::{Span, TraceInfo};
use clew_store::TraceStore;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Seconds a refused client is told to wait before retrying.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn TraceStore>,
    pending: Arc<Semaphore>,
    capacity: u32,
    metrics: Arc<Metrics>,
}

impl Ingest {
    pub fn new(store: Arc<dyn TraceStore>, max_pending_spans: usize, metrics: Arc<Metrics>) -> Self {
        let capacity = u32::try_from(max_pending_spans.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Ingest { store, pending: Arc::new(Semaphore::new(capacity as usize)), capacity, metrics }
    }

    fn admit(&self, spans: usize) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        // A batch larger than the whole capacity is admitted alone rather than never.
        let wanted = u32::try_from(spans.max(1)).unwrap_or(u32::MAX).min(self.capacity);
        self.pending.try_acquire_many(wanted).map_err(|_| {
            self.metrics.record_rejected("overloaded");
            ApiError::overloaded(
                format!(
                    "the server has {} spans waiting to be committed (--max-pending-spans); retry after {RETRY_AFTER_SECS}s",
                    self.capacity as usize - self.pending.available_permits()
                ),
                RETRY_AFTER_SECS,
            )
        })
    }

    /// Spans waiting to be committed now.
    pub fn pending_spans(&self) -> usize {
        self.capacity as usize - self.pending.available_permits()
    }

    /// Stores spans (OTLP): idempotent, any order, any number of times.
    pub async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> Result<(), ApiError> {
        let count = spans.len();
        let _permit = self.admit(count)?;
        self.metrics.set_pending_spans(self.pending_spans());
        let result = self.store.log_spans(experiment_id, spans).await;
        self.metrics.set_pending_spans(self.pending_spans().saturating_sub(count));
        result.map_err(|e| {
            self.metrics.record_rejected("store_error");
            ApiError::from(e)
        })?;
        self.metrics.record_spans_ingested(count as u64);
        Ok(())
    }

    /// Stores the final trace info (StartTraceV3); returns what was stored.
    pub async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo, ApiError> {
        let _permit = self.admit(1)?;
        let stored = self.store.start_trace(info).await.map_err(|e| {
            self.metrics.record_rejected("store_error");
            ApiError::from(e)
        })?;
        self.metrics.record_trace_ingested();
        Ok(stored)
    }

    /// Waits until every accepted write has been committed (graceful shutdown).
    pub async fn drain(&self) {
        if let Ok(all) = self.pending.acquire_many(self.capacity).await {
            drop(all);
        }
    }
}
