//! The server exporter when things go wrong, against small in-test servers speaking just
//! enough of MLflow's protocol: an unreachable server (retried, then counted as dropped, user
//! code never waits), 429 with `Retry-After`, and an old server (< 3.4: spans go as a
//! `traces.json` artifact, not over `/v1/traces`).
//!
//! clew's configuration and export counters are process-wide, so the tests take turns.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use clew::export::ServerDestination;
use parking_lot::Mutex as PlMutex;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static TURN: Mutex<()> = Mutex::new(());

/// One request the fake server saw: (method, path, headers, body, when).
type Request = (String, String, HeaderMap, Bytes, Instant);

#[derive(Clone, Default)]
struct Seen(Arc<PlMutex<Vec<Request>>>);

#[derive(Clone)]
struct Fake {
    seen: Seen,
    version: &'static str,
    /// `/v1/traces` answers 429 (Retry-After: 1) this many times first.
    throttle: Arc<PlMutex<u32>>,
}

async fn version(State(fake): State<Fake>) -> &'static str {
    fake.version
}

async fn anything(State(fake): State<Fake>, method: axum::http::Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    fake.seen.0.lock().push((method.to_string(), path.clone(), headers, body.clone(), Instant::now()));
    if path == "/v1/traces" {
        let mut throttle = fake.throttle.lock();
        if *throttle > 0 {
            *throttle -= 1;
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response();
        }
        return (StatusCode::OK, [("content-type", "application/x-protobuf")], Vec::<u8>::new()).into_response();
    }
    if path == "/api/3.0/mlflow/traces" {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut info = request["trace"]["trace_info"].clone();
        let id = info["trace_id"].as_str().unwrap_or_default().to_string();
        info["tags"]["mlflow.artifactLocation"] = json!(format!("mlflow-artifacts:/1/traces/{id}/artifacts"));
        // An old server never stores spans itself.
        if fake.version != "3.3.2" {
            info["tags"]["mlflow.trace.spansLocation"] = json!("TRACKING_STORE");
        }
        return axum::Json(json!({"trace": {"trace_info": info}})).into_response();
    }
    if path.starts_with("/api/2.0/mlflow-artifacts/artifacts/") {
        return StatusCode::OK.into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

/// Starts the fake on the SDK-independent runtime; returns its URL.
fn start_fake(runtime: &tokio::runtime::Runtime, fake: Fake) -> String {
    let app = Router::new().route("/version", get(version)).fallback(any(anything)).with_state(fake);
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    url
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime")
}

fn one_trace(name: &str) -> String {
    {
        let root = clew::start_span(name.to_string());
        root.set_inputs(json!({"x": 1}));
        let _child = clew::start_span("child");
    }
    clew::get_last_active_trace_id().expect("trace id")
}

#[test]
fn an_unreachable_server_is_retried_then_its_traces_are_counted_as_dropped_and_user_code_never_waits() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // A port nobody listens on: connections are refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::env::set_var("CLEW_EXPORT_RETRY_TIMEOUT_SECS", "1");
    let destination = ServerDestination::new(&format!("http://127.0.0.1:{port}")).expect("destination");
    std::env::remove_var("CLEW_EXPORT_RETRY_TIMEOUT_SECS");
    clew::set_destination(destination);
    let before = clew::export::stats().snapshot();

    const TRACES: u64 = 50;
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for i in 0..TRACES {
        let t = Instant::now();
        one_trace(&format!("t{i}"));
        slowest = slowest.max(t.elapsed());
        if i == 0 {
            // Let the worker start retrying the first trace while more are logged.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let logging = started.elapsed();
    // The worker is busy retrying for ~1 s per round; logging never waits on it.
    assert!(slowest < Duration::from_millis(100), "a traced call waited {slowest:?}");
    assert!(logging < Duration::from_millis(900), "logging {TRACES} traces took {logging:?}");

    // A flush gives the buffered traces one last round, then drops them.
    assert!(clew::flush_timeout(Duration::from_secs(30)), "flush did not finish");
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_dropped_after_retries - before.traces_dropped_after_retries, TRACES, "{after:?}");
    assert_eq!(after.traces_failed - before.traces_failed, TRACES, "{after:?}");
    assert_eq!(after.traces_exported, before.traces_exported, "{after:?}");
    assert!(after.export_retries > before.export_retries, "no retries counted: {after:?}");
    assert_eq!(after.retry_buffered_traces, 0, "{after:?}");
    clew::reset();
}

#[test]
fn a_throttled_server_is_retried_after_its_retry_after() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let fake = Fake { seen: Seen::default(), version: "3.17.2", throttle: Arc::new(PlMutex::new(1)) };
    let url = start_fake(&rt, fake.clone());
    std::env::set_var("MLFLOW_TRACKING_USERNAME", "alice");
    std::env::set_var("MLFLOW_TRACKING_PASSWORD", "s3cret");
    let destination = ServerDestination::new(&url).expect("destination");
    std::env::remove_var("MLFLOW_TRACKING_USERNAME");
    std::env::remove_var("MLFLOW_TRACKING_PASSWORD");
    clew::set_destination(destination);
    let before = clew::export::stats().snapshot();
    let trace_id = one_trace("throttled");
    assert!(clew::flush_timeout(Duration::from_secs(30)));
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_exported - before.traces_exported, 1, "{after:?}");
    assert!(after.export_retries > before.export_retries);

    let seen = fake.seen.0.lock().clone();
    let otlp: Vec<_> = seen.iter().filter(|s| s.1 == "/v1/traces").collect();
    assert_eq!(otlp.len(), 2, "one throttled and one accepted /v1/traces call");
    let waited = otlp[1].4 - otlp[0].4;
    assert!(waited >= Duration::from_millis(950), "retried after {waited:?}, not after Retry-After: 1");
    // Basic credentials, base64 of "alice:s3cret".
    assert_eq!(otlp[1].2.get("authorization").and_then(|v| v.to_str().ok()), Some("Basic YWxpY2U6czNjcmV0"));
    assert_eq!(otlp[1].2.get("x-mlflow-experiment-id").and_then(|v| v.to_str().ok()), Some("0"));
    assert_eq!(otlp[1].2.get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-protobuf"));
    let request = clew_model::json::otlp::export_request_from_protobuf(&otlp[1].3).expect("OTLP protobuf");
    let spans = clew_model::json::otlp::spans_from_export_request(&request).expect("spans");
    assert_eq!(spans.len(), 2);
    // The final info follows the spans.
    let start_trace: Vec<_> = seen.iter().filter(|s| s.1 == "/api/3.0/mlflow/traces").collect();
    assert_eq!(start_trace.len(), 1);
    assert!(start_trace[0].4 >= otlp[1].4, "StartTraceV3 came before the spans");
    let body: Value = serde_json::from_slice(&start_trace[0].3).unwrap();
    assert_eq!(body["trace"]["trace_info"]["trace_id"], json!(trace_id));
    assert!(body["trace"]["trace_info"]["trace_metadata"]["mlflow.trace.sizeStats"].is_string());
    assert!(body["trace"]["trace_info"]["trace_metadata"]["mlflow.trace.sizeBytes"].is_string());
    // The server kept the spans: no artifact upload.
    assert!(!seen.iter().any(|s| s.0 == "PUT"));
    clew::reset();
}

#[test]
fn an_old_server_gets_the_spans_as_a_traces_json_artifact() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let fake = Fake { seen: Seen::default(), version: "3.3.2", throttle: Arc::new(PlMutex::new(0)) };
    let url = start_fake(&rt, fake.clone());
    std::env::set_var("MLFLOW_TRACKING_TOKEN", "tok-123");
    let destination = ServerDestination::new(&url).expect("destination");
    std::env::remove_var("MLFLOW_TRACKING_TOKEN");
    clew::set_destination(destination);
    let before = clew::export::stats().snapshot();
    let trace_id = one_trace("old-server");
    assert!(clew::flush_timeout(Duration::from_secs(30)));
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_exported - before.traces_exported, 1, "{after:?}");

    let seen = fake.seen.0.lock().clone();
    assert!(!seen.iter().any(|s| s.1 == "/v1/traces"), "spans went over OTLP to a 3.3 server");
    let put: Vec<_> = seen.iter().filter(|s| s.0 == "PUT").collect();
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].2.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer tok-123"));
    assert_eq!(put[0].1, format!("/api/2.0/mlflow-artifacts/artifacts/1/traces/{trace_id}/artifacts/traces.json"));
    let body: Value = serde_json::from_slice(&put[0].3).expect("traces.json is JSON");
    let spans = body["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2);
    let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"old-server") && names.contains(&"child"), "{names:?}");
    // Span dicts carry JSON-text attributes, as MLflow's traces.json does.
    let root = spans.iter().find(|s| s["name"] == "old-server").unwrap();
    assert_eq!(root["attributes"]["mlflow.spanInputs"], json!("{\"x\": 1}"));
    clew::reset();
}

#[test]
fn spans_continued_from_a_traceparent_go_only_over_v1_traces() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let fake = Fake { seen: Seen::default(), version: "3.17.2", throttle: Arc::new(PlMutex::new(0)) };
    let url = start_fake(&rt, fake.clone());
    clew::set_destination(ServerDestination::new(&url).expect("destination"));
    let before = clew::export::stats().snapshot();
    {
        let headers = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
        let _context = clew::propagation::set_tracing_context_from_http_request_headers(headers).expect("traceparent");
        let handler = clew::start_span("handle_request");
        handler.set_inputs(json!({"path": "/chat"}));
    }
    assert!(clew::flush_timeout(Duration::from_secs(30)));
    let after = clew::export::stats().snapshot();
    assert_eq!(after.spans_exported - before.spans_exported, 1, "{after:?}");
    assert_eq!(after.traces_failed, before.traces_failed, "{after:?}");

    let seen = fake.seen.0.lock().clone();
    assert!(!seen.iter().any(|s| s.1 == "/api/3.0/mlflow/traces"), "a remote trace must not send StartTraceV3");
    let otlp: Vec<_> = seen.iter().filter(|s| s.1 == "/v1/traces").collect();
    assert_eq!(otlp.len(), 1);
    let request = clew_model::json::otlp::export_request_from_protobuf(&otlp[0].3).expect("OTLP protobuf");
    let spans = clew_model::json::otlp::spans_from_export_request(&request).expect("spans");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "handle_request");
    assert_eq!(spans[0].trace_id.to_hex(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(spans[0].parent_id.map(|p| p.to_hex()).as_deref(), Some("b7ad6b7169203331"));
    clew::reset();
}

#[test]
fn traces_kept_in_the_retry_buffer_are_delivered_when_the_server_comes_back() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    // Reserve a port, then leave it closed until the server "comes back".
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::env::set_var("CLEW_EXPORT_RETRY_TIMEOUT_SECS", "0.5");
    let destination = ServerDestination::new(&format!("http://127.0.0.1:{port}")).expect("destination");
    std::env::remove_var("CLEW_EXPORT_RETRY_TIMEOUT_SECS");
    clew::set_destination(destination);
    let before = clew::export::stats().snapshot();
    let first = one_trace("while-down");
    // Wait until the worker has given up on it and buffered it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while clew::export::stats().snapshot().retry_buffered_traces == 0 {
        assert!(Instant::now() < deadline, "the trace never reached the retry buffer");
        std::thread::sleep(Duration::from_millis(20));
    }

    let fake = Fake { seen: Seen::default(), version: "3.17.2", throttle: Arc::new(PlMutex::new(0)) };
    let app = Router::new().route("/version", get(version)).fallback(any(anything)).with_state(fake.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))).expect("rebind the port");
    rt.spawn(async move { axum::serve(listener, app).await });
    let second = one_trace("after-recovery");
    assert!(clew::flush_timeout(Duration::from_secs(30)));

    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_exported - before.traces_exported, 2, "{after:?}");
    assert_eq!(after.traces_dropped_after_retries, before.traces_dropped_after_retries, "{after:?}");
    assert_eq!(after.retry_buffered_traces, 0);
    let seen = fake.seen.0.lock().clone();
    let ids: Vec<String> = seen
        .iter()
        .filter(|s| s.1 == "/api/3.0/mlflow/traces")
        .map(|s| serde_json::from_slice::<Value>(&s.3).unwrap()["trace"]["trace_info"]["trace_id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&first) && ids.contains(&second), "{ids:?}");
    clew::reset();
}
