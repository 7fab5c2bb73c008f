//! Measures SQLite store write throughput: `write_traces` (the SDK path) and `log_spans`
//! (the OTLP path), in spans per second, with realistic span payloads.
//!
//! `cargo run -p clew-store --example write_throughput [traces] [spans_per_trace]`
//! (record numbers with the build profile and machine; see docs/benchmarks.md).

use clew_model::{keys, Trace};
use clew_store::conformance::{json_str, simple_trace, with_attr};
use clew_store::{SqliteStore, TraceStore};
use std::time::Instant;

fn realistic_trace(n: u128, spans_per_trace: u64) -> Trace {
    let mut trace = simple_trace(n, "0", n as i64, 50, spans_per_trace - 1);
    for (i, span) in trace.data.spans.iter_mut().enumerate() {
        let inputs = format!(r#"{{"messages": [{{"role": "user", "content": "Question {n}-{i}: how does tracing work in a retrieval pipeline?"}}], "temperature": 0.2}}"#);
        let outputs = json_str(&format!("Answer {n}-{i}: spans record inputs, outputs and timing of each step of the application."));
        *span = with_attr(with_attr(span.clone(), keys::SPAN_INPUTS, &inputs), keys::SPAN_OUTPUTS, &outputs);
        *span = with_attr(span.clone(), keys::SPAN_TYPE, &json_str("LLM"));
    }
    trace
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let traces = args.first().copied().unwrap_or(2000) as u128;
    let spans_per_trace = args.get(1).copied().unwrap_or(10) as u64;
    let batch = 100u128;

    let store = SqliteStore::open_in_memory()?;
    // Measure acknowledged writes alone, then indexing alone.
    store.set_background_indexing(false);
    let started = Instant::now();
    let mut pending = Vec::new();
    for first in (0..traces).step_by(batch as usize) {
        let chunk: Vec<Trace> = (first..(first + batch).min(traces)).map(|n| realistic_trace(n + 1, spans_per_trace)).collect();
        let store = store.clone();
        pending.push(tokio::spawn(async move { store.write_traces(chunk).await }));
    }
    for p in pending {
        p.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let spans = traces as f64 * spans_per_trace as f64;
    println!(
        "write_traces: {traces} traces x {spans_per_trace} spans in {elapsed:.2}s = {:.0} spans/s ({:.0} traces/s)",
        spans / elapsed,
        traces as f64 / elapsed
    );
    let started = Instant::now();
    let indexed = store.index_pending_spans().await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!("indexing: {indexed} spans in {elapsed:.2}s = {:.0} spans/s", indexed as f64 / elapsed);

    let store = SqliteStore::open_in_memory()?;
    let started = Instant::now();
    let mut pending = Vec::new();
    for n in 0..traces {
        let spans = realistic_trace(n + 1, spans_per_trace).data.spans;
        let store = store.clone();
        // OTLP-style: batches of 5 spans as the MLflow client exports them.
        for chunk in spans.chunks(5) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            pending.push(tokio::spawn(async move { store.log_spans("0", chunk).await }));
        }
    }
    for p in pending {
        p.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("log_spans (5-span batches, concurrent, background indexing on): {:.0} spans/s", spans / elapsed);
    let started = Instant::now();
    let page = store
        .search_traces(&clew_store::SearchTracesRequest {
            filter: Some("trace.text LIKE '%Question 77-3%'".into()),
            ..Default::default()
        })
        .await?;
    println!(
        "trace.text search with {} spans unindexed: {} hit(s) in {:.1} ms",
        store.unindexed_span_count().await?,
        page.traces.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    store.index_pending_spans().await?;

    let started = Instant::now();
    let page = store
        .search_traces(&clew_store::SearchTracesRequest {
            filter: Some("trace.text LIKE '%Question 77-3%'".into()),
            ..Default::default()
        })
        .await?;
    println!("trace.text search over {} spans: {} hit(s) in {:.1} ms", spans, page.traces.len(), started.elapsed().as_secs_f64() * 1e3);
    // One big trace arriving in small batches: each batch recomputes the trace's summary.
    let big = SqliteStore::open_in_memory()?;
    let big_spans = realistic_trace(424242, 10_000).data.spans;
    let started = Instant::now();
    for chunk in big_spans.chunks(5) {
        big.log_spans("0", chunk.to_vec()).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("one 10,000-span trace in sequential 5-span batches: {:.0} spans/s", 10_000.0 / elapsed);

    let db_bytes = std::fs::metadata(store.path())?.len();
    println!("database file: {:.1} MiB", db_bytes as f64 / (1024.0 * 1024.0));
    Ok(())
}
