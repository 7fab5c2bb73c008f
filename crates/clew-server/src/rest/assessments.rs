//! Assessment CRUD on `/api/3.0/mlflow/traces/{trace_id}/assessments[/{assessment_id}]`
//! (spec §4.6): feedback and expectations attached to a trace or one of its spans.

use super::params::{missing, Params};
use super::reply::{empty, ok_json, Reply};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use clew_model::assessment::{Assessment, AssessmentUpdate};
use serde_json::{json, Value};

fn assessment_not_found(trace_id: &str, assessment_id: &str) -> ApiError {
    ApiError::not_found(format!("Assessment with ID '{assessment_id}' not found for trace '{trace_id}'"))
}

async fn require_trace(state: &AppState, trace_id: &str) -> Result<(), ApiError> {
    match state.store.get_trace_info(trace_id).await? {
        Some(_) => Ok(()),
        None => Err(super::traces::trace_not_found(trace_id)),
    }
}

/// `POST .../traces/{trace_id}/assessments {"assessment": {...}}` → `{"assessment"}` as stored
/// (with its new `assessment_id`).
pub async fn create(State(state): State<AppState>, Path(trace_id): Path<String>, params: Params) -> Reply {
    let body = params.json("assessment").ok_or_else(|| missing("assessment"))?;
    let mut assessment = Assessment::from_json(body)
        .map_err(|e| ApiError::invalid(format!("Invalid value for parameter 'assessment': {e}")))?;
    if !assessment.trace_id.is_empty() && assessment.trace_id != trace_id {
        return Err(ApiError::invalid(format!(
            "Invalid value for parameter 'assessment.trace_id': {:?} does not match the trace in the path ({trace_id:?})",
            assessment.trace_id
        )));
    }
    assessment.trace_id = trace_id.clone();
    assessment
        .validate_new()
        .map_err(|e| ApiError::invalid(format!("Invalid value for parameter 'assessment': {e}")))?;
    require_trace(&state, &trace_id).await?;
    let stored = state.store.create_assessment(&trace_id, assessment).await?;
    ok_json(json!({"assessment": stored.to_json()}))
}

/// `GET .../traces/{trace_id}/assessments/{assessment_id}` → `{"assessment"}`.
pub async fn get(State(state): State<AppState>, Path((trace_id, assessment_id)): Path<(String, String)>) -> Reply {
    let assessment = state
        .store
        .get_assessment(&trace_id, &assessment_id)
        .await?
        .ok_or_else(|| assessment_not_found(&trace_id, &assessment_id))?;
    ok_json(json!({"assessment": assessment.to_json()}))
}

/// `PATCH .../assessments/{assessment_id} {"assessment": {...}, "update_mask": "assessmentName,..."}`
/// → `{"assessment"}` as stored.
pub async fn update(
    State(state): State<AppState>,
    Path((trace_id, assessment_id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let body = params.json("assessment").ok_or_else(|| missing("assessment"))?;
    let update_mask = match params.json("update_mask") {
        // FieldMask as proto-JSON is a comma-separated string; accept `{"paths": [...]}` too.
        Some(Value::Object(mask)) => mask
            .get("paths")
            .and_then(Value::as_array)
            .map(|paths| paths.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
        _ => params.required_string("update_mask")?,
    };
    if update_mask.trim().is_empty() {
        return Err(missing("update_mask"));
    }
    let update = AssessmentUpdate::from_mask(body, &update_mask)
        .map_err(|e| ApiError::invalid(format!("Invalid value for parameter 'update_mask' or 'assessment': {e}")))?;
    if state.store.get_assessment(&trace_id, &assessment_id).await?.is_none() {
        return Err(assessment_not_found(&trace_id, &assessment_id));
    }
    let stored = state.store.update_assessment(&trace_id, &assessment_id, update).await?;
    ok_json(json!({"assessment": stored.to_json()}))
}

/// `DELETE .../assessments/{assessment_id}` → `{}` (idempotent, as MLflow).
pub async fn delete(State(state): State<AppState>, Path((trace_id, assessment_id)): Path<(String, String)>) -> Reply {
    state.store.delete_assessment(&trace_id, &assessment_id).await?;
    empty()
}
