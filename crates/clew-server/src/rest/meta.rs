//! `/version`, `/health` and `/metrics`.
//!
//! `/version` is read by the mlflow client as the server's MLflow compatibility level: it logs
//! spans over OTLP only when the answer parses as a PEP 440 version ≥ 3.4. clew answers the
//! MLflow version whose wire protocol it implements and is tested against,
//! [`MLFLOW_COMPATIBILITY_VERSION`], as plain PEP 440 text (no local label, so every parser
//! reads it); its own version goes in the `x-clew-version` header. Content type
//! `text/html; charset=utf-8`, as the reference server answers.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The MLflow release whose REST and OTLP protocol clew speaks (the captured baseline).
pub const MLFLOW_COMPATIBILITY_VERSION: &str = "3.17.2";
/// clew's own version.
pub const CLEW_VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn version() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::HeaderName::from_static("x-clew-version"), HeaderValue::from_static(CLEW_VERSION)),
        ],
        MLFLOW_COMPATIBILITY_VERSION,
    )
        .into_response()
}

/// Liveness: `OK`, never behind auth.
pub async fn health() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], "OK")
        .into_response()
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.set_pending_spans(state.ingest.pending_spans());
    if let Some(status) = state.store.text_index_status() {
        state.metrics.set_text_index(status);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"))],
        state.metrics.encode(),
    )
        .into_response()
}
