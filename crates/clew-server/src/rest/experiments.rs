//! Experiments (spec §4.2): get-by-name, create, get, search, and the small lifecycle edits.
//!
//! The experiment object is written as MLflow 3.17 writes it: `experiment_id`, `name`,
//! `artifact_location`, `lifecycle_stage`, `last_update_time`, `creation_time`, `tags` (a list
//! of `{key, value}`, omitted when empty) and `workspace: "default"`.

use super::params::Params;
use super::reply::{empty, ok_json, Reply};
use crate::error::ApiError;
use crate::state::AppState;
use clew_model::Experiment;
use clew_store::{SearchExperimentsRequest, ViewType};
use serde_json::{json, Map, Value};

/// Largest page a search may ask for (MLflow's SEARCH_MAX_RESULTS_THRESHOLD).
const MAX_SEARCH_RESULTS: i64 = 50_000;
const DEFAULT_SEARCH_RESULTS: i64 = 1000;

pub fn experiment_to_json(experiment: &Experiment) -> Value {
    let mut obj = Map::new();
    obj.insert("experiment_id".into(), json!(experiment.experiment_id));
    obj.insert("name".into(), json!(experiment.name));
    obj.insert("artifact_location".into(), json!(experiment.artifact_location));
    obj.insert("lifecycle_stage".into(), json!(experiment.lifecycle_stage));
    obj.insert("last_update_time".into(), json!(experiment.last_update_time));
    obj.insert("creation_time".into(), json!(experiment.creation_time));
    if !experiment.tags.is_empty() {
        let tags: Vec<Value> = experiment.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        obj.insert("tags".into(), Value::Array(tags));
    }
    obj.insert("workspace".into(), json!("default"));
    Value::Object(obj)
}

fn experiment_not_found(experiment_id: &str) -> ApiError {
    ApiError::not_found(format!("No Experiment with id={experiment_id} exists"))
}

/// The experiment, or a JSON 404 naming the id.
pub async fn require_experiment(state: &AppState, experiment_id: &str) -> Result<Experiment, ApiError> {
    state.store.get_experiment(experiment_id).await?.ok_or_else(|| experiment_not_found(experiment_id))
}

/// `GET experiments/get-by-name?experiment_name=` → `{"experiment"}`; a JSON 404 when missing
/// (the client maps it to `None` and creates the experiment).
pub async fn get_by_name(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let name = params.required_string("experiment_name")?;
    match state.store.get_experiment_by_name(&name).await? {
        Some(experiment) => ok_json(json!({"experiment": experiment_to_json(&experiment)})),
        None => Err(ApiError::not_found(format!("Could not find experiment with name '{name}'"))),
    }
}

/// `POST experiments/create {name, artifact_location?, tags?}` → `{"experiment_id"}`.
pub async fn create(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let name = params.required_string("name")?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid("Invalid value for parameter 'name': it must not be blank"));
    }
    let artifact_location = params.string("artifact_location")?.filter(|s| !s.is_empty());
    let tags = key_value_list(&params, "tags")?;
    let experiment_id = state.store.create_experiment(&name, artifact_location.as_deref()).await?;
    for (key, value) in tags {
        state.store.set_experiment_tag(&experiment_id, &key, &value).await?;
    }
    ok_json(json!({"experiment_id": experiment_id}))
}

/// `GET experiments/get?experiment_id=` → `{"experiment"}`.
pub async fn get(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    let experiment = require_experiment(&state, &experiment_id).await?;
    ok_json(json!({"experiment": experiment_to_json(&experiment)}))
}

/// `POST experiments/search {max_results?, page_token?, filter?, order_by?, view_type?}` →
/// `{"experiments": [...], "next_page_token"?}`.
pub async fn search(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let max_results = params.int("max_results")?.unwrap_or(DEFAULT_SEARCH_RESULTS);
    if !(1..=MAX_SEARCH_RESULTS).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied: it must be between 1 and {MAX_SEARCH_RESULTS}"
        )));
    }
    let view_type = match params.string("view_type")?.map(|v| v.to_ascii_uppercase()).as_deref() {
        None | Some("ACTIVE_ONLY") | Some("1") => ViewType::ActiveOnly,
        Some("DELETED_ONLY") | Some("2") => ViewType::DeletedOnly,
        Some("ALL") | Some("3") => ViewType::All,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value {other:?} for parameter 'view_type': expected ACTIVE_ONLY, DELETED_ONLY or ALL"
            )))
        }
    };
    let filter = match params.string("filter")? {
        Some(text) => super::experiment_filter::ExperimentFilter::parse(&text)?,
        None => super::experiment_filter::ExperimentFilter::default(),
    };
    let order_by = params.string_list("order_by")?;
    let offset = clew_store::page_token::decode(params.string("page_token")?.as_deref())?;

    let mut experiments: Vec<Experiment> =
        all_experiments(&state, view_type).await?.into_iter().filter(|e| filter.matches(e)).collect();
    super::experiment_filter::sort_experiments(&mut experiments, &order_by)?;

    let page: Vec<Value> =
        experiments.iter().skip(offset).take(max_results as usize).map(experiment_to_json).collect();
    let mut response = Map::new();
    let full_page = page.len() == max_results as usize;
    response.insert("experiments".into(), Value::Array(page));
    if full_page && offset + (max_results as usize) < experiments.len() {
        response.insert("next_page_token".into(), json!(clew_store::page_token::encode(offset + max_results as usize)));
    }
    ok_json(Value::Object(response))
}

/// Every experiment of the view, all pages (experiments are few; the filter grammar is
/// applied here so `name = '..'`, `LIKE`, `ILIKE` and tag clauses all work on any backend).
async fn all_experiments(state: &AppState, view_type: ViewType) -> Result<Vec<Experiment>, ApiError> {
    let mut experiments = Vec::new();
    let mut page_token = None;
    loop {
        let request = SearchExperimentsRequest {
            name_contains: None,
            view_type,
            max_results: Some(MAX_SEARCH_RESULTS as usize),
            page_token: page_token.take(),
        };
        let page = state.store.search_experiments(&request).await?;
        experiments.extend(page.experiments.into_iter().map(|(experiment, _count)| experiment));
        match page.next_page_token {
            Some(token) if !token.is_empty() => page_token = Some(token),
            _ => return Ok(experiments),
        }
    }
}

/// `POST experiments/update {experiment_id, new_name}` → `{}`.
pub async fn update(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    let new_name = params.required_string("new_name")?;
    if new_name.trim().is_empty() {
        return Err(ApiError::invalid("Invalid value for parameter 'new_name': it must not be blank"));
    }
    require_experiment(&state, &experiment_id).await?;
    state.store.rename_experiment(&experiment_id, &new_name).await?;
    empty()
}

/// `POST experiments/delete {experiment_id}` → `{}` (soft delete: lifecycle_stage `deleted`).
pub async fn delete(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    require_experiment(&state, &experiment_id).await?;
    state.store.delete_experiment(&experiment_id).await?;
    empty()
}

/// `POST experiments/restore {experiment_id}` → `{}`.
pub async fn restore(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    require_experiment(&state, &experiment_id).await?;
    state.store.restore_experiment(&experiment_id).await?;
    empty()
}

/// `POST experiments/set-experiment-tag {experiment_id, key, value}` → `{}`.
pub async fn set_tag(state: axum::extract::State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    require_experiment(&state, &experiment_id).await?;
    state.store.set_experiment_tag(&experiment_id, &key, &value).await?;
    empty()
}

/// A proto `repeated {key, value}` field.
pub fn key_value_list(params: &Params, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    let Some(value) = params.json(field) else { return Ok(Vec::new()) };
    let Value::Array(items) = value else {
        return Err(super::params::wrong_type(field, "a list of {key, value} objects", value));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let key = item.get("key").and_then(Value::as_str);
            let value = item.get("value").map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            });
            match key {
                Some(key) if !key.is_empty() => Ok((key.to_string(), value.unwrap_or_default())),
                _ => Err(ApiError::invalid(format!("Invalid value for parameter '{field}': item {i} has no 'key'"))),
            }
        })
        .collect()
}
