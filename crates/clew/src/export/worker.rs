//! The background export worker: one thread draining a queue bounded in bytes.

use super::stats::stats;
use crate::span::SpanInner;
use crate::trace_buffer::TraceBuffer;
use clew_model::Trace;
use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Default byte bound of the queue: a burst of 10,000 five-span traces is ~15 MB, so bursts
/// far larger than that fit.
const DEFAULT_QUEUE_BYTES: u64 = 512 * 1024 * 1024;
/// At most this many traces go to a destination in one call (one store transaction).
const MAX_BATCH_TRACES: usize = 2048;

enum Message {
    Trace { buffer: Arc<TraceBuffer>, spans: Vec<Arc<SpanInner>>, bytes: u64 },
    Flush(Sender<()>),
}

struct Exporter {
    sender: Sender<Message>,
    max_bytes: u64,
}

/// Started by the first finished trace, so a process that never traces opens no store.
static EXPORTER: OnceLock<Exporter> = OnceLock::new();

fn exporter() -> &'static Exporter {
    EXPORTER.get_or_init(|| {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let spawned = std::thread::Builder::new().name("clew-export".into()).spawn(move || run(receiver));
        if let Err(e) = spawned {
            crate::report::warn(&format!("could not start the export thread ({e}); traces will be dropped"));
        }
        register_exit_flush();
        let max_bytes = std::env::var("CLEW_EXPORT_QUEUE_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_QUEUE_BYTES);
        Exporter { sender, max_bytes }
    })
}

/// Queues a finished trace. Never blocks: past the byte bound the trace is dropped and counted.
pub(crate) fn submit(buffer: Arc<TraceBuffer>, spans: Vec<Arc<SpanInner>>, bytes: u64) {
    let exporter = exporter();
    let counters = stats();
    let queued = counters.queued_bytes.fetch_add(bytes, Relaxed);
    if queued + bytes > exporter.max_bytes {
        counters.queued_bytes.fetch_sub(bytes, Relaxed);
        counters.traces_dropped_queue_full.fetch_add(1, Relaxed);
        crate::report::warn_rate_limited(
            "queue-full",
            &format!(
                "export queue is full ({} bytes, CLEW_EXPORT_QUEUE_BYTES); traces are being dropped ({} so far)",
                exporter.max_bytes,
                counters.traces_dropped_queue_full.load(Relaxed)
            ),
        );
        return;
    }
    counters.queued_traces.fetch_add(1, Relaxed);
    if exporter.sender.send(Message::Trace { buffer, spans, bytes }).is_err() {
        counters.queued_bytes.fetch_sub(bytes, Relaxed);
        counters.queued_traces.fetch_sub(1, Relaxed);
        counters.traces_failed.fetch_add(1, Relaxed);
    }
}

/// Waits until every trace queued before this call has reached its destination.
pub fn flush() {
    flush_timeout(Duration::from_secs(60));
}

/// Like [`flush`] with a time limit; returns whether everything was written in time.
pub fn flush_timeout(timeout: Duration) -> bool {
    // Nothing was ever queued: nothing to wait for, and no destination to open (flushing a
    // never-used local store would create its file).
    let Some(exporter) = EXPORTER.get() else {
        return true;
    };
    let (ack, done) = crossbeam_channel::bounded(1);
    if exporter.sender.send(Message::Flush(ack)).is_err() {
        return false;
    }
    done.recv_timeout(timeout).is_ok()
}

fn run(receiver: Receiver<Message>) {
    let mut batch: Vec<(Arc<TraceBuffer>, Vec<Arc<SpanInner>>, u64)> = Vec::new();
    let mut flushes: Vec<Sender<()>> = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Trace { buffer, spans, bytes } => batch.push((buffer, spans, bytes)),
                Message::Flush(ack) => flushes.push(ack),
            }
            if batch.len() < MAX_BATCH_TRACES {
                next = receiver.try_recv().ok();
            }
        }
        export_batch(std::mem::take(&mut batch));
        if !flushes.is_empty() {
            flush_destinations();
            for ack in flushes.drain(..) {
                let _ = ack.send(());
            }
        }
    }
}

/// Groups a batch by destination (keeping order) and writes each group in one call.
fn export_batch(batch: Vec<(Arc<TraceBuffer>, Vec<Arc<SpanInner>>, u64)>) {
    if batch.is_empty() {
        return;
    }
    let counters = stats();
    let mut groups: Vec<(Arc<super::ExportTarget>, Vec<Trace>, u64)> = Vec::new();
    for (buffer, spans, bytes) in batch {
        counters.queued_bytes.fetch_sub(bytes, Relaxed);
        counters.queued_traces.fetch_sub(1, Relaxed);
        let target = buffer.target.clone();
        let destination = &target.destination;
        let Some(spans) = buffer.take_finished(spans) else { continue };
        if buffer.is_remote {
            let span_count = spans.len() as u64;
            let spans = crate::finalize::spans_of(&buffer, spans);
            let counted = destination.counts_itself();
            match destination.export_spans(&buffer.experiment_id, spans) {
                Ok(()) if counted => {}
                Ok(()) => {
                    counters.spans_exported.fetch_add(span_count, Relaxed);
                }
                Err(e) => report_failure(if counted { 0 } else { 1 }, &e),
            }
            continue;
        }
        let trace = crate::finalize::build_trace(&buffer, spans);
        let span_count = trace.data.spans.len() as u64;
        match groups.iter_mut().find(|(t, _, _)| Arc::ptr_eq(t, &target)) {
            Some(group) => {
                group.1.push(trace);
                group.2 += span_count;
            }
            None => groups.push((target, vec![trace], span_count)),
        }
    }
    for (target, traces, span_count) in groups {
        let trace_count = traces.len() as u64;
        // Exporters with a retry buffer count their own outcomes (hook for retries).
        let counted = target.destination.counts_itself();
        match target.destination.export(traces) {
            Ok(()) if counted => {}
            Err(e) if counted => report_failure(0, &e),
            Ok(()) => {
                counters.traces_exported.fetch_add(trace_count, Relaxed);
                counters.spans_exported.fetch_add(span_count, Relaxed);
            }
            Err(e) => report_failure(trace_count, &e),
        }
    }
}

fn report_failure(traces: u64, error: &super::ExportError) {
    let counters = stats();
    counters.traces_failed.fetch_add(traces, Relaxed);
    crate::report::warn_rate_limited(
        "export-failed",
        &format!("{error} ({} traces failed so far)", counters.traces_failed.load(Relaxed)),
    );
}

fn flush_destinations() {
    let destination = crate::config::current_target().destination.clone();
    if let Err(e) = destination.flush() {
        report_failure(0, &e);
    }
}

/// Flushes the queue when the process exits normally (returning from `main` or
/// `std::process::exit`), waiting at most `CLEW_EXPORT_FLUSH_ON_EXIT_SECS` (default 10).
fn register_exit_flush() {
    extern "C" fn flush_at_exit() {
        let secs = std::env::var("CLEW_EXPORT_FLUSH_ON_EXIT_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(10);
        let pending = stats().queued_traces.load(Relaxed);
        if pending > 0 && !flush_timeout(Duration::from_secs(secs)) {
            eprintln!(
                "clew: {} traces were still being exported at exit after {secs}s (CLEW_EXPORT_FLUSH_ON_EXIT_SECS)",
                stats().queued_traces.load(Relaxed)
            );
        }
    }
    // SAFETY: registering a plain `extern "C" fn` with no captured state.
    unsafe {
        libc::atexit(flush_at_exit);
    }
}
