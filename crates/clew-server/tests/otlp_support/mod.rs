//! OTLP test helpers: a real server on 127.0.0.1 (port 0) over a temporary SQLite store, and
//! builders for OTLP spans and export requests.

#![allow(dead_code)]

use clew_server::{AppState, ServerConfig};
use clew_store::{SqliteStore, TraceStore};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn state_with(config: ServerConfig) -> AppState {
    let store: Arc<dyn TraceStore> = Arc::new(SqliteStore::open_in_memory().expect("in-memory store"));
    AppState::new(store, config)
}

/// The main-port router on 127.0.0.1:0.
pub async fn start(config: ServerConfig) -> Server {
    let state = state_with(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let app = clew_server::router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Server { addr, url: format!("http://{addr}/v1/traces"), state, client: reqwest::Client::new(), stop: Some(stop) }
}

/// The OTLP/gRPC service on 127.0.0.1:0; returns its address and a guard that stops it.
pub async fn start_grpc(state: AppState) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(clew_server::otlp::grpc::serve_grpc_on(listener, state, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

pub fn string(v: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) }
}
pub fn int(v: i64) -> AnyValue {
    AnyValue { value: Some(any_value::Value::IntValue(v)) }
}
pub fn array(values: Vec<AnyValue>) -> AnyValue {
    AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values })) }
}
pub fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(value), key_strindex: 0 }
}

pub const START_NS: u64 = 1_767_225_600_000_000_000;

/// An OTLP span of trace `trace`, with span id `id` and an optional parent.
pub fn otlp_span(trace: u128, id: u64, parent: Option<u64>, name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace.to_be_bytes().to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.to_string(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: START_NS + id * 1000,
        end_time_unix_nano: START_NS + id * 1000 + 500,
        attributes,
        status: Some(Status { code: 1, message: String::new() }),
        ..Default::default()
    }
}

pub fn request_with_resource(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: resource, dropped_attributes_count: 0, entity_refs: vec![] }),
            scope_spans: vec![ScopeSpans { scope: None, spans, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    }
}

pub fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    request_with_resource(vec![kv("service.name", string("test-app"))], spans)
}

/// `tr-<32 hex>` of a test trace number.
pub fn trace_id(trace: u128) -> String {
    format!("tr-{trace:032x}")
}
