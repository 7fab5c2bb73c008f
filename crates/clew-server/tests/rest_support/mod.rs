//! A real server on 127.0.0.1 (port 0) over a temporary SQLite store, and an HTTP client.

#![allow(dead_code)]

use clew_model::{keys, Span, SpanId, SpanStatus, TraceId};
use clew_server::{AppState, ServerConfig, ServerError};
use clew_store::{SqliteStore, TraceStore};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServerError>>>,
    _dir: Option<tempfile::TempDir>,
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    /// Asserts an MLflow JSON error and returns its message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        let body = self.json();
        assert_eq!(body["error_code"], code, "body: {body}");
        body["message"].as_str().unwrap_or_default().to_string()
    }
}

/// Test defaults: a short wait for partial traces.
pub fn test_config() -> ServerConfig {
    ServerConfig { partial_trace_wait: Duration::from_millis(300), ..ServerConfig::default() }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("clew.db")).unwrap());
        let mut server = Self::start_on_store(store, config).await;
        server._dir = Some(dir);
        server
    }

    pub async fn start_on_store(store: Arc<dyn TraceStore>, config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(store, config);
        let (sender, receiver) = oneshot::channel::<()>();
        let handle = tokio::spawn(clew_server::serve_state(listener, state.clone(), async move {
            let _ = receiver.await;
        }));
        TestServer {
            base: format!("http://{addr}"),
            state,
            client: reqwest::Client::new(),
            shutdown: Some(sender),
            handle: Some(handle),
            _dir: None,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("request failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str, body: Value) -> Answer {
        self.send(Method::DELETE, path, Some(body), &[]).await
    }
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>) -> Answer {
        let response = self
            .client
            .put(format!("{}{path}", self.base))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Answer { status, headers, body: response.bytes().await.unwrap().to_vec() }
    }

    /// Creates an experiment through the API and returns its id.
    pub async fn create_experiment(&self, name: &str) -> String {
        let answer = self.post("/api/2.0/mlflow/experiments/create", json!({"name": name})).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["experiment_id"].as_str().unwrap().to_string()
    }

    /// Stops accepting, waits for requests in flight and the ingest drain.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }
}

/// `tr-<32 hex>` of a numeric trace id.
pub fn trace_id(n: u128) -> String {
    TraceId::from_u128(n).to_mlflow()
}

/// A finished span of trace `n`; `parent` None = root.
pub fn span(n: u128, span_id: u64, parent: Option<u64>, name: &str, start_ms: i64) -> Span {
    let mut span = Span {
        trace_id: TraceId::from_u128(n),
        span_id: SpanId::from_u64(span_id),
        parent_id: parent.map(SpanId::from_u64),
        name: name.to_string(),
        start_time_ns: start_ms * 1_000_000,
        end_time_ns: Some((start_ms + 10) * 1_000_000),
        status: SpanStatus::ok(),
        attributes: Default::default(),
        events: vec![],
        links: vec![],
    };
    span.attributes.insert(keys::TRACE_REQUEST_ID.into(), format!("\"{}\"", trace_id(n)));
    span.attributes.insert(keys::SPAN_TYPE.into(), "\"CHAIN\"".into());
    span.attributes.insert(keys::SPAN_INPUTS.into(), "{\"question\": \"why\"}".into());
    span
}

/// The StartTraceV3 body the mlflow 3.17.2 client sends, for trace `n` with `num_spans` spans.
pub fn start_trace_body(n: u128, experiment_id: &str, num_spans: usize, request_time_ms: i64) -> Value {
    let request_time = chrono_like_rfc3339(request_time_ms);
    json!({"trace": {"trace_info": {
        "trace_id": trace_id(n),
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}},
        "request_time": request_time,
        "execution_duration": "0.057s",
        "state": "OK",
        "trace_metadata": {
            "mlflow.trace_schema.version": "3",
            "mlflow.user": "root",
            "mlflow.trace.sizeStats": format!("{{\"total_size_bytes\": 6021, \"num_spans\": {num_spans}, \"max\": 1716, \"p25\": 920, \"p50\": 921, \"p75\": 984}}"),
            "mlflow.trace.sizeBytes": "6021"
        },
        "tags": {"mlflow.traceName": "answer", "env": "dev"},
        "request_preview": "{\"question\": \"why\"}",
        "response_preview": "42"
    }}})
}

/// RFC 3339 with milliseconds, as the client writes `request_time`.
pub fn chrono_like_rfc3339(ms: i64) -> String {
    clew_model::json::proto_time::timestamp_from_ms(ms)
}
