//! Runs, minimally: what `mlflow.start_run()` and `search_traces(run_id=...)` need of the
//! tracking server (`runs/create`, `runs/update`, `runs/get`). No metrics or params.
//!
//! ```
//! use clew_model::run::{Run, RunStatus};
//! let run = Run {
//!     run_id: "0123456789abcdef0123456789abcdef".into(),
//!     experiment_id: "1".into(),
//!     run_name: "calm-fox-42".into(),
//!     status: RunStatus::Running,
//!     start_time: 1_700_000_000_000,
//!     end_time: None,
//!     lifecycle_stage: "active".into(),
//!     artifact_uri: "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts".into(),
//!     user_id: String::new(),
//!     tags: Default::default(),
//! };
//! let body = run.to_get_response();
//! assert_eq!(body["run"]["info"]["status"], "RUNNING");
//! assert_eq!(body["run"]["data"]["metrics"], serde_json::json!([]));
//! ```

use crate::ModelError;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// The run-name tag MLflow mirrors `run_name` into.
pub const RUN_NAME_TAG: &str = "mlflow.runName";

/// `RunStatus` (MLflow proto).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RunStatus {
    #[default]
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether the run has ended (MLflow sets `end_time` for these).
    pub fn is_terminated(self) -> bool {
        matches!(self, RunStatus::Finished | RunStatus::Failed | RunStatus::Killed)
    }
}

impl std::str::FromStr for RunStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Ok(match s {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            other => {
                return Err(ModelError::InvalidValue {
                    field: "status",
                    reason: format!("{other:?} is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"),
                })
            }
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run (`RunInfo` plus its tags).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Run {
    /// 32 lowercase hex digits.
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    pub end_time: Option<i64>,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: String,
    pub user_id: String,
    pub tags: IndexMap<String, String>,
}

impl Run {
    /// The `RunInfo` dict (int64 fields as JSON numbers, as MLflow's `message_to_json` writes
    /// them; `run_uuid` is the deprecated twin of `run_id`).
    pub fn info_json(&self) -> Value {
        let mut info = Map::new();
        info.insert("run_id".into(), Value::String(self.run_id.clone()));
        info.insert("run_uuid".into(), Value::String(self.run_id.clone()));
        info.insert("run_name".into(), Value::String(self.run_name.clone()));
        info.insert("experiment_id".into(), Value::String(self.experiment_id.clone()));
        info.insert("user_id".into(), Value::String(self.user_id.clone()));
        info.insert("status".into(), Value::String(self.status.as_str().into()));
        info.insert("start_time".into(), json!(self.start_time));
        if let Some(end) = self.end_time {
            info.insert("end_time".into(), json!(end));
        }
        info.insert("artifact_uri".into(), Value::String(self.artifact_uri.clone()));
        info.insert("lifecycle_stage".into(), Value::String(self.lifecycle_stage.clone()));
        Value::Object(info)
    }

    /// The `Run` dict: `{"info": {...}, "data": {"metrics": [], "params": [], "tags": [...]}, "inputs": {}}`.
    /// The `mlflow.runName` tag is always present, as MLflow keeps it in step with `run_name`.
    pub fn to_json(&self) -> Value {
        let mut tags: Vec<Value> = self
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != RUN_NAME_TAG)
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        tags.push(json!({"key": RUN_NAME_TAG, "value": self.run_name}));
        json!({
            "info": self.info_json(),
            "data": {"metrics": [], "params": [], "tags": tags},
            "inputs": {}
        })
    }

    /// The body of `GET /api/2.0/mlflow/runs/get`: `{"run": {...}}`.
    pub fn to_get_response(&self) -> Value {
        json!({ "run": self.to_json() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_print() {
        for s in ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] {
            assert_eq!(s.parse::<RunStatus>().unwrap().as_str(), s);
        }
        assert!("DONE".parse::<RunStatus>().unwrap_err().to_string().contains("DONE"));
        assert!(RunStatus::Killed.is_terminated() && !RunStatus::Running.is_terminated());
    }

    #[test]
    fn run_json_has_mlflow_shape() {
        let mut run = Run {
            run_id: "ab".repeat(16),
            experiment_id: "3".into(),
            run_name: "r".into(),
            status: RunStatus::Finished,
            start_time: 5,
            end_time: Some(9),
            lifecycle_stage: "active".into(),
            artifact_uri: "mlflow-artifacts:/3/x/artifacts".into(),
            user_id: "u".into(),
            tags: IndexMap::new(),
        };
        run.tags.insert("mlflow.user".into(), "u".into());
        let v = run.to_json();
        assert_eq!(v["info"]["run_uuid"], v["info"]["run_id"]);
        assert_eq!(v["info"]["end_time"], 9);
        assert_eq!(v["info"]["start_time"], 5);
        assert_eq!(
            v["data"]["tags"],
            json!([{"key": "mlflow.user", "value": "u"}, {"key": "mlflow.runName", "value": "r"}])
        );
        run.end_time = None;
        assert!(run.to_json()["info"].get("end_time").is_none());
    }
}
