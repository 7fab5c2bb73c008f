//! `clew experiments list | create`, and how the store is chosen and reported when it can't
//! be opened.

mod common;

use common::Sandbox;

#[test]
fn create_prints_the_id_and_list_shows_it_with_its_trace_count() {
    let sandbox = Sandbox::new();
    let created = sandbox.clew(&["experiments", "create", "llm-application"]).ok();
    let id = created.stdout.trim().to_string();
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "an id: {:?}",
        created.stdout
    );

    let json = sandbox.clew(&["--json", "experiments", "create", "second"]).ok().json();
    assert_eq!(json["name"], "second");
    assert_ne!(json["experiment_id"], id.as_str());

    sandbox
        .clew(&["demo", "--traces", "2", "--experiment-name", "llm-application"])
        .ok();

    let listed = sandbox.clew(&["--json", "experiments", "list"]).ok().json();
    let listed = listed.as_array().unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Default", "llm-application", "second"]);
    let app = &listed[1];
    assert_eq!(app["experiment_id"], id.as_str());
    assert_eq!(app["trace_count"], 2);
    assert_eq!(listed[2]["trace_count"], 0);
    assert!(app["artifact_location"].as_str().is_some_and(|a| !a.is_empty()));

    let table = sandbox.clew(&["experiments", "list"]).ok().stdout;
    for header in ["ID", "Name", "Traces", "Artifact location"] {
        assert!(table.contains(header), "{table}");
    }
    let row = table.lines().find(|l| l.contains("llm-application")).unwrap();
    assert!(row.contains(&format!(" {id} ")) && row.contains(" 2 "), "{row}");
}

#[test]
fn creating_a_taken_name_fails_with_exit_1_and_the_existing_id() {
    let sandbox = Sandbox::new();
    let id = sandbox
        .clew(&["experiments", "create", "dup"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let again = sandbox.clew(&["experiments", "create", "dup"]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains(&format!("an experiment named \"dup\" already exists (id {id})")),
        "{}",
        again.stderr
    );
}

#[test]
fn read_commands_refuse_a_missing_store_without_creating_it() {
    let sandbox = Sandbox::new();
    let run = sandbox.clew(&["traces", "list"]);
    assert_eq!(run.code, 1);
    let path = sandbox.store_path();
    assert!(
        run.stderr.contains(&format!("no trace store at {}", path.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!path.exists());
}

#[test]
fn an_unopenable_store_path_names_the_path_and_the_reason() {
    let sandbox = Sandbox::new();
    // A regular file where a directory should be.
    std::fs::write(sandbox.dir.path().join("not-a-dir"), "x").unwrap();
    let run = sandbox.clew_raw(&["--store", "not-a-dir/sub/traces.db", "demo"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("cannot open the trace store not-a-dir/sub/traces.db"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Not a directory"), "{}", run.stderr);

    // A file that is not a SQLite database.
    std::fs::write(sandbox.dir.path().join("garbage.db"), "this is not sqlite").unwrap();
    let run = sandbox.clew_raw(&["--store", "garbage.db", "traces", "list"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot open the trace store garbage.db"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not a database"), "{}", run.stderr);

    // A directory.
    let run = sandbox.clew_raw(&["--store", ".", "experiments", "list"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("it is a directory"), "{}", run.stderr);

    // A server URI.
    let run = sandbox.clew_raw(&["--store", "postgresql://db/clew", "traces", "list"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("\"postgresql\"") && run.stderr.contains("sqlite:///"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_store_comes_from_clew_store_then_a_sqlite_mlflow_tracking_uri() {
    let sandbox = Sandbox::new();
    let a = sandbox.dir.path().join("a.db");
    let b = sandbox.dir.path().join("b.db");
    let a_uri = format!("sqlite:///{}", a.display());
    let b_uri = format!("sqlite:///{}", b.display());

    sandbox
        .clew_raw(
            &["experiments", "create", "via-env"],
            &[("CLEW_STORE", a.to_str().unwrap())],
        )
        .ok();
    assert!(a.exists());
    sandbox
        .clew_raw(
            &["experiments", "create", "via-mlflow-uri"],
            &[("MLFLOW_TRACKING_URI", &b_uri)],
        )
        .ok();
    assert!(b.exists());

    // CLEW_STORE wins over MLFLOW_TRACKING_URI; --store wins over both.
    let both = [("CLEW_STORE", a_uri.as_str()), ("MLFLOW_TRACKING_URI", b_uri.as_str())];
    let listed = sandbox.clew_raw(&["--json", "experiments", "list"], &both).ok().json();
    assert!(listed.as_array().unwrap().iter().any(|e| e["name"] == "via-env"));
    let listed = sandbox
        .clew_raw(&["--json", "--store", &b_uri, "experiments", "list"], &both)
        .ok()
        .json();
    assert!(listed.as_array().unwrap().iter().any(|e| e["name"] == "via-mlflow-uri"));

    // A non-SQLite MLFLOW_TRACKING_URI is not a store for this command: CLEW_STORE still applies.
    let env = [
        ("CLEW_STORE", a_uri.as_str()),
        ("MLFLOW_TRACKING_URI", "http://localhost:5000"),
    ];
    let listed = sandbox.clew_raw(&["--json", "experiments", "list"], &env).ok().json();
    assert!(listed.as_array().unwrap().iter().any(|e| e["name"] == "via-env"));
}
