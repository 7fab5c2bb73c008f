//! Export counters: what was exported, dropped and failed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

/// Live counters of the exporter. Read them with [`ExportStats::snapshot`].
#[derive(Debug, Default)]
pub struct ExportStats {
    pub(crate) traces_exported: AtomicU64,
    pub(crate) spans_exported: AtomicU64,
    pub(crate) traces_dropped_queue_full: AtomicU64,
    pub(crate) traces_failed: AtomicU64,
    pub(crate) late_spans_dropped: AtomicU64,
    pub(crate) traces_dropped_by_processor: AtomicU64,
    pub(crate) processor_panics: AtomicU64,
    pub(crate) queued_bytes: AtomicU64,
    pub(crate) queued_traces: AtomicU64,
    pub(crate) export_retries: AtomicU64,
    pub(crate) traces_dropped_after_retries: AtomicU64,
    pub(crate) retry_buffered_traces: AtomicU64,
}

/// A point-in-time copy of the export counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportStatsSnapshot {
    /// Traces written to their destination.
    pub traces_exported: u64,
    pub spans_exported: u64,
    /// Traces dropped because the queue was at its byte bound.
    pub traces_dropped_queue_full: u64,
    /// Traces the destination failed to write.
    pub traces_failed: u64,
    /// Child spans that ended after their trace was exported (MLflow drops these too).
    pub late_spans_dropped: u64,
    pub traces_dropped_by_processor: u64,
    pub processor_panics: u64,
    /// Bytes and traces waiting in the queue now.
    pub queued_bytes: u64,
    pub queued_traces: u64,
    /// Requests to a server or collector sent again after a failure (connection refused,
    /// timeout, 429/5xx).
    pub export_retries: u64,
    /// Traces given up on after retrying while the server stayed unreachable or overloaded
    /// (also counted in `traces_failed`).
    pub traces_dropped_after_retries: u64,
    /// Traces waiting in an exporter's retry buffer now.
    pub retry_buffered_traces: u64,
}

impl ExportStats {
    pub fn snapshot(&self) -> ExportStatsSnapshot {
        ExportStatsSnapshot {
            traces_exported: self.traces_exported.load(Relaxed),
            spans_exported: self.spans_exported.load(Relaxed),
            traces_dropped_queue_full: self.traces_dropped_queue_full.load(Relaxed),
            traces_failed: self.traces_failed.load(Relaxed),
            late_spans_dropped: self.late_spans_dropped.load(Relaxed),
            traces_dropped_by_processor: self.traces_dropped_by_processor.load(Relaxed),
            processor_panics: self.processor_panics.load(Relaxed),
            queued_bytes: self.queued_bytes.load(Relaxed),
            queued_traces: self.queued_traces.load(Relaxed),
            export_retries: self.export_retries.load(Relaxed),
            traces_dropped_after_retries: self.traces_dropped_after_retries.load(Relaxed),
            retry_buffered_traces: self.retry_buffered_traces.load(Relaxed),
        }
    }
    pub(crate) fn record_late_span(&self) {
        self.late_spans_dropped.fetch_add(1, Relaxed);
    }
    pub(crate) fn record_processor_drop(&self) {
        self.traces_dropped_by_processor.fetch_add(1, Relaxed);
    }
    pub(crate) fn record_retry(&self) {
        self.export_retries.fetch_add(1, Relaxed);
    }
    pub(crate) fn record_exported(&self, traces: u64, spans: u64) {
        self.traces_exported.fetch_add(traces, Relaxed);
        self.spans_exported.fetch_add(spans, Relaxed);
    }
    /// Traces a destination gave up on; `after_retries` when the server stayed unreachable.
    pub(crate) fn record_failed(&self, traces: u64, after_retries: bool) {
        self.traces_failed.fetch_add(traces, Relaxed);
        if after_retries {
            self.traces_dropped_after_retries.fetch_add(traces, Relaxed);
        }
    }
    pub(crate) fn record_processor_panic(&self) {
        self.processor_panics.fetch_add(1, Relaxed);
    }
}

/// The process-wide export counters.
pub fn stats() -> &'static ExportStats {
    static STATS: OnceLock<ExportStats> = OnceLock::new();
    STATS.get_or_init(ExportStats::default)
}
