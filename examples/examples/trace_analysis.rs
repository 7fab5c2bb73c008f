//! Seed "MLflow tracing API", usage example "Retrieve and analyze traces".
//!
//! ```python
//! mlflow.set_experiment("trace_analysis")
//! mlflow.tracing.enable()
//!
//! for i in range(5):
//!     with mlflow.tracing.trace(f"operation_{i}") as span:
//!         mlflow.tracing.set_span_inputs({"iteration": i})
//!         time.sleep(0.1 * i)
//!         mlflow.tracing.set_span_output({"processed": True})
//!
//! experiment = mlflow.get_experiment_by_name("trace_analysis")
//! traces = mlflow.tracing.search_traces(experiment_ids=[experiment.experiment_id], max_results=10)
//! print(f"Found {len(traces)} traces")
//! for trace in traces:
//!     print(f"Trace ID: {trace.request_id}")
//!     print(f"  Start time: {trace.timestamp_ms}")
//!     print(f"  Duration: {trace.execution_time_ms}ms")
//!     print(f"  Status: {trace.status}")
//!     for span in trace.spans:
//!         print(f"  Span: {span.name} ({span.span_type})")
//!         print(f"    Duration: {span.end_time_ns - span.start_time_ns}ns")
//!         if span.inputs: print(f"    Inputs: {span.inputs}")
//!         if span.outputs: print(f"    Outputs: {span.outputs}")
//!
//! if traces:
//!     last_trace = mlflow.tracing.get_trace(traces[0].request_id)
//!     print(f"\nDetailed trace: {last_trace.request_id}")
//!     print(f"Execution time: {last_trace.execution_time_ms}ms")
//! ```
//!
//! The seed's `Trace` flattens info and spans; a clew `Trace` keeps MLflow 3's shape:
//! `trace.info` (`request_id()`, `timestamp_ms()`, `execution_time_ms()`, `state`) and
//! `trace.data.spans`. The sleeps are 20 ms × i instead of 100 ms × i to keep the test quick.

use clew::{SearchOptions, SpanBuilder, TraceState};
use serde_json::json;
use std::time::Duration;

const SLEEP_STEP_MS: u64 = 20;

pub fn main() {
    let _store = clew_examples::use_temp_store();

    // Set up the experiment.
    clew::set_experiment("trace_analysis").expect("create the experiment");
    clew::enable(None);

    // Generate some traces.
    for i in 0..5 {
        let _span = SpanBuilder::new(format!("operation_{i}")).start();
        clew::set_span_inputs(json!({"iteration": i}));
        // Simulate varying execution times.
        std::thread::sleep(Duration::from_millis(SLEEP_STEP_MS * i));
        clew::set_span_output(json!({"processed": true}));
    }

    // Retrieve and analyze traces.
    let experiment = clew::get_experiment_by_name("trace_analysis")
        .unwrap()
        .expect("the experiment exists");
    let traces = clew::search_traces(
        SearchOptions::new()
            .experiment_ids([experiment.experiment_id.clone()])
            .max_results(10),
    )
    .expect("search the store");

    println!("Found {} traces", traces.len());
    for trace in traces.iter() {
        println!("Trace ID: {}", trace.info.request_id());
        println!("  Start time: {}", trace.info.timestamp_ms());
        println!("  Duration: {}ms", trace.info.execution_time_ms().unwrap_or_default());
        println!("  Status: {}", trace.info.state);

        // Analyze spans.
        for span in &trace.data.spans {
            println!(
                "  Span: {} ({})",
                span.name,
                span.span_type().map(|t| t.to_string()).unwrap_or_default()
            );
            println!(
                "    Duration: {}ns",
                span.end_time_ns.unwrap_or_default() - span.start_time_ns
            );
            if let Some(inputs) = span.inputs() {
                println!("    Inputs: {inputs}");
            }
            if let Some(outputs) = span.outputs() {
                println!("    Outputs: {outputs}");
            }
        }
    }

    // Get a specific trace.
    if let Some(first) = traces.first() {
        let last_trace = clew::get_trace(first.info.request_id()).expect("the trace is in the store");
        println!("\nDetailed trace: {}", last_trace.info.request_id());
        println!(
            "Execution time: {}ms",
            last_trace.info.execution_time_ms().unwrap_or_default()
        );
        assert_eq!(last_trace.info.request_id(), first.info.request_id());
        assert_eq!(last_trace.data.spans.len(), 1);
    }

    // What the sample shows: five traces in the experiment, newest first, each one span whose
    // duration grows with its iteration.
    assert_eq!(traces.len(), 5);
    let mut names: Vec<&str> = traces.iter().map(|t| t.data.spans[0].name.as_str()).collect();
    // Newest first by start time in ms; operation_0 takes no time, so operation_1 may start in
    // the same millisecond and the two may come in either order.
    let starts: Vec<i64> = traces.iter().map(|t| t.info.timestamp_ms()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first: {starts:?}");
    assert_eq!(names[0], "operation_4");
    names.sort();
    assert_eq!(
        names,
        [
            "operation_0",
            "operation_1",
            "operation_2",
            "operation_3",
            "operation_4"
        ]
    );
    for trace in traces.iter() {
        let span = &trace.data.spans[0];
        let i = span.inputs().unwrap()["iteration"].as_u64().unwrap();
        assert_eq!(span.name, format!("operation_{i}"));
        assert_eq!(span.outputs(), Some(json!({"processed": true})));
        assert_eq!(trace.info.state, TraceState::Ok);
        assert_eq!(trace.info.experiment_id(), Some(experiment.experiment_id.as_str()));
        let slept_ns = (SLEEP_STEP_MS * i * 1_000_000) as i64;
        assert!(
            span.duration_ns().unwrap() >= slept_ns,
            "operation_{i} took at least its sleep"
        );
        assert!(trace.info.execution_time_ms().unwrap() >= (SLEEP_STEP_MS * i) as i64);
    }
    // max_results bounds the search.
    let two = clew::search_traces(
        SearchOptions::new()
            .experiment_ids([experiment.experiment_id])
            .max_results(2),
    )
    .unwrap();
    assert_eq!(two.len(), 2);
}
