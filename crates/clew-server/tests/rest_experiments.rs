//! Experiments over real HTTP: the `set_experiment` flow of the mlflow client and the
//! lifecycle endpoints, success and error shapes.

mod rest_support;

use rest_support::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_experiment_flow_as_the_mlflow_client_drives_it() {
    let server = TestServer::start().await;

    // 1. get-by-name of a new name: a JSON 404 the client maps to None.
    let missing = server.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=wire-capture").await;
    let message = missing.error(404, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(message, "Could not find experiment with name 'wire-capture'");
    assert_eq!(missing.header("content-type").as_deref(), Some("application/json"));

    // 2. create → {"experiment_id"}; a second create is RESOURCE_ALREADY_EXISTS (400).
    let id = server.create_experiment("wire-capture").await;
    assert_ne!(id, "0");
    let again = server.post("/api/2.0/mlflow/experiments/create", json!({"name": "wire-capture"})).await;
    again.error(400, "RESOURCE_ALREADY_EXISTS");

    // 3. get by id: the experiment object, active, mlflow-artifacts location.
    let got = server.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={id}")).await;
    assert_eq!(got.status, 200);
    let experiment = &got.json()["experiment"];
    assert_eq!(experiment["experiment_id"], id.as_str());
    assert_eq!(experiment["name"], "wire-capture");
    assert_eq!(experiment["artifact_location"], format!("mlflow-artifacts:/{id}"));
    assert_eq!(experiment["lifecycle_stage"], "active");
    assert!(experiment["creation_time"].is_i64() && experiment["last_update_time"].is_i64());

    let by_name = server.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=wire-capture").await;
    assert_eq!(by_name.json()["experiment"]["experiment_id"], id.as_str());

    // Experiment "0" always exists; an unknown id is a JSON 404.
    let default = server.get("/api/2.0/mlflow/experiments/get?experiment_id=0").await;
    assert_eq!(default.json()["experiment"]["name"], "Default");
    server.get("/api/2.0/mlflow/experiments/get?experiment_id=987").await.error(404, "RESOURCE_DOES_NOT_EXIST");

    // The 3.0 and ajax mirrors serve the same endpoints.
    for prefix in ["/api/3.0", "/ajax-api/2.0", "/ajax-api/3.0"] {
        let answer = server.get(&format!("{prefix}/mlflow/experiments/get?experiment_id={id}")).await;
        assert_eq!(answer.status, 200, "{prefix}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_validates_its_fields() {
    let server = TestServer::start().await;
    let message = server.post("/api/2.0/mlflow/experiments/create", json!({})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'name'"), "{message}");
    let message =
        server.post("/api/2.0/mlflow/experiments/create", json!({"name": ["x"]})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'name'") && message.contains("array"), "{message}");
    let message = server
        .get("/api/2.0/mlflow/experiments/get-by-name")
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'experiment_name'"), "{message}");

    // Tags given at creation are stored.
    let created = server
        .post("/api/2.0/mlflow/experiments/create", json!({"name": "tagged", "tags": [{"key": "team", "value": "search"}]}))
        .await;
    let id = created.json()["experiment_id"].as_str().unwrap().to_string();
    let got = server.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={id}")).await.json();
    assert_eq!(got["experiment"]["tags"], json!([{"key": "team", "value": "search"}]));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_pages_and_orders() {
    let server = TestServer::start().await;
    for name in ["alpha-agent", "beta-agent", "gamma"] {
        server.create_experiment(name).await;
    }
    let search = |body: serde_json::Value| {
        let server = &server;
        async move { server.post("/api/2.0/mlflow/experiments/search", body).await }
    };

    let all = search(json!({"order_by": ["name ASC"]})).await.json();
    let names: Vec<&str> = all["experiments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Default", "alpha-agent", "beta-agent", "gamma"]);

    let agents = search(json!({"filter": "name LIKE '%agent'", "order_by": ["name DESC"]})).await.json();
    let names: Vec<&str> = agents["experiments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["beta-agent", "alpha-agent"]);

    let exact = search(json!({"filter": "name = 'gamma'"})).await.json();
    assert_eq!(exact["experiments"].as_array().unwrap().len(), 1);

    // Paging: a full page carries a token, the last page none.
    let first = search(json!({"max_results": 3, "order_by": ["name ASC"]})).await.json();
    assert_eq!(first["experiments"].as_array().unwrap().len(), 3);
    let token = first["next_page_token"].as_str().expect("a token after a full page").to_string();
    let second = search(json!({"max_results": 3, "order_by": ["name ASC"], "page_token": token})).await.json();
    assert_eq!(second["experiments"][0]["name"], "gamma");
    assert!(second.get("next_page_token").is_none());

    // GET with query parameters works too.
    let via_get = server.get("/api/2.0/mlflow/experiments/search?filter=name%20%3D%20%27gamma%27").await.json();
    assert_eq!(via_get["experiments"][0]["name"], "gamma");

    let message = search(json!({"filter": "owner = 'x'"})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'filter'"), "{message}");
    let message = search(json!({"max_results": 0})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'max_results'"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_delete_restore_and_tag() {
    let server = TestServer::start().await;
    let id = server.create_experiment("old-name").await;

    let renamed = server.post("/api/2.0/mlflow/experiments/update", json!({"experiment_id": id, "new_name": "new-name"})).await;
    assert_eq!((renamed.status, renamed.json()), (200, json!({})));
    let got = server.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=new-name").await;
    assert_eq!(got.json()["experiment"]["experiment_id"], id.as_str());

    let tagged = server
        .post("/api/2.0/mlflow/experiments/set-experiment-tag", json!({"experiment_id": id, "key": "k", "value": "v"}))
        .await;
    assert_eq!(tagged.status, 200);
    let got = server.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={id}")).await.json();
    assert_eq!(got["experiment"]["tags"], json!([{"key": "k", "value": "v"}]));

    assert_eq!(server.post("/api/2.0/mlflow/experiments/delete", json!({"experiment_id": id})).await.status, 200);
    let got = server.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={id}")).await.json();
    assert_eq!(got["experiment"]["lifecycle_stage"], "deleted");
    let deleted_only = server.post("/api/2.0/mlflow/experiments/search", json!({"view_type": "DELETED_ONLY"})).await.json();
    assert_eq!(deleted_only["experiments"][0]["experiment_id"], id.as_str());

    assert_eq!(server.post("/api/2.0/mlflow/experiments/restore", json!({"experiment_id": id})).await.status, 200);
    let got = server.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={id}")).await.json();
    assert_eq!(got["experiment"]["lifecycle_stage"], "active");

    // Unknown ids are JSON 404s, missing fields 400s naming them.
    server.post("/api/2.0/mlflow/experiments/delete", json!({"experiment_id": "404"})).await.error(404, "RESOURCE_DOES_NOT_EXIST");
    let message = server.post("/api/2.0/mlflow/experiments/update", json!({"experiment_id": id})).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'new_name'"), "{message}");
    server.stop().await.unwrap();
}
