//! Seed "Span tracing with context managers", § Span events.
//!
//! ```python
//! with mlflow.start_span(name="manual_span", span_type=SpanType.CHAIN) as span:
//!     # Create an event with current timestamp
//!     event = SpanEvent(name="validation_completed",
//!         attributes={"records_validated": 1000, "errors_found": 3, "validation_type": "schema"})
//!     span.add_event(event)
//!
//!     # Create an event with specific timestamp (nanoseconds)
//!     specific_time_event = SpanEvent(name="data_checkpoint",
//!         timestamp=int(time.time() * 1e9), attributes={"checkpoint_id": "ckpt_123"})
//!     span.add_event(specific_time_event)
//!
//!     # Create an event from an exception
//!     try:
//!         raise ValueError("Invalid input format")
//!     except Exception as e:
//!         error_event = SpanEvent.from_exception(e)
//!         # name="exception", attributes: exception.message, exception.type, exception.stacktrace
//!
//!     # Add to current span
//!     span = mlflow.get_current_active_span()
//!     span.add_event(error_event)
//! ```
//!
//! Rust has no exceptions: `SpanEvent::from_error` takes any `std::error::Error`, and the
//! event's `exception.type` is the error's type name.

use clew::{SpanBuilder, SpanEvent, SpanStatusCode, SpanType};
use std::time::{SystemTime, UNIX_EPOCH};

/// Python's `ValueError`, as a Rust error type.
#[derive(Debug)]
struct ValueError(&'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ValueError {}

fn parse_input(text: &str) -> Result<u32, ValueError> {
    text.parse().map_err(|_| ValueError("Invalid input format"))
}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    let checkpoint_ns;

    {
        let span = SpanBuilder::new("manual_span").span_type(SpanType::Chain).start();

        // An event with the current timestamp.
        let event = SpanEvent::new("validation_completed").with_attributes([
            ("records_validated", serde_json::json!(1000)),
            ("errors_found", serde_json::json!(3)),
            ("validation_type", serde_json::json!("schema")),
        ]);
        span.add_event(event);

        // An event with a specific timestamp (nanoseconds).
        checkpoint_ns = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64;
        let specific_time_event =
            SpanEvent::at("data_checkpoint", checkpoint_ns).with_attribute("checkpoint_id", "ckpt_123");
        span.add_event(specific_time_event);

        // An event from an error.
        let error_event = match parse_input("not a number") {
            Ok(_) => unreachable!("the input is not a number"),
            Err(e) => SpanEvent::from_error(&e),
        };

        // Add to the current span.
        let span = clew::get_current_active_span().expect("manual_span is current");
        span.add_event(error_event);
    }

    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    let span = &trace.data.spans[0];
    assert_eq!(span.name, "manual_span");
    assert_eq!(span.span_type(), Some(SpanType::Chain));
    let names: Vec<&str> = span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["validation_completed", "data_checkpoint", "exception"]);

    let validation = &span.events[0];
    assert_eq!(validation.attributes["records_validated"], 1000);
    assert_eq!(validation.attributes["errors_found"], 3);
    assert_eq!(validation.attributes["validation_type"], "schema");
    assert!(validation.timestamp_ns >= span.start_time_ns && validation.timestamp_ns <= span.end_time_ns.unwrap());

    let checkpoint = &span.events[1];
    assert_eq!(checkpoint.timestamp_ns, checkpoint_ns, "the explicit timestamp is kept");
    assert_eq!(checkpoint.attributes["checkpoint_id"], "ckpt_123");

    let exception = &span.events[2];
    assert_eq!(exception.attributes["exception.message"], "Invalid input format");
    assert_eq!(exception.attributes["exception.type"], "ValueError");
    assert!(exception.attributes["exception.stacktrace"]
        .as_str()
        .unwrap()
        .contains("Invalid input format"));

    // Adding an exception event is only an event: the span still ends OK.
    assert_eq!(span.status.status_code, SpanStatusCode::Ok);
    for event in &span.events {
        println!(
            "event {} at {} ns: {:?}",
            event.name, event.timestamp_ns, event.attributes
        );
    }
}
