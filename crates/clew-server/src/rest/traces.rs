//! Trace RPCs (spec §4.3–§4.7): StartTraceV3, GetTraceInfoV3, GetTrace, BatchGetTraces,
//! BatchGetTraceInfos, SearchTracesV3 and the V2 search/info fallbacks, tags, deletion and
//! run linking.
//!
//! Where spans are read from (spec §9.2): the store, which OTLP ingest fills, and — for a trace
//! whose client uploaded `traces.json` through the artifact proxy because StartTraceV3 was
//! answered before its spans were committed — the uploaded file, whose spans are also ingested
//! into the store when it arrives (see [`super::artifacts`]).

use super::artifacts;
use super::params::{missing, Params};
use super::reply::{empty, ok_json, Reply};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use clew_model::json::rest::{trace_info_from_proto_value, trace_info_to_proto_value, trace_to_rest_value};
use clew_model::{keys, Span, Trace, TraceInfo, TraceLocation};
use clew_store::{DeleteTraces, SearchTracesRequest};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// SearchTracesV3's largest page (the reference server rejects more).
pub const MAX_SEARCH_RESULTS: i64 = 500;
/// SearchTracesV3's page when `max_results` is not sent.
pub const DEFAULT_SEARCH_RESULTS: i64 = 100;
/// Most ids one batchGet / batchGetInfos call takes. The Python client sends at most 10 per
/// call; a larger bound keeps other clients working while capping one request's work.
pub const MAX_BATCH_IDS: usize = 100;

pub fn trace_not_found(trace_id: &str) -> ApiError {
    ApiError::not_found(format!("Trace with ID '{trace_id}' not found."))
}

async fn require_trace_info(state: &AppState, trace_id: &str) -> Result<TraceInfo, ApiError> {
    state.store.get_trace_info(trace_id).await?.ok_or_else(|| trace_not_found(trace_id))
}

/// `POST /api/3.0/mlflow/traces {"trace": {"trace_info": TraceInfoV3}}` (sent when the root span
/// ends): stores the final info through the ingest path and answers it as stored — the
/// client's trace id, tag `mlflow.artifactLocation` always, tag
/// `mlflow.trace.spansLocation=TRACKING_STORE` when spans of the trace are already committed,
/// metadata `mlflow.trace.infoFinalized=true`.
pub async fn start_trace_v3(State(state): State<AppState>, params: Params) -> Reply {
    let trace = params.object("trace")?.ok_or_else(|| missing("trace"))?;
    let info_value = trace.get("trace_info").filter(|v| !v.is_null()).ok_or_else(|| missing("trace.trace_info"))?;
    let info = trace_info_from_proto_value(info_value)
        .map_err(|e| ApiError::invalid(format!("Invalid value for parameter 'trace.trace_info': {e}")))?;
    if info.trace_id.trim().is_empty() {
        return Err(missing("trace.trace_info.trace_id"));
    }
    // An unknown experiment is the store's NotFound (a JSON 404): no extra read on this path.
    let stored = state.ingest.start_trace(info).await?;
    ok_json(json!({"trace": {"trace_info": trace_info_to_proto_value(&stored)}}))
}

/// `GET /api/3.0/mlflow/traces/{trace_id}` → `{"trace": {"trace_info"}}`.
pub async fn get_trace_info_v3(State(state): State<AppState>, Path(trace_id): Path<String>) -> Reply {
    let info = require_trace_info(&state, &trace_id).await?;
    ok_json(json!({"trace": {"trace_info": trace_info_to_proto_value(&info)}}))
}

/// Spans the trace's size stats promise (`num_spans`), when the client sent them.
fn expected_span_count(info: &TraceInfo) -> Option<usize> {
    let stats: Value = serde_json::from_str(info.trace_metadata.get(keys::SIZE_STATS)?).ok()?;
    stats.get("num_spans")?.as_u64().map(|n| n as usize)
}

/// A trace is complete when it holds at least the spans its size stats promise (spec §7); a
/// trace without size stats (OTLP only) counts as complete.
fn is_complete(info: &TraceInfo, spans: &[Span]) -> bool {
    expected_span_count(info).is_none_or(|expected| spans.len() >= expected)
}

/// The trace with the most complete span set available: the store's, or the uploaded
/// `traces.json` when that has more spans.
async fn load_trace(state: &AppState, trace_id: &str) -> Result<Option<Trace>, ApiError> {
    let Some(mut trace) = state.store.get_trace(trace_id).await? else { return Ok(None) };
    if !is_complete(&trace.info, &trace.data.spans) {
        if let Some(uploaded) = artifacts::uploaded_trace_spans(state, &trace.info).await? {
            if uploaded.len() > trace.data.spans.len() {
                trace.data.spans = uploaded;
            }
        }
    }
    Ok(Some(trace))
}

/// `GET /api/3.0/mlflow/traces/get?trace_id=&allow_partial=` → `{"trace": {trace_info, spans}}`.
/// Without `allow_partial`, an incomplete trace is waited for (up to
/// `ServerConfig::partial_trace_wait`, as the reference server sleeps 1 s then 2 s) and then
/// answered `RESOURCE_DOES_NOT_EXIST`.
pub async fn get_trace_v3(State(state): State<AppState>, params: Params) -> Reply {
    let trace_id = params.required_string("trace_id")?;
    let allow_partial = params.bool("allow_partial")?.unwrap_or(false);
    let deadline = Instant::now() + state.config.partial_trace_wait;
    loop {
        let trace = load_trace(&state, &trace_id).await?.ok_or_else(|| trace_not_found(&trace_id))?;
        if allow_partial || is_complete(&trace.info, &trace.data.spans) {
            return ok_json(json!({"trace": trace_to_rest_value(&trace)}));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ApiError::not_found(format!(
                "Trace with ID '{trace_id}' is not fully exported yet: {} of {} spans are stored",
                trace.data.spans.len(),
                expected_span_count(&trace.info).unwrap_or_default()
            )));
        }
        tokio::time::sleep((deadline - now).min(std::time::Duration::from_millis(200))).await;
    }
}

fn batch_ids(params: &Params) -> Result<Vec<String>, ApiError> {
    let ids = params.string_list("trace_ids")?;
    if ids.len() > MAX_BATCH_IDS {
        return Err(ApiError::invalid(format!(
            "Invalid value for parameter 'trace_ids': {} ids given, at most {MAX_BATCH_IDS} are allowed per call",
            ids.len()
        )));
    }
    Ok(ids)
}

/// `GET /api/3.0/mlflow/traces/batchGet?trace_ids=a&trace_ids=b` → `{"traces": [...]}`: the
/// complete traces found, in request order; missing and incomplete ones are left out (§7).
pub async fn batch_get_traces(State(state): State<AppState>, params: Params) -> Reply {
    let ids = batch_ids(&params)?;
    let mut traces = Vec::with_capacity(ids.len());
    for mut trace in state.store.batch_get_traces(&ids).await? {
        if !is_complete(&trace.info, &trace.data.spans) {
            match artifacts::uploaded_trace_spans(&state, &trace.info).await? {
                Some(uploaded) if is_complete(&trace.info, &uploaded) => trace.data.spans = uploaded,
                _ => continue,
            }
        }
        traces.push(trace_to_rest_value(&trace));
    }
    ok_json(json!({"traces": traces}))
}

/// `POST /api/3.0/mlflow/traces/batchGetInfos {trace_ids}` → `{"trace_infos": [...]}`.
pub async fn batch_get_trace_infos(State(state): State<AppState>, params: Params) -> Reply {
    let ids = batch_ids(&params)?;
    let mut infos = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(info) = state.store.get_trace_info(id).await? {
            infos.push(trace_info_to_proto_value(&info));
        }
    }
    ok_json(json!({"trace_infos": infos}))
}

/// The experiments a V3 search names: `locations[].mlflow_experiment.experiment_id`, or the
/// older `experiment_ids`.
fn search_experiment_ids(params: &Params) -> Result<Vec<String>, ApiError> {
    let mut ids = params.string_list("experiment_ids")?;
    let Some(locations) = params.json("locations") else { return Ok(ids) };
    let Value::Array(locations) = locations else {
        return Err(super::params::wrong_type("locations", "a list of trace locations", locations));
    };
    for (i, location) in locations.iter().enumerate() {
        let experiment_id = location.get("mlflow_experiment").and_then(|e| e.get("experiment_id"));
        match experiment_id {
            Some(Value::String(id)) => ids.push(id.clone()),
            Some(Value::Number(n)) => ids.push(n.to_string()),
            _ => {
                return Err(ApiError::invalid(format!(
                    "Invalid value for parameter 'locations': location {i} is not an MLflow experiment \
                     ({{\"type\": \"MLFLOW_EXPERIMENT\", \"mlflow_experiment\": {{\"experiment_id\": \"..\"}}}})"
                )))
            }
        }
    }
    Ok(ids)
}

fn search_request(params: &Params, experiment_ids: Vec<String>) -> Result<SearchTracesRequest, ApiError> {
    let max_results = params.int("max_results")?.unwrap_or(DEFAULT_SEARCH_RESULTS);
    if !(1..=MAX_SEARCH_RESULTS).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied: it must be between 1 and {MAX_SEARCH_RESULTS}"
        )));
    }
    Ok(SearchTracesRequest {
        experiment_ids,
        filter: params.string("filter")?.filter(|f| !f.trim().is_empty()),
        max_results: Some(max_results as usize),
        order_by: params.string_list("order_by")?,
        page_token: params.string("page_token")?.filter(|t| !t.is_empty()),
    })
}

/// `POST /api/3.0/mlflow/traces/search` → `{"traces": [TraceInfoV3], "next_page_token"?}`.
pub async fn search_traces_v3(State(state): State<AppState>, params: Params) -> Reply {
    let experiment_ids = search_experiment_ids(&params)?;
    if experiment_ids.is_empty() {
        return Err(ApiError::invalid("Missing value for required parameter 'locations': name at least one experiment"));
    }
    let request = search_request(&params, experiment_ids)?;
    let page = state.store.search_traces(&request).await?;
    let mut response = Map::new();
    response.insert("traces".into(), Value::Array(page.traces.iter().map(trace_info_to_proto_value).collect()));
    if let Some(token) = page.next_page_token {
        response.insert("next_page_token".into(), json!(token));
    }
    ok_json(Value::Object(response))
}

/// TraceInfo V2 (`request_id`, `experiment_id`, `timestamp_ms`, `execution_time_ms`, `status`,
/// `request_metadata` and `tags` as `{key, value}` lists), for the V2 fallbacks.
pub fn trace_info_to_v2_json(info: &TraceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("request_id".into(), json!(info.trace_id));
    if let TraceLocation::MlflowExperiment { experiment_id } = &info.trace_location {
        obj.insert("experiment_id".into(), json!(experiment_id));
    }
    obj.insert("timestamp_ms".into(), json!(info.request_time));
    if let Some(duration) = info.execution_duration {
        obj.insert("execution_time_ms".into(), json!(duration));
    }
    let status = match info.state {
        clew_model::TraceState::StateUnspecified => "TRACE_STATUS_UNSPECIFIED",
        other => other.as_str(),
    };
    obj.insert("status".into(), json!(status));
    let pairs = |map: &indexmap::IndexMap<String, String>| {
        Value::Array(map.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
    };
    if !info.trace_metadata.is_empty() {
        obj.insert("request_metadata".into(), pairs(&info.trace_metadata));
    }
    if !info.tags.is_empty() {
        obj.insert("tags".into(), pairs(&info.tags));
    }
    Value::Object(obj)
}

/// `GET /api/2.0/mlflow/traces?experiment_ids=..&filter=..` (SearchTraces V2).
pub async fn search_traces_v2(State(state): State<AppState>, params: Params) -> Reply {
    let experiment_ids = params.string_list("experiment_ids")?;
    if experiment_ids.is_empty() {
        return Err(missing("experiment_ids"));
    }
    let request = search_request(&params, experiment_ids)?;
    let page = state.store.search_traces(&request).await?;
    let mut response = Map::new();
    response.insert("traces".into(), Value::Array(page.traces.iter().map(trace_info_to_v2_json).collect()));
    if let Some(token) = page.next_page_token {
        response.insert("next_page_token".into(), json!(token));
    }
    ok_json(Value::Object(response))
}

/// `GET /api/2.0/mlflow/traces/{request_id}/info` (GetTraceInfo V2) → `{"trace_info"}`.
pub async fn get_trace_info_v2(State(state): State<AppState>, Path(request_id): Path<String>) -> Reply {
    let info = require_trace_info(&state, &request_id).await?;
    ok_json(json!({"trace_info": trace_info_to_v2_json(&info)}))
}

/// `PATCH .../traces/{id}/tags {key, value}` → `{}`.
pub async fn set_trace_tag(State(state): State<AppState>, Path(trace_id): Path<String>, params: Params) -> Reply {
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    if keys::IMMUTABLE_TAGS.contains(&key.as_str()) {
        return Err(ApiError::invalid(format!("Invalid value for parameter 'key': the tag {key:?} cannot be changed")));
    }
    require_trace_info(&state, &trace_id).await?;
    state.store.set_trace_tag(&trace_id, &key, &value).await?;
    empty()
}

/// `DELETE .../traces/{id}/tags` with the key in a JSON body (the Python client) or the query
/// string (the UI) → `{}`.
pub async fn delete_trace_tag(State(state): State<AppState>, Path(trace_id): Path<String>, params: Params) -> Reply {
    let key = params.required_string("key")?;
    require_trace_info(&state, &trace_id).await?;
    state.store.delete_trace_tag(&trace_id, &key).await?;
    empty()
}

/// `POST .../traces/delete-traces {experiment_id, request_ids?, max_timestamp_millis?,
/// max_traces?}` → `{"traces_deleted": n}`. Which criterion applies is decided by which fields
/// are present (not by default values), as the reference server does.
pub async fn delete_traces(State(state): State<AppState>, params: Params) -> Reply {
    let experiment_id = params.required_string("experiment_id")?;
    let by_ids = params.has("request_ids") || params.has("trace_ids");
    let by_time = params.has("max_timestamp_millis");
    let request = match (by_ids, by_time) {
        (true, true) => {
            return Err(ApiError::invalid(
                "Only one of 'max_timestamp_millis' and 'request_ids' can be specified",
            ))
        }
        (false, false) => {
            return Err(ApiError::invalid(
                "Either 'max_timestamp_millis' or 'request_ids' must be specified",
            ))
        }
        (true, false) => {
            if params.has("max_traces") {
                return Err(ApiError::invalid("'max_traces' can't be specified if 'request_ids' is specified"));
            }
            let mut trace_ids = params.string_list("request_ids")?;
            trace_ids.extend(params.string_list("trace_ids")?);
            DeleteTraces::ByIds { experiment_id, trace_ids }
        }
        (false, true) => {
            let max_timestamp_millis = params.int("max_timestamp_millis")?.ok_or_else(|| missing("max_timestamp_millis"))?;
            let max_traces = match params.int("max_traces")? {
                None => None,
                Some(n) if n > 0 => Some(n as usize),
                Some(n) => {
                    return Err(ApiError::invalid(format!(
                        "Invalid value {n} for parameter 'max_traces': it must be a positive integer"
                    )))
                }
            };
            DeleteTraces::OlderThan { experiment_id, max_timestamp_millis, max_traces }
        }
    };
    let deleted = state.store.delete_traces(request).await?;
    ok_json(json!({"traces_deleted": deleted}))
}

/// `POST .../traces/link-to-run {trace_ids, run_id}` → `{}`.
pub async fn link_to_run(State(state): State<AppState>, params: Params) -> Reply {
    let run_id = params.required_string("run_id")?;
    let trace_ids = params.string_list("trace_ids")?;
    if trace_ids.is_empty() {
        return Err(missing("trace_ids"));
    }
    if trace_ids.len() > clew_store::MAX_TRACES_TO_LINK {
        return Err(ApiError::invalid(format!(
            "Invalid value for parameter 'trace_ids': {} ids given, at most {} can be linked per call",
            trace_ids.len(),
            clew_store::MAX_TRACES_TO_LINK
        )));
    }
    state.store.link_traces_to_run(&trace_ids, &run_id).await?;
    empty()
}

/// The tag that lists a trace's linked prompt versions (`[{"name", "version"}]`), which the
/// `prompt = 'name/version'` search filter reads.
pub const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";

/// `POST .../traces/link-prompts {trace_id, prompt_versions: [{name, version}]}` → `{}`: merges
/// the versions into the trace's `mlflow.linkedPrompts` tag (no duplicates, order kept), as
/// MLflow records prompts loaded while the trace ran.
pub async fn link_prompts(State(state): State<AppState>, params: Params) -> Reply {
    let trace_id = params.required_string("trace_id")?;
    let versions = match params.json("prompt_versions") {
        None => return Err(missing("prompt_versions")),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let name = item.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                let version = match item.get("version") {
                    Some(Value::String(v)) if !v.is_empty() => Some(v.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                match (name, version) {
                    (Some(name), Some(version)) => Ok((name.to_string(), version)),
                    _ => Err(ApiError::invalid(format!(
                        "Invalid value for parameter 'prompt_versions': item {i} needs a 'name' and a 'version'"
                    ))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(super::params::wrong_type("prompt_versions", "a list of {name, version}", other)),
    };
    let info = require_trace_info(&state, &trace_id).await?;
    let mut linked: Vec<Value> = info
        .tags
        .get(LINKED_PROMPTS_TAG)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    for (name, version) in versions {
        let already = linked.iter().any(|entry| {
            entry.get("name").and_then(Value::as_str) == Some(name.as_str())
                && match entry.get("version") {
                    Some(Value::String(v)) => *v == version,
                    Some(Value::Number(n)) => n.to_string() == version,
                    _ => false,
                }
        });
        if !already {
            linked.push(json!({"name": name, "version": version}));
        }
    }
    let text = serde_json::to_string(&linked).map_err(|e| ApiError::internal(e.to_string()))?;
    state.store.set_trace_tag(&trace_id, LINKED_PROMPTS_TAG, &text).await?;
    empty()
}
