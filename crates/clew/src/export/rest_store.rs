//! A [`TraceStore`] over a tracking server's MLflow REST API, so `clew::get_trace`,
//! `search_traces` and `set_experiment` work against an MLflow server or `clew server`.
//! Calls the REST API has no equivalent for return [`StoreError::Unavailable`] saying so.

use super::http::{HttpError, RetryPolicy};
use super::server::MlflowRest;
use async_trait::async_trait;
use clew_model::assessment::{Assessment, AssessmentUpdate};
use clew_model::json::rest::{trace_from_rest_value, trace_info_from_proto_value};
use clew_model::json::span_dict::span_from_dict;
use clew_model::run::{Run, RunStatus};
use clew_model::{keys, Experiment, Span, Trace, TraceData, TraceInfo};
use clew_store::{
    ArtifactInfo, CreateRun, DeleteTraces, ExperimentPage, SearchExperimentsRequest, SearchTracesRequest, SpanSkeleton,
    StoreError, StoreResult, TracePage, TraceStore, UpdateRun,
};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Ids per `batchGet` call (the MLflow server's limit).
const BATCH_GET_IDS: usize = 10;
/// The MLflow server's largest search page.
const MAX_SEARCH_PAGE: usize = 500;

/// Reads and writes through a tracking server's REST API (`http(s)://host:port`).
///
/// ```no_run
/// use clew_store::TraceStore;
/// let store = clew::export::RestStore::new("http://127.0.0.1:5000").unwrap();
/// # let _ = store;
/// ```
pub struct RestStore {
    rest: Arc<MlflowRest>,
    reads: RetryPolicy,
}

impl RestStore {
    /// A store for the server at `url`. Fails only on a malformed URL.
    pub fn new(url: &str) -> StoreResult<Self> {
        Ok(Self::from_rest(Arc::new(MlflowRest::new(url).map_err(StoreError::InvalidArgument)?)))
    }

    pub(crate) fn from_rest(rest: Arc<MlflowRest>) -> Self {
        RestStore { rest, reads: RetryPolicy::for_reads() }
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> StoreResult<Value> {
        self.rest.get_json(path, query, &self.reads).await.map_err(|e| self.error(e))
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> StoreResult<Value> {
        self.rest.send_json(method, path, &body, &self.reads).await.map_err(|e| self.error(e))
    }

    /// Maps a REST failure to the store error of the same meaning.
    fn error(&self, e: HttpError) -> StoreError {
        let text = format!("{}: {e}", self.rest.base());
        match e.error_code.as_deref() {
            Some("RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND") => StoreError::NotFound(e.message),
            Some("RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS") => StoreError::AlreadyExists(e.message),
            Some("INVALID_PARAMETER_VALUE" | "BAD_REQUEST" | "INVALID_STATE") => StoreError::InvalidArgument(e.message),
            _ if e.status == Some(404) => StoreError::Unavailable(format!("{text} (the server has no such endpoint)")),
            _ if e.status.is_none() || e.retryable => StoreError::Unavailable(text),
            _ => StoreError::Internal(text),
        }
    }

    fn unsupported(&self, what: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "{what} is not available through the MLflow REST API of {}; use the server's own store",
            self.rest.base()
        ))
    }

    /// GetTraceInfoV3.
    async fn trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>> {
        let path = format!("/api/3.0/mlflow/traces/{}", encode_path_segment(trace_id));
        match self.get(&path, &[("trace_id", trace_id.to_string())]).await {
            Ok(v) => Ok(Some(parse_trace_info(v.get("trace").and_then(|t| t.get("trace_info")))?)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The spans of a trace whose info says where they are.
    async fn spans_of(&self, info: &TraceInfo) -> StoreResult<Vec<Span>> {
        if info.tags.get(keys::SPANS_LOCATION).map(String::as_str) == Some(keys::SPANS_LOCATION_TRACKING_STORE) {
            let query = [("trace_id", info.trace_id.clone()), ("allow_partial", "False".to_string())];
            let v = self.get("/api/3.0/mlflow/traces/get", &query).await?;
            let trace = v.get("trace").ok_or_else(|| StoreError::Internal("GetTrace response has no trace".into()))?;
            return Ok(trace_from_rest_value(trace).map_err(|e| StoreError::Internal(format!("GetTrace response: {e}")))?.data.spans);
        }
        let Some(location) = info.tags.get(keys::ARTIFACT_LOCATION) else {
            return Ok(Vec::new());
        };
        if let Some(dir) = super::server::local_artifact_dir(location) {
            return match std::fs::read(dir.join("traces.json")) {
                Ok(bytes) => parse_traces_json(&bytes, &info.trace_id),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(StoreError::Unavailable(format!("reading {}: {e}", dir.join("traces.json").display()))),
            };
        }
        let path = MlflowRest::artifact_path(location).map_err(StoreError::Unavailable)?;
        let bytes = match self.rest.get_bytes(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"), &self.reads).await {
            Ok(b) => b,
            Err(e) if e.status == Some(404) => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e)),
        };
        parse_traces_json(&bytes, &info.trace_id)
    }

    async fn assessment_call(&self, method: Method, path: String, body: Value) -> StoreResult<Assessment> {
        let v = self.call(method, &path, body).await?;
        Assessment::from_json(v.get("assessment").unwrap_or(&Value::Null))
            .map_err(|e| StoreError::Internal(format!("assessment in the response: {e}")))
    }
}

/// `{"spans": [span dict, ...]}` of a `traces.json` artifact.
fn parse_traces_json(bytes: &[u8], trace_id: &str) -> StoreResult<Vec<Span>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| StoreError::Internal(format!("traces.json of {trace_id}: {e}")))?;
    value
        .get("spans")
        .and_then(Value::as_array)
        .map(|spans| spans.iter().map(span_from_dict).collect::<Result<Vec<_>, _>>())
        .unwrap_or(Ok(Vec::new()))
        .map_err(|e| StoreError::Internal(format!("traces.json of {trace_id}: {e}")))
}

fn parse_trace_info(value: Option<&Value>) -> StoreResult<TraceInfo> {
    let value = value.ok_or_else(|| StoreError::Internal("response has no trace_info".into()))?;
    trace_info_from_proto_value(value).map_err(|e| StoreError::Internal(format!("trace_info in the response: {e}")))
}

/// Percent-encodes what can't stand in a path segment (trace ids are plain, but be safe).
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_path(path: &str) -> String {
    path.trim_start_matches('/').split('/').map(encode_path_segment).collect::<Vec<_>>().join("/")
}

fn str_field(obj: &Value, key: &str) -> String {
    obj.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn int_field(obj: &Value, key: &str) -> Option<i64> {
    obj.get(key).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

fn key_values(v: Option<&Value>) -> indexmap::IndexMap<String, String> {
    v.and_then(Value::as_array)
        .map(|items| items.iter().map(|kv| (str_field(kv, "key"), str_field(kv, "value"))).collect())
        .unwrap_or_default()
}

fn experiment_from_json(v: &Value) -> Experiment {
    Experiment {
        experiment_id: str_field(v, "experiment_id"),
        name: str_field(v, "name"),
        artifact_location: str_field(v, "artifact_location"),
        lifecycle_stage: str_field(v, "lifecycle_stage"),
        creation_time: int_field(v, "creation_time").unwrap_or(0),
        last_update_time: int_field(v, "last_update_time").unwrap_or(0),
        tags: key_values(v.get("tags")),
    }
}

fn run_from_json(v: &Value) -> StoreResult<Run> {
    let info = v.get("info").ok_or_else(|| StoreError::Internal("run in the response has no info".into()))?;
    let status = str_field(info, "status");
    Ok(Run {
        run_id: str_field(info, "run_id"),
        experiment_id: str_field(info, "experiment_id"),
        run_name: str_field(info, "run_name"),
        status: status.parse::<RunStatus>().unwrap_or_default(),
        start_time: int_field(info, "start_time").unwrap_or(0),
        end_time: int_field(info, "end_time"),
        lifecycle_stage: str_field(info, "lifecycle_stage"),
        artifact_uri: str_field(info, "artifact_uri"),
        user_id: str_field(info, "user_id"),
        tags: key_values(v.get("data").and_then(|d| d.get("tags"))),
    })
}

#[async_trait]
impl TraceStore for RestStore {
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
        let mut body = json!({"name": name});
        if let Some(loc) = artifact_location {
            body["artifact_location"] = Value::from(loc);
        }
        let v = self.call(Method::POST, "/api/2.0/mlflow/experiments/create", body).await?;
        Ok(str_field(&v, "experiment_id"))
    }

    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Option<Experiment>> {
        match self.get("/api/2.0/mlflow/experiments/get", &[("experiment_id", experiment_id.to_string())]).await {
            Ok(v) => Ok(v.get("experiment").map(experiment_from_json)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>> {
        match self.get("/api/2.0/mlflow/experiments/get-by-name", &[("experiment_name", name.to_string())]).await {
            Ok(v) => Ok(v.get("experiment").map(experiment_from_json)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_experiments(&self) -> StoreResult<Vec<Experiment>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"max_results": 1000, "view_type": "ACTIVE_ONLY"});
            if let Some(t) = &token {
                body["page_token"] = Value::from(t.clone());
            }
            let v = self.call(Method::POST, "/api/2.0/mlflow/experiments/search", body).await?;
            if let Some(items) = v.get("experiments").and_then(Value::as_array) {
                out.extend(items.iter().map(experiment_from_json));
            }
            token = v.get("next_page_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| match (a.experiment_id.parse::<u64>(), b.experiment_id.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.experiment_id.cmp(&b.experiment_id),
        });
        Ok(out)
    }

    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo> {
        self.rest.start_trace(&info, &self.reads).await.map_err(|e| self.error(e))
    }

    async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> StoreResult<()> {
        self.rest.log_spans(experiment_id, &spans, &self.reads).await.map_err(|e| self.error(e))
    }

    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()> {
        for trace in &traces {
            self.rest.send_trace(trace, false, &self.reads).await.map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>> {
        self.trace_info(trace_id).await
    }

    async fn get_trace(&self, trace_id: &str) -> StoreResult<Option<Trace>> {
        let Some(info) = self.trace_info(trace_id).await? else {
            return Ok(None);
        };
        let spans = self.spans_of(&info).await?;
        Ok(Some(Trace { info, data: TraceData { spans } }))
    }

    async fn batch_get_traces(&self, trace_ids: &[String]) -> StoreResult<Vec<Trace>> {
        let mut found: Vec<Trace> = Vec::new();
        for chunk in trace_ids.chunks(BATCH_GET_IDS) {
            let query: Vec<(&str, String)> = chunk.iter().map(|id| ("trace_ids", id.clone())).collect();
            match self.get("/api/3.0/mlflow/traces/batchGet", &query).await {
                Ok(v) => {
                    for t in v.get("traces").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                        found.push(trace_from_rest_value(t).map_err(|e| StoreError::Internal(format!("batchGet response: {e}")))?);
                    }
                }
                // Traces whose spans are artifacts (or an older server): one by one below.
                Err(StoreError::Internal(_) | StoreError::Unavailable(_) | StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut out = Vec::with_capacity(trace_ids.len());
        for id in trace_ids {
            if let Some(pos) = found.iter().position(|t| &t.info.trace_id == id) {
                out.push(found.swap_remove(pos));
            } else if let Some(trace) = self.get_trace(id).await? {
                out.push(trace);
            }
        }
        Ok(out)
    }

    async fn search_traces(&self, request: &SearchTracesRequest) -> StoreResult<TracePage> {
        let locations: Vec<Value> = request
            .experiment_ids
            .iter()
            .map(|id| json!({"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}))
            .collect();
        let mut body = Map::new();
        body.insert("locations".into(), Value::Array(locations));
        if let Some(f) = request.filter.as_ref().filter(|f| !f.trim().is_empty()) {
            body.insert("filter".into(), Value::from(f.clone()));
        }
        body.insert("max_results".into(), Value::from(request.max_results.unwrap_or(100).clamp(1, MAX_SEARCH_PAGE)));
        if !request.order_by.is_empty() {
            body.insert("order_by".into(), json!(request.order_by));
        }
        if let Some(t) = &request.page_token {
            body.insert("page_token".into(), Value::from(t.clone()));
        }
        let v = self.call(Method::POST, "/api/3.0/mlflow/traces/search", Value::Object(body)).await?;
        let traces = v
            .get("traces")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(|t| parse_trace_info(Some(t))).collect::<StoreResult<Vec<_>>>())
            .unwrap_or(Ok(Vec::new()))?;
        let next_page_token = v.get("next_page_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        Ok(TracePage { traces, next_page_token })
    }

    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let path = format!("/api/2.0/mlflow/traces/{}/tags", encode_path_segment(trace_id));
        self.call(Method::PATCH, &path, json!({"key": key, "value": value})).await.map(|_| ())
    }

    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()> {
        let path = format!("/api/2.0/mlflow/traces/{}/tags", encode_path_segment(trace_id));
        self.call(Method::DELETE, &path, json!({"key": key})).await.map(|_| ())
    }

    async fn delete_traces(&self, request: DeleteTraces) -> StoreResult<usize> {
        let body = match request {
            DeleteTraces::ByIds { experiment_id, trace_ids } => json!({"experiment_id": experiment_id, "request_ids": trace_ids}),
            DeleteTraces::OlderThan { experiment_id, max_timestamp_millis, max_traces } => {
                let mut b = json!({"experiment_id": experiment_id, "max_timestamp_millis": max_timestamp_millis});
                if let Some(n) = max_traces {
                    b["max_traces"] = Value::from(n);
                }
                b
            }
        };
        let v = self.call(Method::POST, "/api/2.0/mlflow/traces/delete-traces", body).await?;
        Ok(int_field(&v, "traces_deleted").unwrap_or(0).max(0) as usize)
    }

    async fn search_experiments(&self, _request: &SearchExperimentsRequest) -> StoreResult<ExperimentPage> {
        Err(self.unsupported("searching experiments with trace counts"))
    }

    async fn count_traces(&self, _experiment_id: &str) -> StoreResult<u64> {
        Err(self.unsupported("counting traces"))
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()> {
        let body = json!({"experiment_id": experiment_id, "new_name": new_name});
        self.call(Method::POST, "/api/2.0/mlflow/experiments/update", body).await.map(|_| ())
    }

    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        self.call(Method::POST, "/api/2.0/mlflow/experiments/delete", json!({"experiment_id": experiment_id})).await.map(|_| ())
    }

    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        self.call(Method::POST, "/api/2.0/mlflow/experiments/restore", json!({"experiment_id": experiment_id})).await.map(|_| ())
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let body = json!({"experiment_id": experiment_id, "key": key, "value": value});
        self.call(Method::POST, "/api/2.0/mlflow/experiments/set-experiment-tag", body).await.map(|_| ())
    }

    async fn create_run(&self, request: CreateRun) -> StoreResult<Run> {
        let mut body = json!({
            "experiment_id": request.experiment_id,
            "start_time": request.start_time.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
            "tags": request.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        if let Some(name) = request.run_name.filter(|n| !n.is_empty()) {
            body["run_name"] = Value::from(name);
        }
        if let Some(user) = request.user_id {
            body["user_id"] = Value::from(user);
        }
        let v = self.call(Method::POST, "/api/2.0/mlflow/runs/create", body).await?;
        run_from_json(v.get("run").unwrap_or(&Value::Null))
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<Run>> {
        match self.get("/api/2.0/mlflow/runs/get", &[("run_id", run_id.to_string())]).await {
            Ok(v) => v.get("run").map(run_from_json).transpose(),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update_run(&self, run_id: &str, update: UpdateRun) -> StoreResult<Run> {
        let mut body = json!({"run_id": run_id, "run_uuid": run_id});
        if let Some(s) = update.status {
            body["status"] = Value::from(s.as_str());
        }
        if let Some(t) = update.end_time {
            body["end_time"] = Value::from(t);
        }
        if let Some(n) = update.run_name {
            body["run_name"] = Value::from(n);
        }
        self.call(Method::POST, "/api/2.0/mlflow/runs/update", body).await?;
        self.get_run(run_id).await?.ok_or_else(|| StoreError::NotFound(format!("run {run_id} not found after update")))
    }

    async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
        let body = json!({"trace_ids": trace_ids, "run_id": run_id});
        self.call(Method::POST, "/api/2.0/mlflow/traces/link-to-run", body).await.map(|_| ())
    }

    async fn create_assessment(&self, trace_id: &str, assessment: Assessment) -> StoreResult<Assessment> {
        let path = format!("/api/3.0/mlflow/traces/{}/assessments", encode_path_segment(trace_id));
        self.assessment_call(Method::POST, path, json!({"assessment": assessment.to_json()})).await
    }

    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>> {
        let path = format!(
            "/api/3.0/mlflow/traces/{}/assessments/{}",
            encode_path_segment(trace_id),
            encode_path_segment(assessment_id)
        );
        match self.get(&path, &[]).await {
            Ok(v) => Assessment::from_json(v.get("assessment").unwrap_or(&Value::Null))
                .map(Some)
                .map_err(|e| StoreError::Internal(format!("assessment in the response: {e}"))),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update_assessment(&self, trace_id: &str, assessment_id: &str, update: AssessmentUpdate) -> StoreResult<Assessment> {
        let mut body = Map::new();
        body.insert("assessment_id".into(), Value::from(assessment_id));
        body.insert("trace_id".into(), Value::from(trace_id));
        let mut mask = Vec::new();
        if let Some(name) = update.assessment_name {
            body.insert("assessment_name".into(), Value::from(name));
            mask.push("assessmentName");
        }
        if let Some(value) = update.value {
            let kind = value.kind().unwrap_or("feedback");
            let as_json = Assessment { value, ..Default::default() }.to_json();
            if let Some(v) = as_json.get(kind) {
                body.insert(kind.into(), v.clone());
            }
            mask.push(kind);
        }
        if let Some(rationale) = update.rationale {
            body.insert("rationale".into(), rationale.map_or(Value::Null, Value::from));
            mask.push("rationale");
        }
        if let Some(metadata) = update.metadata {
            body.insert("metadata".into(), json!(metadata));
            mask.push("metadata");
        }
        let path = format!(
            "/api/3.0/mlflow/traces/{}/assessments/{}",
            encode_path_segment(trace_id),
            encode_path_segment(assessment_id)
        );
        self.assessment_call(Method::PATCH, path, json!({"assessment": Value::Object(body), "update_mask": mask.join(",")}))
            .await
    }

    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
        let path = format!(
            "/api/3.0/mlflow/traces/{}/assessments/{}",
            encode_path_segment(trace_id),
            encode_path_segment(assessment_id)
        );
        match self.call(Method::DELETE, &path, json!({})).await {
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let path = format!("/api/2.0/mlflow-artifacts/artifacts/{}", encode_path(path));
        self.rest.put_bytes(&path, bytes.into(), &self.reads).await.map_err(|e| self.error(e))
    }

    async fn get_artifact(&self, path: &str) -> StoreResult<Option<Vec<u8>>> {
        match self.rest.get_bytes(&format!("/api/2.0/mlflow-artifacts/artifacts/{}", encode_path(path)), &self.reads).await {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Walks the artifact proxy's directory listings (immediate children, paths relative to
    /// the listed directory) down from `prefix`.
    async fn list_artifacts(&self, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
        let mut out = Vec::new();
        let mut dirs = vec![prefix.trim_matches('/').to_string()];
        while let Some(dir) = dirs.pop() {
            let v = self.get("/api/2.0/mlflow-artifacts/artifacts", &[("path", dir.clone())]).await?;
            for file in v.get("files").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                let name = str_field(file, "path");
                let name = name.rsplit('/').next().unwrap_or_default();
                if name.is_empty() {
                    continue;
                }
                let full = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
                if file.get("is_dir").and_then(Value::as_bool).unwrap_or(false) {
                    dirs.push(full);
                } else {
                    out.push(ArtifactInfo { path: full, size: int_field(file, "file_size").unwrap_or(0).max(0) as u64 });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete_artifact(&self, path: &str) -> StoreResult<bool> {
        let existed = self.get_artifact(path).await?.is_some();
        let path = format!("/api/2.0/mlflow-artifacts/artifacts/{}", encode_path(path));
        match self.call(Method::DELETE, &path, json!({})).await {
            Ok(_) => Ok(existed),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_trace_skeleton(&self, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
        let Some(trace) = self.get_trace(trace_id).await? else {
            return Ok(None);
        };
        let skeleton = trace
            .data
            .spans
            .iter()
            .map(|s| SpanSkeleton {
                span_id: s.span_id.to_hex(),
                parent_id: s.parent_id.map(|p| p.to_hex()),
                name: s.name.clone(),
                span_type: s.span_type().map(|t| t.to_string()),
                status_code: match s.status.status_code {
                    clew_model::SpanStatusCode::Ok => "OK",
                    clew_model::SpanStatusCode::Error => "ERROR",
                    _ => "UNSET",
                }
                .to_string(),
                start_time_ns: s.start_time_ns,
                end_time_ns: s.end_time_ns,
            })
            .collect();
        Ok(Some((trace.info, skeleton)))
    }

    async fn get_spans(&self, trace_id: &str, span_ids: &[String]) -> StoreResult<Vec<Span>> {
        let spans = match self.get_trace(trace_id).await? {
            Some(t) => t.data.spans,
            None => return Ok(Vec::new()),
        };
        Ok(span_ids.iter().filter_map(|id| spans.iter().find(|s| s.span_id.to_hex() == *id).cloned()).collect())
    }

    async fn search_span_ids_in_trace(&self, trace_id: &str, text: &str, limit: usize) -> StoreResult<Option<Vec<String>>> {
        let query = clew_store::span_text::SpanTextQuery::new(text)?;
        let Some(trace) = self.get_trace(trace_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            trace
                .data
                .spans
                .iter()
                .filter(|span| query.matches_span(span))
                .take(limit)
                .map(|span| span.span_id.to_hex())
                .collect(),
        ))
    }
}
