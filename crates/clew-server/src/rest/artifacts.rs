//! The artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`) and the UI's
//! `get-trace-artifact`. Artifacts are blobs in the store, keyed by the path after
//! `mlflow-artifacts:/` — so replicas sharing a store share artifacts too.
//!
//! A trace's artifact root is its `mlflow.artifactLocation` tag,
//! `mlflow-artifacts:/<experiment>/traces/<trace_id>/artifacts`. The client uploads
//! `traces.json` there when StartTraceV3 was answered without
//! `mlflow.trace.spansLocation=TRACKING_STORE`, and attachments (`attachments/<id>`) always.
//! An uploaded `traces.json` is kept as sent *and* its spans are ingested into the store
//! (idempotent upserts, the same spans OTLP may deliver), so span search, GetTrace and the UI
//! work the same whichever way the spans came.

use super::params::{read_body, Params};
use super::reply::{empty, json_bytes, ok_json, Reply};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clew_model::json::{span_from_dict, span_to_dict};
use clew_model::{keys, Span, TraceInfo};
use serde_json::{json, Value};

/// The scheme of artifact locations this server serves.
pub const ARTIFACT_SCHEME: &str = "mlflow-artifacts:/";
/// The span file's name inside a trace's artifact root.
pub const TRACE_DATA_FILE: &str = "traces.json";

fn artifact_not_found(path: &str) -> ApiError {
    ApiError::not_found(format!("Artifact '{path}' does not exist"))
}

/// The store path of a trace's artifact root, when it is served here.
pub fn trace_artifact_root(info: &TraceInfo) -> Option<String> {
    let location = info.tags.get(keys::ARTIFACT_LOCATION)?;
    let path = location.strip_prefix(ARTIFACT_SCHEME)?;
    Some(path.trim_start_matches('/').trim_end_matches('/').to_string())
}

/// The trace id of a `<experiment>/traces/<trace_id>/artifacts/traces.json` path.
fn trace_id_of_data_file(path: &str) -> Option<&str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [.., "traces", trace_id, "artifacts", file] if *file == TRACE_DATA_FILE && !trace_id.is_empty() => Some(trace_id),
        _ => None,
    }
}

/// Spans of a `{"spans": [span dict, ...]}` file.
fn parse_trace_data(bytes: &[u8]) -> Result<Vec<Span>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let spans = value.get("spans").and_then(Value::as_array).ok_or("no \"spans\" list")?;
    spans.iter().enumerate().map(|(i, s)| span_from_dict(s).map_err(|e| format!("span {i}: {e}"))).collect()
}

/// The spans of the trace's uploaded `traces.json`, if there is one.
pub async fn uploaded_trace_spans(state: &AppState, info: &TraceInfo) -> Result<Option<Vec<Span>>, ApiError> {
    let Some(root) = trace_artifact_root(info) else { return Ok(None) };
    let Some(bytes) = state.store.get_artifact(&format!("{root}/{TRACE_DATA_FILE}")).await? else { return Ok(None) };
    Ok(parse_trace_data(&bytes).ok())
}

/// `PUT /api/2.0/mlflow-artifacts/artifacts/<path>`: stores the body. 200 with an empty body,
/// as the reference server answers.
pub async fn upload(State(state): State<AppState>, Path(path): Path<String>, body: Body) -> Reply {
    let bytes = read_body(body, state.config.max_request_bytes).await?;
    if let Some(trace_id) = trace_id_of_data_file(&path) {
        ingest_trace_data(&state, trace_id, &bytes).await?;
    }
    state.store.put_artifact(&path, bytes.to_vec()).await?;
    Ok(StatusCode::OK.into_response())
}

/// Ingests the spans of an uploaded `traces.json` into the store. A file that does not parse
/// is still stored as an artifact (it is the client's file), just not ingested.
async fn ingest_trace_data(state: &AppState, trace_id: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let Ok(spans) = parse_trace_data(bytes) else { return Ok(()) };
    if spans.is_empty() {
        return Ok(());
    }
    let Some(info) = state.store.get_trace_info(trace_id).await? else { return Ok(()) };
    let Some(experiment_id) = info.experiment_id() else { return Ok(()) };
    // Only spans of this trace: the file names the trace, the spans must agree.
    let spans: Vec<Span> = spans.into_iter().filter(|s| s.trace_id.to_mlflow() == trace_id).collect();
    if spans.is_empty() {
        return Ok(());
    }
    state.ingest.log_spans(experiment_id, spans).await
}

/// `GET /api/2.0/mlflow-artifacts/artifacts/<path>`: the stored bytes. A trace's `traces.json`
/// that was never uploaded is written from the stored spans, so artifact-mode readers see
/// OTLP-ingested traces too.
pub async fn download(State(state): State<AppState>, Path(path): Path<String>) -> Reply {
    if let Some(bytes) = state.store.get_artifact(&path).await? {
        return Ok(octet_stream(bytes));
    }
    if let Some(trace_id) = trace_id_of_data_file(&path) {
        if let Some(trace) = state.store.get_trace(trace_id).await? {
            if !trace.data.spans.is_empty() {
                return Ok(json_bytes(trace_data_json(&trace.data.spans)));
            }
        }
    }
    Err(artifact_not_found(&path))
}

/// `DELETE /api/2.0/mlflow-artifacts/artifacts/<path>` → `{}`.
pub async fn delete(State(state): State<AppState>, Path(path): Path<String>) -> Reply {
    state.store.delete_artifact(&path).await?;
    empty()
}

/// `GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>` → `{"files": [{path, is_dir,
/// file_size?}]}`: the directory's immediate children, paths relative to it.
pub async fn list(State(state): State<AppState>, params: Params) -> Reply {
    let dir = params.string("path")?.unwrap_or_default();
    let dir = dir.trim_matches('/');
    let listing = state.store.list_artifacts(dir).await?;
    let mut files: Vec<Value> = Vec::new();
    let mut seen_dirs: Vec<String> = Vec::new();
    for artifact in listing {
        let relative = if dir.is_empty() {
            artifact.path.as_str()
        } else {
            match artifact.path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                Some(r) => r,
                None => continue,
            }
        };
        match relative.split_once('/') {
            Some((child_dir, _)) => {
                if !seen_dirs.iter().any(|d| d == child_dir) {
                    seen_dirs.push(child_dir.to_string());
                    files.push(json!({"path": child_dir, "is_dir": true}));
                }
            }
            None => files.push(json!({"path": relative, "is_dir": false, "file_size": artifact.size})),
        }
    }
    if files.is_empty() {
        return ok_json(json!({}));
    }
    ok_json(json!({"files": files}))
}

/// `{"spans": [span dict, ...]}`, the traces.json form.
fn trace_data_json(spans: &[Span]) -> Vec<u8> {
    let spans: Vec<Value> = spans.iter().map(span_to_dict).collect();
    serde_json::to_vec(&json!({"spans": spans})).unwrap_or_else(|_| b"{\"spans\": []}".to_vec())
}

fn octet_stream(bytes: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))], bytes)
        .into_response()
}

/// `GET /ajax-api/{2.0,3.0}/mlflow/get-trace-artifact?request_id=<id>[&path=<attachment id>]`:
/// the trace's `{"spans": [...]}` as a `traces.json` download (from the store's spans, else the
/// uploaded file), or an attachment's bytes.
pub async fn get_trace_artifact(State(state): State<AppState>, params: Params) -> Reply {
    let trace_id = params.required_string("request_id")?;
    let info = state.store.get_trace_info(&trace_id).await?.ok_or_else(|| super::traces::trace_not_found(&trace_id))?;
    if let Some(attachment) = params.string("path")?.filter(|p| !p.is_empty()) {
        if attachment.split('/').any(|segment| segment == ".." || segment.is_empty()) {
            return Err(ApiError::invalid(format!("Invalid value {attachment:?} for parameter 'path'")));
        }
        let root = trace_artifact_root(&info).ok_or_else(|| artifact_not_found(&attachment))?;
        let path = format!("{root}/attachments/{attachment}");
        let bytes = state.store.get_artifact(&path).await?.ok_or_else(|| artifact_not_found(&path))?;
        return Ok(octet_stream(bytes));
    }
    let stored = state.store.get_trace(&trace_id).await?.map(|t| t.data.spans).unwrap_or_default();
    let body = if !stored.is_empty() {
        trace_data_json(&stored)
    } else {
        let root = trace_artifact_root(&info);
        let uploaded = match root {
            Some(root) => state.store.get_artifact(&format!("{root}/{TRACE_DATA_FILE}")).await?,
            None => None,
        };
        uploaded.ok_or_else(|| ApiError::not_found(format!("No span data is stored for trace '{trace_id}'")))?
    };
    let mut response = json_bytes(body);
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"traces.json\""),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_paths_name_their_trace() {
        assert_eq!(trace_id_of_data_file("1/traces/tr-abc/artifacts/traces.json"), Some("tr-abc"));
        assert_eq!(trace_id_of_data_file("1/traces/tr-abc/artifacts/attachments/x"), None);
        assert_eq!(trace_id_of_data_file("traces.json"), None);
    }

    #[test]
    fn artifact_roots_come_from_the_tag() {
        let mut info = TraceInfo::default();
        assert_eq!(trace_artifact_root(&info), None);
        info.tags.insert(keys::ARTIFACT_LOCATION.into(), "mlflow-artifacts:/1/traces/tr-1/artifacts".into());
        assert_eq!(trace_artifact_root(&info).as_deref(), Some("1/traces/tr-1/artifacts"));
        info.tags.insert(keys::ARTIFACT_LOCATION.into(), "s3://bucket/x".into());
        assert_eq!(trace_artifact_root(&info), None);
    }
}
