//! Seed "Span tracing with context managers", § Span tracing API — basic span tracing.
//!
//! ```python
//! import mlflow
//!
//! with mlflow.start_span(name="my_span") as span:
//!     x = 1
//!     y = 2
//!     span.set_inputs({"x":x, "y": y})
//!     z = x + y
//!     span.set_outputs(z)
//! ```
//!
//! The `with` block becomes a scope: `clew::start_span` returns a guard that is the current
//! span until it drops at the closing brace, which ends the span.

use clew::{SpanStatusCode, TraceState};
use serde_json::json;

pub fn main() {
    let _store = clew_examples::use_temp_store();

    {
        let span = clew::start_span("my_span");
        let x = 1;
        let y = 2;
        span.set_inputs(json!({"x": x, "y": y}));
        let z = x + y;
        span.set_outputs(z);
    }

    // What the sample shows: one span named my_span with the inputs and outputs it was given,
    // ended with status OK by leaving the block.
    let trace_id = clew::get_last_active_trace_id().expect("a trace was recorded");
    let trace = clew::get_trace(&trace_id).expect("the trace is in the store");
    assert_eq!(trace.data.spans.len(), 1);
    let span = &trace.data.spans[0];
    assert_eq!(span.name, "my_span");
    assert!(span.is_root());
    assert_eq!(span.inputs(), Some(json!({"x": 1, "y": 2})));
    assert_eq!(span.outputs(), Some(json!(3)));
    assert_eq!(span.status.status_code, SpanStatusCode::Ok);
    assert!(span.end_time_ns.unwrap() >= span.start_time_ns);
    assert_eq!(trace.info.state, TraceState::Ok);
    println!(
        "{} {}: inputs {} → outputs {}",
        trace_id,
        span.name,
        span.inputs().unwrap(),
        span.outputs().unwrap()
    );
}
