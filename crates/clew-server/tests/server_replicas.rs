//! Two server instances over one store (here one SQLite file, opened twice as two processes
//! would): whatever is written through one is read through the other, in either order — the
//! server keeps no state of its own.

mod rest_support;

use clew_model::json::{export_request_to_protobuf, spans_to_export_request};
use clew_model::keys;
use rest_support::{span, start_trace_body, test_config, trace_id, TestServer};
use serde_json::json;
use std::sync::Arc;

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clew.db");
    let store_a = Arc::new(clew_store::SqliteStore::open(&path).unwrap());
    let store_b = Arc::new(clew_store::SqliteStore::open(&path).unwrap());
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
