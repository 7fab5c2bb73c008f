//! Auth as the mlflow client sends it (Bearer from MLFLOW_TRACKING_TOKEN, Basic from
//! MLFLOW_TRACKING_USERNAME/PASSWORD), 401 JSON otherwise, /health open; CORS.

mod rest_support;

use base64::Engine;
use reqwest::Method;
use rest_support::{test_config, TestServer};
use serde_json::json;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_and_basic_credentials() {
    let config = clew_server::ServerConfig {
        auth_token: Some("t0ken".into()),
        basic_auth: Some(("alice".into(), "pa:ss".into())),
        ..test_config()
    };
    let server = TestServer::start_with(config).await;
    let path = "/api/2.0/mlflow/experiments/get?experiment_id=0";

    let anonymous = server.get(path).await;
    let message = anonymous.error(401, "UNAUTHENTICATED");
    assert!(message.contains("MLFLOW_TRACKING_TOKEN"), "{message}");
    assert!(anonymous.header("www-authenticate").is_some());

    let wrong = server.send(Method::GET, path, None, &[("Authorization", "Bearer nope")]).await;
    wrong.error(401, "UNAUTHENTICATED");
    let wrong_basic = server.send(Method::GET, path, None, &[("Authorization", &basic("alice", "x"))]).await;
    wrong_basic.error(401, "UNAUTHENTICATED");

    let bearer = server.send(Method::GET, path, None, &[("Authorization", "Bearer t0ken")]).await;
    assert_eq!(bearer.status, 200, "{}", bearer.text());
    let basic_ok = server.send(Method::GET, path, None, &[("Authorization", &basic("alice", "pa:ss"))]).await;
    assert_eq!(basic_ok.status, 200);

    // Writes and the other doors are covered too; /health stays open.
    let write = server.post("/api/2.0/mlflow/experiments/create", json!({"name": "x"})).await;
    write.error(401, "UNAUTHENTICATED");
    assert_eq!(server.get("/version").await.status, 401);
    assert_eq!(server.get("/metrics").await.status, 401);
    let otlp = server.send(Method::POST, "/v1/traces", None, &[("Content-Type", "application/x-protobuf")]).await;
    assert_eq!(otlp.status, 401);
    let health = server.get("/health").await;
    assert_eq!((health.status, health.text().as_str()), (200, "OK"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_for_configured_origins_only() {
    let config = clew_server::ServerConfig {
        cors_origins: vec!["http://ui.example".into()],
        auth_token: Some("t".into()),
        ..test_config()
    };
    let server = TestServer::start_with(config).await;
    // A preflight carries no credentials and is answered before auth.
    let preflight = server
        .send(
            Method::OPTIONS,
            "/api/2.0/mlflow/experiments/search",
            None,
            &[
                ("Origin", "http://ui.example"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization,content-type"),
            ],
        )
        .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin").as_deref(), Some("http://ui.example"));
    let allowed_headers = preflight.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization"), "{allowed_headers}");

    let other = server
        .send(Method::GET, "/health", None, &[("Origin", "http://evil.example")])
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
    server.stop().await.unwrap();

    // No --cors-origin: no CORS headers at all.
    let plain = TestServer::start().await;
    let answer = plain.send(Method::GET, "/health", None, &[("Origin", "http://ui.example")]).await;
    assert!(answer.header("access-control-allow-origin").is_none());
    plain.stop().await.unwrap();

    let any = TestServer::start_with(clew_server::ServerConfig { cors_origins: vec!["*".into()], ..test_config() }).await;
    let answer = any.send(Method::GET, "/health", None, &[("Origin", "http://anything")]).await;
    assert_eq!(answer.header("access-control-allow-origin").as_deref(), Some("*"));
    any.stop().await.unwrap();
}
