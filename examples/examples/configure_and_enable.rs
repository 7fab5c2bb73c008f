//! Seed "MLflow tracing API", first usage example: configure, enable, notebook display,
//! a traced function, disable.
//!
//! ```python
//! mlflow.tracing.configure(disable_propagation=False, sampling_rate=1.0)  # Trace all requests
//! mlflow.tracing.enable(experiment_id="123")
//! mlflow.tracing.enable_notebook_display()
//!
//! @mlflow.tracing.trace
//! def process_text(text):
//!     processed = text.upper().strip()
//!     return processed
//!
//! result = process_text("hello world")
//! print(f"Processed: {result}")
//!
//! mlflow.tracing.disable()
//! ```
//!
//! `enable_notebook_display()` has no Rust counterpart: there are no notebooks to render a
//! trace in (the Python package will have it), so that line is skipped. Traces go to an
//! in-memory destination here, because experiment "123" exists only in the seed's workspace.

use clew::{MemoryDestination, SpanStatusCode, TracingConfig};
use serde_json::json;

#[clew::trace]
fn process_text(text: &str) -> String {
    // Simulate text processing.
    text.to_uppercase().trim().to_string()
}

pub fn main() {
    let memory = MemoryDestination::new();
    clew::set_destination(memory.clone());

    // Configure tracing: keep propagation, trace all requests.
    clew::configure(TracingConfig::new().disable_propagation(false).sampling_rate(1.0));

    // Enable tracing with a specific experiment.
    clew::enable(Some("123"));

    // mlflow.tracing.enable_notebook_display(): skipped, no notebooks in Rust.

    let result = process_text("hello world");
    println!("Processed: {result}");
    assert_eq!(result, "HELLO WORLD");

    // Disable tracing when done.
    clew::disable();
    assert!(!clew::is_enabled());

    clew::flush();
    let traces = memory.traces();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    assert_eq!(
        trace.info.experiment_id(),
        Some("123"),
        "enable(experiment_id) picks the experiment"
    );
    let span = &trace.data.spans[0];
    assert_eq!(span.name, "process_text");
    assert_eq!(span.inputs(), Some(json!({"text": "hello world"})));
    assert_eq!(span.outputs(), Some(json!("HELLO WORLD")));
    assert_eq!(
        span.get_attribute("mlflow.spanFunctionName"),
        Some(json!("process_text"))
    );
    assert_eq!(span.status.status_code, SpanStatusCode::Ok);

    // With tracing disabled the function still runs, and records nothing.
    assert_eq!(process_text("  quiet  "), "QUIET");
    clew::flush();
    assert_eq!(memory.traces().len(), 1);
}
