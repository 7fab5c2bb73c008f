//! Minimal runs (`runs/create`, `runs/get`, `runs/update`): enough for `mlflow.start_run()`
//! around traced code and `search_traces(run_id=...)`. Metrics, params and artifacts of runs
//! are out of scope.

use super::experiments::key_value_list;
use super::params::Params;
use super::reply::{ok_json, Reply};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use clew_model::RunStatus;
use clew_store::{CreateRun, UpdateRun};
use serde_json::json;

fn run_not_found(run_id: &str) -> ApiError {
    ApiError::not_found(format!("Run with id={run_id} not found"))
}

fn run_status(params: &Params) -> Result<Option<RunStatus>, ApiError> {
    params
        .string("status")?
        .map(|s| {
            s.parse::<RunStatus>().map_err(|_| {
                ApiError::invalid(format!(
                    "Invalid value {s:?} for parameter 'status': expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED"
                ))
            })
        })
        .transpose()
}

/// `POST runs/create {experiment_id, run_name?, start_time?, user_id?, tags?}` → `{"run"}`.
pub async fn create(State(state): State<AppState>, params: Params) -> Reply {
    let experiment_id = params.string("experiment_id")?.unwrap_or_else(|| "0".to_string());
    let request = CreateRun {
        experiment_id,
        run_name: params.string("run_name")?.filter(|n| !n.is_empty()),
        start_time: params.int("start_time")?,
        user_id: params.string("user_id")?,
        tags: key_value_list(&params, "tags")?,
    };
    let run = state.store.create_run(request).await?;
    ok_json(json!({"run": run.to_json()}))
}

/// `GET runs/get?run_id=` → `{"run"}`.
pub async fn get(State(state): State<AppState>, params: Params) -> Reply {
    let run_id = match params.string("run_id")? {
        Some(id) if !id.is_empty() => id,
        _ => params.required_string("run_uuid")?,
    };
    let run = state.store.get_run(&run_id).await?.ok_or_else(|| run_not_found(&run_id))?;
    ok_json(run.to_get_response())
}

/// `POST runs/update {run_id, status?, end_time?, run_name?}` → `{"run_info"}`.
pub async fn update(State(state): State<AppState>, params: Params) -> Reply {
    let run_id = match params.string("run_id")? {
        Some(id) if !id.is_empty() => id,
        _ => params.required_string("run_uuid")?,
    };
    let update = UpdateRun {
        status: run_status(&params)?,
        end_time: params.int("end_time")?,
        run_name: params.string("run_name")?.filter(|n| !n.is_empty()),
    };
    if state.store.get_run(&run_id).await?.is_none() {
        return Err(run_not_found(&run_id));
    }
    let run = state.store.update_run(&run_id, update).await?;
    ok_json(json!({"run_info": run.info_json()}))
}
