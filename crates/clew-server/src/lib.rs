//! `clew server`: a drop-in MLflow tracking server for traces.
//!
//! - the MLflow REST API (`/api/2.0`, `/api/3.0` and the `/ajax-api/` mirrors), so the
//!   unmodified `mlflow` client works against it ([`rest`]);
//! - OTLP trace ingest over HTTP (protobuf and JSON, gzip/deflate) on the main port and on
//!   4318, and gRPC on 4317 ([`otlp`]);
//! - one durable ingest path for both doors ([`ingest`]): a 2xx means committed; overload is a
//!   429 / `RESOURCE_EXHAUSTED` with Retry-After, never silent loss;
//! - the web UI, embedded in the binary ([`ui`]);
//! - Prometheus metrics ([`metrics`]), optional auth ([`auth`]), CORS, a request size limit.
//!
//! The server keeps no state outside its store, so replicas can share one store.
//!
//! ```no_run
//! # async fn run() -> Result<(), clew_server::ServerError> {
//! let store = std::sync::Arc::new(clew_store::SqliteStore::open("clew.db").unwrap());
//! clew_server::serve(clew_server::ServerConfig::default(), store).await
//! # }
//! ```

pub mod auth;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod otlp;
pub mod rest;
pub mod state;
pub mod ui;

pub use config::ServerConfig;
pub use error::ApiError;
pub use state::AppState;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use axum::Router;
use clew_store::TraceStore;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("invalid server configuration: {0}")]
    Config(String),
    #[error("the OTLP/gRPC server failed: {0}")]
    Grpc(String),
    #[error("the server stopped with an I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Every HTTP route of the main port, with the request-size limit, auth, metrics and CORS.
pub fn router(state: AppState) -> Router {
    with_layers(Router::new().merge(rest::routes()).merge(otlp::routes()).merge(ui::routes()), state)
}

/// The OTLP/HTTP routes alone (the standard 4318 port), with the same layers.
pub fn otlp_http_router(state: AppState) -> Router {
    with_layers(otlp::routes(), state)
}

fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let limit = state.config.max_request_bytes;
    let router = routes
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), reject_oversized_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_auth))
        .layer(middleware::from_fn_with_state(state.clone(), observe_requests));
    let router = match cors_layer(&state.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// 413 naming the limit for a declared `Content-Length` over `max_request_bytes`, before any
/// byte of the body is read. Bodies without a length are cut at the limit where they are read.
async fn reject_oversized_bodies(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.max_request_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::too_large(limit).into_response();
    }
    next.run(request).await
}

/// Request latency by route (the matched pattern, so ids do not explode the label set) and
/// status; 413 answers are also counted as rejections (429s are counted by the ingest path).
async fn observe_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if status == 413 {
        state.metrics.record_rejected("too_large");
    }
    state.metrics.observe_request(&route, status, started.elapsed().as_secs_f64());
    response
}

/// CORS for the configured origins (`*` = any); none configured = no CORS headers.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
            // Mirrors what the browser asks for: `*` would not cover `Authorization`.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-clew-version")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Binds `config.bind` and serves until SIGINT or SIGTERM, then stops accepting, finishes the
/// requests in flight and waits (up to `config.shutdown_grace`) for accepted ingest to commit.
pub async fn serve(config: ServerConfig, store: Arc<dyn TraceStore>) -> Result<(), ServerError> {
    let addr = config.bind;
    let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
    serve_on(listener, config, store, shutdown_signal()).await
}

/// [`serve`] on a bound listener, stopping when `shutdown` completes (tests, embedding).
pub async fn serve_on(
    listener: TcpListener,
    config: ServerConfig,
    store: Arc<dyn TraceStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = AppState::new(store, config);
    serve_state(listener, state, shutdown).await
}

/// [`serve_on`] with a prepared state (tests reach the ingest path and metrics through it).
pub async fn serve_state(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut receiver = stop_receiver.clone();
        async move {
            let _ = receiver.wait_for(|stop| *stop).await;
        }
    };

    let mut extra_servers = Vec::new();
    if let Some(addr) = state.config.otlp_http {
        let otlp_listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        let app = otlp_http_router(state.clone());
        let stop = stopped();
        extra_servers.push(tokio::spawn(async move {
            axum::serve(nodelay(otlp_listener), app).with_graceful_shutdown(stop).await.map_err(ServerError::Io)
        }));
    }
    if let Some(addr) = state.config.otlp_grpc {
        // Bound here so a taken port fails the start, not the shutdown.
        let grpc_listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        let stop = stopped();
        let grpc_state = state.clone();
        extra_servers.push(tokio::spawn(async move {
            otlp::grpc::serve_grpc_on(grpc_listener, grpc_state, stop).await.map_err(|e| ServerError::Grpc(e.to_string()))
        }));
    }

    let app = router(state.clone());
    let main_stop = stopped();
    let main_server = tokio::spawn(async move {
        axum::serve(nodelay(listener), app).with_graceful_shutdown(main_stop).await.map_err(ServerError::Io)
    });

    shutdown.await;
    let _ = stop_sender.send(true);
    // Requests in flight are finished and idle connections closed, within the grace period;
    // past it the servers are stopped (a stuck client cannot hold the process forever).
    let grace = state.config.shutdown_grace;
    let servers: Vec<_> = std::iter::once(main_server).chain(extra_servers).collect();
    let aborts: Vec<_> = servers.iter().map(|s| s.abort_handle()).collect();
    let joined = tokio::time::timeout(grace, async {
        let mut result: Result<(), ServerError> = Ok(());
        for server in servers {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(join_error) => result = Err(ServerError::Io(std::io::Error::other(join_error.to_string()))),
            }
        }
        result
    })
    .await;
    let result = match joined {
        Ok(result) => result,
        Err(_elapsed) => {
            aborts.iter().for_each(|abort| abort.abort());
            Ok(())
        }
    };
    // Every request has been answered; wait for accepted ingest still being committed.
    let _ = tokio::time::timeout(grace, state.ingest.drain()).await;
    result
}

/// TCP_NODELAY on every accepted socket: a response is written in one piece and must not wait
/// for the client's delayed ACK (the ~40 ms stall the reference server shows on keep-alive).
fn nodelay(listener: TcpListener) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr> {
    listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
