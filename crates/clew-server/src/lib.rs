//! `clew server`: a drop-in MLflow tracking server for traces.
//!
//! - the MLflow REST API (`/api/2.0`, `/api/3.0` and the `/ajax-api/` mirrors), so the
//!   unmodified `mlflow` client works against it ([`rest`]);
//! - OTLP trace ingest over HTTP (protobuf and JSON, gzip/deflate) on the main port and on
//!   4318, and gRPC on 4317 ([`otlp`]);
//! - one durable ingest path for both doors ([`ingest`]): a 2xx means committed; overload is a
//!   429 / `RESOURCE_EXHAUSTED` with Retry-After, never silent loss;
//! - Prometheus metrics ([`metrics`]), optional auth, CORS.
//!
//! The server keeps no state outside its store, so replicas can share one PostgreSQL.

pub mod auth;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod otlp;
pub mod rest;
pub mod state;

pub use config::ServerConfig;
pub use error::ApiError;
pub use state::AppState;

use axum::Router;

/// Every HTTP route of the main port.
pub fn router(state: AppState) -> Router {
    Router::new().merge(rest::routes()).merge(otlp::routes()).with_state(state)
}
