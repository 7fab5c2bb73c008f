//! Export to a tracking server speaking MLflow's protocol (an MLflow server or `clew server`),
//! as the MLflow client does it (spec §4.3):
//!
//! 1. `GET /version` once: span logging over OTLP needs a server ≥ 3.4;
//! 2. per batch, per experiment: `POST /v1/traces` (OTLP protobuf, `x-mlflow-experiment-id`);
//! 3. per trace: `POST /api/3.0/mlflow/traces` (StartTraceV3) with the final info — sent
//!    *after* the spans, so a compliant server already holds them and answers with
//!    `mlflow.trace.spansLocation=TRACKING_STORE`;
//! 4. only when that tag is missing: the spans as `traces.json` through the artifact proxy.
//!
//! Spans of traces continued from a `traceparent` go only through `/v1/traces`.
//!
//! While the server is unreachable or overloaded, requests are retried with exponential
//! backoff (honouring `Retry-After`) for `CLEW_EXPORT_RETRY_TIMEOUT_SECS` (default 30); traces
//! still not delivered wait in a retry buffer bounded in bytes (`CLEW_EXPORT_RETRY_BUFFER_BYTES`,
//! default 64 MiB) for the next export call, and are dropped and counted
//! ([`super::ExportStatsSnapshot::traces_dropped_after_retries`]) after three such rounds, when
//! the buffer is full, or at a flush.

use super::http::{self, HttpError, Reply, RetryPolicy};
use super::{stats, Destination, ExportError};
use clew_model::json::otlp::{export_request_to_protobuf, spans_to_export_request};
use clew_model::json::rest::{trace_info_from_proto_value, trace_info_to_proto_value};
use clew_model::json::span_dict::span_to_dict;
use clew_model::{keys, Span, Trace, TraceInfo};
use clew_store::TraceStore;
use indexmap::IndexMap;
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Spans per `/v1/traces` request (MLflow sends batches of 5; bigger requests are cheaper).
const MAX_SPANS_PER_REQUEST: usize = 1000;
/// StartTraceV3 calls in flight at once (the MLflow client uses 10 worker threads).
const CONCURRENT_TRACE_CALLS: usize = 8;
/// Export calls a trace may wait through in the retry buffer before it is dropped.
const MAX_RETRY_ROUNDS: u32 = 3;
const DEFAULT_RETRY_BUFFER_BYTES: u64 = 64 * 1024 * 1024;

const SPAN_LOGGING_UNKNOWN: u8 = 0;
const SPAN_LOGGING_ON: u8 = 1;
const SPAN_LOGGING_OFF: u8 = 2;

/// Whether a `/version` answer allows span logging: a PEP 440 version ≥ 3.4 (`3.4.0.dev0`
/// and `3.4.0rc1` are below 3.4, `3.4.0.post1` is not).
pub(crate) fn version_supports_span_logging(text: &str) -> bool {
    let text = text.trim().trim_start_matches(['v', 'V']);
    let text = text.split('+').next().unwrap_or("");
    let mut release = Vec::new();
    let mut rest = "";
    for (i, part) in text.split('.').enumerate() {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            rest = text.splitn(i + 1, '.').last().unwrap_or("");
            break;
        }
        let Ok(n) = digits.parse::<u64>() else { return false };
        release.push(n);
        if digits.len() < part.len() {
            rest = &part[digits.len()..];
            break;
        }
    }
    if release.is_empty() {
        return false;
    }
    let get = |i: usize| release.get(i).copied().unwrap_or(0);
    let key = (get(0), get(1), get(2));
    let rest = rest.to_ascii_lowercase();
    let pre = !rest.is_empty() && !rest.trim_start_matches(['.', '-', '_']).starts_with("post");
    key > (3, 4, 0) || (key == (3, 4, 0) && !pre)
}

/// MLflow's REST protocol over one keep-alive client: the calls the exporter and the
/// [`super::RestStore`] make.
pub(crate) struct MlflowRest {
    base: String,
    client: reqwest::Client,
    headers: HeaderMap,
    resource: IndexMap<String, Value>,
    span_logging: AtomicU8,
}

impl MlflowRest {
    pub(crate) fn new(uri: &str) -> Result<Self, String> {
        let base = uri.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("{uri:?} is not an http:// or https:// URL"));
        }
        reqwest::Url::parse(&base).map_err(|e| format!("{uri:?} is not a valid URL: {e}"))?;
        let mut headers = http::mlflow_auth_headers();
        if let Ok(v) = HeaderValue::from_str(http::CLIENT_VERSION) {
            headers.insert("x-clew-client-version", v);
        }
        Ok(MlflowRest {
            base,
            client: http::build_client(Duration::from_secs(60))?,
            headers,
            resource: super::otlp::resource_attributes_from_env(),
            span_logging: AtomicU8::new(SPAN_LOGGING_UNKNOWN),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) async fn get_json(&self, path: &str, query: &[(&str, String)], policy: &RetryPolicy) -> Result<Value, HttpError> {
        let url = self.url(path);
        let reply = http::send(policy, || self.client.get(&url).headers(self.headers.clone()).query(query)).await?;
        reply_json(&reply)
    }

    pub(crate) async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        policy: &RetryPolicy,
    ) -> Result<Value, HttpError> {
        let url = self.url(path);
        let body = serde_json::to_vec(body).unwrap_or_default();
        let reply = http::send(policy, || {
            self.client
                .request(method.clone(), &url)
                .headers(self.headers.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await?;
        reply_json(&reply)
    }

    pub(crate) async fn get_bytes(&self, path: &str, policy: &RetryPolicy) -> Result<bytes::Bytes, HttpError> {
        let url = self.url(path);
        Ok(http::send(policy, || self.client.get(&url).headers(self.headers.clone())).await?.body)
    }

    pub(crate) async fn put_bytes(&self, path: &str, body: bytes::Bytes, policy: &RetryPolicy) -> Result<(), HttpError> {
        let url = self.url(path);
        http::send(policy, || {
            self.client
                .put(&url)
                .headers(self.headers.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body.clone())
        })
        .await
        .map(|_| ())
    }

    /// Whether spans may go over `/v1/traces`: asks `GET /version` once (3 s, no retries). An
    /// unreachable server is asked again next time; any answer is kept.
    pub(crate) async fn span_logging_enabled(&self) -> bool {
        match self.span_logging.load(Ordering::Acquire) {
            SPAN_LOGGING_ON => return true,
            SPAN_LOGGING_OFF => return false,
            _ => {}
        }
        let url = self.url("/version");
        let answer = http::send(&RetryPolicy::once(), || {
            self.client.get(&url).headers(self.headers.clone()).timeout(Duration::from_secs(3))
        })
        .await;
        let enabled = match answer {
            Ok(reply) => {
                let text = String::from_utf8_lossy(&reply.body).to_string();
                let ok = version_supports_span_logging(&text);
                if !ok {
                    crate::report::warn(&format!(
                        "{}: server version {:?} is older than 3.4 or unreadable; spans are uploaded as traces.json artifacts",
                        self.base,
                        text.trim()
                    ));
                }
                ok
            }
            // Not a version server (a plain 404): the same answer as an old server.
            Err(e) if e.status.is_some() && !e.retryable => {
                crate::report::warn(&format!(
                    "{}: GET /version failed ({e}); spans are uploaded as traces.json artifacts",
                    self.base
                ));
                false
            }
            // Unreachable: try the modern path now and ask again next time.
            Err(_) => return true,
        };
        self.span_logging.store(if enabled { SPAN_LOGGING_ON } else { SPAN_LOGGING_OFF }, Ordering::Release);
        enabled
    }

    /// `POST /v1/traces` with these spans (chunked), for one experiment.
    pub(crate) async fn log_spans(&self, experiment_id: &str, spans: &[Span], policy: &RetryPolicy) -> Result<(), HttpError> {
        let url = self.url("/v1/traces");
        let experiment = HeaderValue::from_str(experiment_id).map_err(|_| HttpError {
            status: None,
            error_code: None,
            message: format!("experiment id {experiment_id:?} cannot be sent in a header"),
            retryable: false,
        })?;
        for chunk in spans.chunks(MAX_SPANS_PER_REQUEST) {
            let body = bytes::Bytes::from(export_request_to_protobuf(&spans_to_export_request(chunk, &self.resource)));
            let sent = http::send(policy, || {
                self.client
                    .post(&url)
                    .headers(self.headers.clone())
                    .header(CONTENT_TYPE, "application/x-protobuf")
                    .header("x-mlflow-experiment-id", experiment.clone())
                    .body(body.clone())
            })
            .await;
            if let Err(e) = sent {
                if e.status == Some(501) || e.message.contains("REST OTLP span logging is not supported") {
                    crate::report::warn(&format!(
                        "{}: the server does not store spans ({e}); spans are uploaded as traces.json artifacts",
                        self.base
                    ));
                    self.span_logging.store(SPAN_LOGGING_OFF, Ordering::Release);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// StartTraceV3 with the final info; returns the info as the server stored it.
    pub(crate) async fn start_trace(&self, info: &TraceInfo, policy: &RetryPolicy) -> Result<TraceInfo, HttpError> {
        let body = json!({"trace": {"trace_info": trace_info_to_proto_value(info)}});
        let reply = self.send_json(reqwest::Method::POST, "/api/3.0/mlflow/traces", &body, policy).await?;
        let stored = reply.get("trace").and_then(|t| t.get("trace_info")).ok_or_else(|| malformed("StartTraceV3 response has no trace.trace_info"))?;
        trace_info_from_proto_value(stored).map_err(|e| malformed(&format!("StartTraceV3 response: {e}")))
    }

    /// The artifact-proxy path of an `mlflow-artifacts:/…` location, or why it can't be used.
    pub(crate) fn artifact_path(location: &str) -> Result<String, String> {
        let Some(rest) = location.strip_prefix("mlflow-artifacts:") else {
            return Err(format!(
                "artifact location {location:?} is not an mlflow-artifacts:/ URI; clew uploads only through the tracking server's artifact proxy (start the server with artifact serving)"
            ));
        };
        // `mlflow-artifacts:/1/…` or `mlflow-artifacts://host:port/1/…`.
        let path = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map(|(_, p)| p).unwrap_or(""),
            None => rest,
        };
        Ok(path.trim_start_matches('/').to_string())
    }

    /// `PUT …/mlflow-artifacts/artifacts/<location>/traces.json` with `{"spans": [...]}`.
    pub(crate) async fn upload_spans_artifact(&self, stored: &TraceInfo, spans: &[Span], policy: &RetryPolicy) -> Result<(), HttpError> {
        let location = stored.tags.get(keys::ARTIFACT_LOCATION).ok_or_else(|| {
            malformed(&format!(
                "the server kept no spans for {} and gave no {} tag, so they cannot be uploaded",
                stored.trace_id,
                keys::ARTIFACT_LOCATION
            ))
        })?;
        let body = serde_json::to_vec(&json!({"spans": spans.iter().map(span_to_dict).collect::<Vec<_>>()})).unwrap_or_default();
        // A server whose artifact root is a local path (`--default-artifact-root /dir`): the
        // MLflow client writes such locations itself, so does clew.
        if let Some(dir) = local_artifact_dir(location) {
            let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("traces.json"), &body));
            return written.map_err(|e| malformed(&format!("writing {}: {e}", dir.join("traces.json").display())));
        }
        let path = Self::artifact_path(location).map_err(|m| malformed(&m))?;
        let url = self.url(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"));
        http::send(policy, || {
            self.client.put(&url).headers(self.headers.clone()).header(CONTENT_TYPE, "application/json").body(body.clone())
        })
        .await
        .map(|_| ())
    }

    /// Sends one finished trace the MLflow way: spans (unless already sent), StartTraceV3,
    /// then the artifact upload if the server did not keep the spans.
    pub(crate) async fn send_trace(&self, trace: &Trace, spans_sent: bool, policy: &RetryPolicy) -> Result<TraceInfo, HttpError> {
        let experiment_id = trace.info.experiment_id().unwrap_or(clew_model::experiment::DEFAULT_EXPERIMENT_ID);
        let mut spans_sent = spans_sent;
        if !spans_sent && self.span_logging_enabled().await {
            match self.log_spans(experiment_id, &trace.data.spans, policy).await {
                Ok(()) => spans_sent = true,
                Err(e) if e.retryable => return Err(e),
                Err(_) => {} // the artifact upload below carries the spans
            }
        }
        let _ = spans_sent;
        let stored = self.start_trace(&trace.info, policy).await?;
        if stored.tags.get(keys::SPANS_LOCATION).map(String::as_str) != Some(keys::SPANS_LOCATION_TRACKING_STORE) {
            self.upload_spans_artifact(&stored, &trace.data.spans, policy).await?;
        }
        Ok(stored)
    }
}

/// The directory of a local artifact location (`/abs/path` or `file:///abs/path`).
pub(crate) fn local_artifact_dir(location: &str) -> Option<std::path::PathBuf> {
    let path = match location.strip_prefix("file://") {
        Some(rest) => rest,
        None if location.starts_with('/') => location,
        None => return None,
    };
    Some(std::path::PathBuf::from(path))
}

fn malformed(message: &str) -> HttpError {
    HttpError { status: None, error_code: None, message: message.to_string(), retryable: false }
}

fn reply_json(reply: &Reply) -> Result<Value, HttpError> {
    reply.json().map_err(|m| HttpError { status: Some(reply.status), error_code: None, message: m, retryable: false })
}

/// A trace waiting to be (re)sent.
struct Pending {
    trace: Trace,
    spans_sent: bool,
    rounds: u32,
    bytes: u64,
}

impl Pending {
    fn new(trace: Trace) -> Self {
        let bytes = trace
            .info
            .trace_metadata
            .get(keys::SIZE_BYTES)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1024 * (trace.data.spans.len() as u64 + 1));
        Pending { trace, spans_sent: false, rounds: 0, bytes }
    }
}

enum Outcome {
    Sent,
    Rejected(HttpError),
    GaveUp(HttpError),
}

/// Exports to a tracking server at an `http(s)://` URL (an MLflow server ≥ 3.4 or `clew
/// server`; older MLflow servers get the spans as `traces.json` artifacts). Reads
/// (`get_trace`, `search_traces`, experiments) go to the same server through
/// [`super::RestStore`].
///
/// ```no_run
/// clew::set_destination(clew::export::ServerDestination::new("http://127.0.0.1:5000").unwrap());
/// ```
///
/// Credentials come from `MLFLOW_TRACKING_TOKEN` (Bearer) or `MLFLOW_TRACKING_USERNAME` /
/// `MLFLOW_TRACKING_PASSWORD` (Basic).
pub struct ServerDestination {
    rest: Arc<MlflowRest>,
    store: Arc<super::RestStore>,
    policy: RetryPolicy,
    pending: Mutex<VecDeque<Pending>>,
    max_pending_bytes: u64,
}

impl ServerDestination {
    /// A destination for the server at `url` (`http://host:port`, optionally with a path
    /// prefix). Fails only on a malformed URL; the server is contacted at the first export.
    pub fn new(url: &str) -> Result<Self, ExportError> {
        let rest = Arc::new(MlflowRest::new(url).map_err(|message| ExportError::Unavailable { destination: url.to_string(), message })?);
        let max_pending_bytes = std::env::var("CLEW_EXPORT_RETRY_BUFFER_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_RETRY_BUFFER_BYTES);
        Ok(ServerDestination {
            store: Arc::new(super::RestStore::from_rest(rest.clone())),
            rest,
            policy: RetryPolicy::for_export(),
            pending: Mutex::new(VecDeque::new()),
            max_pending_bytes,
        })
    }

    /// The REST store reads go to.
    pub fn rest_store(&self) -> Arc<super::RestStore> {
        self.store.clone()
    }

    /// Sends buffered and new traces; `last_try` drops whatever still fails.
    fn deliver(&self, new: Vec<Trace>, last_try: bool) -> Result<(), ExportError> {
        let mut work: Vec<Pending> = self.pending.lock().drain(..).collect();
        let counters = stats();
        counters.retry_buffered_traces.fetch_sub(work.len() as u64, Ordering::Relaxed);
        work.extend(new.into_iter().map(Pending::new));
        if work.is_empty() {
            return Ok(());
        }
        let rest = self.rest.clone();
        let policy = self.policy.clone();
        let results = match crate::runtime::block_on(async move { send_all(rest, work, policy).await }) {
            Ok(results) => results,
            Err(message) => return Err(ExportError::Unavailable { destination: self.describe(), message }),
        };
        let mut first_error: Option<String> = None;
        let mut kept = 0u64;
        let mut pending = self.pending.lock();
        let mut pending_bytes: u64 = pending.iter().map(|p| p.bytes).sum();
        for (mut item, outcome) in results {
            match outcome {
                Outcome::Sent => counters.record_exported(1, item.trace.data.spans.len() as u64),
                Outcome::Rejected(e) => {
                    counters.record_failed(1, false);
                    first_error.get_or_insert_with(|| format!("trace {} rejected: {e}", item.trace.info.trace_id));
                }
                Outcome::GaveUp(e) => {
                    item.rounds += 1;
                    first_error.get_or_insert_with(|| format!("server unreachable: {e}"));
                    if last_try || item.rounds >= MAX_RETRY_ROUNDS || pending_bytes + item.bytes > self.max_pending_bytes {
                        counters.record_failed(1, true);
                    } else {
                        pending_bytes += item.bytes;
                        kept += 1;
                        pending.push_back(item);
                    }
                }
            }
        }
        counters.retry_buffered_traces.fetch_add(kept, Ordering::Relaxed);
        match first_error {
            None => Ok(()),
            Some(message) => Err(ExportError::Failed {
                destination: self.describe(),
                message: if kept > 0 { format!("{message} ({kept} traces kept for another try)") } else { message },
            }),
        }
    }
}

/// Spans per experiment first (one `/v1/traces` call per chunk), then StartTraceV3 (and the
/// artifact fallback) per trace, several at once. Once the server proves unreachable, the
/// traces not yet tried are not tried in this round.
async fn send_all(rest: Arc<MlflowRest>, mut work: Vec<Pending>, policy: RetryPolicy) -> Vec<(Pending, Outcome)> {
    let mut done: Vec<(Pending, Outcome)> = Vec::new();
    if rest.span_logging_enabled().await {
        let mut experiments: Vec<String> = Vec::new();
        for item in &work {
            let exp = item.trace.info.experiment_id().unwrap_or("0").to_string();
            if !item.spans_sent && !experiments.contains(&exp) {
                experiments.push(exp);
            }
        }
        for exp in experiments {
            let group: Vec<Span> = work
                .iter()
                .filter(|p| !p.spans_sent && p.trace.info.experiment_id().unwrap_or("0") == exp)
                .flat_map(|p| p.trace.data.spans.iter().cloned())
                .collect();
            match rest.log_spans(&exp, &group, &policy).await {
                Ok(()) => work
                    .iter_mut()
                    .filter(|p| p.trace.info.experiment_id().unwrap_or("0") == exp)
                    .for_each(|p| p.spans_sent = true),
                Err(e) if e.retryable => {
                    // The server is down: everything waits for the next round.
                    done.extend(work.drain(..).map(|p| (p, Outcome::GaveUp(e.clone()))));
                    return done;
                }
                Err(_) => {} // StartTraceV3's answer decides whether the artifact upload runs
            }
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_TRACE_CALLS));
    let down = Arc::new(Mutex::new(None::<HttpError>));
    let mut tasks = tokio::task::JoinSet::new();
    for item in work {
        let (rest, policy, semaphore, down) = (rest.clone(), policy.clone(), semaphore.clone(), down.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await.ok();
            if let Some(e) = down.lock().clone() {
                return (item, Outcome::GaveUp(e));
            }
            let outcome = match rest.send_trace(&item.trace, item.spans_sent, &policy).await {
                Ok(_) => Outcome::Sent,
                Err(e) if e.retryable => {
                    *down.lock() = Some(e.clone());
                    Outcome::GaveUp(e)
                }
                Err(e) => Outcome::Rejected(e),
            };
            (item, outcome)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => done.push(result),
            Err(e) => crate::report::warn(&format!("an export task failed: {e}")),
        }
    }
    done
}

impl Destination for ServerDestination {
    fn describe(&self) -> String {
        self.rest.base().to_string()
    }
    fn export(&self, traces: Vec<Trace>) -> Result<(), ExportError> {
        self.deliver(traces, false)
    }
    fn export_spans(&self, experiment_id: &str, spans: Vec<Span>) -> Result<(), ExportError> {
        let rest = self.rest.clone();
        let policy = self.policy.clone();
        let exp = experiment_id.to_string();
        let count = spans.len() as u64;
        let result = crate::runtime::block_on(async move {
            if !rest.span_logging_enabled().await {
                return Err(malformed(
                    "the server does not accept spans over /v1/traces (older than 3.4), so spans of traces continued from another process cannot be sent",
                ));
            }
            rest.log_spans(&exp, &spans, &policy).await
        });
        let counters = stats();
        match result {
            Ok(Ok(())) => {
                counters.spans_exported.fetch_add(count, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => {
                counters.record_failed(1, e.retryable);
                Err(ExportError::Failed { destination: self.describe(), message: e.to_string() })
            }
            Err(message) => {
                counters.record_failed(1, false);
                Err(ExportError::Unavailable { destination: self.describe(), message })
            }
        }
    }
    /// One last try for the traces in the retry buffer; what still fails is dropped.
    fn flush(&self) -> Result<(), ExportError> {
        if self.pending.lock().is_empty() {
            return Ok(());
        }
        self.deliver(Vec::new(), true)
    }
    fn store(&self) -> Option<Arc<dyn TraceStore>> {
        Some(self.store.clone())
    }
    fn counts_itself(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_logging_needs_version_3_4() {
        for ok in ["3.17.2", "3.4", "3.4.0", "3.4.0.post1", "4.0.0rc1", "3.10.1\n", "3.5.0.dev0", "v3.6.0", "3.4.1+local"] {
            assert!(version_supports_span_logging(ok), "{ok}");
        }
        for old in ["3.3.2", "3.4.0.dev0", "3.4.0rc1", "2.22.0", "", "unknown", "<html>", "3.4.0a1"] {
            assert!(!version_supports_span_logging(old), "{old}");
        }
    }

    #[test]
    fn artifact_paths_come_from_mlflow_artifacts_uris() {
        assert_eq!(MlflowRest::artifact_path("mlflow-artifacts:/1/traces/tr-1/artifacts").unwrap(), "1/traces/tr-1/artifacts");
        assert_eq!(MlflowRest::artifact_path("mlflow-artifacts://h:5000/1/x").unwrap(), "1/x");
        assert!(MlflowRest::artifact_path("s3://bucket/1").is_err());
        assert_eq!(local_artifact_dir("file:///tmp/a/1"), Some(std::path::PathBuf::from("/tmp/a/1")));
        assert_eq!(local_artifact_dir("/tmp/a/1"), Some(std::path::PathBuf::from("/tmp/a/1")));
        assert_eq!(local_artifact_dir("mlflow-artifacts:/1"), None);
    }
}
