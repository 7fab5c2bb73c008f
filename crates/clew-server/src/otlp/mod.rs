//! OTLP trace ingest: OTLP/HTTP `POST /v1/traces` (protobuf or JSON, gzip/deflate) on the main
//! port and the standard 4318 port ([`routes`]), and OTLP/gRPC `TraceService/Export`
//! ([`serve_grpc`], the standard 4317 port). Both doors share [`ingest_export_request`]:
//! convert every span as MLflow's `Span.from_otel_proto` does, copy a known agent CLI's
//! `service.name` onto root spans, translate foreign conventions into MLflow's attributes
//! ([`clew_model::translate`]), and store the whole batch atomically through the bounded
//! ingest path (a success means committed; overload is 429 / `RESOURCE_EXHAUSTED`).
//!
//! The experiment comes from the `x-mlflow-experiment-id` header (metadata for gRPC), else the
//! default experiment `"0"` (MLflow requires the header; clew lets plain OTel exporters in).
//! `x-mlflow-run-id` links the traces whose root span arrived to that run.

pub mod grpc;
pub mod http;

pub use grpc::{grpc_service, serve_grpc};

use crate::error::ApiError;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use clew_model::json::otlp::any_to_py;
use clew_model::pyjson::{self, PyValue};
use clew_model::translate::{span_from_otlp_for_storage, translate_sanitized_span_for_storage};
use clew_model::Span;
use clew_store::MAX_TRACES_TO_LINK;
use indexmap::IndexSet;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Header (gRPC metadata key) naming the experiment the spans go to.
pub const EXPERIMENT_ID_HEADER: &str = "x-mlflow-experiment-id";
/// Header (gRPC metadata key) naming a run the traces are linked to.
pub const RUN_ID_HEADER: &str = "x-mlflow-run-id";
/// The experiment used when a request names none.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
/// `service.name` values copied onto root spans: agent CLIs MLflow knows (an allowlist, so
/// free-form text from untrusted clients is not stored).
pub const KNOWN_AGENT_SERVICE_NAMES: [&str; 5] = ["claude-code", "codex_cli_rs", "codex_vscode", "gemini-cli", "qwen-code"];

/// `POST /v1/traces`. Used for the main port and the standard OTLP/HTTP port.
pub fn routes() -> Router<AppState> {
    Router::new().route(http::TRACES_PATH, post(http::export_traces))
}

/// Where a batch goes, from the request's headers or metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub experiment_id: String,
    pub run_id: Option<String>,
}

impl Destination {
    /// From the header values (absent or blank → the default experiment / no run).
    pub fn from_headers(experiment_id: Option<&str>, run_id: Option<&str>) -> Self {
        let experiment_id = experiment_id.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_EXPERIMENT_ID);
        Destination {
            experiment_id: experiment_id.to_string(),
            run_id: run_id.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
        }
    }
}

/// What an accepted request stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub spans: usize,
    /// Traces whose root span was in the batch.
    pub completed_traces: usize,
}

/// Converts, translates and stores every span of an export request: the one OTLP ingest path.
/// The conversion runs on the blocking pool, off the async workers.
///
/// Errors: 400 for a request without `resource_spans` or spans, 422 for a span that cannot be
/// converted (naming it and why), and whatever the ingest path answers (429 on overload, 404
/// for an unknown experiment, ...).
pub async fn ingest_export_request(
    state: &AppState,
    request: ExportTraceServiceRequest,
    destination: &Destination,
) -> Result<Ingested, ApiError> {
    let spans = run_blocking(move || spans_for_storage(request)).await?;
    ingest_spans(state, spans, destination).await
}

/// Stores spans already converted by [`spans_for_storage`] (the whole batch, atomically), then
/// links the traces whose root span arrived to the destination's run.
pub async fn ingest_spans(state: &AppState, spans: Vec<Span>, destination: &Destination) -> Result<Ingested, ApiError> {
    let count = spans.len();
    let completed: IndexSet<String> = spans.iter().filter(|s| s.is_root()).map(|s| s.trace_id.to_mlflow()).collect();
    state.ingest.log_spans(&destination.experiment_id, spans).await?;
    if let Some(run_id) = &destination.run_id {
        link_to_run(state, &completed, run_id).await;
    }
    Ok(Ingested { spans: count, completed_traces: completed.len() })
}

/// Runs CPU work (decompression, decoding, conversion) on the blocking pool.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("OTLP request processing failed: {e}")))?
}

/// Every span of the request, converted and translated for storage. The request is consumed:
/// names, keys and string values move into the spans instead of being copied (this runs for
/// every span ingested).
pub fn spans_for_storage(request: ExportTraceServiceRequest) -> Result<Vec<Span>, ApiError> {
    if request.resource_spans.is_empty() {
        return Err(ApiError::invalid("invalid OTLP export request: it has no resource_spans"));
    }
    let total: usize =
        request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum();
    if total == 0 {
        return Err(ApiError::invalid("invalid OTLP export request: its resource_spans hold no spans"));
    }
    let mut spans = Vec::with_capacity(total);
    for (r, resource_spans) in request.resource_spans.into_iter().enumerate() {
        let service_name = known_agent_service_name(resource_spans.resource.as_ref());
        for (s, scope_spans) in resource_spans.scope_spans.into_iter().enumerate() {
            for (i, mut proto) in scope_spans.spans.into_iter().enumerate() {
                let mut span = span_from_otlp_for_storage(&mut proto).map_err(|e| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "INVALID_PARAMETER_VALUE",
                        format!(
                            "cannot convert OTLP span resource_spans[{r}].scope_spans[{s}].spans[{i}] (name {:?}, span_id {}): {e}",
                            proto.name,
                            hex_or_empty(&proto.span_id),
                        ),
                    )
                })?;
                if let (true, Some(name)) = (span.is_root(), service_name) {
                    span.attributes.insert("service.name".to_string(), pyjson::dumps(&serde_json::Value::from(name)));
                }
                translate_sanitized_span_for_storage(&mut span);
                spans.push(span);
            }
        }
    }
    Ok(spans)
}

/// The resource's `service.name` when it is one of [`KNOWN_AGENT_SERVICE_NAMES`].
fn known_agent_service_name(resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>) -> Option<&'static str> {
    let attribute = resource?.attributes.iter().find(|kv| kv.key == "service.name")?;
    let name = match any_to_py(attribute.value.as_ref()) {
        PyValue::Str(s) => s,
        PyValue::Null => return None,
        other => other.dumps(),
    };
    KNOWN_AGENT_SERVICE_NAMES.iter().copied().find(|known| *known == name)
}

fn hex_or_empty(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "<empty>".to_string()
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Links the completed traces to the run. The spans are already committed, so a failure here
/// does not fail the request (as in MLflow, which logs it); it is counted in the metrics.
async fn link_to_run(state: &AppState, trace_ids: &IndexSet<String>, run_id: &str) {
    let ids: Vec<String> = trace_ids.iter().cloned().collect();
    for chunk in ids.chunks(MAX_TRACES_TO_LINK) {
        if state.store.link_traces_to_run(chunk, run_id).await.is_err() {
            state.metrics.record_rejected("run_link_failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_defaults_to_experiment_zero() {
        assert_eq!(Destination::from_headers(None, None).experiment_id, "0");
        assert_eq!(Destination::from_headers(Some("  "), Some("")).experiment_id, "0");
        let d = Destination::from_headers(Some(" 7 "), Some("run1"));
        assert_eq!(d, Destination { experiment_id: "7".into(), run_id: Some("run1".into()) });
    }

    #[test]
    fn empty_requests_are_rejected_with_the_reason() {
        let empty = ExportTraceServiceRequest { resource_spans: vec![] };
        assert!(spans_for_storage(empty).unwrap_err().message.contains("no resource_spans"));
        let no_spans = ExportTraceServiceRequest { resource_spans: vec![Default::default()] };
        assert!(spans_for_storage(no_spans).unwrap_err().message.contains("no spans"));
    }
}
