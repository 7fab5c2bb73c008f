//! Seed "MLflow tracing API", usage example "Handle errors in traces".
//!
//! ```python
//! def risky_operation(data):
//!     if len(data) == 0:
//!         raise ValueError("Empty data provided")
//!     return sum(data)
//!
//! with mlflow.tracing.trace("data_processing") as span:
//!     try:
//!         mlflow.tracing.set_span_inputs({"data": [1, 2, 3]})
//!         result = risky_operation([1, 2, 3])
//!         mlflow.tracing.set_span_output({"result": result})
//!         # Span automatically gets OK status
//!     except Exception as e:
//!         mlflow.tracing.add_span_exception(e)
//!         # Span automatically gets ERROR status
//!         raise
//!
//! try:
//!     with mlflow.tracing.trace("failing_operation") as span:
//!         mlflow.tracing.set_span_inputs({"data": []})
//!         result = risky_operation([])
//! except ValueError as e:
//!     print(f"Operation failed: {e}")
//! ```
//!
//! Exceptions are `Result`s in Rust. `add_span_exception(&error)` records an error by hand;
//! `SpanBuilder::try_run` does what leaving a Python `with` block by an exception does: an
//! `Err` returned by the closure is recorded on the span (event `exception`, status ERROR) and
//! handed back to the caller.

use clew::{SpanBuilder, SpanStatusCode, TraceState};
use serde_json::json;

/// Python's `ValueError`.
#[derive(Debug)]
struct ValueError(&'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ValueError {}

/// A function that might fail.
fn risky_operation(data: &[i64]) -> Result<i64, ValueError> {
    if data.is_empty() {
        return Err(ValueError("Empty data provided"));
    }
    Ok(data.iter().sum())
}

/// The first block: errors are recorded with `add_span_exception`, then passed on (`raise`).
fn data_processing(data: &[i64]) -> Result<i64, ValueError> {
    let _span = SpanBuilder::new("data_processing").start();
    clew::set_span_inputs(json!({"data": data}));
    match risky_operation(data) {
        Ok(result) => {
            clew::set_span_output(json!({"result": result}));
            // The span gets status OK when it ends.
            Ok(result)
        }
        Err(e) => {
            // Record the error on the span: it gets status ERROR.
            clew::add_span_exception(&e);
            Err(e)
        }
    }
}

fn last_trace() -> clew::Trace {
    clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap()
}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    clew::enable(None);

    // Handle errors in traces.
    let result = data_processing(&[1, 2, 3]).expect("[1, 2, 3] is fine");
    assert_eq!(result, 6);
    let ok = last_trace();
    let span = &ok.data.spans[0];
    assert_eq!(span.name, "data_processing");
    assert_eq!(span.status.status_code, SpanStatusCode::Ok);
    assert_eq!(span.outputs(), Some(json!({"result": 6})));
    assert!(span.events.is_empty());

    // Example with empty data (will fail).
    let outcome = SpanBuilder::new("failing_operation").try_run(|_span| {
        clew::set_span_inputs(json!({"data": []}));
        risky_operation(&[])
    });
    match outcome {
        Err(e) => println!("Operation failed: {e}"),
        Ok(_) => panic!("empty data must fail"),
    }
    let failed = last_trace();
    let span = &failed.data.spans[0];
    assert_eq!(span.name, "failing_operation");
    assert_eq!(span.inputs(), Some(json!({"data": []})));
    assert_eq!(span.status.status_code, SpanStatusCode::Error);
    assert_eq!(span.status.description, "ValueError: Empty data provided");
    assert_eq!(failed.info.state, TraceState::Error);
    let exception = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    assert_eq!(exception.attributes["exception.type"], "ValueError");
    assert_eq!(exception.attributes["exception.message"], "Empty data provided");

    // Not run by the seed: the `except` branch of the first block, with empty data.
    assert!(data_processing(&[]).is_err());
    let recorded = last_trace();
    let span = &recorded.data.spans[0];
    assert_eq!(span.name, "data_processing");
    assert_eq!(span.status.status_code, SpanStatusCode::Error);
    assert_eq!(span.outputs(), None);
    let exceptions: Vec<_> = span.events.iter().filter(|e| e.name == "exception").collect();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].attributes["exception.message"], "Empty data provided");
}
