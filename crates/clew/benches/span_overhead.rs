//! Cost of one span on the user's thread: start, small inputs and outputs, end.
//!
//! - `clew/child_span`: a span under a running root, exported (when its root ends) to the
//!   null destination by the background worker;
//! - `clew/root_trace`: a whole one-span trace, handed to the export queue;
//! - `clew/disabled`: the same code with tracing disabled;
//! - `otel/*`: the same span shape on `opentelemetry_sdk` with a no-op exporter, through its
//!   simple (synchronous) and batch processors; inputs and outputs serialised to JSON text
//!   attributes as clew does, so both do the same work.
//!
//! Export work on the worker thread is excluded from the timings (flushed between samples),
//! as OTel's batch export is; only what the instrumented code pays is measured.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde::Serialize;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct Inputs {
    x: i64,
    y: i64,
}

/// Spans per root before the root is ended and the queue flushed (outside the timing).
const CHUNK: u64 = 10_000;

fn clew_child_spans(iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let root = clew::start_span("root");
        let started = Instant::now();
        for i in 0..n {
            let span = clew::start_span("child");
            span.set_inputs(Inputs { x: i as i64, y: 2 });
            span.set_outputs(i as i64 + 2);
        }
        total += started.elapsed();
        drop(root);
        clew::flush();
        done += n;
    }
    total
}

fn clew_root_traces(iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let started = Instant::now();
        for i in 0..n {
            let span = clew::start_span("root");
            span.set_inputs(Inputs { x: i as i64, y: 2 });
            span.set_outputs(i as i64 + 2);
        }
        total += started.elapsed();
        clew::flush();
        done += n;
    }
    total
}

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn otel_child_spans(provider: &SdkTracerProvider, iters: u64) -> Duration {
    let tracer = provider.tracer("bench");
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let root = tracer.start("root");
        let cx = opentelemetry::Context::current_with_span(root);
        let _attached = cx.clone().attach();
        let started = Instant::now();
        for i in 0..n {
            let mut span = tracer.start("child");
            span.set_attribute(opentelemetry::KeyValue::new(
                "mlflow.spanInputs",
                serde_json::to_string(&Inputs { x: i as i64, y: 2 }).unwrap_or_default(),
            ));
            span.set_attribute(opentelemetry::KeyValue::new(
                "mlflow.spanOutputs",
                serde_json::to_string(&(i as i64 + 2)).unwrap_or_default(),
            ));
            span.end();
        }
        total += started.elapsed();
        drop(_attached);
        cx.span().end();
        let _ = provider.force_flush();
        done += n;
    }
    total
}

fn benches(c: &mut Criterion) {
    std::env::set_var("CLEW_QUIET", "1");
    clew::set_destination(clew::NullDestination);
    let mut group = c.benchmark_group("span");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("clew/child_span", |b| b.iter_custom(clew_child_spans));
    group.bench_function("clew/root_trace", |b| b.iter_custom(clew_root_traces));
    clew::disable();
    group.bench_function("clew/disabled", |b| b.iter_custom(clew_child_spans));
    clew::enable(None);

    let simple = SdkTracerProvider::builder().with_simple_exporter(NoopExporter).build();
    group.bench_function("otel/child_span_simple_processor", |b| b.iter_custom(|n| otel_child_spans(&simple, n)));
    let batch = SdkTracerProvider::builder().with_batch_exporter(NoopExporter).build();
    group.bench_function("otel/child_span_batch_processor", |b| b.iter_custom(|n| otel_child_spans(&batch, n)));
    group.finish();
    let stats = clew::export::stats().snapshot();
    eprintln!("clew export stats after the run: {stats:?}");
}

criterion_group!(span_overhead, benches);
criterion_main!(span_overhead);
