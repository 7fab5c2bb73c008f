//! The [`TraceStore`] trait: the narrow interface every backend implements.

use async_trait::async_trait;
use clew_model::filter::FilterError;
use clew_model::{Experiment, Span, Trace, TraceInfo};

/// Errors a store reports. Each maps to an MLflow `error_code` (see [`StoreError::error_code`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error(transparent)]
    InvalidFilter(#[from] FilterError),
    #[error("store is unavailable: {0}")]
    Unavailable(String),
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// MLflow's `error_code` for this error.
    pub fn error_code(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "RESOURCE_DOES_NOT_EXIST",
            StoreError::AlreadyExists(_) => "RESOURCE_ALREADY_EXISTS",
            StoreError::InvalidArgument(_) | StoreError::InvalidFilter(_) => "INVALID_PARAMETER_VALUE",
            StoreError::Unavailable(_) => "TEMPORARILY_UNAVAILABLE",
            StoreError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A search request (SearchTracesV3).
#[derive(Clone, Debug, Default)]
pub struct SearchTracesRequest {
    /// Experiments to search; empty means all experiments.
    pub experiment_ids: Vec<String>,
    /// MLflow filter string (spec §5); empty or `None` matches all.
    pub filter: Option<String>,
    /// Page size; `None` = 100. Backends accept up to 50,000.
    pub max_results: Option<usize>,
    /// `order_by` entries, e.g. `"timestamp_ms DESC"`.
    pub order_by: Vec<String>,
    /// Opaque token from a previous page (base64 of `{"offset": N}`).
    pub page_token: Option<String>,
}

/// One page of search results: trace infos only.
#[derive(Clone, Debug, Default)]
pub struct TracePage {
    pub traces: Vec<TraceInfo>,
    /// Present whenever the page came back full.
    pub next_page_token: Option<String>,
}

/// Which traces to delete.
#[derive(Clone, Debug)]
pub enum DeleteTraces {
    /// These trace ids, within the experiment.
    ByIds { experiment_id: String, trace_ids: Vec<String> },
    /// Traces with `request_time <= max_timestamp_millis`, oldest first, at most `max_traces`.
    OlderThan { experiment_id: String, max_timestamp_millis: i64, max_traces: Option<usize> },
}

/// The store every backend implements. Writes are idempotent upserts; spans and the final
/// trace info may arrive in any order, more than once, concurrently.
#[async_trait]
pub trait TraceStore: Send + Sync + 'static {
    // ---- experiments ----
    /// Creates an experiment and returns its id. A taken name is `AlreadyExists`.
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>) -> StoreResult<String>;
    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Option<Experiment>>;
    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>>;
    /// Active experiments, ordered by id.
    async fn list_experiments(&self) -> StoreResult<Vec<Experiment>>;

    // ---- ingest ----
    /// StartTraceV3: inserts or merges the final trace info (the client's values win for
    /// times, state, tags, metadata, previews set explicitly; stored previews are kept when
    /// the incoming info has none). Returns the stored info.
    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo>;
    /// Upserts spans into `experiment_id`, creating or updating the trace rows they belong to
    /// (state IN_PROGRESS until a root span arrives) as MLflow's `log_spans` does.
    async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> StoreResult<()>;
    /// Writes a finished trace (info and spans) in one go; the SDK's local destination.
    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()>;

    // ---- reads ----
    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>>;
    /// The trace with its spans, root first then by start time.
    async fn get_trace(&self, trace_id: &str) -> StoreResult<Option<Trace>>;
    /// The traces found, in request order; missing ids are skipped.
    async fn batch_get_traces(&self, trace_ids: &[String]) -> StoreResult<Vec<Trace>>;
    async fn search_traces(&self, request: &SearchTracesRequest) -> StoreResult<TracePage>;

    // ---- updates ----
    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()>;
    /// Deleting a missing key is `NotFound`.
    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()>;
    /// Returns how many traces were deleted.
    async fn delete_traces(&self, request: DeleteTraces) -> StoreResult<usize>;
}
