//! Rules of the ingest path that do not depend on the backend: experiment ids, artifact
//! locations, trace info validation, and the searchable columns of an assessment. SQLite and
//! PostgreSQL both write through these.

use crate::{StoreError, StoreResult};
use clew_model::TraceLocation;
use clew_model::TraceInfo;
use serde_json::Value;

/// Experiment ids are integers in every backend; anything else cannot exist.
pub(crate) fn parse_experiment_id(experiment_id: &str) -> Option<i64> {
    experiment_id.trim().parse::<i64>().ok()
}

pub(crate) fn trace_artifact_location(experiment_location: &str, trace_id: &str) -> String {
    format!("{}/traces/{trace_id}/artifacts", experiment_location.trim_end_matches('/'))
}

pub(crate) fn validate_info(info: &TraceInfo) -> StoreResult<String> {
    if info.trace_id.trim().is_empty() {
        return Err(StoreError::InvalidArgument("trace_id must not be empty".into()));
    }
    match &info.trace_location {
        TraceLocation::MlflowExperiment { experiment_id } => Ok(experiment_id.clone()),
        TraceLocation::Unspecified => Ok(clew_model::experiment::DEFAULT_EXPERIMENT_ID.to_string()),
        TraceLocation::InferenceTable { .. } => Err(StoreError::InvalidArgument(
            "trace_location: only MLFLOW_EXPERIMENT locations can be stored".into(),
        )),
    }
}

/// The searchable columns of one assessment dict (proto-JSON form).
pub(crate) struct AssessmentColumns {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) value_text: Option<String>,
    pub(crate) value_json: Option<String>,
    pub(crate) valid: bool,
}

pub(crate) fn assessment_columns(assessment: &Value) -> AssessmentColumns {
    let name = assessment.get("assessment_name").and_then(Value::as_str).unwrap_or_default().to_string();
    let (kind, value) = if let Some(feedback) = assessment.get("feedback") {
        ("feedback", feedback.get("value"))
    } else if let Some(expectation) = assessment.get("expectation") {
        let value = expectation.get("value").or_else(|| expectation.get("serialized_value").and_then(|s| s.get("value")));
        ("expectation", value)
    } else if let Some(issue) = assessment.get("issue") {
        // Issue references: `issue.id = '<assessment name>'` searches them.
        ("issue", issue.get("issue_name"))
    } else {
        ("other", None)
    };
    let value_json = value.map(Value::to_string);
    let value_text = value.map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let valid = assessment.get("valid").and_then(Value::as_bool).unwrap_or(true);
    AssessmentColumns { name, kind, value_text, value_json, valid }
}

/// Where each assessment of an incoming TraceInfo goes among the `stored` ones (`(position,
/// assessment_id)`), merged by `assessment_id`: one with a stored id takes that place; others
/// (no id, or a new one) are appended after the last stored position. The caller first deletes
/// the stored assessments without an id (the incoming ones replace them); stored assessments
/// with other ids stay. Re-delivering the same info therefore changes nothing. Returns
/// `(position, id, assessment)` in the incoming order.
pub(crate) fn plan_assessment_merge<'a>(
    stored: &[(i64, Option<String>)],
    incoming: &'a [Value],
) -> Vec<(i64, Option<String>, &'a Value)> {
    let stored_position = |id: &str| stored.iter().find(|(_, s)| s.as_deref() == Some(id)).map(|(p, _)| *p);
    let mut next_position = stored.iter().map(|(p, _)| p + 1).max().unwrap_or(0);
    incoming
        .iter()
        .map(|assessment| {
            let id = assessment.get("assessment_id").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_string);
            let position = match id.as_deref().and_then(stored_position) {
                Some(position) => position,
                None => {
                    next_position += 1;
                    next_position - 1
                }
            };
            (position, id, assessment)
        })
        .collect()
}

/// Span ids (16 hex digits) as the stores' integer span keys, in order; a malformed id is
/// `InvalidArgument`.
pub(crate) fn span_id_keys(span_ids: &[String]) -> StoreResult<Vec<i64>> {
    span_ids
        .iter()
        .map(|id| {
            clew_model::SpanId::from_hex(id)
                .map(|s| s.as_u64() as i64)
                .map_err(|_| StoreError::InvalidArgument(format!("span id {id:?} is not 16 hex digits")))
        })
        .collect()
}

/// Checks a link-traces-to-run request: at most [`crate::MAX_TRACES_TO_LINK`] ids, none empty,
/// and a run id. Returns whether there is anything to link.
pub(crate) fn validate_link_request(trace_ids: &[String], run_id: &str) -> StoreResult<bool> {
    if trace_ids.len() > crate::MAX_TRACES_TO_LINK {
        return Err(StoreError::InvalidArgument(format!(
            "cannot link more than {} traces to a run at once, got {}",
            crate::MAX_TRACES_TO_LINK,
            trace_ids.len()
        )));
    }
    if run_id.trim().is_empty() {
        return Err(StoreError::InvalidArgument("run_id must not be empty".into()));
    }
    if trace_ids.iter().any(|id| id.trim().is_empty()) {
        return Err(StoreError::InvalidArgument("trace_ids must not contain empty ids".into()));
    }
    Ok(!trace_ids.is_empty())
}
