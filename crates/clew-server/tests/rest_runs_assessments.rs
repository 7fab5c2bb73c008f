//! Minimal runs (`mlflow.start_run()`), linking traces to a run and finding them by
//! `run_id`, and assessment CRUD on the 3.0 paths.

mod rest_support;

use rest_support::{span, start_trace_body, trace_id, TestServer};
use serde_json::json;

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_create_get_update_and_link_traces() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;

    let created = server
        .post("/api/2.0/mlflow/runs/create", json!({"experiment_id": exp, "run_name": "first", "start_time": T0, "tags": [{"key": "k", "value": "v"}]}))
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let run = created.json()["run"].clone();
    let run_id = run["info"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(run["info"]["status"], "RUNNING");
    assert_eq!(run["info"]["run_name"], "first");
    assert_eq!(run["info"]["experiment_id"], exp.as_str());

    let got = server.get(&format!("/api/2.0/mlflow/runs/get?run_id={run_id}")).await.json();
    assert_eq!(got["run"]["info"]["run_id"], run_id.as_str());
    let tags = got["run"]["data"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({"key": "k", "value": "v"})), "{tags:?}");

    let updated = server
        .post("/api/2.0/mlflow/runs/update", json!({"run_id": run_id, "status": "FINISHED", "end_time": T0 + 5}))
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["run_info"]["status"], "FINISHED");
    assert_eq!(updated.json()["run_info"]["end_time"], T0 + 5);

    let message = server.post("/api/2.0/mlflow/runs/update", json!({"run_id": run_id, "status": "DONE"})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'status'"), "{message}");
    server.get("/api/2.0/mlflow/runs/get?run_id=0123").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.post("/api/2.0/mlflow/runs/create", json!({"experiment_id": "999"})).await.error(404, "RESOURCE_DOES_NOT_EXIST");

    // link-to-run, then search_traces(run_id=...) finds the linked trace.
    server.state.ingest.log_spans(&exp, vec![span(21, 1, None, "root", T0)]).await.unwrap();
    server.post("/api/3.0/mlflow/traces", start_trace_body(21, &exp, 1, T0)).await;
    let linked = server.post("/api/2.0/mlflow/traces/link-to-run", json!({"trace_ids": [trace_id(21)], "run_id": run_id})).await;
    assert_eq!((linked.status, linked.json()), (200, json!({})));
    let found = server
        .post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
                   "filter": format!("run_id = '{run_id}'")}),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["traces"][0]["trace_id"], trace_id(21));

    let many: Vec<String> = (0..101).map(|i| format!("tr-{i}")).collect();
    let message = server.post("/api/2.0/mlflow/traces/link-to-run", json!({"trace_ids": many, "run_id": run_id})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'trace_ids'"), "{message}");
    // As in MLflow, a link may name a trace that is not stored (yet).
    let ahead = server.post("/api/2.0/mlflow/traces/link-to-run", json!({"trace_ids": ["tr-unknown"], "run_id": run_id})).await;
    assert_eq!(ahead.status, 200, "{}", ahead.text());
    let message = server.post("/api/2.0/mlflow/traces/link-to-run", json!({"trace_ids": [trace_id(21)]})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'run_id'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assessment_crud() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    server.post("/api/3.0/mlflow/traces", start_trace_body(31, &exp, 1, T0)).await;
    let id = trace_id(31);
    let base = format!("/api/3.0/mlflow/traces/{id}/assessments");

    let created = server
        .post(
            &base,
            json!({"assessment": {"assessment_name": "correctness", "trace_id": id,
                   "source": {"source_type": "HUMAN", "source_id": "alice"},
                   "feedback": {"value": true}, "rationale": "looks right"}}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let assessment = created.json()["assessment"].clone();
    let assessment_id = assessment["assessment_id"].as_str().unwrap().to_string();
    assert!(assessment_id.starts_with("a-"), "{assessment_id}");
    assert_eq!(assessment["feedback"]["value"], true);

    let got = server.get(&format!("{base}/{assessment_id}")).await.json();
    assert_eq!(got["assessment"]["assessment_name"], "correctness");
    // The trace info carries it too.
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    assert_eq!(info["trace"]["trace_info"]["assessments"][0]["assessment_id"], assessment_id.as_str());

    let updated = server
        .patch(
            &format!("{base}/{assessment_id}"),
            json!({"assessment": {"assessment_id": assessment_id, "trace_id": id, "assessment_name": "correctness",
                                  "feedback": {"value": false}, "rationale": "on second look"},
                   "update_mask": "feedback,rationale"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["assessment"]["feedback"]["value"], false);
    assert_eq!(updated.json()["assessment"]["rationale"], "on second look");

    let message = server
        .patch(&format!("{base}/{assessment_id}"), json!({"assessment": {"assessment_name": "x"}}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'update_mask'"), "{message}");
    let message = server.post(&base, json!({"assessment": {"feedback": {"value": 1}}})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("assessment"), "{message}");
    server
        .post("/api/3.0/mlflow/traces/tr-none/assessments", json!({"assessment": {"assessment_name": "n", "feedback": {"value": 1}}}))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");

    let deleted = server.send(reqwest::Method::DELETE, &format!("{base}/{assessment_id}"), None, &[]).await;
    assert_eq!((deleted.status, deleted.json()), (200, json!({})));
    server.get(&format!("{base}/{assessment_id}")).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.stop().await.unwrap();
}
