//! Traces still queued when the process exits are written before it goes.
//! The test runs itself again as a child process that makes traces and exits at once.

use clew_store::{SearchTracesRequest, TraceStore};
use std::process::Command;

const CHILD_ENV: &str = "CLEW_TEST_EXIT_FLUSH_STORE";
const TRACES: usize = 2_000;

#[test]
fn traces_pending_at_exit_are_written_before_the_process_ends() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        clew::set_destination(clew::LocalStoreDestination::open(&path).expect("open store"));
        for i in 0..TRACES {
            let root = clew::start_span("root");
            root.set_inputs(serde_json::json!({"i": i}));
            let _child = clew::start_span("child");
        }
        // No flush: exit right away, with the export queue still full.
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exit.db");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "traces_pending_at_exit_are_written_before_the_process_ends", "--nocapture"])
        .env(CHILD_ENV, &path)
        .status()
        .expect("run the child");
    assert!(status.success(), "child failed: {status}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let page = rt
        .block_on(async {
            let store = clew_store::SqliteStore::open(&path)?;
            store.search_traces(&SearchTracesRequest { max_results: Some(5_000), ..Default::default() }).await
        })
        .unwrap();
    assert_eq!(page.traces.len(), TRACES, "every trace queued at exit was written");
}
