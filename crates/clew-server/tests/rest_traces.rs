//! Trace endpoints over real HTTP: StartTraceV3 in either order with span ingest, GetTraceInfo,
//! GetTrace complete vs partial, batchGet, search (V3 and V2), tags, deletion.

mod rest_support;

use clew_model::keys;
use rest_support::{span, start_trace_body, trace_id, TestServer};
use serde_json::json;

const T0: i64 = 1_795_238_771_687;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_trace_before_spans_answers_without_spans_location() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;

    let answer = server.post("/api/3.0/mlflow/traces", start_trace_body(1, &exp, 2, T0)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let info = &answer.json()["trace"]["trace_info"];
    assert_eq!(info["trace_id"], trace_id(1), "the client's id is echoed");
    assert_eq!(info["request_time"], "2026-11-21T05:26:11.687Z");
    assert_eq!(info["execution_duration"], "0.057s");
    assert_eq!(
        info["tags"][keys::ARTIFACT_LOCATION],
        format!("mlflow-artifacts:/{exp}/traces/{}/artifacts", trace_id(1))
    );
    assert!(info["tags"].get(keys::SPANS_LOCATION).is_none(), "no spans committed yet: {info}");
    assert_eq!(info["trace_metadata"][keys::INFO_FINALIZED], "true");
    assert_eq!(info["tags"]["env"], "dev");

    // Spans arrive afterwards (OTLP): the tag appears and GetTrace serves them.
    server.state.ingest.log_spans(&exp, vec![span(1, 1, None, "root", T0), span(1, 2, Some(1), "child", T0 + 1)]).await.unwrap();
    let id = trace_id(1);
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}?trace_id={id}")).await;
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["trace"]["trace_info"]["tags"][keys::SPANS_LOCATION], "TRACKING_STORE");
    assert_eq!(info["trace"]["trace_info"]["state"], "OK");

    let trace = server.get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}&allow_partial=False")).await;
    assert_eq!(trace.status, 200, "{}", trace.text());
    let trace = trace.json();
    let spans = trace["trace"]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0]["name"], "root", "root first");
    assert_eq!(spans[0]["span_id"], "AAAAAAAAAAE=", "ids in base64");
    assert!(spans[0].get("parent_span_id").is_none());
    assert!(spans[0]["start_time_unix_nano"].is_u64(), "int64 as JSON numbers");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_before_start_trace_are_reported_in_the_answer() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    server.state.ingest.log_spans(&exp, vec![span(2, 1, None, "root", T0)]).await.unwrap();

    let answer = server.post("/api/3.0/mlflow/traces", start_trace_body(2, &exp, 1, T0)).await.json();
    let info = &answer["trace"]["trace_info"];
    assert_eq!(info["tags"][keys::SPANS_LOCATION], "TRACKING_STORE");
    assert!(info["tags"].get(keys::ARTIFACT_LOCATION).is_some());
    assert_eq!(info["tags"]["mlflow.traceName"], "answer", "the client's tags win on merge");

    // Sending StartTraceV3 again is harmless (idempotent); unknown fields are ignored.
    let mut body = start_trace_body(2, &exp, 1, T0);
    body["from_a_newer_client"] = json!({"x": 1});
    body["trace"]["trace_info"]["new_field"] = json!([1, 2]);
    let again = server.post("/api/3.0/mlflow/traces", body).await;
    assert_eq!(again.status, 200, "{}", again.text());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_trace_errors_name_the_field() {
    let server = TestServer::start().await;
    let message = server.post("/api/3.0/mlflow/traces", json!({})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'trace'"), "{message}");
    let message = server
        .post("/api/3.0/mlflow/traces", json!({"trace": {"trace_info": {"trace_id": "tr-1", "request_time": 5, "state": "BOGUS"}}}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("trace.trace_info"), "{message}");
    let message = server.post("/api/3.0/mlflow/traces", start_trace_body(3, "4242", 1, T0)).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    assert!(message.contains("4242"), "{message}");
    // Malformed JSON is a 400, not a 500 or a plain-text rejection.
    let answer = server
        .send(reqwest::Method::POST, "/api/3.0/mlflow/traces", None, &[("Content-Type", "application/json")])
        .await;
    assert_eq!(answer.status, 400);
    let bad = server.client.post(format!("{}/api/3.0/mlflow/traces", server.base)).body("{\"trace\": ").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let body: serde_json::Value = serde_json::from_slice(&bad.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(body["message"].as_str().unwrap().contains("malformed JSON"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_trace_distinguishes_complete_and_partial() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    let id = trace_id(4);
    server.post("/api/3.0/mlflow/traces", start_trace_body(4, &exp, 2, T0)).await;
    server.state.ingest.log_spans(&exp, vec![span(4, 1, None, "root", T0)]).await.unwrap();

    // One of two spans: partial reads see it, complete reads wait then give up.
    let partial = server.get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}&allow_partial=True")).await;
    assert_eq!(partial.json()["trace"]["spans"].as_array().unwrap().len(), 1);
    let started = std::time::Instant::now();
    let message = server
        .get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}&allow_partial=False"))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");
    assert!(message.contains("not fully exported"), "{message}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "waited for the missing span");

    // batchGet leaves incomplete traces out.
    let batch = server.get(&format!("/api/3.0/mlflow/traces/batchGet?trace_ids={id}")).await.json();
    assert_eq!(batch["traces"], json!([]));

    // A span arriving during the wait completes the read.
    let state = server.state.clone();
    let exp2 = exp.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        state.ingest.log_spans(&exp2, vec![span(4, 2, Some(1), "child", T0 + 1)]).await.unwrap();
    });
    let complete = server.get(&format!("/api/3.0/mlflow/traces/get?trace_id={id}")).await;
    late.await.unwrap();
    assert_eq!(complete.status, 200, "{}", complete.text());
    assert_eq!(complete.json()["trace"]["spans"].as_array().unwrap().len(), 2);

    // Unknown ids: the exact message of the reference server.
    let message = server.get("/api/3.0/mlflow/traces/get?trace_id=tr-0").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(message, "Trace with ID 'tr-0' not found.");
    let message = server.get("/api/3.0/mlflow/traces/tr-0?trace_id=tr-0").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(message, "Trace with ID 'tr-0' not found.");
    let message = server.get("/api/3.0/mlflow/traces/get?trace_id=tr-0&allow_partial=maybe").await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'allow_partial'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_keeps_request_order_and_skips_missing() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    for n in [5u128, 6] {
        server.state.ingest.log_spans(&exp, vec![span(n, 1, None, "root", T0)]).await.unwrap();
        server.post("/api/3.0/mlflow/traces", start_trace_body(n, &exp, 1, T0)).await;
    }
    let (a, b) = (trace_id(5), trace_id(6));
    let batch = server.get(&format!("/api/3.0/mlflow/traces/batchGet?trace_ids={b}&trace_ids=tr-missing&trace_ids={a}")).await;
    let batch = batch.json();
    let ids: Vec<&str> =
        batch["traces"].as_array().unwrap().iter().map(|t| t["trace_info"]["trace_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
    assert_eq!(batch["traces"][0]["spans"].as_array().unwrap().len(), 1);

    let infos = server.post("/api/3.0/mlflow/traces/batchGetInfos", json!({"trace_ids": [a, "tr-missing"]})).await.json();
    assert_eq!(infos["trace_infos"].as_array().unwrap().len(), 1);

    let too_many: String = (0..101).map(|i| format!("trace_ids=tr-{i}&")).collect();
    let message = server.get(&format!("/api/3.0/mlflow/traces/batchGet?{too_many}")).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'trace_ids'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_v3_and_v2() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    for n in 0..5u128 {
        server.state.ingest.log_spans(&exp, vec![span(100 + n, 1, None, "root", T0 + n as i64)]).await.unwrap();
        server.post("/api/3.0/mlflow/traces", start_trace_body(100 + n, &exp, 1, T0 + n as i64)).await;
    }
    let location = json!([{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}]);
    let page = server
        .post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": location, "filter": "tags.env = 'dev' AND trace.status = 'OK'", "max_results": 2, "order_by": ["timestamp_ms DESC"]}),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    let traces = page["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0]["trace_id"], trace_id(104), "newest first");
    assert!(traces[0].get("spans").is_none(), "search answers carry trace infos only");
    let token = page["next_page_token"].as_str().unwrap();
    assert_eq!(token, "eyJvZmZzZXQiOiAyfQ==", "base64 of {{\"offset\": 2}}");

    let next = server
        .post("/api/3.0/mlflow/traces/search", json!({"locations": location, "max_results": 2, "order_by": ["timestamp_ms DESC"], "page_token": token}))
        .await
        .json();
    assert_eq!(next["traces"][0]["trace_id"], trace_id(102));

    let message = server
        .post("/api/3.0/mlflow/traces/search", json!({"locations": location, "max_results": 501}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'max_results'") && message.contains("500"), "{message}");
    let message = server
        .post("/api/3.0/mlflow/traces/search", json!({"locations": location, "filter": "trace.bogus = 1"}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(!message.is_empty());

    // V2 fallback: GET with query parameters, TraceInfo V2 shape.
    let v2 = server.get(&format!("/api/2.0/mlflow/traces?experiment_ids={exp}&max_results=1&order_by=timestamp_ms%20ASC")).await;
    assert_eq!(v2.status, 200, "{}", v2.text());
    let v2 = v2.json();
    assert_eq!(v2["traces"][0]["request_id"], trace_id(100));
    assert_eq!(v2["traces"][0]["status"], "OK");
    assert_eq!(v2["traces"][0]["timestamp_ms"], T0);
    assert!(v2["traces"][0]["tags"].is_array());
    let info_v2 = server.get(&format!("/api/2.0/mlflow/traces/{}/info", trace_id(100))).await.json();
    assert_eq!(info_v2["trace_info"]["request_id"], trace_id(100));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_set_and_delete_on_both_prefixes() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    server.post("/api/3.0/mlflow/traces", start_trace_body(7, &exp, 1, T0)).await;
    let id = trace_id(7);

    let set = server.patch(&format!("/api/2.0/mlflow/traces/{id}/tags"), json!({"key": "reviewed", "value": "yes"})).await;
    assert_eq!((set.status, set.json()), (200, json!({})));
    let set3 = server.patch(&format!("/api/3.0/mlflow/traces/{id}/tags"), json!({"key": "user", "value": "alice"})).await;
    assert_eq!(set3.status, 200);
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    assert_eq!(info["trace"]["trace_info"]["tags"]["reviewed"], "yes");
    assert_eq!(info["trace"]["trace_info"]["tags"]["user"], "alice");

    // DELETE carries a JSON body (Python client) or a query parameter (UI).
    let deleted = server.delete(&format!("/api/2.0/mlflow/traces/{id}/tags"), json!({"key": "user"})).await;
    assert_eq!((deleted.status, deleted.json()), (200, json!({})));
    let deleted = server.send(reqwest::Method::DELETE, &format!("/ajax-api/3.0/mlflow/traces/{id}/tags?key=reviewed"), None, &[]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    assert!(info["trace"]["trace_info"]["tags"].get("user").is_none());
    assert!(info["trace"]["trace_info"]["tags"].get("reviewed").is_none());

    server.patch("/api/2.0/mlflow/traces/tr-nope/tags", json!({"key": "a", "value": "b"})).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    let message = server.patch(&format!("/api/2.0/mlflow/traces/{id}/tags"), json!({"value": "b"})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'key'"), "{message}");
    let message = server
        .patch(&format!("/api/2.0/mlflow/traces/{id}/tags"), json!({"key": keys::ARTIFACT_LOCATION, "value": "x"}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains(keys::ARTIFACT_LOCATION), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_traces_by_ids_or_by_time_with_field_presence() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    for n in 0..4u128 {
        server.post("/api/3.0/mlflow/traces", start_trace_body(200 + n, &exp, 1, T0 + n as i64 * 1000)).await;
    }
    let by_ids = server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": exp, "request_ids": [trace_id(203)]}))
        .await;
    assert_eq!(by_ids.json(), json!({"traces_deleted": 1}));
    server.get(&format!("/api/3.0/mlflow/traces/{}", trace_id(203))).await.error(404, "RESOURCE_DOES_NOT_EXIST");

    // max_timestamp_millis = 0 is a real bound (field present), not "unset".
    let none = server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": exp, "max_timestamp_millis": 0, "max_traces": 100}))
        .await;
    assert_eq!(none.json(), json!({"traces_deleted": 0}));
    let oldest = server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": exp, "max_timestamp_millis": T0 + 5000, "max_traces": 1}))
        .await;
    assert_eq!(oldest.json(), json!({"traces_deleted": 1}));
    server.get(&format!("/api/3.0/mlflow/traces/{}", trace_id(200))).await.error(404, "RESOURCE_DOES_NOT_EXIST");

    let message = server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": exp}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("max_timestamp_millis") && message.contains("request_ids"), "{message}");
    server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": exp, "max_timestamp_millis": 1, "request_ids": ["a"]}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    let message = server
        .post("/api/3.0/mlflow/traces/delete-traces", json!({"experiment_id": exp, "max_timestamp_millis": "soon"}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'max_timestamp_millis'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_oddities() {
    let server = TestServer::start().await;
    // /version: plain text PEP 440, text/html as the reference answers.
    let version = server.get("/version").await;
    assert_eq!(version.status, 200);
    assert_eq!(version.text(), "3.17.2");
    assert_eq!(version.header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    let health = server.get("/health").await;
    assert_eq!((health.status, health.text().as_str()), (200, "OK"));

    // Unknown endpoints: a plain 404, not JSON (the client's "old server" signal).
    let unknown = server.get("/api/2.0/mlflow/no-such-endpoint").await;
    assert_eq!(unknown.status, 404);
    assert!(serde_json::from_slice::<serde_json::Value>(&unknown.body).is_err(), "{}", unknown.text());
    // ...while `traces/get` is never taken for a trace id.
    let message = server.get("/api/3.0/mlflow/traces/get").await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'trace_id'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_prompts_merges_into_the_linked_prompts_tag_and_is_searchable() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("e").await;
    server.post("/api/3.0/mlflow/traces", start_trace_body(8, &exp, 1, T0)).await;
    let id = trace_id(8);
    for versions in [json!([{"name": "qa", "version": "2"}]), json!([{"name": "qa", "version": 2}, {"name": "sys", "version": 1}])] {
        let answer = server.post("/api/2.0/mlflow/traces/link-prompts", json!({"trace_id": id, "prompt_versions": versions})).await;
        assert_eq!((answer.status, answer.json()), (200, json!({})));
    }
    let info = server.get(&format!("/api/3.0/mlflow/traces/{id}")).await.json();
    let linked: serde_json::Value =
        serde_json::from_str(info["trace"]["trace_info"]["tags"]["mlflow.linkedPrompts"].as_str().unwrap()).unwrap();
    assert_eq!(linked, json!([{"name": "qa", "version": "2"}, {"name": "sys", "version": "1"}]));
    let found = server
        .post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
                   "filter": "prompt = 'sys/1'"}),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["traces"][0]["trace_id"], id.as_str());

    let message = server
        .post("/api/2.0/mlflow/traces/link-prompts", json!({"trace_id": id, "prompt_versions": [{"name": "qa"}]}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'prompt_versions'"), "{message}");
    server
        .post("/api/2.0/mlflow/traces/link-prompts", json!({"trace_id": "tr-none", "prompt_versions": []}))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");
    server.stop().await.unwrap();
}
