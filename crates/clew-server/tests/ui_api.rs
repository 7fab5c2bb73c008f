//! The web UI over real HTTP: the page, its modules and the notebook renderer are served with
//! the right content types; every module an `import` names and every file a page links to
//! exists (a broken import would leave a blank page, and no browser is needed to catch it);
//! and the UI's list endpoints (experiments with counts, facets, sessions) answer from a real
//! SQLite store.

mod rest_support;

use rest_support::{chrono_like_rfc3339, trace_id, TestServer};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");

/// Logs a trace's info (no spans) through StartTraceV3.
async fn start_trace(server: &TestServer, n: u128, experiment_id: &str, request_time_ms: i64, metadata: Value, tags: Value) {
    let body = json!({"trace": {"trace_info": {
        "trace_id": trace_id(n),
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}},
        "request_time": chrono_like_rfc3339(request_time_ms),
        "execution_duration": "0.250s",
        "state": "OK",
        "trace_metadata": metadata,
        "tags": tags,
        "request_preview": format!("{{\"question\": \"q{n}\"}}"),
        "response_preview": format!("\"a{n}\""),
    }}});
    let answer = server.post("/api/3.0/mlflow/traces", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_modules_are_served_with_their_content_types() {
    let server = TestServer::start().await;

    let page = server.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"), "{:?}", page.header("content-type"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-cache"));
    assert!(page.text().contains("/static/app.js"));

    for (path, mime) in [
        ("/static/app.js", "javascript"),
        ("/static/api.js", "javascript"),
        ("/static/views/traces.js", "javascript"),
        ("/static/lib/format.js", "javascript"),
        ("/static/styles.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let answer = server.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(content_type.contains(mime), "{path}: content-type {content_type}");
        assert!(!answer.body.is_empty(), "{path} is empty");
        assert_eq!(answer.header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_renderer_page_is_served_at_mlflows_path() {
    let server = TestServer::start().await;
    let answer = server.get("/static-files/lib/notebook-trace-renderer/index.html?trace_id=tr-1&experiment_id=0").await;
    assert_eq!(answer.status, 200);
    assert!(answer.header("content-type").unwrap().starts_with("text/html"));
    assert!(answer.text().contains("mountTraceView"), "the notebook page mounts the trace view");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_static_paths_are_404() {
    let server = TestServer::start().await;
    for path in ["/static/no-such-module.js", "/static/views/nope.js", "/static/../Cargo.toml", "/static/%2e%2e/Cargo.toml"] {
        let answer = server.get(path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
    }
    server.stop().await.unwrap();
}

/// Every file under `ui/`, as paths relative to it with `/` separators.
fn ui_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().components().map(|c| c.as_os_str().to_string_lossy().into_owned());
                out.push(relative.collect::<Vec<_>>().join("/"));
            }
        }
    }
    let root = PathBuf::from(UI_DIR);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// The quoted strings after `from`, after a bare `import`, and inside `import(...)`.
fn js_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
            continue;
        }
        for marker in ["from ", "import ", "import("] {
            let mut rest = code;
            while let Some(at) = rest.find(marker) {
                let after = rest[at + marker.len()..].trim_start();
                if let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                    if let Some(end) = after[1..].find(quote) {
                        found.push(after[1..1 + end].to_string());
                    }
                }
                rest = &rest[at + marker.len()..];
            }
        }
    }
    found
}

/// `href="..."` and `src="..."` values in a page.
fn html_references(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = source;
        while let Some(at) = rest.find(attribute) {
            let after = &rest[at + attribute.len()..];
            if let Some(end) = after.find('"') {
                found.push(after[..end].to_string());
            }
            rest = after;
        }
    }
    found
}

/// Resolves a module specifier against the URL of the module that names it.
fn resolve(base_url: &str, specifier: &str) -> String {
    if specifier.starts_with('/') {
        return specifier.to_string();
    }
    let mut parts: Vec<&str> = base_url.split('/').collect();
    parts.pop(); // the file name
    for segment in specifier.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_import_and_page_reference_resolves_to_a_served_file() {
    let server = TestServer::start().await;
    let files = ui_files();
    assert!(files.iter().any(|f| f == "app.js") && files.iter().any(|f| f == "index.html"), "{files:?}");

    // (referring file, URL) for every reference.
    let mut references: Vec<(String, String)> = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(Path::new(UI_DIR).join(file)).unwrap();
        let page_url = match file.as_str() {
            "index.html" => "/index.html".to_string(),
            "notebook.html" => "/static-files/lib/notebook-trace-renderer/index.html".to_string(),
            other => format!("/static/{other}"),
        };
        if file.ends_with(".js") {
            for specifier in js_imports(&source) {
                references.push((file.clone(), resolve(&page_url, &specifier)));
            }
        } else if file.ends_with(".html") {
            for reference in html_references(&source) {
                assert!(
                    !reference.starts_with("http:") && !reference.starts_with("https:") && !reference.starts_with("//"),
                    "{file} loads {reference} from elsewhere: the UI must work offline"
                );
                references.push((file.clone(), resolve(&page_url, &reference)));
            }
            // Inline module scripts import too (the notebook page).
            for specifier in js_imports(&source) {
                references.push((file.clone(), resolve(&page_url, &specifier)));
            }
        }
    }
    let app_imports: BTreeSet<&str> = references.iter().filter(|(f, _)| f == "app.js").map(|(_, u)| u.as_str()).collect();
    for expected in ["/static/trace/view.js", "/static/api.js", "/static/views/traces.js", "/static/views/sessions.js", "/static/views/experiments.js"] {
        assert!(app_imports.contains(expected), "app.js should import {expected}; found {app_imports:?}");
    }

    let mut broken = Vec::new();
    for (file, url) in &references {
        let answer = server.get(url).await;
        if answer.status != 200 {
            broken.push(format!("{file} → {url} ({})", answer.status));
        }
    }
    assert!(broken.is_empty(), "broken references: {broken:#?}");
    assert!(references.len() >= 20, "too few references found ({}); is the scanner working?", references.len());
    server.stop().await.unwrap();
}

#[test]
fn import_scanner_finds_static_dynamic_and_bare_imports() {
    let source = "import { a } from \"./a.js\";\nimport './side.js';\n// import { x } from './commented.js';\nconst m = await import(\"../lib/m.js\");\nexport { b } from './b.js';";
    assert_eq!(js_imports(source), vec!["./a.js", "./side.js", "../lib/m.js", "./b.js"]);
    assert_eq!(resolve("/static/views/traces.js", "../lib/format.js"), "/static/lib/format.js");
    assert_eq!(resolve("/static/app.js", "./trace/view.js"), "/static/trace/view.js");
    assert_eq!(resolve("/index.html", "/static/app.js"), "/static/app.js");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiments_list_has_trace_counts_and_puts_recent_activity_first() {
    let server = TestServer::start().await;
    let busy = server.create_experiment("busy").await;
    let quiet = server.create_experiment("quiet").await;
    let _empty = server.create_experiment("empty").await;
    for (n, time) in [(1u128, 1_700_000_001_000i64), (2, 1_700_000_005_000), (3, 1_700_000_003_000)] {
        start_trace(&server, n, &busy, time, json!({}), json!({})).await;
    }
    start_trace(&server, 4, &quiet, 1_600_000_000_000, json!({}), json!({})).await;

    let answer = server.get("/ajax-api/clew/experiments").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type").as_deref(), Some("application/json"));
    let body = answer.json();
    let experiments = body["experiments"].as_array().unwrap();
    let names: Vec<&str> = experiments.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..2], ["busy", "quiet"], "most recently traced first: {names:?}");
    assert!(names.contains(&"empty") && names.contains(&"Default"), "{names:?}");
    let busy_row = &experiments[0];
    assert_eq!(busy_row["experiment_id"], busy.as_str());
    assert_eq!(busy_row["trace_count"], 3);
    assert_eq!(busy_row["last_trace_time"], 1_700_000_005_000i64);
    assert_eq!(experiments[1]["trace_count"], 1);
    let empty_row = experiments.iter().find(|e| e["name"] == "empty").unwrap();
    assert_eq!(empty_row["trace_count"], 0);
    assert!(empty_row["last_trace_time"].is_null());

    // Deleting a trace changes the count on the next request (nothing is cached).
    let deleted = server
        .post("/api/2.0/mlflow/traces/delete-traces", json!({"experiment_id": busy, "request_ids": [trace_id(2)]}))
        .await;
    assert_eq!(deleted.json()["traces_deleted"], 1);
    let body = server.get("/ajax-api/clew/experiments").await.json();
    let busy_row = body["experiments"].as_array().unwrap().iter().find(|e| e["name"] == "busy").unwrap().clone();
    assert_eq!(busy_row["trace_count"], 2);
    assert_eq!(busy_row["last_trace_time"], 1_700_000_003_000i64);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_list_names_user_tag_keys_and_users() {
    let server = TestServer::start().await;
    let id = server.create_experiment("facets").await;
    start_trace(&server, 1, &id, 1_700_000_000_000, json!({"mlflow.trace.user": "alice"}), json!({"mlflow.traceName": "chat", "env": "prod"})).await;
    start_trace(&server, 2, &id, 1_700_000_001_000, json!({"mlflow.trace.user": "bob", "mlflow.trace.session": "s"}), json!({"mlflow.traceName": "agent", "team": "x"})).await;

    let body = server.get(&format!("/ajax-api/clew/experiments/{id}/facets")).await.json();
    assert_eq!(body["trace_count"], 2);
    assert_eq!(body["names"], json!(["agent", "chat"]));
    assert_eq!(body["tag_keys"], json!(["env", "team"]), "mlflow.* tags are the system's: {body}");
    assert_eq!(body["users"], json!(["alice", "bob"]));
    assert_eq!(body["sessions"], 1);

    let missing = server.get("/ajax-api/clew/experiments/424242/facets").await;
    missing.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_group_traces_by_session_with_turns_in_time_order() {
    let server = TestServer::start().await;
    let id = server.create_experiment("chats").await;
    let usage = |total: i64| json!({"input_tokens": total - 1, "output_tokens": 1, "total_tokens": total}).to_string();
    let session = |s: &str, user: &str, total: i64| {
        json!({"mlflow.trace.session": s, "mlflow.trace.user": user, "mlflow.trace.tokenUsage": usage(total)})
    };
    // s1: turns at t=1000 and t=3000; s2: one turn at t=2000; one trace without a session.
    let t0 = 1_700_000_000_000i64;
    start_trace(&server, 11, &id, t0 + 3_000, session("s1", "alice", 10), json!({"mlflow.traceName": "chat", "env": "prod"})).await;
    start_trace(&server, 12, &id, t0 + 1_000, session("s1", "alice", 5), json!({"mlflow.traceName": "chat", "env": "dev"})).await;
    start_trace(&server, 13, &id, t0 + 2_000, session("s2", "bob", 7), json!({"mlflow.traceName": "chat", "env": "prod"})).await;
    start_trace(&server, 14, &id, t0 + 4_000, json!({}), json!({"mlflow.traceName": "batch"})).await;

    let answer = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["traces_scanned"], 3, "only traces with a session are grouped: {body}");
    assert_eq!(body["truncated"], false);
    let sessions = body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["s1", "s2"], "most recently active session first");
    let s1 = &sessions[0];
    assert_eq!(s1["trace_count"], 2);
    assert_eq!(s1["turns_omitted"], 0);
    assert_eq!(s1["users"], json!(["alice"]));
    assert_eq!(s1["total_tokens"], 15);
    assert_eq!(s1["error_count"], 0);
    assert_eq!(s1["first_time"], t0 + 1_000);
    assert_eq!(s1["last_time"], t0 + 3_000 + 250, "the end of the last turn");
    let turns: Vec<&str> = s1["turns"].as_array().unwrap().iter().map(|t| t["trace_id"].as_str().unwrap()).collect();
    assert_eq!(turns, [trace_id(12), trace_id(11)], "turns oldest first");
    let first = &s1["turns"][0];
    assert_eq!(first["request_preview"], "{\"question\": \"q12\"}");
    assert_eq!(first["response_preview"], "\"a12\"");
    assert_eq!(first["execution_time_ms"], 250);
    assert_eq!(first["state"], "OK");
    assert_eq!(first["total_tokens"], 5);
    assert_eq!(first["name"], "chat");

    // A filter narrows the traces grouped; max_traces bounds the scan.
    let filtered = server
        .get(&format!("/ajax-api/clew/experiments/{id}/sessions?filter={}", urlencode("tags.env = 'prod'")))
        .await
        .json();
    let s1_turns = filtered["sessions"][0]["turns"].as_array().unwrap();
    assert_eq!(s1_turns.len(), 1, "{filtered}");
    assert_eq!(s1_turns[0]["trace_id"], trace_id(11));
    let limited = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?max_traces=1")).await.json();
    assert_eq!(limited["traces_scanned"], 1);
    assert_eq!(limited["truncated"], true);
    assert_eq!(limited["sessions"].as_array().unwrap().len(), 1);

    // Long sessions keep their latest turns; the count covers all of them.
    let latest = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?max_turns=1")).await.json();
    let s1 = &latest["sessions"][0];
    assert_eq!(s1["trace_count"], 2);
    assert_eq!(s1["turns_omitted"], 1);
    assert_eq!(s1["total_tokens"], 15);
    assert_eq!(s1["turns"].as_array().unwrap().len(), 1);
    assert_eq!(s1["turns"][0]["trace_id"], trace_id(11), "the latest turn is kept");
    let few = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?max_sessions=1")).await.json();
    assert_eq!(few["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(few["sessions"][0]["session_id"], "s1");
    assert_eq!(few["truncated"], true);

    // Bad input is a clear 400; an unknown experiment a 404.
    let bad = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?filter={}", urlencode("status = OK"))).await;
    let message = bad.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("quoted string"), "{message}");
    let message = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?max_traces=0")).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("max_traces"), "{message}");
    let message = server.get(&format!("/ajax-api/clew/experiments/{id}/sessions?max_turns=501")).await.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("max_turns"), "{message}");
    server.get("/ajax-api/clew/experiments/424242/sessions").await.error(404, "RESOURCE_DOES_NOT_EXIST");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_free_text_and_quick_filters_the_table_builds_are_accepted_by_search() {
    // The clauses lib/traces.js writes (free text, state, span type, name, tag, time range),
    // joined with AND, must parse and match on the server.
    let server = TestServer::start().await;
    let id = server.create_experiment("table").await;
    start_trace(&server, 21, &id, 1_700_000_000_000, json!({}), json!({"mlflow.traceName": "chat", "team name": "it's ours"})).await;
    start_trace(&server, 22, &id, 1_700_000_001_000, json!({}), json!({"mlflow.traceName": "other"})).await;
    let filter = "trace.status = 'OK' AND trace.name = 'chat' AND tags.`team name` = 'it''s ours' AND trace.timestamp_ms >= 1690000000000";
    let answer = server
        .post(
            "/ajax-api/3.0/mlflow/traces/search",
            json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}],
                   "filter": filter, "order_by": ["execution_time_ms DESC"], "max_results": 50}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let traces = answer.json()["traces"].as_array().unwrap().clone();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["trace_id"], trace_id(21));
    for filter in ["trace.text ILIKE '%q21%'", "span.type = 'LLM'"] {
        let answer = server
            .post(
                "/ajax-api/3.0/mlflow/traces/search",
                json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}], "filter": filter}),
            )
            .await;
        assert_eq!(answer.status, 200, "{filter}: {}", answer.text());
    }
    server.stop().await.unwrap();
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_basic_auth_the_browser_is_asked_for_credentials_and_then_the_ui_loads() {
    use base64::Engine;
    let config = clew_server::ServerConfig {
        basic_auth: Some(("ui".into(), "pw".into())),
        ..rest_support::test_config()
    };
    let server = TestServer::start_with(config).await;
    let page = server.get("/").await;
    assert_eq!(page.status, 401);
    let challenge = page.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Basic"), "browsers prompt only for a Basic challenge: {challenge:?}");

    let credentials = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ui:pw"));
    for path in ["/", "/static/app.js", "/ajax-api/clew/experiments"] {
        let answer = server.send(reqwest::Method::GET, path, None, &[("Authorization", credentials.as_str())]).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_on_the_same_store_answers_the_ui_endpoints_alike() {
    // The UI's endpoints keep no state: a trace written through one server shows up in the
    // other's experiments count and sessions at once.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let open = || -> std::sync::Arc<dyn clew_store::TraceStore> { std::sync::Arc::new(clew_store::SqliteStore::open(&path).unwrap()) };
    let first = TestServer::start_on_store(open(), rest_support::test_config()).await;
    let second = TestServer::start_on_store(open(), rest_support::test_config()).await;
    let id = first.create_experiment("shared").await;
    start_trace(&first, 31, &id, 1_700_000_000_000, json!({"mlflow.trace.session": "s-shared"}), json!({})).await;

    let experiments = second.get("/ajax-api/clew/experiments").await.json();
    let row = experiments["experiments"].as_array().unwrap().iter().find(|e| e["name"] == "shared").unwrap().clone();
    assert_eq!(row["trace_count"], 1);
    let sessions = second.get(&format!("/ajax-api/clew/experiments/{id}/sessions")).await.json();
    assert_eq!(sessions["sessions"][0]["session_id"], "s-shared");
    assert_eq!(sessions["sessions"][0]["turns"][0]["trace_id"], trace_id(31));
    first.stop().await.unwrap();
    second.stop().await.unwrap();
}
