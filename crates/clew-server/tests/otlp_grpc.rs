//! OTLP/gRPC `TraceService/Export` on a real tonic server, called with the generated tonic
//! client as OTel exporters call it.

mod otlp_support;

use clew_model::SpanType;
use clew_server::ServerConfig;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_support::*;
use prost::Message;
use serde_json::json;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tonic::{Code, Request};

async fn client(addr: std::net::SocketAddr) -> TraceServiceClient<Channel> {
    TraceServiceClient::connect(format!("http://{addr}")).await.expect("connect")
}

fn with_metadata(request: ExportTraceServiceRequest, metadata: &[(&'static str, &str)]) -> Request<ExportTraceServiceRequest> {
    let mut request = Request::new(request);
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().expect("ascii metadata"));
    }
    request
}

fn two_spans(trace: u128) -> ExportTraceServiceRequest {
    request(vec![
        otlp_span(trace, 1, None, "invoke_agent planner", vec![kv("gen_ai.operation.name", string("invoke_agent"))]),
        otlp_span(trace, 2, Some(1), "execute_tool search", vec![
            kv("gen_ai.operation.name", string("execute_tool")),
            kv("gen_ai.tool.call.arguments", string(r#"{"q": "rust"}"#)),
        ]),
    ])
}

#[tokio::test]
async fn export_stores_translated_spans_in_the_metadata_experiment() {
    let state = state_with(ServerConfig::default());
    let experiment = state.store.create_experiment("grpc", None).await.unwrap();
    let (addr, _stop) = start_grpc(state.clone()).await;
    let mut client = client(addr).await;

    let response = client
        .export(with_metadata(two_spans(1), &[("x-mlflow-experiment-id", &experiment)]))
        .await
        .expect("export succeeds");
    assert_eq!(response.into_inner().partial_success, None);
    let trace = state.store.get_trace(&trace_id(1)).await.unwrap().expect("stored");
    assert_eq!(trace.info.experiment_id(), Some(experiment.as_str()));
    assert_eq!(trace.data.root().unwrap().span_type(), Some(SpanType::Agent));
    let tool = trace.data.spans.iter().find(|s| s.name == "execute_tool search").unwrap();
    assert_eq!(tool.span_type(), Some(SpanType::Tool));
    assert_eq!(tool.inputs(), Some(json!({"q": "rust"})));

    // No metadata: the default experiment.
    client.export(two_spans(2)).await.expect("export succeeds");
    let trace = state.store.get_trace(&trace_id(2)).await.unwrap().expect("stored");
    assert_eq!(trace.info.experiment_id(), Some("0"));
}

#[tokio::test]
async fn gzip_compressed_requests_are_accepted() {
    let state = state_with(ServerConfig::default());
    let (addr, _stop) = start_grpc(state.clone()).await;
    let mut client = client(addr).await.send_compressed(CompressionEncoding::Gzip).accept_compressed(CompressionEncoding::Gzip);
    client.export(two_spans(3)).await.expect("gzip export succeeds");
    assert_eq!(state.store.get_trace(&trace_id(3)).await.unwrap().expect("stored").data.spans.len(), 2);
}

#[tokio::test]
async fn bad_requests_are_invalid_argument_naming_the_problem() {
    let state = state_with(ServerConfig::default());
    let (addr, _stop) = start_grpc(state.clone()).await;
    let mut client = client(addr).await;

    let status = client.export(ExportTraceServiceRequest { resource_spans: vec![] }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("no resource_spans"), "{}", status.message());

    let mut bad = otlp_span(4, 1, None, "bad", vec![]);
    bad.trace_id = vec![7; 3];
    let status = client.export(request(vec![bad])).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("spans[0]") && status.message().contains("\"bad\""), "{}", status.message());

    let status = client
        .export(with_metadata(two_spans(5), &[("x-mlflow-experiment-id", "9999")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(state.store.get_trace(&trace_id(5)).await.unwrap().is_none());
}

#[tokio::test]
async fn messages_over_the_limit_are_refused() {
    let state = state_with(ServerConfig { max_request_bytes: 32 * 1024, ..ServerConfig::default() });
    let (addr, _stop) = start_grpc(state.clone()).await;
    let big = request(vec![otlp_span(6, 1, None, "big", vec![kv("blob", string(&"x".repeat(64 * 1024)))])]);
    let mut client = client(addr).await.send_compressed(CompressionEncoding::Gzip);
    let status = client.export(big).await.unwrap_err();
    // tonic stops decompressing at the limit (no zip bomb) and answers RESOURCE_EXHAUSTED.
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("32768 bytes"), "{}", status.message());
    assert!(state.store.get_trace(&trace_id(6)).await.unwrap().is_none());
}

#[tokio::test]
async fn overload_is_resource_exhausted_with_a_retry_hint() {
    let state = state_with(ServerConfig { max_pending_spans: 2, ..ServerConfig::default() });
    let (addr, _stop) = start_grpc(state.clone()).await;
    let client = client(addr).await;
    let mut tasks = Vec::new();
    for n in 0..40u128 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move { (n, client.export(two_spans(100 + n)).await) }));
    }
    let mut refused = 0;
    for task in tasks {
        let (n, result) = task.await.unwrap();
        match result {
            Ok(_) => assert!(state.store.get_trace(&trace_id(100 + n)).await.unwrap().is_some(), "an OK is committed"),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                refused += 1;
                let retry_info = status.metadata().get_bin("google.rpc.retryinfo-bin").expect("retry info metadata");
                assert!(!retry_info.to_bytes().unwrap().is_empty());
                assert!(!status.details().is_empty(), "google.rpc.Status details with RetryInfo");
                let details = RpcStatusWithDetails::decode(status.details()).expect("google.rpc.Status");
                assert_eq!(details.code, Code::ResourceExhausted as i32);
                assert_eq!(details.details[0].type_url, "type.googleapis.com/google.rpc.RetryInfo");
            }
        }
    }
    assert!(refused > 0, "40 concurrent exports against a queue of 2 spans: some must be refused");
}

#[tokio::test]
async fn auth_applies_to_grpc_metadata() {
    let state = state_with(ServerConfig { auth_token: Some("s3cret".into()), ..ServerConfig::default() });
    let (addr, _stop) = start_grpc(state.clone()).await;
    let mut client = client(addr).await;
    let status = client.export(two_spans(7)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client.export(with_metadata(two_spans(7), &[("authorization", "Bearer wrong")])).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    client.export(with_metadata(two_spans(7), &[("authorization", "Bearer s3cret")])).await.expect("authorized");
    assert!(state.store.get_trace(&trace_id(7)).await.unwrap().is_some());
}

/// `google.rpc.Status` with its details, to read what the server put in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatusWithDetails {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<ProtoAny>,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}
