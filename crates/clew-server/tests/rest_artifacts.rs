//! Artifact mode (StartTraceV3 answered before the spans, so the client uploads traces.json),
//! the artifact proxy, attachments and the UI's get-trace-artifact.

mod rest_support;

use clew_model::json::span_to_dict;
use clew_model::keys;
use rest_support::{span, start_trace_body, trace_id, TestServer};
use serde_json::json;

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_traces_json_is_kept_and_its_spans_are_served() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    let id = trace_id(11);
    let started = server.post("/api/3.0/mlflow/traces", start_trace_body(11, &exp, 2, T0)).await.json();
    let location = started["trace"]["trace_info"]["tags"][keys::ARTIFACT_LOCATION].as_str().unwrap().to_string();
    assert!(started["trace"]["trace_info"]["tags"].get(keys::SPANS_LOCATION).is_none());

    // The client PUTs traces.json under the artifact location (text/plain, span dicts).
    let path = location.strip_prefix("mlflow-artifacts:/").unwrap();
    let spans = [span(11, 1, None, "root", T0), span(11, 2, Some(1), "child", T0 + 1)];
    let file = serde_json::to_vec(&json!({"spans": spans.iter().map(span_to_dict).collect::<Vec<_>>()})).unwrap();
    let put = server.put_bytes(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"), file.clone()).await;
    assert_eq!(put.status, 200, "{}", put.text());

    // The file comes back byte for byte...
    let got = server.get(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, file);

    // ...and its spans were ingested: DB-mode readers (GetTrace, batchGet, span search) see them.
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    assert_eq!(info["trace"]["trace_info"]["tags"][keys::SPANS_LOCATION], "TRACKING_STORE");
    let trace = server.get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}&allow_partial=False")).await;
    assert_eq!(trace.status, 200, "{}", trace.text());
    assert_eq!(trace.json()["trace"]["spans"].as_array().unwrap().len(), 2);
    let found = server
        .post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
                   "filter": "span.name = 'child'"}),
        )
        .await
        .json();
    assert_eq!(found["traces"][0]["trace_id"], id.as_str());

    // The UI's get-trace-artifact: a traces.json download of span dicts.
    let artifact = server.get(&format!("/ajax-api/2.0/mlflow/get-trace-artifact?request_id={id}")).await;
    assert_eq!(artifact.status, 200);
    assert!(artifact.header("content-disposition").unwrap().contains("traces.json"));
    let body = artifact.json();
    assert_eq!(body["spans"].as_array().unwrap().len(), 2);
    assert_eq!(body["spans"][0]["attributes"][keys::SPAN_TYPE], "\"CHAIN\"", "span-dict attributes are JSON text");

    // Listing: immediate children with sizes.
    let listing = server.get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={path}")).await.json();
    assert_eq!(listing["files"], json!([{"path": "traces.json", "is_dir": false, "file_size": file.len()}]));
    let parent = server.get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={exp}/traces")).await.json();
    assert_eq!(parent["files"], json!([{"path": id, "is_dir": true}]));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_only_traces_have_a_traces_json_and_attachments_are_served() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    let id = trace_id(12);
    server.state.ingest.log_spans(&exp, vec![span(12, 1, None, "root", T0)]).await.unwrap();
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    let location = info["trace"]["trace_info"]["tags"][keys::ARTIFACT_LOCATION].as_str().unwrap().to_string();
    let root = location.strip_prefix("mlflow-artifacts:/").unwrap();

    // Never uploaded, yet artifact-mode readers get the stored spans.
    let file = server.get(&format!("/api/2.0/mlflow-artifacts/artifacts/{root}/traces.json")).await;
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.json()["spans"][0]["name"], "root");

    // Attachments: uploaded under attachments/<id>, read back through get-trace-artifact.
    let png = vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3];
    let put = server.put_bytes(&format!("/api/2.0/mlflow-artifacts/artifacts/{root}/attachments/att-1"), png.clone()).await;
    assert_eq!(put.status, 200);
    let got = server.get(&format!("/ajax-api/3.0/mlflow/get-trace-artifact?request_id={id}&path=att-1")).await;
    assert_eq!((got.status, got.body), (200, png));

    // Missing things are JSON 404s; traversal is refused.
    server.get("/api/2.0/mlflow-artifacts/artifacts/1/nothing/here").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.get(&format!("/ajax-api/3.0/mlflow/get-trace-artifact?request_id={id}&path=nope")).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.get("/ajax-api/3.0/mlflow/get-trace-artifact?request_id=tr-missing").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    let message = server
        .get(&format!("/ajax-api/3.0/mlflow/get-trace-artifact?request_id={id}&path=../../x"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'path'"), "{message}");
    let put = server.put_bytes("/api/2.0/mlflow-artifacts/artifacts/a//b", vec![1]).await;
    assert_eq!(put.status, 400, "{}", put.text());

    // Delete.
    let deleted = server.send(reqwest::Method::DELETE, &format!("/api/2.0/mlflow-artifacts/artifacts/{root}/attachments/att-1"), None, &[]).await;
    assert_eq!(deleted.status, 200);
    server.get(&format!("/api/2.0/mlflow-artifacts/artifacts/{root}/attachments/att-1")).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.stop().await.unwrap();
}
