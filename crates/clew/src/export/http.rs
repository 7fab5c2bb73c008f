//! HTTP shared by the server and OTLP exporters and the REST store: one keep-alive client
//! per destination (TCP_NODELAY), MLflow auth headers, and retries with exponential backoff
//! that honour `Retry-After`.
//!
//! Requests run as futures on the SDK's I/O runtime (`crate::runtime`); the export worker
//! drives them with `block_on`, so user threads never wait on the network.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use std::time::{Duration, Instant};

/// The SDK version sent in `User-Agent`.
pub(crate) const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// A keep-alive HTTP client with `TCP_NODELAY`, connect and request timeouts.
pub(crate) fn build_client(request_timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(format!("clew/{CLIENT_VERSION}"))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .timeout(request_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `Authorization` from `MLFLOW_TRACKING_TOKEN` (Bearer) or `MLFLOW_TRACKING_USERNAME` /
/// `MLFLOW_TRACKING_PASSWORD` (Basic), as the MLflow client sends it.
pub(crate) fn mlflow_auth_headers() -> HeaderMap {
    use base64::Engine;
    let mut headers = HeaderMap::new();
    let value = if let Some(token) = env_var("MLFLOW_TRACKING_TOKEN") {
        Some(format!("Bearer {token}"))
    } else if let (Some(user), Some(password)) =
        (env_var("MLFLOW_TRACKING_USERNAME"), env_var("MLFLOW_TRACKING_PASSWORD"))
    {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {encoded}"))
    } else {
        None
    };
    if let Some(value) = value {
        match HeaderValue::from_str(&value) {
            Ok(mut v) => {
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            Err(_) => crate::report::warn("MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD hold characters not allowed in a header; sending no credentials"),
        }
    }
    headers
}

/// Parses `key1=value1,key2=value2` (`OTEL_EXPORTER_OTLP_HEADERS`; values percent-decoded).
pub(crate) fn parse_header_list(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("header {item:?} is not key=value"));
        };
        out.push((percent_decode(k.trim()), percent_decode(v.trim())));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Headers from `(name, value)` pairs; invalid ones are reported and skipped.
pub(crate) fn header_map(pairs: &[(String, String)], what: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        match (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            (Ok(name), Ok(value)) => {
                headers.insert(name, value);
            }
            _ => crate::report::warn(&format!("{what}: header {k:?} is not a valid HTTP header; skipped")),
        }
    }
    headers
}

/// How long and how often to retry.
#[derive(Clone, Debug)]
pub(crate) struct RetryPolicy {
    /// Give up once this much time has passed since the first attempt.
    pub(crate) deadline: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    /// At most this many attempts (the first included).
    pub(crate) max_attempts: u32,
}

impl RetryPolicy {
    /// For exports: `CLEW_EXPORT_RETRY_TIMEOUT_SECS` (else MLflow's
    /// `MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT`), default 30 s.
    pub(crate) fn for_export() -> Self {
        let secs = env_var("CLEW_EXPORT_RETRY_TIMEOUT_SECS")
            .or_else(|| env_var("MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT"))
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(30.0);
        RetryPolicy {
            deadline: Duration::from_secs_f64(secs),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_attempts: u32::MAX,
        }
    }
    /// For reads on a caller's thread: a few quick attempts (as MLflow's client retries).
    pub(crate) fn for_reads() -> Self {
        RetryPolicy {
            deadline: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_attempts: 4,
        }
    }
    /// One attempt (`GET /version`, as MLflow: no retries).
    pub(crate) fn once() -> Self {
        RetryPolicy {
            deadline: Duration::ZERO,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            max_attempts: 1,
        }
    }
}

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: bytes::Bytes,
}

impl Reply {
    /// The body as JSON; an empty body (or MLflow's `200 OK` text) reads as `{}`.
    pub(crate) fn json(&self) -> Result<serde_json::Value, String> {
        let text = String::from_utf8_lossy(&self.body);
        let trimmed = text.trim();
        if trimmed.is_empty() || !trimmed.starts_with(['{', '[']) {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        serde_json::from_str(trimmed).map_err(|e| format!("response is not valid JSON: {e}"))
    }
}

/// A request that did not succeed.
#[derive(Debug, Clone)]
pub(crate) struct HttpError {
    /// The HTTP status, or `None` when no response came (connect error, timeout).
    pub(crate) status: Option<u16>,
    /// MLflow's `error_code` when the body was a JSON error.
    pub(crate) error_code: Option<String>,
    pub(crate) message: String,
    /// Whether the failure was worth retrying (and retries ran out): the server is down or
    /// overloaded rather than rejecting the request.
    pub(crate) retryable: bool,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, &self.error_code) {
            (Some(s), Some(code)) => write!(f, "HTTP {s} {code}: {}", self.message),
            (Some(s), None) => write!(f, "HTTP {s}: {}", self.message),
            (None, _) => write!(f, "{}", self.message),
        }
    }
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let ms = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(ms.max(0) as u64))
}

fn error_from_body(status: u16, body: &[u8]) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(body);
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(&text) {
        let code = obj.get("error_code").and_then(|v| v.as_str()).map(str::to_string);
        let message = obj
            .get("message")
            .or_else(|| obj.get("detail"))
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .unwrap_or_else(|| text.to_string());
        return (code, message);
    }
    let mut message: String = text.chars().take(300).collect();
    if message.trim().is_empty() {
        message = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no body")
            .to_string();
    }
    (None, message)
}

fn describe_transport(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Sends the request `make` builds, retrying connection failures, timeouts and
/// 408/429/500/502/503/504 with exponential backoff and jitter (or the server's
/// `Retry-After`) until the policy runs out. Each retry is counted in the export stats.
pub(crate) async fn send(policy: &RetryPolicy, mut make: impl FnMut() -> reqwest::RequestBuilder) -> Result<Reply, HttpError> {
    let started = Instant::now();
    let mut backoff = policy.initial_backoff;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let (error, server_wait) = match make().send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = retry_after(response.headers());
                match response.bytes().await {
                    Ok(body) if (200..300).contains(&status) => return Ok(Reply { status, body }),
                    Ok(body) => {
                        let (error_code, message) = error_from_body(status, &body);
                        let retryable = is_retryable_status(status);
                        (HttpError { status: Some(status), error_code, message, retryable }, wait)
                    }
                    Err(e) => (
                        HttpError {
                            status: Some(status),
                            error_code: None,
                            message: format!("reading the response failed: {}", describe_transport(&e)),
                            retryable: true,
                        },
                        wait,
                    ),
                }
            }
            Err(e) => {
                let error = HttpError { status: None, error_code: None, message: describe_transport(&e), retryable: !e.is_builder() };
                (error, None)
            }
        };
        if !error.retryable || attempt >= policy.max_attempts {
            return Err(error);
        }
        let jitter = rand::random::<f64>() * 0.2 + 0.9;
        let wait = server_wait.unwrap_or_else(|| backoff.mul_f64(jitter)).min(Duration::from_secs(120));
        if started.elapsed() + wait > policy.deadline {
            return Err(error);
        }
        super::stats().record_retry();
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(policy.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_parse_and_percent_decode() {
        let parsed = parse_header_list("api-key=abc%20def, x-tenant = t1 ,").unwrap();
        assert_eq!(parsed, vec![("api-key".into(), "abc def".into()), ("x-tenant".into(), "t1".into())]);
        assert!(parse_header_list("novalue").is_err());
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn json_errors_and_plain_errors_are_read() {
        let (code, msg) = error_from_body(404, br#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"gone"}"#);
        assert_eq!(code.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
        assert_eq!(msg, "gone");
        let (code, msg) = error_from_body(404, b"");
        assert_eq!(code, None);
        assert_eq!(msg, "Not Found");
    }
}
