//! A plain loop of child spans, for instruction-level profiling (`valgrind --tool=callgrind`)
//! of the span hot path: `span_cost clew|otel|disabled [spans]`.

use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde::Serialize;

#[derive(Serialize)]
struct Inputs {
    x: i64,
    y: i64,
}

#[derive(Debug)]
struct NoopExporter;
impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

#[inline(never)]
fn clew_spans(n: u64) {
    let _root = clew::start_span("root");
    for i in 0..n {
        let span = clew::start_span("child");
        span.set_inputs(Inputs { x: i as i64, y: 2 });
        span.set_outputs(i as i64 + 2);
    }
}

#[inline(never)]
fn otel_spans(tracer: &opentelemetry_sdk::trace::SdkTracer, n: u64) {
    let root = tracer.start("root");
    let cx = opentelemetry::Context::current_with_span(root);
    let _attached = cx.clone().attach();
    for i in 0..n {
        let mut span = tracer.start("child");
        span.set_attribute(opentelemetry::KeyValue::new(
            "mlflow.spanInputs",
            serde_json::to_string(&Inputs { x: i as i64, y: 2 }).unwrap_or_default(),
        ));
        span.set_attribute(opentelemetry::KeyValue::new("mlflow.spanOutputs", serde_json::to_string(&(i as i64 + 2)).unwrap_or_default()));
        span.end();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "clew".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    clew::set_destination(clew::NullDestination);
    let started = std::time::Instant::now();
    match which.as_str() {
        "clew" => clew_spans(n),
        "chunked" => {
            // As the criterion bench: 10k children per root, flushed between chunks.
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..n / 10_000 {
                let t = std::time::Instant::now();
                clew_spans(10_000);
                spent += t.elapsed();
                clew::flush();
            }
            eprintln!("chunked: {:.0} ns/span excluding flushes", spent.as_nanos() as f64 / n as f64);
        }
        "disabled" => {
            clew::disable();
            clew_spans(n)
        }
        "otel" => {
            let provider = SdkTracerProvider::builder().with_simple_exporter(NoopExporter).build();
            otel_spans(&provider.tracer("bench"), n);
        }
        other => panic!("unknown mode {other}"),
    }
    eprintln!("{which}: {:.0} ns/span (wall clock)", started.elapsed().as_nanos() as f64 / n as f64);
    clew::flush();
}
