//! Request size limit (413 naming it), overload (429 with Retry-After while the store is
//! blocked), the Prometheus text, and graceful shutdown that finishes work in flight.

mod rest_support;

use rest_support::{start_trace_body, test_config, TestServer};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413_naming_it() {
    let server = TestServer::start_with(clew_server::ServerConfig { max_request_bytes: 1024, ..test_config() }).await;
    let big = json!({"name": "x".repeat(2000)});
    let message = server.post("/api/2.0/mlflow/experiments/create", big).await.error(413, "RESOURCE_EXHAUSTED");
    assert!(message.contains("1024") && message.contains("--max-request-bytes"), "{message}");

    // A chunked body (no Content-Length) is cut at the limit where it is read.
    let host = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let chunk = "y".repeat(1500);
    let request = format!(
        "PUT /api/2.0/mlflow-artifacts/artifacts/1/big HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("1024"), "{answer}");

    // Under the limit is fine.
    assert_eq!(server.post("/api/2.0/mlflow/experiments/create", json!({"name": "small"})).await.status, 200);
    let metrics = server.get("/metrics").await.text();
    assert!(metrics.contains("clew_ingest_rejected_total{reason=\"too_large\"} 2"), "{metrics}");
    server.stop().await.unwrap();
}

/// Holds SQLite's write lock from another connection, so the store's writer waits.
fn block_writes(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_429_with_retry_after_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clew.db");
    let store = std::sync::Arc::new(clew_store::SqliteStore::open(&path).unwrap());
    let config = clew_server::ServerConfig { max_pending_spans: 1, ..test_config() };
    let server = std::sync::Arc::new(TestServer::start_on_store(store, config).await);
    let exp = server.create_experiment("e").await;

    let lock = block_writes(&path);
    let first = {
        let server = server.clone();
        let exp = exp.clone();
        tokio::spawn(async move { server.post("/api/3.0/mlflow/traces", start_trace_body(1, &exp, 1, T0)).await })
    };
    let state = server.state.clone();
    wait_until(|| state.ingest.pending_spans() == 1).await;

    // The one slot is taken: refused at once, with Retry-After.
    let refused = server.post("/api/3.0/mlflow/traces", start_trace_body(2, &exp, 1, T0)).await;
    let message = refused.error(429, "RESOURCE_EXHAUSTED");
    assert!(message.contains("--max-pending-spans"), "{message}");
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
    let metrics = server.get("/metrics").await.text();
    assert!(metrics.contains("clew_ingest_rejected_total{reason=\"overloaded\"} 1"), "{metrics}");
    assert!(metrics.contains("clew_ingest_pending_spans 1"), "{metrics}");

    // The store frees up: the accepted request commits and answers 200.
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let first = first.await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    let info = server.get(&format!("/api/3.0/mlflow/traces/{}", rest_support::trace_id(1))).await;
    assert_eq!(info.status, 200);
    let retried = server.post("/api/3.0/mlflow/traces", start_trace_body(2, &exp, 1, T0)).await;
    assert_eq!(retried.status, 200);

    let metrics = server.get("/metrics").await.text();
    assert!(metrics.contains("clew_traces_ingested_total 2"), "{metrics}");
    assert!(metrics.contains("clew_http_request_duration_seconds_count{route=\"/api/3.0/mlflow/traces\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("status=\"429\""), "{metrics}");
    match std::sync::Arc::try_unwrap(server) {
        Ok(server) => server.stop().await.unwrap(),
        Err(_) => panic!("server still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_accepted_work_and_stops_accepting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clew.db");
    let store = std::sync::Arc::new(clew_store::SqliteStore::open(&path).unwrap());
    let server = TestServer::start_on_store(store.clone(), test_config()).await;
    let exp = server.create_experiment("e").await;
    let base = server.base.clone();
    let client = server.client.clone();

    let lock = block_writes(&path);
    let body = start_trace_body(9, &exp, 1, T0);
    let in_flight = tokio::spawn(async move {
        client.post(format!("{base}/api/3.0/mlflow/traces")).header("Content-Type", "application/json").body(body.to_string()).send().await
    });
    let state = server.state.clone();
    wait_until(|| state.ingest.pending_spans() == 1).await;

    let host = server.base.trim_start_matches("http://").to_string();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stopped accepting: new connections are refused while the old request still runs.
    assert!(tokio::net::TcpStream::connect(&host).await.is_err(), "the listener should be closed");
    assert!(!stopping.is_finished(), "shutdown waits for the request in flight");

    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let response = in_flight.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(response.status().as_u16(), 200);
    stopping.await.unwrap().unwrap();
    use clew_store::TraceStore;
    assert!(store.get_trace_info(&rest_support::trace_id(9)).await.unwrap().is_some(), "committed before exit");
}

/// `/metrics` tells how far the SQLite text index trails (searches stay correct meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_text_index_lag() {
    let store = std::sync::Arc::new(clew_store::SqliteStore::open_in_memory().unwrap());
    store.set_background_indexing(false);
    let server = TestServer::start_on_store(store.clone(), test_config()).await;
    let traces: Vec<_> = (1..=3u128).map(|n| clew_store::conformance::simple_trace(n, "0", 0, 5, 3)).collect();
    let spans: i64 = traces.iter().map(|t| t.data.spans.len() as i64).sum();
    clew_store::TraceStore::write_traces(store.as_ref(), traces).await.unwrap();
    let metrics = server.get("/metrics").await.text();
    assert!(metrics.contains(&format!("clew_text_index_lag_spans {spans}\n")), "{metrics}");
    assert!(metrics.contains("clew_text_index_failed_steps 0\n"), "{metrics}");
    store.index_pending_spans().await.unwrap();
    let metrics = server.get("/metrics").await.text();
    assert!(metrics.contains("clew_text_index_lag_spans 0\n"), "{metrics}");
}
