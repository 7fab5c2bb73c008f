//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, on the same ingest
//! path as OTLP/HTTP.
//!
//! - The experiment comes from the `x-mlflow-experiment-id` metadata (else `"0"`), a run from
//!   `x-mlflow-run-id`.
//! - gzip (and deflate) request compression is accepted; messages are limited to
//!   `max_request_bytes` after decompression.
//! - Overload answers `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` (in the status details
//!   and as `google.rpc.retryinfo-bin` metadata): OTel exporters retry `RESOURCE_EXHAUSTED` only
//!   when the server says when to.
//! - With auth configured, the `authorization` metadata must carry the same credentials as the
//!   HTTP `Authorization` header.

use super::http::grpc_code_for;
use super::{ingest_export_request, Destination, EXPERIMENT_ID_HEADER, RUN_ID_HEADER};
use crate::error::ApiError;
use crate::state::AppState;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use std::future::Future;
use std::net::SocketAddr;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status};

/// Why the gRPC server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("OTLP/gRPC server on {addr}: {source}")]
pub struct GrpcServeError {
    pub addr: SocketAddr,
    #[source]
    pub source: tonic::transport::Error,
}

/// The `TraceService` implementation.
#[derive(Clone)]
pub struct OtlpTraceService {
    state: AppState,
}

impl OtlpTraceService {
    pub fn new(state: AppState) -> Self {
        OtlpTraceService { state }
    }
}

/// The tonic service, configured (compression, message limit), ready to add to a server.
pub fn grpc_service(state: AppState) -> TraceServiceServer<OtlpTraceService> {
    let limit = state.config.max_request_bytes;
    TraceServiceServer::new(OtlpTraceService::new(state))
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Deflate)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

/// Serves OTLP/gRPC on `addr` until `shutdown` completes (the standard port is 4317).
pub async fn serve_grpc(
    addr: SocketAddr,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcServeError> {
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(grpc_service(state))
        .serve_with_shutdown(addr, shutdown)
        .await
        .map_err(|source| GrpcServeError { addr, source })
}

/// [`serve_grpc`] on an already bound listener (tests bind port 0 and read the address).
pub async fn serve_grpc_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcServeError> {
    let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(grpc_service(state))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|source| GrpcServeError { addr, source })
}

#[tonic::async_trait]
impl TraceService for OtlpTraceService {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let metadata = request.metadata();
        let authorization = metadata.get("authorization").and_then(|v| v.to_str().ok());
        if !self.state.auth.accepts(authorization) {
            self.state.metrics.record_rejected("unauthenticated");
            return Err(Status::unauthenticated(
                "this server requires authentication: send `authorization: Bearer <token>` or Basic credentials metadata",
            ));
        }
        let destination =
            Destination::from_headers(metadata_str(metadata, EXPERIMENT_ID_HEADER), metadata_str(metadata, RUN_ID_HEADER));
        match ingest_export_request(&self.state, request.into_inner(), &destination).await {
            Ok(_) => Ok(Response::new(ExportTraceServiceResponse { partial_success: None })),
            Err(e) => Err(status_for(e)),
        }
    }
}

fn metadata_str<'a>(metadata: &'a MetadataMap, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(|v| v.to_str().ok())
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.rpc.Status` with details.
#[derive(Clone, PartialEq, Message)]
struct RpcStatusWithDetails {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<ProtoAny>,
}

/// The gRPC status for an ingest error; a retry hint when the error carries one.
pub fn status_for(error: ApiError) -> Status {
    let code = grpc_code_for(error.status);
    let Some(secs) = error.retry_after else {
        return Status::new(code, error.message);
    };
    let retry_info = RetryInfo { retry_delay: Some(ProtoDuration { seconds: secs as i64, nanos: 0 }) }.encode_to_vec();
    let details = RpcStatusWithDetails {
        code: code as i32,
        message: error.message.clone(),
        details: vec![ProtoAny { type_url: "type.googleapis.com/google.rpc.RetryInfo".into(), value: retry_info.clone() }],
    }
    .encode_to_vec();
    let mut metadata = MetadataMap::new();
    metadata.insert_bin("google.rpc.retryinfo-bin", MetadataValue::from_bytes(&retry_info));
    if let Ok(value) = MetadataValue::try_from(secs.to_string()) {
        metadata.insert("retry-after", value);
    }
    Status::with_details_and_metadata(code, error.message, details.into(), metadata)
}
