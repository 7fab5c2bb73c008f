//! `clew traces list | search | get` against a store the demo filled.

mod common;

use clew_model::json::trace_json::trace_from_json;
use common::Sandbox;
use std::sync::OnceLock;

/// One demo store shared by the tests in this file (they only read it).
fn sandbox() -> &'static (Sandbox, Vec<String>) {
    static SANDBOX: OnceLock<(Sandbox, Vec<String>)> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let sandbox = Sandbox::new();
        let ids = sandbox.demo(12);
        (sandbox, ids)
    })
}

fn ids_of(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_table_shows_every_trace_with_its_columns() {
    let (sandbox, ids) = sandbox();
    let run = sandbox.clew(&["traces", "list"]).ok();
    for header in [
        "Trace ID",
        "Name",
        "State",
        "Request time",
        "Duration",
        "Spans",
        "Tokens",
        "Request",
    ] {
        assert!(run.stdout.contains(header), "missing column {header}:\n{}", run.stdout);
    }
    for id in ids {
        assert!(run.stdout.contains(id.as_str()), "missing {id}");
    }
    assert!(run.stdout.contains("rag_pipeline") && run.stdout.contains("ERROR"));
    assert!(run.stdout.contains("12 trace(s)"));
    // The RAG row: 4 spans and the question as the request preview.
    let rag_row = run.stdout.lines().find(|l| l.contains("rag_pipeline")).unwrap();
    assert!(rag_row.contains(" 4 "), "{rag_row}");
    assert!(rag_row.contains("{\"question\": "), "{rag_row}");
}

#[test]
fn list_table_shows_request_time_in_local_time() {
    let (sandbox, _) = sandbox();
    // The sandbox runs the binary with TZ=UTC, so local time is the UTC time of the JSON form.
    let json = sandbox
        .clew(&["--json", "traces", "list", "--max-results", "1"])
        .ok()
        .json();
    let id = json[0]["trace_id"].as_str().unwrap();
    let iso = json[0]["request_time"].as_str().unwrap(); // e.g. 2026-11-21T06:34:37.123Z
    let expected = format!("{} {}", &iso[..10], &iso[11..19]);
    let table = sandbox.clew(&["traces", "list", "--max-results", "1"]).ok().stdout;
    let row = table
        .lines()
        .find(|l| l.contains(id))
        .expect("the row of the newest trace");
    assert!(row.contains(&expected), "expected {expected} in {row}");
}

#[test]
fn list_json_is_trace_info_dicts_newest_first() {
    let (sandbox, ids) = sandbox();
    let json = sandbox.clew(&["--json", "traces", "list"]).ok().json();
    let listed = ids_of(&json);
    assert_eq!(listed.len(), ids.len());
    let mut expected = ids.clone();
    expected.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let first = &json[0];
    for key in [
        "trace_id",
        "trace_location",
        "request_time",
        "state",
        "trace_metadata",
        "tags",
        "execution_duration_ms",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    // Newest first (the default order): request_time strings are ISO-8601, so they sort as text.
    let times: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["request_time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[test]
fn list_honours_max_results_order_by_and_experiment_selection() {
    let (sandbox, _) = sandbox();
    let two = sandbox
        .clew(&["--json", "traces", "list", "--max-results", "2"])
        .ok()
        .json();
    assert_eq!(two.as_array().unwrap().len(), 2);

    let oldest_first = sandbox
        .clew(&["--json", "traces", "list", "--order-by", "timestamp_ms ASC"])
        .ok()
        .json();
    let times: Vec<&str> = oldest_first
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["request_time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let by_name = sandbox
        .clew(&["--json", "traces", "list", "--experiment-name", "clew-demo"])
        .ok()
        .json();
    assert_eq!(by_name.as_array().unwrap().len(), 12);
    let experiment_id = by_name[0]["trace_location"]["mlflow_experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = sandbox
        .clew(&["--json", "traces", "list", "--experiment", &experiment_id])
        .ok()
        .json();
    assert_eq!(by_id.as_array().unwrap().len(), 12);
    let default_experiment = sandbox
        .clew(&["--json", "traces", "list", "--experiment", "0"])
        .ok()
        .json();
    assert_eq!(default_experiment.as_array().unwrap().len(), 0);

    let missing = sandbox.clew(&["traces", "list", "--experiment-name", "no-such-experiment"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no experiment named \"no-such-experiment\""),
        "{}",
        missing.stderr
    );
}

#[test]
fn search_filters_by_status_and_tag() {
    let (sandbox, _) = sandbox();
    let errors = sandbox
        .clew(&["--json", "traces", "search", "--filter", "trace.status = 'ERROR'"])
        .ok()
        .json();
    let errors = errors.as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .all(|t| t["state"] == "ERROR" && t["tags"]["demo.scenario"] == "error"));

    let agents = sandbox
        .clew(&["--json", "traces", "search", "--filter", "tags.demo.scenario = 'agent'"])
        .ok()
        .json();
    assert_eq!(agents.as_array().unwrap().len(), 2);

    let table = sandbox.clew(&["traces", "search", "-f", "trace.status = 'ERROR'"]).ok();
    assert!(
        table.stdout.contains("sql_agent") && !table.stdout.contains("rag_pipeline"),
        "{}",
        table.stdout
    );

    let none = sandbox
        .clew(&["traces", "search", "--filter", "tags.demo.scenario = 'nothing'"])
        .ok();
    assert!(none.stdout.contains("No traces found"), "{}", none.stdout);
}

#[test]
fn an_invalid_filter_exits_2_and_points_at_the_position() {
    let (sandbox, _) = sandbox();
    let run = sandbox.clew(&["traces", "search", "--filter", "trace.stat = 'OK'"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("invalid filter at position 6"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean 'status'"), "{}", run.stderr);
    // The caret line points under `stat`.
    let caret_line = run.stderr.lines().find(|l| l.trim() == "^").expect("caret line");
    let filter_line = run
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("trace.stat"))
        .unwrap();
    let filter_start = filter_line.find("trace").unwrap();
    assert_eq!(caret_line.find('^').unwrap() - filter_start, 6);
    assert!(run.stdout.is_empty());

    let unquoted = sandbox.clew(&["traces", "search", "--filter", "trace.status = OK"]);
    assert_eq!(unquoted.code, 2);
    assert!(unquoted.stderr.contains("position 15"), "{}", unquoted.stderr);

    let bad_order = sandbox.clew(&["traces", "list", "--order-by", "bogus DESC"]);
    assert_eq!(bad_order.code, 2);
    assert!(
        bad_order.stderr.contains("unknown attribute 'bogus'"),
        "{}",
        bad_order.stderr
    );
}

#[test]
fn get_prints_an_indented_span_tree() {
    let (sandbox, _) = sandbox();
    let agents = sandbox
        .clew(&["--json", "traces", "search", "--filter", "tags.demo.scenario = 'agent'"])
        .ok()
        .json();
    let id = agents[0]["trace_id"].as_str().unwrap();
    let run = sandbox.clew(&["traces", "get", id]).ok();
    let out = &run.stdout;
    assert!(out.starts_with(&format!("Trace {id}  travel_agent")), "{out}");
    assert!(out.contains("state OK"), "{out}");
    assert!(out.contains("tokens: 615 total"), "{out}");
    let tree: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("travel_agent")).collect();
    assert!(tree[0].starts_with("travel_agent [AGENT] OK "), "{out}");
    assert!(tree[1].starts_with("├─ chat_completion [CHAT_MODEL] OK "), "{out}");
    assert!(tree[1].contains("tool calls: get_weather, search_flights"), "{out}");
    assert!(tree[2].starts_with("├─ get_weather [TOOL] OK "), "{out}");
    assert!(tree[3].starts_with("├─ search_flights [TOOL] OK "), "{out}");
    assert!(tree[4].starts_with("└─ chat_completion [CHAT_MODEL] OK "), "{out}");
    assert!(
        tree[0].contains(" s") || tree[0].contains(" ms"),
        "a duration: {}",
        tree[0]
    );

    let errors = sandbox
        .clew(&["--json", "traces", "search", "--filter", "trace.status = 'ERROR'"])
        .ok()
        .json();
    let error_tree = sandbox
        .clew(&["traces", "get", errors[0]["trace_id"].as_str().unwrap()])
        .ok()
        .stdout;
    assert!(
        error_tree.contains("└─ run_query [TOOL] ERROR") && error_tree.contains("error: QueryError: relation"),
        "{error_tree}"
    );
}

#[test]
fn get_json_is_the_mlflow_trace_json() {
    let (sandbox, ids) = sandbox();
    let run = sandbox.clew(&["--json", "traces", "get", &ids[0]]).ok();
    let json = run.json();
    assert_eq!(json["info"]["trace_id"], ids[0].as_str());
    let spans = json["data"]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 4, "the first demo trace is the RAG chain");
    let trace = trace_from_json(&run.stdout).expect("MLflow trace JSON reads back");
    assert_eq!(trace.info.trace_id, ids[0]);
    assert_eq!(trace.data.spans.len(), 4);
}

#[test]
fn get_of_an_unknown_trace_fails_with_its_id() {
    let (sandbox, _) = sandbox();
    let run = sandbox.clew(&["traces", "get", "tr-00000000000000000000000000000000"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no trace tr-00000000000000000000000000000000"),
        "{}",
        run.stderr
    );
}
