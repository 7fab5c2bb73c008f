//! Seed "Span tracing with context managers", § Span status — and "Query status from
//! completed spans".
//!
//! ```python
//! with mlflow.start_span(name="manual_span", span_type=SpanType.CHAIN) as span:
//!     # Create status objects
//!     success_status = SpanStatus(SpanStatusCode.OK)
//!     error_status = SpanStatus(SpanStatusCode.ERROR, description="Failed to connect to database")
//!
//!     # Set status on a live span
//!     span.set_status(success_status)
//!
//!     # Or use string shortcuts
//!     span.set_status("OK")
//!     span.set_status("ERROR")
//!
//! # When the context manager exits successfully, the status is overwritten with status "OK"
//!
//! last_trace_id = mlflow.get_last_active_trace_id()
//! trace = mlflow.get_trace(last_trace_id)
//! for span in trace.data.spans:
//!     print(span.status.status_code)
//! ```
//!
//! On the comment "the status is overwritten with OK": MLflow's `LiveSpan.end()` sets OK
//! only when the status is not ERROR (spec §2.5, step 4), and clew does the same. So the span
//! above, whose last status is `"ERROR"`, ends ERROR; a span left UNSET or OK ends OK. Both
//! cases are asserted below.

use clew::{SpanBuilder, SpanStatus, SpanStatusCode, SpanType, TraceState};

pub fn main() {
    let _store = clew_examples::use_temp_store();

    {
        let span = SpanBuilder::new("manual_span").span_type(SpanType::Chain).start();

        // Status objects.
        let success_status = SpanStatus::from(SpanStatusCode::Ok);
        let error_status = SpanStatus::new(SpanStatusCode::Error, "Failed to connect to database");
        assert_eq!(error_status.description, "Failed to connect to database");

        // Set a status on a live span.
        span.set_status(success_status);
        assert_eq!(span.status().unwrap().status_code, SpanStatusCode::Ok);
        span.set_status(error_status.clone());
        assert_eq!(span.status().unwrap(), error_status);

        // Or use string shortcuts.
        span.set_status("OK");
        assert_eq!(span.status().unwrap(), SpanStatus::ok());
        span.set_status("ERROR");
        assert_eq!(span.status().unwrap().status_code, SpanStatusCode::Error);
    }

    // Query status from completed spans.
    let last_trace_id = clew::get_last_active_trace_id().unwrap();
    let trace = clew::get_trace(&last_trace_id).unwrap();
    for span in &trace.data.spans {
        println!("{}: {}", span.name, span.status.status_code);
    }
    // ERROR set inside the block survives the end of the span, and makes the trace ERROR.
    assert_eq!(trace.data.spans[0].status.status_code, SpanStatusCode::Error);
    assert_eq!(trace.info.state, TraceState::Error);

    // The overwrite the seed describes: a span whose status is not ERROR ends OK.
    {
        let span = SpanBuilder::new("unset_span").span_type(SpanType::Chain).start();
        span.set_status("UNSET");
        assert_eq!(span.status().unwrap().status_code, SpanStatusCode::Unset);
    }
    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    assert_eq!(trace.data.spans[0].name, "unset_span");
    assert_eq!(trace.data.spans[0].status.status_code, SpanStatusCode::Ok);
    assert_eq!(trace.info.state, TraceState::Ok);
}
