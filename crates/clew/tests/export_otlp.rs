//! The OTLP exporter against in-test collectors: an OTLP/HTTP receiver (axum, decoding the
//! protobuf body) and an OTLP/gRPC receiver (tonic), checking the resource attributes
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), headers and span contents; and the
//! environment's choice between OTLP and the tracking server.
//!
//! clew's configuration and the environment are process-wide, so the tests take turns.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use clew::export::{OtlpDestination, OtlpProtocol};
use clew::{SpanEvent, SpanType};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyKind;
use parking_lot::Mutex as PlMutex;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

static TURN: Mutex<()> = Mutex::new(());

type Received = Arc<PlMutex<Vec<(Vec<(String, String)>, ExportTraceServiceRequest)>>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime")
}

async fn receive_http(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> (axum::http::StatusCode, Vec<u8>) {
    let request = clew_model::json::otlp::export_request_from_protobuf(&body).expect("a protobuf ExportTraceServiceRequest");
    let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    received.lock().push((headers, request));
    (axum::http::StatusCode::OK, Vec::new())
}

struct GrpcCollector(Received);

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => Some((k.to_string(), v.to_str().unwrap_or_default().to_string())),
                _ => None,
            })
            .collect();
        self.0.lock().push((headers, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn string_attr(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        AnyKind::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

/// Logs a two-span trace and checks what the collector received.
fn log_and_check(received: &Received, header: (&str, &str)) {
    {
        let root = clew::start_span("agent");
        root.set_span_type(SpanType::Agent);
        root.set_inputs(json!({"q": "hi"}));
        {
            let llm = clew::start_span("llm");
            llm.set_span_type(SpanType::ChatModel);
            llm.add_event(SpanEvent::new("first_token").with_attribute("ms", 12));
            llm.set_outputs("hello");
        }
        root.set_outputs(json!({"a": "hello"}));
    }
    let trace_id = clew::get_last_active_trace_id().expect("trace id");
    let before = clew::export::stats().snapshot();
    assert!(clew::flush_timeout(Duration::from_secs(30)));
    let got = received.lock().clone();
    assert_eq!(got.len(), 1, "one export request");
    let (headers, request) = &got[0];
    assert!(
        headers.iter().any(|(k, v)| k == header.0 && v == header.1),
        "header {header:?} missing from {headers:?}"
    );
    let resource = request.resource_spans[0].resource.as_ref().expect("resource");
    assert_eq!(string_attr(&resource.attributes, "service.name").as_deref(), Some("clew-otlp-test"));
    assert_eq!(string_attr(&resource.attributes, "deployment.environment").as_deref(), Some("ci"));
    assert_eq!(string_attr(&resource.attributes, "telemetry.sdk.name").as_deref(), Some("clew"));
    let spans = clew_model::json::otlp::spans_from_export_request(request).expect("spans");
    assert_eq!(spans.len(), 2);
    let root = spans.iter().find(|s| s.name == "agent").expect("root span");
    let llm = spans.iter().find(|s| s.name == "llm").expect("child span");
    assert_eq!(format!("tr-{}", root.trace_id.to_hex()), trace_id);
    assert_eq!(llm.parent_id, Some(root.span_id));
    assert_eq!(root.inputs(), Some(json!({"q": "hi"})));
    assert_eq!(root.outputs(), Some(json!({"a": "hello"})));
    assert_eq!(llm.span_type(), Some(SpanType::ChatModel));
    assert_eq!(llm.events[0].name, "first_token");
    assert_eq!(llm.events[0].attributes.get("ms"), Some(&json!(12)));
    // Typed attributes on the wire, as MLflow sends them: inputs are a kvlist, not JSON text.
    let otlp_root = request.resource_spans[0].scope_spans[0].spans.iter().find(|s| s.name == "agent").unwrap();
    let inputs = otlp_root.attributes.iter().find(|kv| kv.key == "mlflow.spanInputs").unwrap();
    assert!(matches!(inputs.value.as_ref().and_then(|v| v.value.as_ref()), Some(AnyKind::KvlistValue(_))), "{inputs:?}");
    let _ = before;
}

fn set_resource_env() {
    std::env::set_var("OTEL_SERVICE_NAME", "clew-otlp-test");
    std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,service.name=overridden");
}

#[test]
fn spans_go_to_an_otlp_http_collector_with_resource_and_headers() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let received: Received = Arc::default();
    let app = Router::new().route("/v1/traces", post(receive_http)).with_state(received.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });

    set_resource_env();
    let headers = vec![("x-api-key".to_string(), "secret 1".to_string())];
    let otlp = OtlpDestination::with_headers(&endpoint, OtlpProtocol::HttpProtobuf, &headers).expect("destination");
    clew::set_destination(otlp);
    let before = clew::export::stats().snapshot();
    log_and_check(&received, ("x-api-key", "secret 1"));
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_exported - before.traces_exported, 1, "{after:?}");
    clew::reset();
}

#[test]
fn spans_go_to_an_otlp_grpc_collector_with_resource_and_metadata() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let received: Received = Arc::default();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let service = TraceServiceServer::new(GrpcCollector(received.clone()));
    rt.spawn(async move { tonic::transport::Server::builder().add_service(service).serve(addr).await });
    // Wait until the collector listens.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "gRPC collector did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    set_resource_env();
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", format!("http://{addr}"));
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0k");
    let destination = OtlpDestination::from_env().expect("OTLP configured").expect("valid OTLP config");
    for var in ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS"] {
        std::env::remove_var(var);
    }
    clew::set_destination(destination);
    log_and_check(&received, ("authorization", "Bearer t0k"));
    clew::reset();
}

#[test]
fn otlp_env_vars_replace_the_tracking_uri_unless_dual_export_or_disabled() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let clear = || {
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "MLFLOW_ENABLE_OTLP_EXPORTER",
            "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT",
        ] {
            std::env::remove_var(var);
        }
    };
    clear();
    assert_eq!(clew::export::destination_from_env(Some("memory:"), "memory:").describe(), "memory:");

    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/");
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    let d = clew::export::destination_from_env(Some("memory:"), "memory:");
    assert_eq!(d.describe(), "OTLP http/protobuf http://127.0.0.1:4318/v1/traces");

    std::env::set_var("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true");
    let d = clew::export::destination_from_env(Some("memory:"), "memory:");
    assert_eq!(d.describe(), "memory: + OTLP http/protobuf http://127.0.0.1:4318/v1/traces");

    std::env::set_var("MLFLOW_ENABLE_OTLP_EXPORTER", "false");
    assert_eq!(clew::export::destination_from_env(Some("memory:"), "memory:").describe(), "memory:");

    std::env::remove_var("MLFLOW_ENABLE_OTLP_EXPORTER");
    std::env::remove_var("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT");
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4317");
    assert_eq!(clew::export::destination_from_env(None, "memory:").describe(), "OTLP grpc http://127.0.0.1:4317");
    clear();
}

#[test]
fn dual_export_sends_to_the_collector_and_the_tracking_destination() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let received: Received = Arc::default();
    let app = Router::new().route("/v1/traces", post(receive_http)).with_state(received.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });

    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &base);
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    std::env::set_var("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true");
    let destination = clew::export::destination_from_env(Some("memory:"), "memory:");
    for var in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT"] {
        std::env::remove_var(var);
    }
    clew::set_destination(destination);
    let before = clew::export::stats().snapshot();
    {
        let _root = clew::start_span("dual");
    }
    let trace_id = clew::get_last_active_trace_id().unwrap();
    assert!(clew::flush_timeout(Duration::from_secs(30)));
    // The tracking destination (memory) has it: reads go there.
    let trace = clew::get_trace(&trace_id).expect("trace in the tracking destination");
    assert_eq!(trace.data.spans[0].name, "dual");
    // And the collector got the span.
    let got = received.lock().clone();
    assert_eq!(got.len(), 1);
    let spans = clew_model::json::otlp::spans_from_export_request(&got[0].1).unwrap();
    assert_eq!(spans[0].name, "dual");
    // Counted once, not once per destination.
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_exported - before.traces_exported, 1, "{after:?}");
    clew::reset();
}

#[test]
fn tracking_uris_choose_the_destination() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(clew::export::destination_from_uri("http://127.0.0.1:5000/").describe(), "http://127.0.0.1:5000");
    assert_eq!(clew::export::destination_from_uri("https://mlflow.example.com/prefix").describe(), "https://mlflow.example.com/prefix");
    assert!(clew::export::destination_from_uri("http://127.0.0.1:5000").store().is_some());
    // A malformed URL gives a destination that reports why on every export.
    let broken = clew::export::destination_from_uri("http://[::1");
    let error = broken.export(Vec::new()).expect_err("unusable destination");
    assert!(error.to_string().contains("not a valid URL"), "{error}");
}
