//! The [`TraceStore`] trait: the narrow interface every backend implements.

use async_trait::async_trait;
use clew_model::filter::FilterError;
use clew_model::{Assessment, AssessmentUpdate, Experiment, Run, RunStatus, Span, Trace, TraceInfo};

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

/// Which experiments a search returns, by lifecycle stage (MLflow's `ViewType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

/// A `search_experiments` request.
#[derive(Clone, Debug, Default)]
pub struct SearchExperimentsRequest {
    /// Case-insensitive substring of the experiment name; `None` or empty matches all.
    pub name_contains: Option<String>,
    pub view_type: ViewType,
    /// Page size; `None` = 1000 (MLflow's default for experiments), at most 50,000.
    pub max_results: Option<usize>,
    /// Opaque token from a previous page (same encoding as trace pages).
    pub page_token: Option<String>,
}

/// One page of experiments, ordered by id; each with its trace count.
#[derive(Clone, Debug, Default)]
pub struct ExperimentPage {
    pub experiments: Vec<(Experiment, u64)>,
    /// Present whenever the page came back full.
    pub next_page_token: Option<String>,
}

/// `runs/create`.
#[derive(Clone, Debug, Default)]
pub struct CreateRun {
    pub experiment_id: String,
    /// `None` or empty: the store makes up a name (as MLflow does, e.g. `"calm-fox-421"`).
    pub run_name: Option<String>,
    /// Milliseconds since the epoch; `None` = now.
    pub start_time: Option<i64>,
    pub user_id: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// `runs/update`: each `Some` field is changed.
#[derive(Clone, Debug, Default)]
pub struct UpdateRun {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// A stored artifact (from `list_artifacts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactInfo {
    /// Path relative to the artifact root (the part after `mlflow-artifacts:/`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// A span without its payload: what the indexed span columns hold. For drawing a big trace's
/// tree before loading any span body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanSkeleton {
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; `None` for a root.
    pub parent_id: Option<String>,
    pub name: String,
    /// `mlflow.spanType`, e.g. `LLM`; `None` when the span has none.
    pub span_type: Option<String>,
    /// `OK`, `ERROR` or `UNSET`.
    pub status_code: String,
    pub start_time_ns: i64,
    pub end_time_ns: Option<i64>,
}

/// Most trace ids one `link_traces_to_run` call accepts (MLflow's limit).
pub const MAX_TRACES_TO_LINK: usize = 100;

/// The store every backend implements. Writes are idempotent upserts; spans and the final
/// trace info may arrive in any order, more than once, concurrently.
///
/// Methods have no default bodies: every backend implements all of them, and
/// `conformance.rs` checks each. The tracking-server group (experiments for the UI, runs,
/// links, assessments, artifacts, skeleton reads) came with schema version 2 (SQLite
/// `migrations/0002_tracking_server.sql`: tables `runs`, `run_tags`, `trace_run_links
/// (trace_id, run_id)`, `artifacts`, columns `assessments.assessment_id` and
/// `experiments.trace_count`); the search compiler's `run_id = '...'` also reads
/// `trace_run_links` (joined on `trace_id`), so other SQL backends need that table under that
/// name.
/// Backend-neutral rules (ids, paths, assessment updates) live in [`crate::tracking`].
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

    // ---- experiments (tracking server / UI) ----
    /// Experiments matching the request, ordered by id, each with its trace count.
    async fn search_experiments(&self, request: &SearchExperimentsRequest) -> StoreResult<ExperimentPage>;
    /// Traces stored in the experiment (0 for an unknown experiment). Cheap: one index count.
    async fn count_traces(&self, experiment_id: &str) -> StoreResult<u64>;
    /// `NotFound` for an unknown experiment, `AlreadyExists` for a taken name,
    /// `InvalidArgument` for an empty name or a deleted experiment.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()>;
    /// Marks the experiment (and its runs) `deleted`; its traces stay. Experiment `0` cannot be
    /// deleted (`InvalidArgument`, as MLflow's file store); an unknown or already deleted
    /// experiment is `NotFound` (MLflow looks among the active ones).
    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()>;
    /// Marks a deleted experiment (and its runs) `active` again; an unknown or active one is
    /// `NotFound`.
    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()>;
    /// Sets (overwrites) one experiment tag. `NotFound` for an unknown experiment.
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> StoreResult<()>;

    // ---- runs (minimal: enough for `mlflow.start_run()` and `search_traces(run_id=)`) ----
    /// Creates a run: 32-hex id, status RUNNING, `artifact_uri` under the experiment's location.
    /// `NotFound` for an unknown experiment, `InvalidArgument` for a deleted one.
    async fn create_run(&self, request: CreateRun) -> StoreResult<Run>;
    async fn get_run(&self, run_id: &str) -> StoreResult<Option<Run>>;
    /// Applies the changes and returns the run. `NotFound` for an unknown run.
    async fn update_run(&self, run_id: &str, update: UpdateRun) -> StoreResult<Run>;
    /// Links traces to a run (MLflow's entity association), idempotently; the `run_id = '...'`
    /// filter then matches them. At most [`MAX_TRACES_TO_LINK`] ids and a non-empty run id
    /// (`InvalidArgument`; empty trace ids too). As in MLflow, neither the traces nor the run
    /// have to exist: a link may arrive before its trace (it matches once the trace is stored).
    /// Deleting a trace drops its links.
    async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> StoreResult<()>;

    // ---- assessments (spec §2.8, §4.6) ----
    /// Stores a new assessment on the trace and returns it as stored: the store sets `trace_id`,
    /// `valid = true` and, where the client left them out (MLflow's SQL store keeps the
    /// client's), `assessment_id` (`"a-"` + 32 hex) and `create_time`/`last_update_time` (now).
    /// An id already on the trace is `AlreadyExists`. When `overrides` names an assessment of
    /// the trace, that one becomes `valid = false` (`NotFound` if it does not exist).
    /// `NotFound` for an unknown trace, `InvalidArgument` without a name or a value.
    async fn create_assessment(&self, trace_id: &str, assessment: Assessment) -> StoreResult<Assessment>;
    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>>;
    /// Applies the fields in the mask; metadata is merged; `last_update_time` becomes now.
    /// Changing a feedback into an expectation (or back) is `InvalidArgument`; an unknown
    /// assessment is `NotFound`. Returns the stored assessment.
    async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> StoreResult<Assessment>;
    /// Deletes the assessment; when it overrode another, that one becomes valid again.
    /// Deleting a missing assessment succeeds (idempotent, as MLflow).
    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()>;

    // ---- artifacts (blobs in the store; paths are the part after `mlflow-artifacts:/`) ----
    /// Stores (replaces) the bytes at `path`. Paths are `/`-separated and relative; empty
    /// segments, `.` and `..` are `InvalidArgument`. A leading `/` is ignored.
    async fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> StoreResult<()>;
    async fn get_artifact(&self, path: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Every artifact under the directory `prefix` (recursively), ordered by path in byte order;
    /// `""` lists all. (SQL backends: the key range `[prefix/, prefix0)` in byte order, i.e.
    /// `COLLATE "C"` on PostgreSQL.)
    async fn list_artifacts(&self, prefix: &str) -> StoreResult<Vec<ArtifactInfo>>;
    /// Returns whether something was deleted.
    async fn delete_artifact(&self, path: &str) -> StoreResult<bool>;

    // ---- big traces (UI) ----
    /// The trace info and every span's indexed columns, root first then by start time, without
    /// decoding any span payload.
    async fn get_trace_skeleton(&self, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>>;
    /// The spans with these ids (16 hex digits each), in request order; unknown ids are skipped,
    /// malformed ones are `InvalidArgument`. An unknown trace gives an empty list.
    async fn get_spans(&self, trace_id: &str, span_ids: &[String]) -> StoreResult<Vec<Span>>;
    /// The ids (16 hex digits) of the trace's spans that contain `text`, case-insensitively, in
    /// their name, status message, attribute keys or values (as decoded JSON text), or event
    /// names or attributes ([`crate::span_text::SpanTextQuery`] is the exact rule), in
    /// skeleton order (root first, then by start time), at most `limit`. `None` for an unknown
    /// trace; an empty `text` is `InvalidArgument`.
    async fn search_span_ids_in_trace(&self, trace_id: &str, text: &str, limit: usize) -> StoreResult<Option<Vec<String>>>;

    /// The state of a background text index, for metrics; `None` when the backend keeps none
    /// (PostgreSQL's trigram index is always current).
    fn text_index_status(&self) -> Option<TextIndexStatus> {
        None
    }
}

/// How far a background text index trails the stored spans, and whether it is failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextIndexStatus {
    /// Spans stored but not indexed yet, as of this process's last commit or index step
    /// (searches scan them directly: correct, slower).
    pub lag_spans: i64,
    /// Index steps that failed so far in this process.
    pub failures: u64,
}
