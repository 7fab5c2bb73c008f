//! Export to any OpenTelemetry collector over OTLP (`http/protobuf` or `grpc`), configured by
//! the standard `OTEL_EXPORTER_OTLP_*` variables, and the choice MLflow makes between OTLP
//! and the tracking server (spec §8).

use super::http::{self, RetryPolicy};
use super::{stats, Destination, ExportError};
use clew_model::json::otlp::{export_request_to_protobuf, spans_to_export_request};
use clew_model::{Span, Trace};
use clew_store::TraceStore;
use indexmap::IndexMap;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Spans per OTLP request.
const MAX_SPANS_PER_REQUEST: usize = 1000;

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn env_flag(name: &str) -> Option<bool> {
    env_var(name).map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

/// Resource attributes of exported spans: `telemetry.sdk.*` of clew, then
/// `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`), then `service.name` from `OTEL_SERVICE_NAME`.
pub(crate) fn resource_attributes_from_env() -> IndexMap<String, Value> {
    let mut attrs = IndexMap::new();
    attrs.insert("telemetry.sdk.language".to_string(), Value::from("rust"));
    attrs.insert("telemetry.sdk.name".to_string(), Value::from("clew"));
    attrs.insert("telemetry.sdk.version".to_string(), Value::from(http::CLIENT_VERSION));
    if let Some(text) = env_var("OTEL_RESOURCE_ATTRIBUTES") {
        match http::parse_header_list(&text) {
            Ok(pairs) => attrs.extend(pairs.into_iter().map(|(k, v)| (k, Value::from(v)))),
            Err(e) => crate::report::warn(&format!("OTEL_RESOURCE_ATTRIBUTES is malformed ({e}); ignored")),
        }
    }
    if let Some(name) = env_var("OTEL_SERVICE_NAME") {
        attrs.insert("service.name".to_string(), Value::from(name));
    }
    attrs
}

/// The OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/HTTP with a binary protobuf body (`http/protobuf`).
    HttpProtobuf,
    /// OTLP/gRPC (`grpc`).
    Grpc,
}

impl OtlpProtocol {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" | "http" => Some(OtlpProtocol::HttpProtobuf),
            "grpc" => Some(OtlpProtocol::Grpc),
            _ => None,
        }
    }
}

enum Transport {
    Http { client: reqwest::Client, headers: HeaderMap },
    Grpc { client: TraceServiceClient<tonic::transport::Channel>, metadata: tonic::metadata::MetadataMap },
}

/// Exports every span to an OpenTelemetry collector. Finished traces and spans of traces
/// continued from another process are sent the same way. Collectors keep no MLflow trace
/// info, so nothing is read back from them.
///
/// ```no_run
/// use clew::export::{OtlpDestination, OtlpProtocol};
/// let otlp = OtlpDestination::new("http://127.0.0.1:4318/v1/traces", OtlpProtocol::HttpProtobuf).unwrap();
/// clew::set_destination(otlp);
/// ```
pub struct OtlpDestination(Arc<OtlpInner>);

struct OtlpInner {
    endpoint: String,
    protocol: OtlpProtocol,
    transport: Transport,
    resource: IndexMap<String, Value>,
    policy: RetryPolicy,
}

impl OtlpDestination {
    /// A destination for `endpoint`: the full URL for `http/protobuf`
    /// (`http://host:4318/v1/traces`), `http(s)://host:4317` for gRPC. Resource attributes
    /// come from `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn new(endpoint: &str, protocol: OtlpProtocol) -> Result<Self, ExportError> {
        Self::with_headers(endpoint, protocol, &[])
    }

    /// Like [`OtlpDestination::new`], sending these headers (or gRPC metadata) with every export.
    pub fn with_headers(endpoint: &str, protocol: OtlpProtocol, headers: &[(String, String)]) -> Result<Self, ExportError> {
        let unavailable = |message: String| ExportError::Unavailable { destination: endpoint.to_string(), message };
        let endpoint = endpoint.trim().to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(unavailable(format!("OTLP endpoint {endpoint:?} is not an http:// or https:// URL")));
        }
        let transport = match protocol {
            OtlpProtocol::HttpProtobuf => {
                reqwest::Url::parse(&endpoint).map_err(|e| unavailable(format!("invalid OTLP endpoint: {e}")))?;
                Transport::Http {
                    client: http::build_client(Duration::from_secs(30)).map_err(unavailable)?,
                    headers: http::header_map(headers, "OTEL_EXPORTER_OTLP_HEADERS"),
                }
            }
            OtlpProtocol::Grpc => {
                let mut channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
                    .map_err(|e| unavailable(format!("invalid OTLP endpoint: {e}")))?
                    .tcp_nodelay(true)
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(30));
                if endpoint.starts_with("https://") {
                    channel = channel
                        .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                        .map_err(|e| unavailable(format!("TLS setup failed: {e}")))?;
                }
                // connect_lazy needs a runtime to spawn its connection task on.
                let rt = crate::runtime::runtime().ok_or_else(|| unavailable("the clew I/O runtime is not available".into()))?;
                let channel = {
                    let _guard = rt.enter();
                    channel.connect_lazy()
                };
                let mut metadata = tonic::metadata::MetadataMap::new();
                for (k, v) in headers {
                    match (
                        tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()),
                        tonic::metadata::MetadataValue::try_from(v.as_str()),
                    ) {
                        (Ok(key), Ok(value)) => {
                            metadata.insert(key, value);
                        }
                        _ => crate::report::warn(&format!("OTEL_EXPORTER_OTLP_HEADERS: {k:?} is not valid gRPC metadata; skipped")),
                    }
                }
                Transport::Grpc { client: TraceServiceClient::new(channel), metadata }
            }
        };
        Ok(OtlpDestination(Arc::new(OtlpInner {
            endpoint,
            protocol,
            transport,
            resource: resource_attributes_from_env(),
            policy: RetryPolicy::for_export(),
        })))
    }

    /// From `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (else `OTEL_EXPORTER_OTLP_ENDPOINT` +
    /// `/v1/traces` for HTTP), `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` (default `grpc`, as
    /// MLflow) and `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`. `None` when no endpoint is set.
    pub fn from_env() -> Option<Result<Self, ExportError>> {
        let protocol_text = env_var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env_var("OTEL_EXPORTER_OTLP_PROTOCOL"));
        let protocol = match protocol_text.as_deref().map(OtlpProtocol::parse) {
            None => OtlpProtocol::Grpc,
            Some(Some(p)) => p,
            Some(None) => {
                return Some(Err(ExportError::Unavailable {
                    destination: "OTLP".into(),
                    message: format!(
                        "OTEL_EXPORTER_OTLP_PROTOCOL={:?} is not supported; use grpc or http/protobuf",
                        protocol_text.unwrap_or_default()
                    ),
                }))
            }
        };
        let endpoint = match env_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(e) => e,
            None => {
                let base = env_var("OTEL_EXPORTER_OTLP_ENDPOINT")?;
                match protocol {
                    OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
                    OtlpProtocol::Grpc => base,
                }
            }
        };
        let mut headers = Vec::new();
        for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            if let Some(text) = env_var(name) {
                match http::parse_header_list(&text) {
                    Ok(pairs) => headers.extend(pairs),
                    Err(e) => crate::report::warn(&format!("{name} is malformed ({e}); ignored")),
                }
            }
        }
        Some(Self::with_headers(&endpoint, protocol, &headers))
    }

}

impl OtlpInner {
    fn request(&self, spans: &[Span]) -> ExportTraceServiceRequest {
        spans_to_export_request(spans, &self.resource)
    }

    async fn send(&self, request: ExportTraceServiceRequest) -> Result<(), String> {
        match &self.transport {
            Transport::Http { client, headers } => {
                let body = bytes::Bytes::from(export_request_to_protobuf(&request));
                http::send(&self.policy, || {
                    client.post(&self.endpoint).headers(headers.clone()).header(CONTENT_TYPE, "application/x-protobuf").body(body.clone())
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
            Transport::Grpc { client, metadata } => {
                let started = Instant::now();
                let mut backoff = self.policy.initial_backoff;
                loop {
                    let mut call = tonic::Request::new(request.clone());
                    *call.metadata_mut() = metadata.clone();
                    let status = match client.clone().export(call).await {
                        Ok(_) => return Ok(()),
                        Err(status) => status,
                    };
                    use tonic::Code;
                    let retryable = matches!(
                        status.code(),
                        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded | Code::Aborted | Code::Cancelled
                    );
                    let wait = backoff.mul_f64(rand::random::<f64>() * 0.2 + 0.9);
                    if !retryable || started.elapsed() + wait > self.policy.deadline {
                        return Err(format!("gRPC {:?}: {}", status.code(), status.message()));
                    }
                    stats().record_retry();
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.policy.max_backoff);
                }
            }
        }
    }

    fn describe(&self) -> String {
        let protocol = match self.protocol {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::Grpc => "grpc",
        };
        format!("OTLP {protocol} {}", self.endpoint)
    }
}

impl Destination for OtlpDestination {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError> {
        let spans: Vec<Span> = traces.into_iter().flat_map(|t| t.data.spans).collect();
        self.export_spans("", spans)
    }
    fn export_spans(&self, _experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError> {
        let inner = self.0.clone();
        let result = crate::runtime::block_on(async move {
            for chunk in spans.chunks(MAX_SPANS_PER_REQUEST) {
                inner.send(inner.request(chunk)).await?;
            }
            Ok::<(), String>(())
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(ExportError::Failed { destination: self.describe(), message }),
            Err(message) => Err(ExportError::Unavailable { destination: self.describe(), message }),
        }
    }
}

/// Sends every trace to several destinations (MLflow's dual export). The first destination
/// is the primary: its outcome is what the export stats count, and reads go to the `reads`
/// destination's store.
pub(crate) struct FanoutDestination {
    pub(crate) exporters: Vec<Arc<dyn Destination>>,
    pub(crate) reads: Option<Arc<dyn Destination>>,
}

impl Destination for FanoutDestination {
    fn describe(&self) -> String {
        self.exporters.iter().map(|d| d.describe()).collect::<Vec<_>>().join(" + ")
    }
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError> {
        let mut result = Ok(());
        let last = self.exporters.len().saturating_sub(1);
        let spans: u64 = traces.iter().map(|t| t.data.spans.len() as u64).sum();
        let count = traces.len() as u64;
        let mut traces = Some(traces);
        for (i, d) in self.exporters.iter().enumerate() {
            let batch = if i == last { traces.take().unwrap_or_default() } else { traces.clone().unwrap_or_default() };
            let outcome = d.export(batch);
            if i == 0 && !d.counts_itself() {
                match &outcome {
                    Ok(()) => stats().record_exported(count, spans),
                    Err(_) => stats().record_failed(count, false),
                }
            }
            if let Err(e) = outcome {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
    fn export_spans(&self, experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError> {
        let mut result = Ok(());
        let count = spans.len() as u64;
        for (i, d) in self.exporters.iter().enumerate() {
            let outcome = d.export_spans(experiment_id, spans.clone());
            if i == 0 && !d.counts_itself() {
                match &outcome {
                    Ok(()) => {
                        stats().spans_exported.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(_) => stats().record_failed(1, false),
                }
            }
            if let Err(e) = outcome {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
    fn flush(&self) -> Result<(), ExportError> {
        let mut result = Ok(());
        for d in &self.exporters {
            if let Err(e) = d.flush() {
                result = Err(e);
            }
        }
        result
    }
    fn store(&self) -> Option<Arc<dyn TraceStore>> {
        self.reads.as_ref().and_then(|d| d.store())
    }
    fn find_trace(&self, trace_id: &str) -> Option<Trace> {
        self.reads.as_ref().and_then(|d| d.find_trace(trace_id))
    }
    fn counts_itself(&self) -> bool {
        true
    }
}

/// The destination the environment asks for: the tracking URI's (`MLFLOW_TRACKING_URI`,
/// else the default store), replaced by an OTLP collector when `OTEL_EXPORTER_OTLP_*` names
/// one (and `MLFLOW_ENABLE_OTLP_EXPORTER` isn't false), or both with
/// `MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT=true`, as MLflow decides. Reads always go to the
/// tracking URI.
pub fn destination_from_env(tracking_uri: Option<&str>, default_uri: &str) -> Arc<dyn Destination> {
    let otlp = if env_flag("MLFLOW_ENABLE_OTLP_EXPORTER") == Some(false) { None } else { OtlpDestination::from_env() };
    let tracking = || super::destination_from_uri(tracking_uri.unwrap_or(default_uri));
    let Some(otlp) = otlp else {
        return tracking();
    };
    let otlp: Arc<dyn Destination> = match otlp {
        Ok(d) => Arc::new(d),
        Err(e) => {
            crate::report::warn(&format!("OTLP exporter: {e}; exporting to the tracking URI instead"));
            return tracking();
        }
    };
    if env_flag("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT") == Some(true) {
        let tracking = tracking();
        return Arc::new(FanoutDestination { exporters: vec![tracking.clone(), otlp], reads: Some(tracking) });
    }
    // OTLP only; reads still go to an explicitly configured tracking URI.
    let reads = tracking_uri.map(super::destination_from_uri);
    Arc::new(FanoutDestination { exporters: vec![otlp], reads })
}
