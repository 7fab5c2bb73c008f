//! A burst of traces made as fast as possible, exported to a local store file: how long the
//! app spends making them, how long the export takes to drain, and whether any were lost.
//!
//! `cargo run --release -p clew --example burst -- [traces] [spans_per_trace]`

use serde_json::json;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let traces: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let spans_per_trace: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("burst.db");
    clew::set_destination(clew::LocalStoreDestination::open(&path).expect("open store"));

    let started = Instant::now();
    for i in 0..traces {
        let root = clew::start_span("root");
        root.set_inputs(json!({"question": "What is MLflow tracing?", "i": i}));
        for c in 1..spans_per_trace {
            let child = clew::start_span("child");
            child.set_inputs(json!({"c": c}));
            child.set_outputs(json!({"answer": "42"}));
        }
        root.set_outputs("done");
    }
    let produced = started.elapsed();
    clew::flush();
    let drained = started.elapsed();
    let stats = clew::export::stats().snapshot();
    let spans = traces * spans_per_trace;
    println!("traces: {traces} x {spans_per_trace} spans = {spans} spans");
    println!("made in {:.1} ms ({:.0} ns per span on the app thread)", produced.as_secs_f64() * 1e3, produced.as_nanos() as f64 / spans as f64);
    println!("all written after {:.1} ms ({:.0} spans/s end to end)", drained.as_secs_f64() * 1e3, spans as f64 / drained.as_secs_f64());
    println!("exported {} traces, dropped {}, failed {}", stats.traces_exported, stats.traces_dropped_queue_full, stats.traces_failed);
    println!("store file: {} bytes", std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
}
