//! Server settings (the `clew server` flags map onto these).

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Main port: REST API, OTLP/HTTP `/v1/traces`, UI, metrics. Default 127.0.0.1:5000.
    pub bind: SocketAddr,
    /// Standard OTLP/gRPC port, when enabled (`--otlp-grpc 4317`).
    pub otlp_grpc: Option<SocketAddr>,
    /// Standard OTLP/HTTP port, when enabled (`--otlp-http 4318`).
    pub otlp_http: Option<SocketAddr>,
    /// Largest accepted request body (after decompression), in bytes.
    pub max_request_bytes: usize,
    /// Spans that may be waiting to be committed at once; past it ingest answers 429.
    pub max_pending_spans: usize,
    /// Bearer token required on every request, if set.
    pub auth_token: Option<String>,
    /// Basic credentials (`user`, `password`) accepted, if set.
    pub basic_auth: Option<(String, String)>,
    /// Allowed CORS origins (`*` for any); empty = no CORS headers.
    pub cors_origins: Vec<String>,
    /// How long shutdown waits for accepted work to be committed.
    pub shutdown_grace: Duration,
    /// How long GetTrace without `allow_partial` waits for a trace's missing spans before
    /// answering `RESOURCE_DOES_NOT_EXIST` (the reference server sleeps 1 s, then 2 s).
    pub partial_trace_wait: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5000)),
            otlp_grpc: None,
            otlp_http: None,
            max_request_bytes: 64 * 1024 * 1024,
            max_pending_spans: 200_000,
            auth_token: None,
            basic_auth: None,
            cors_origins: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            partial_trace_wait: Duration::from_secs(3),
        }
    }
}
