//! The OpenTelemetry Python SDK's OTLP/HTTP exporter against the real `clew server` binary:
//! `tests/compat/otel_sdk_genai.py` sends spans with GenAI semantic-convention attributes to
//! `/v1/traces` (plain and gzip) and reads them back with the unmodified `mlflow` client
//! (span types, token usage, model, inputs/outputs, events, status).

#[path = "compat_harness.rs"]
mod harness;

use harness::{assert_script_passed, run_script, ClewServer};
use std::time::Duration;

#[test]
fn otel_sdk_genai_spans_read_back_through_the_mlflow_client() {
    let server = ClewServer::start();
    let env = [("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")];
    let run = run_script(&server, "otel_sdk_genai.py", &[], &env, Duration::from_secs(180));
    assert_script_passed(&server, "otel_sdk_genai.py", &run);
}
