//! The UI's list-level JSON API under `/ajax-api/clew/`: what the experiments list, the traces
//! table's quick filters and the sessions view need beyond the MLflow REST API.
//!
//! | endpoint | answer |
//! | --- | --- |
//! | `GET /ajax-api/clew/experiments` | active experiments with `trace_count` and `last_trace_time`, most recently active first |
//! | `GET /ajax-api/clew/experiments/{id}/facets` | trace names, tag keys and users of the latest traces, for the quick filters |
//! | `GET /ajax-api/clew/experiments/{id}/sessions` | traces grouped by `mlflow.trace.session`, each session's turns in time order |
//!
//! Everything is computed from the store on each request (no caches, no server state), so
//! replicas sharing a store answer alike. The traces table itself uses MLflow's
//! `traces/search`, which already takes the filter grammar, `order_by` and page tokens.

use crate::error::ApiError;
use crate::rest::params::Params;
use crate::rest::reply::{ok_json, Reply};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use clew_model::{keys, Experiment, TraceInfo};
use clew_store::{SearchExperimentsRequest, SearchTracesRequest, ViewType};
use indexmap::IndexMap;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// How many of the latest traces the facets are drawn from.
const FACET_TRACES: usize = 500;
/// Default and largest number of traces the sessions view groups (a search reads ~3,000
/// trace infos a second on a small machine, so the default answers in about a third of a second).
const DEFAULT_SESSION_TRACES: i64 = 1_000;
const MAX_SESSION_TRACES: i64 = 20_000;
/// Default and largest number of sessions in one answer.
const DEFAULT_SESSIONS: i64 = 100;
const MAX_SESSIONS: i64 = 1_000;
/// Default and largest number of turns per session in one answer (the latest are kept).
const DEFAULT_TURNS: i64 = 20;
const MAX_TURNS: i64 = 500;
/// Page size while scanning traces for sessions.
const SESSION_SCAN_PAGE: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ajax-api/clew/experiments", get(experiments))
        .route("/ajax-api/clew/experiments/{experiment_id}/facets", get(facets))
        .route("/ajax-api/clew/experiments/{experiment_id}/sessions", get(sessions))
}

/// `GET /ajax-api/clew/experiments` → `{"experiments": [{experiment_id, name, lifecycle_stage,
/// creation_time, last_update_time, tags, trace_count, last_trace_time}]}`: experiments with
/// traces first, the most recently traced first; then the newest experiments.
async fn experiments(State(state): State<AppState>) -> Reply {
    let mut rows: Vec<(Experiment, u64)> = Vec::new();
    let mut page_token = None;
    loop {
        let request = SearchExperimentsRequest {
            view_type: ViewType::ActiveOnly,
            max_results: Some(1_000),
            page_token,
            ..Default::default()
        };
        let page = state.store.search_experiments(&request).await?;
        rows.extend(page.experiments);
        match page.next_page_token {
            Some(token) => page_token = Some(token),
            None => break,
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (experiment, trace_count) in rows {
        let last_trace_time = if trace_count == 0 { None } else { last_trace_time(&state, &experiment.experiment_id).await? };
        out.push((experiment, trace_count, last_trace_time));
    }
    out.sort_by(|a, b| {
        b.2.unwrap_or(i64::MIN)
            .cmp(&a.2.unwrap_or(i64::MIN))
            .then(b.0.creation_time.cmp(&a.0.creation_time))
            .then(a.0.experiment_id.cmp(&b.0.experiment_id))
    });
    let experiments: Vec<Value> = out
        .into_iter()
        .map(|(e, trace_count, last_trace_time)| {
            json!({
                "experiment_id": e.experiment_id,
                "name": e.name,
                "lifecycle_stage": e.lifecycle_stage,
                "creation_time": e.creation_time,
                "last_update_time": e.last_update_time,
                "tags": e.tags,
                "trace_count": trace_count,
                "last_trace_time": last_trace_time,
            })
        })
        .collect();
    ok_json(json!({ "experiments": experiments }))
}

/// The request time of the experiment's newest trace (one indexed, one-row search).
async fn last_trace_time(state: &AppState, experiment_id: &str) -> Result<Option<i64>, ApiError> {
    let request = SearchTracesRequest {
        experiment_ids: vec![experiment_id.to_string()],
        max_results: Some(1),
        order_by: vec!["timestamp_ms DESC".into()],
        ..Default::default()
    };
    let page = state.store.search_traces(&request).await?;
    Ok(page.traces.first().map(|t| t.request_time))
}

/// 404 `RESOURCE_DOES_NOT_EXIST` unless the experiment exists.
async fn require_experiment(state: &AppState, experiment_id: &str) -> Result<Experiment, ApiError> {
    state
        .store
        .get_experiment(experiment_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No Experiment with id={experiment_id} exists")))
}

/// `GET /ajax-api/clew/experiments/{id}/facets` → `{trace_count, names, tag_keys, users,
/// sessions, traces_sampled}` from the latest traces: what the quick filters offer.
/// `mlflow.*` tag keys are left out (they are the system's, not the user's).
async fn facets(State(state): State<AppState>, Path(experiment_id): Path<String>) -> Reply {
    require_experiment(&state, &experiment_id).await?;
    let trace_count = state.store.count_traces(&experiment_id).await?;
    let request = SearchTracesRequest {
        experiment_ids: vec![experiment_id],
        max_results: Some(FACET_TRACES),
        order_by: vec!["timestamp_ms DESC".into()],
        ..Default::default()
    };
    let page = state.store.search_traces(&request).await?;
    let mut names = BTreeSet::new();
    let mut tag_keys = BTreeSet::new();
    let mut users = BTreeSet::new();
    let mut sessions = BTreeSet::new();
    for info in &page.traces {
        if let Some(name) = info.tags.get(keys::TRACE_NAME) {
            names.insert(name.clone());
        }
        tag_keys.extend(info.tags.keys().filter(|k| !k.starts_with("mlflow.")).cloned());
        if let Some(user) = info.trace_metadata.get(keys::TRACE_USER) {
            users.insert(user.clone());
        }
        if let Some(session) = info.trace_metadata.get(keys::TRACE_SESSION) {
            sessions.insert(session.clone());
        }
    }
    ok_json(json!({
        "trace_count": trace_count,
        "traces_sampled": page.traces.len(),
        "names": names,
        "tag_keys": tag_keys,
        "users": users,
        "sessions": sessions.len(),
    }))
}

/// One turn of a session: the trace's list-level fields.
fn turn(info: &TraceInfo) -> Value {
    let total_tokens = info.token_usage().and_then(|usage| usage.get("total_tokens").and_then(Value::as_i64));
    json!({
        "trace_id": info.trace_id,
        "name": info.tags.get(keys::TRACE_NAME),
        "request_time": info.request_time,
        "execution_time_ms": info.execution_duration,
        "state": info.state.as_str(),
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "user": info.trace_metadata.get(keys::TRACE_USER),
        "total_tokens": total_tokens,
    })
}

/// An integer parameter within `1..=max`, else a 400 naming it.
fn bounded(params: &Params, name: &str, default: i64, max: i64) -> Result<usize, ApiError> {
    let value = params.int(name)?.unwrap_or(default);
    if !(1..=max).contains(&value) {
        return Err(ApiError::invalid(format!(
            "Invalid value {value} for parameter '{name}': it must be between 1 and {max}"
        )));
    }
    Ok(value as usize)
}

/// `GET /ajax-api/clew/experiments/{id}/sessions?max_traces=N&max_sessions=S&max_turns=T&filter=F`
/// → `{"sessions": [{session_id, trace_count, turns_omitted, first_time, last_time, users,
/// error_count, total_tokens, turns}], traces_scanned, truncated}`.
///
/// Groups the latest `max_traces` (default 1,000, at most 20,000) traces that carry a session
/// (and match the optional MLflow filter `F`): the most recently active session first (at most
/// `max_sessions`, default 100), each with its latest `max_turns` (default 20) turns oldest
/// first; `trace_count` and the totals count every turn seen, `turns_omitted` the earlier
/// ones left out. `truncated` says older traces were not looked at (so the oldest sessions
/// may lack early turns) or sessions were left out.
async fn sessions(State(state): State<AppState>, Path(experiment_id): Path<String>, params: Params) -> Reply {
    require_experiment(&state, &experiment_id).await?;
    let max_traces = bounded(&params, "max_traces", DEFAULT_SESSION_TRACES, MAX_SESSION_TRACES)?;
    let max_sessions = bounded(&params, "max_sessions", DEFAULT_SESSIONS, MAX_SESSIONS)?;
    let max_turns = bounded(&params, "max_turns", DEFAULT_TURNS, MAX_TURNS)?;
    let has_session = format!("metadata.`{}` IS NOT NULL", keys::TRACE_SESSION);
    // The grammar has only AND, so appending a clause keeps the user's filter's meaning.
    let filter = match params.string("filter")?.filter(|f| !f.trim().is_empty()) {
        Some(user_filter) => format!("{user_filter} AND {has_session}"),
        None => has_session,
    };

    let mut groups: IndexMap<String, Vec<TraceInfo>> = IndexMap::new();
    let mut scanned = 0usize;
    let mut page_token = None;
    let mut truncated = false;
    loop {
        let request = SearchTracesRequest {
            experiment_ids: vec![experiment_id.clone()],
            filter: Some(filter.clone()),
            max_results: Some(SESSION_SCAN_PAGE.min(max_traces - scanned)),
            order_by: vec!["timestamp_ms DESC".into()],
            page_token,
        };
        let page = state.store.search_traces(&request).await?;
        scanned += page.traces.len();
        for info in page.traces {
            let Some(session) = info.trace_metadata.get(keys::TRACE_SESSION).cloned() else { continue };
            groups.entry(session).or_default().push(info);
        }
        match page.next_page_token {
            Some(_) if scanned >= max_traces => {
                truncated = true;
                break;
            }
            Some(token) => page_token = Some(token),
            None => break,
        }
    }

    if groups.len() > max_sessions {
        groups.truncate(max_sessions);
        truncated = true;
    }
    let sessions: Vec<Value> = groups
        .into_iter()
        .map(|(session_id, mut traces)| {
            traces.sort_by(|a, b| a.request_time.cmp(&b.request_time).then(a.trace_id.cmp(&b.trace_id)));
            let users: BTreeSet<&String> = traces.iter().filter_map(|t| t.trace_metadata.get(keys::TRACE_USER)).collect();
            let error_count = traces.iter().filter(|t| t.state.as_str() == "ERROR").count();
            let total_tokens: i64 = traces
                .iter()
                .filter_map(|t| t.token_usage()?.get("total_tokens")?.as_i64())
                .sum();
            let first_time = traces.first().map(|t| t.request_time);
            let last_time = traces.last().map(|t| t.request_time + t.execution_duration.unwrap_or(0));
            let turns_omitted = traces.len().saturating_sub(max_turns);
            json!({
                "session_id": session_id,
                "trace_count": traces.len(),
                "turns_omitted": turns_omitted,
                "first_time": first_time,
                "last_time": last_time,
                "users": users,
                "error_count": error_count,
                "total_tokens": total_tokens,
                "turns": traces[turns_omitted..].iter().map(turn).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok_json(json!({ "sessions": sessions, "traces_scanned": scanned, "truncated": truncated }))
}
