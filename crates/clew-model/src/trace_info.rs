//! TraceInfo (MLflow v3): the summary of a trace.

use indexmap::IndexMap;
use std::fmt;
use std::str::FromStr;

/// The state of a trace (`status` in search filters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TraceState {
    #[default]
    StateUnspecified,
    Ok,
    Error,
    InProgress,
}

impl TraceState {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceState::StateUnspecified => "STATE_UNSPECIFIED",
            TraceState::Ok => "OK",
            TraceState::Error => "ERROR",
            TraceState::InProgress => "IN_PROGRESS",
        }
    }
    /// UNSPECIFIED, OK and ERROR are end states.
    pub fn is_end_state(self) -> bool {
        !matches!(self, TraceState::InProgress)
    }
}

impl FromStr for TraceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "STATE_UNSPECIFIED" | "TRACE_STATUS_UNSPECIFIED" => Ok(TraceState::StateUnspecified),
            "OK" => Ok(TraceState::Ok),
            "ERROR" => Ok(TraceState::Error),
            "IN_PROGRESS" => Ok(TraceState::InProgress),
            other => Err(format!(
                "invalid trace state {other:?}: expected OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED"
            )),
        }
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a trace lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceLocation {
    MlflowExperiment { experiment_id: String },
    InferenceTable { full_table_name: String },
    Unspecified,
}

impl TraceLocation {
    pub fn experiment(id: impl Into<String>) -> Self {
        TraceLocation::MlflowExperiment { experiment_id: id.into() }
    }
    pub fn experiment_id(&self) -> Option<&str> {
        match self {
            TraceLocation::MlflowExperiment { experiment_id } => Some(experiment_id),
            _ => None,
        }
    }
}

impl Default for TraceLocation {
    fn default() -> Self {
        TraceLocation::experiment("0")
    }
}

/// MLflow's TraceInfo v3.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TraceInfo {
    /// `tr-<32 hex>`.
    pub trace_id: String,
    pub client_request_id: Option<String>,
    pub trace_location: TraceLocation,
    /// Root span start, ms since the epoch.
    pub request_time: i64,
    pub state: TraceState,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    /// Root end − start in ms; `None` while in progress.
    pub execution_duration: Option<i64>,
    pub trace_metadata: IndexMap<String, String>,
    pub tags: IndexMap<String, String>,
    /// Assessments in their proto-JSON dict form (structured handling comes with the server).
    pub assessments: Vec<serde_json::Value>,
}

impl TraceInfo {
    pub fn experiment_id(&self) -> Option<&str> {
        self.trace_location.experiment_id()
    }
    /// MLflow alias of `trace_id`.
    pub fn request_id(&self) -> &str {
        &self.trace_id
    }
    /// MLflow alias of `request_time`.
    pub fn timestamp_ms(&self) -> i64 {
        self.request_time
    }
    /// MLflow alias of `execution_duration`.
    pub fn execution_time_ms(&self) -> Option<i64> {
        self.execution_duration
    }
    /// Aggregated token usage from `mlflow.trace.tokenUsage`, if any.
    pub fn token_usage(&self) -> Option<serde_json::Value> {
        self.trace_metadata
            .get(crate::keys::TOKEN_USAGE)
            .and_then(|s| serde_json::from_str(s).ok())
    }
}
