//! Prometheus metrics: spans and traces ingested, rejections by reason, ingest queue depth,
//! request latency by route, and (SQLite) how far the background text index trails. Served at
//! `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Registry,
    spans_ingested: Counter,
    traces_ingested: Counter,
    rejected: Family<ReasonLabel, Counter>,
    pending_spans: Gauge,
    request_seconds: Family<RouteLabel, Histogram>,
    text_index_lag: Gauge,
    text_index_failures: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("clew");
        let spans_ingested = Counter::default();
        let traces_ingested = Counter::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let pending_spans = Gauge::default();
        let request_seconds =
            Family::<RouteLabel, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("spans_ingested", "Spans committed to the store", spans_ingested.clone());
        registry.register("traces_ingested", "Final trace infos (StartTraceV3) committed", traces_ingested.clone());
        registry.register("ingest_rejected", "Ingest requests refused, by reason", rejected.clone());
        registry.register("ingest_pending_spans", "Spans accepted and waiting to be committed", pending_spans.clone());
        registry.register("http_request_duration_seconds", "Request latency by route and status", request_seconds.clone());
        let text_index_lag = Gauge::default();
        let text_index_failures = Gauge::default();
        registry.register(
            "text_index_lag_spans",
            "Spans stored but not yet in the text index (SQLite; searches scan them: correct, slower)",
            text_index_lag.clone(),
        );
        registry.register("text_index_failed_steps", "Text index steps that failed since start (SQLite)", text_index_failures.clone());
        Metrics {
            registry,
            spans_ingested,
            traces_ingested,
            rejected,
            pending_spans,
            request_seconds,
            text_index_lag,
            text_index_failures,
        }
    }
    pub fn record_spans_ingested(&self, n: u64) {
        self.spans_ingested.inc_by(n);
    }
    pub fn record_trace_ingested(&self) {
        self.traces_ingested.inc();
    }
    pub fn record_rejected(&self, reason: &str) {
        self.rejected.get_or_create(&ReasonLabel { reason: reason.to_string() }).inc();
    }
    pub fn set_pending_spans(&self, n: usize) {
        self.pending_spans.set(n as i64);
    }
    pub fn set_text_index(&self, status: clew_store::TextIndexStatus) {
        self.text_index_lag.set(status.lag_spans);
        self.text_index_failures.set(i64::try_from(status.failures).unwrap_or(i64::MAX));
    }
    pub fn observe_request(&self, route: &str, status: u16, seconds: f64) {
        self.request_seconds.get_or_create(&RouteLabel { route: route.to_string(), status }).observe(seconds);
    }
    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
