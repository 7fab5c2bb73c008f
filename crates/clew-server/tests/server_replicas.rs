//! Two server instances over one store — one SQLite file opened twice, as two processes would,
//! and one PostgreSQL database — whatever is written through one is read through the other, in
//! either order: the server keeps no state of its own.
//!
//! PostgreSQL: `CLEW_TEST_POSTGRES_URL` (a superuser URL) or, when unset, the throwaway cluster
//! of `scripts/postgres-test-server.sh`; `CLEW_SKIP_POSTGRES=1` skips that test explicitly.

mod rest_support;

use clew_model::json::{export_request_to_protobuf, spans_to_export_request};
use clew_model::keys;
use rest_support::{span, start_trace_body, test_config, trace_id, TestServer};
use serde_json::json;
use std::sync::Arc;

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clew.db");
    let store_a = Arc::new(clew_store::SqliteStore::open(&path).unwrap());
    let store_b = Arc::new(clew_store::SqliteStore::open(&path).unwrap());
    write_through_one_read_through_the_other(store_a, store_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_postgres_database() {
    let Some(admin_url) = postgres_server_url() else { return };
    let database = format!("clew_server_replicas_{}", std::process::id());
    let admin = admin_client(&admin_url).await;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).await.unwrap();
    admin.batch_execute(&format!("CREATE DATABASE \"{database}\"")).await.unwrap();
    let url = with_database(&admin_url, &database);
    let store_a = Arc::new(clew_store::PostgresStore::connect(&url).await.unwrap());
    let store_b = Arc::new(clew_store::PostgresStore::connect(&url).await.unwrap());
    write_through_one_read_through_the_other(store_a, store_b).await;
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).await;
}

fn postgres_server_url() -> Option<String> {
    if std::env::var("CLEW_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("CLEW_SKIP_POSTGRES=1: the PostgreSQL replica test is skipped");
        return None;
    }
    if let Ok(url) = std::env::var("CLEW_TEST_POSTGRES_URL") {
        if !url.is_empty() {
            return Some(url);
        }
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres-test-server.sh");
    let output = std::process::Command::new("bash").arg(&script).output().expect("run postgres-test-server.sh");
    assert!(
        output.status.success(),
        "could not start a PostgreSQL test server ({}): {}\nInstall PostgreSQL (apt-get install -y postgresql), set \
         CLEW_TEST_POSTGRES_URL, or CLEW_SKIP_POSTGRES=1 to skip",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    format!("{}/{database}{query}", &base[..host_end])
}

async fn write_through_one_read_through_the_other(
    store_a: Arc<dyn clew_store::TraceStore>,
    store_b: Arc<dyn clew_store::TraceStore>,
) {
    let a = TestServer::start_on_store(store_a, test_config()).await;
    let b = TestServer::start_on_store(store_b, test_config()).await;

    // The set_experiment flow on A; B sees the experiment.
    let exp = a.create_experiment("shared").await;
    let seen = b.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=shared").await;
    assert_eq!(seen.json()["experiment"]["experiment_id"], exp.as_str());
    b.post("/api/2.0/mlflow/experiments/create", json!({"name": "shared"})).await.error(400, "RESOURCE_ALREADY_EXISTS");

    // Spans over OTLP/HTTP protobuf to A, then StartTraceV3 to B: B answers with the tag.
    let spans = vec![span(41, 1, None, "root", T0), span(41, 2, Some(1), "child", T0 + 1)];
    let body = export_request_to_protobuf(&spans_to_export_request(&spans, &Default::default()));
    let otlp = a
        .client
        .post(format!("{}/v1/traces", a.base))
        .header("Content-Type", "application/x-protobuf")
        .header("x-mlflow-experiment-id", exp.as_str())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(otlp.status().as_u16(), 200);
    let started = b.post("/api/3.0/mlflow/traces", start_trace_body(41, &exp, 2, T0)).await.json();
    assert_eq!(started["trace"]["trace_info"]["tags"][keys::SPANS_LOCATION], "TRACKING_STORE");

    // StartTraceV3 to A first, spans through B's ingest path afterwards: complete on both.
    a.post("/api/3.0/mlflow/traces", start_trace_body(42, &exp, 1, T0 + 5)).await;
    b.state.ingest.log_spans(&exp, vec![span(42, 1, None, "root", T0 + 5)]).await.unwrap();

    for (server, name) in [(&a, "A"), (&b, "B")] {
        for n in [41u128, 42] {
            let id = trace_id(n);
            let trace = server.get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}&allow_partial=False")).await;
            assert_eq!(trace.status, 200, "{name} {id}: {}", trace.text());
        }
        let found = server
            .post(
                "/api/3.0/mlflow/traces/search",
                json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
                       "order_by": ["timestamp_ms DESC"]}),
            )
            .await
            .json();
        assert_eq!(found["traces"].as_array().unwrap().len(), 2, "{name}: {found}");
        assert_eq!(found["traces"][0]["trace_id"], trace_id(42), "{name}");
    }

    // A tag set through B shows through A; an artifact put through A is served by B.
    b.patch(&format!("/api/2.0/mlflow/traces/{}/tags", trace_id(41)), json!({"key": "reviewed", "value": "yes"})).await;
    let info = a.get(&format!("/api/3.0/mlflow/traces/{}", trace_id(41))).await.json();
    assert_eq!(info["trace"]["trace_info"]["tags"]["reviewed"], "yes");
    a.put_bytes("/api/2.0/mlflow-artifacts/artifacts/shared/file.txt", b"hello".to_vec()).await;
    assert_eq!(b.get("/api/2.0/mlflow-artifacts/artifacts/shared/file.txt").await.body, b"hello");

    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
