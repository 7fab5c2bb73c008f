//! The unmodified `mlflow` Python client (3.17.2) against the real `clew server` binary:
//! `tests/compat/mlflow_client_roundtrip.py` logs traces with the public API and checks that
//! get_trace, search_traces (filters, order_by, paging), trace tags and deletion read back what
//! was logged; `tests/compat/mlflow_client_burst.py` logs a burst with the client's default async
//! export and counts what landed. Both scripts also pass against MLflow's own server.

#[path = "compat_harness.rs"]
mod harness;

use harness::{assert_script_passed, run_script, ClewServer};
use std::time::Duration;

#[test]
fn mlflow_client_reads_back_what_it_logged_and_searches_tags_and_deletes() {
    let server = ClewServer::start();
    // A failing endpoint should fail fast, not back off for minutes.
    let env = [("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")];
    let run = run_script(&server, "mlflow_client_roundtrip.py", &[], &env, Duration::from_secs(240));
    assert_script_passed(&server, "mlflow_client_roundtrip.py", &run);
}

/// The client's default async export discards work when its 1,000-task queue is full, which on
/// two cores happens when the client itself (one GIL for the app and its ten export threads)
/// cannot send as fast as the app logs, whatever the server. So: with the default queue, every
/// trace that landed must be complete and the count is reported; with a queue large enough to
/// keep everything, all 2,000 must land complete: the server loses nothing it is sent.
#[test]
fn a_burst_of_two_thousand_traces_through_the_mlflow_client_lands_complete() {
    let server = ClewServer::start();
    let limit = Duration::from_secs(300);
    let default_queue = run_script(&server, "mlflow_client_burst.py", &["--traces", "2000"], &[], limit);
    assert_script_passed(&server, "mlflow_client_burst.py (default client queue)", &default_queue);
    let args = ["--traces", "2000", "--client-queue", "100000"];
    let large_queue = run_script(&server, "mlflow_client_burst.py", &args, &[], limit);
    assert_script_passed(&server, "mlflow_client_burst.py --client-queue 100000", &large_queue);
    // The export-task queue can no longer overflow; the script itself failed if the client
    // dropped nothing and a trace did not land complete.
    assert!(
        large_queue.output.contains("\"client_dropped_tasks\": 0,"),
        "with a 100,000-task client queue no export task may be dropped:\n{}",
        large_queue.output
    );
}
