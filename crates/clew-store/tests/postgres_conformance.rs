//! The store conformance suite against a real PostgreSQL: one test per case, each in a fresh
//! database, plus the PostgreSQL-only behaviours (replicas sharing a database, concurrent
//! migrations).
//!
//! The server: `CLEW_TEST_POSTGRES_URL` (a superuser URL, e.g.
//! `postgresql://postgres:pw@127.0.0.1:5432/postgres`) or, when unset, a throwaway cluster
//! started by `scripts/postgres-test-server.sh`. Without PostgreSQL binaries the tests FAIL
//! with install instructions; `CLEW_SKIP_POSTGRES=1` skips them explicitly.
//! `CLEW_TEST_POSTGRES_LOCALE=C` creates the test databases with the C locale (no Unicode case
//! folding by default), to check the collation fallback of case-insensitive search.

#![cfg(feature = "postgres")]

use clew_store::conformance::{simple_trace, trace_id};
use clew_store::{PostgresStore, SearchTracesRequest, TraceStore};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The admin URL of the test server; `None` when skipping was asked for.
fn server_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if std::env::var("CLEW_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!("CLEW_SKIP_POSTGRES=1: PostgreSQL conformance tests skipped");
            return None;
        }
        if let Ok(url) = std::env::var("CLEW_TEST_POSTGRES_URL") {
            if !url.is_empty() {
                return Some(url);
            }
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres-test-server.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        if !output.status.success() {
            panic!(
                "could not start a PostgreSQL test server with {} (exit {:?}):\n{}\n\
                 Install the server binaries (Debian/Ubuntu: `apt-get install -y postgresql`), or point \
                 CLEW_TEST_POSTGRES_URL at a server, or set CLEW_SKIP_POSTGRES=1 to skip these tests.",
                script.display(),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert!(url.starts_with("postgresql://"), "the test server script printed {url:?}, not a URL");
        Some(url)
    })
    .clone()
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

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A new, empty database; returns its URL and name.
async fn fresh_database(label: &str) -> (String, String) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let url = server_url().expect("checked by the caller");
    let short: String = label.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(30).collect();
    let name = format!("clew_{}_{}_{}", short.to_ascii_lowercase(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let client = admin(&url).await;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await.expect("drop old database");
    let create = match std::env::var("CLEW_TEST_POSTGRES_LOCALE") {
        Ok(locale) if !locale.is_empty() => {
            let locale = locale.replace('\'', "''");
            format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE '{locale}' LC_CTYPE '{locale}'")
        }
        _ => format!("CREATE DATABASE \"{name}\""),
    };
    client.batch_execute(&create).await.expect("create database");
    (with_database(&url, &name), name)
}

async fn drop_database(name: &str) {
    let Some(url) = server_url() else { return };
    let client = admin(&url).await;
    // Best effort: a leftover database in a throwaway cluster harms nothing.
    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
}

async fn run_case(name: &str) {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database(name).await;
    let store = PostgresStore::connect(&url).await.unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    clew_store::conformance::run_case(name, Arc::new(store)).await;
    drop_database(&database).await;
}

macro_rules! conformance_tests {
    ($($case:ident),* $(,)?) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run_case(stringify!($case)).await;
                }
            )*
        }
    };
}

clew_store::for_each_conformance_case!(conformance_tests);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_see_each_others_writes_at_once() {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database("replicas").await;
    let a = PostgresStore::connect(&url).await.expect("replica a");
    let b = PostgresStore::connect(&url).await.expect("replica b");

    let experiment = a.create_experiment("shared", None).await.expect("create on a");
    let seen = b.get_experiment_by_name("shared").await.expect("read on b").expect("b sees a's experiment");
    assert_eq!(seen.experiment_id, experiment);
    // Names are unique across replicas, ids are never handed out twice.
    assert!(b.create_experiment("shared", None).await.is_err(), "b must not create a duplicate name");
    let other = b.create_experiment("other", None).await.expect("create on b");
    assert_ne!(other, experiment);

    a.write_traces(vec![simple_trace(1, &experiment, 0, 10, 2)]).await.expect("write on a");
    let trace = b.get_trace(&trace_id(1)).await.expect("read on b").expect("b sees a's trace");
    assert_eq!(trace.data.spans.len(), 3);
    b.set_trace_tag(&trace_id(1), "reviewed", "by-b").await.expect("tag on b");
    let info = a.get_trace_info(&trace_id(1)).await.expect("read on a").expect("trace");
    assert_eq!(info.tags.get("reviewed").map(String::as_str), Some("by-b"));
    let page = a
        .search_traces(&SearchTracesRequest {
            experiment_ids: vec![experiment.clone()],
            filter: Some("tag.reviewed = 'by-b' AND trace.text LIKE '%question%'".into()),
            ..Default::default()
        })
        .await
        .expect("search on a");
    assert_eq!(page.traces.len(), 1);

    // Spans of one trace split across replicas, written concurrently, converge.
    let trace = simple_trace(2, &experiment, 100, 10, 6);
    let (mut on_a, mut on_b) = (Vec::new(), Vec::new());
    for (i, span) in trace.data.spans.iter().enumerate() {
        if i % 2 == 0 { on_a.push(span.clone()) } else { on_b.push(span.clone()) }
    }
    let (ra, rb) = tokio::join!(a.log_spans(&experiment, on_a), b.log_spans(&experiment, on_b));
    ra.expect("spans on a");
    rb.expect("spans on b");
    let stored = b.get_trace(&trace_id(2)).await.expect("read").expect("trace 2");
    assert_eq!(stored.data.spans.len(), 7);
    assert_eq!(stored.info.state, clew_model::TraceState::Ok);
    drop((a, b));
    drop_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_the_schema_once() {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database("migrate").await;
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.expect("join").expect("every replica connects"));
    }
    let experiments = stores[0].list_experiments().await.expect("list");
    assert_eq!(experiments.len(), 1, "exactly one Default experiment: {experiments:?}");
    let client = admin(&url).await;
    let versions: i64 = client.query_one("SELECT COUNT(*) FROM schema_version", &[]).await.expect("count").get(0);
    assert_eq!(versions, clew_store::postgres::schema::SCHEMA_VERSION);
    drop(stores);
    drop_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn substring_search_can_use_the_trigram_index() {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database("trgm").await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    store.write_traces(vec![simple_trace(1, "0", 0, 10, 2)]).await.expect("write");
    let client = admin(&url).await;
    // Tiny tables are scanned whatever the indexes; forbid that to see the index is usable.
    client.batch_execute("SET enable_seqscan = off").await.expect("set");
    let plan: Vec<String> = client
        .query("EXPLAIN SELECT span_pk FROM spans s WHERE s.content LIKE $1 ESCAPE ''", &[&"%question%"])
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("spans_content_trgm"), "{plan}");
    drop(store);
    drop_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_postgres_cannot_store_is_an_invalid_argument_not_an_internal_error() {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database("nul").await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    let mut trace = simple_trace(1, "0", 0, 10, 0);
    trace.info.tags.insert("note".into(), "nul\0inside".into());
    match store.write_traces(vec![trace]).await {
        Err(clew_store::StoreError::InvalidArgument(message)) => assert!(message.contains("PostgreSQL"), "{message}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert!(store.get_trace(&trace_id(1)).await.expect("read").is_none(), "nothing of the failed write is stored");
    drop(store);
    drop_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_clew_is_refused() {
    if server_url().is_none() {
        return;
    }
    let (url, database) = fresh_database("newer").await;
    drop(PostgresStore::connect(&url).await.expect("first connect migrates"));
    admin(&url).await.batch_execute("INSERT INTO schema_version VALUES (999, 0)").await.expect("fake a newer schema");
    match PostgresStore::connect(&url).await {
        Err(clew_store::StoreError::Unavailable(message)) => assert!(message.contains("newer"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    drop_database(&database).await;
}
