//! `clew server`: the MLflow-compatible tracking server (REST API, OTLP ingest, metrics) over
//! a SQLite file or PostgreSQL.

use anyhow::{bail, Context as _};
use clap::Args;
use clew_server::ServerConfig;
use clew_store::{PostgresStore, TraceStore};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The flags of `clew server` (its help text is on the `Server` command in `main.rs`).
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to listen on. Use 0.0.0.0 to accept connections from other machines.
    #[arg(long, default_value = "127.0.0.1", env = "CLEW_HOST")]
    pub host: IpAddr,

    /// Port of the REST API, OTLP/HTTP /v1/traces, /metrics and /health.
    #[arg(long, default_value_t = 5000, env = "CLEW_PORT")]
    pub port: u16,

    /// Also accept OTLP/gRPC on this port (the standard is 4317).
    #[arg(long, value_name = "PORT")]
    pub otlp_grpc: Option<u16>,

    /// Also accept OTLP/HTTP on this port (the standard is 4318); /v1/traces is always served on --port too.
    #[arg(long, value_name = "PORT")]
    pub otlp_http: Option<u16>,

    /// Require `Authorization: Bearer TOKEN` on every request but /health (the mlflow client
    /// sends it from MLFLOW_TRACKING_TOKEN).
    #[arg(long, env = "CLEW_AUTH_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// Require HTTP Basic credentials USER:PASSWORD on every request but /health (the mlflow
    /// client sends them from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). With
    /// --auth-token, either is accepted.
    #[arg(long, env = "CLEW_BASIC_AUTH", value_name = "USER:PASSWORD", hide_env_values = true)]
    pub basic_auth: Option<String>,

    /// Allow browser requests from this origin (repeatable; `*` for any). Without it no CORS
    /// headers are sent.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    /// Largest request body accepted, in bytes (after decompression); larger ones get 413.
    #[arg(long, default_value_t = ServerConfig::default().max_request_bytes, value_name = "BYTES")]
    pub max_request_bytes: usize,

    /// Spans that may wait to be committed at once; past it ingest answers 429 with Retry-After.
    #[arg(long, default_value_t = ServerConfig::default().max_pending_spans, value_name = "SPANS")]
    pub max_pending_spans: usize,

    /// Seconds shutdown (SIGINT/SIGTERM) waits for accepted writes to be committed.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_grace_secs: u64,
}

impl ServerArgs {
    /// The server settings these flags describe.
    pub fn config(&self) -> anyhow::Result<ServerConfig> {
        let basic_auth = match &self.basic_auth {
            None => None,
            Some(credentials) => {
                let Some((user, password)) = credentials.split_once(':') else {
                    bail!("--basic-auth expects USER:PASSWORD (a colon between them), got {credentials:?}")
                };
                if user.is_empty() {
                    bail!("--basic-auth: the user name before ':' is empty");
                }
                Some((user.to_string(), password.to_string()))
            }
        };
        if self.auth_token.as_deref().is_some_and(str::is_empty) {
            bail!("--auth-token must not be empty");
        }
        if self.max_request_bytes == 0 {
            bail!("--max-request-bytes must be at least 1");
        }
        if self.max_pending_spans == 0 {
            bail!("--max-pending-spans must be at least 1");
        }
        let at = |port: u16| SocketAddr::new(self.host, port);
        for (flag, port) in [("--otlp-grpc", self.otlp_grpc), ("--otlp-http", self.otlp_http)] {
            if port == Some(self.port) {
                bail!("{flag} {} is the same port as --port", self.port);
            }
        }
        Ok(ServerConfig {
            bind: at(self.port),
            otlp_grpc: self.otlp_grpc.map(at),
            otlp_http: self.otlp_http.map(at),
            max_request_bytes: self.max_request_bytes,
            max_pending_spans: self.max_pending_spans,
            auth_token: self.auth_token.clone(),
            basic_auth,
            cors_origins: self.cors_origins.clone(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            ..ServerConfig::default()
        })
    }
}

/// Opens the store a server URI names.
async fn open_store(store_flag: Option<&str>) -> anyhow::Result<(Arc<dyn TraceStore>, String)> {
    if let Some(uri) = store_flag.map(str::trim).filter(|u| PostgresStore::is_postgres_uri(u)) {
        let store = PostgresStore::connect(uri).await.context("cannot open the PostgreSQL store (--store / CLEW_STORE)")?;
        return Ok((Arc::new(store), "PostgreSQL (--store / CLEW_STORE)".to_string()));
    }
    let location = crate::store::StoreLocation::resolve(store_flag)?;
    let store = location.open(crate::store::OpenMode::CreateIfMissing)?;
    let described = format!("{} ({})", location.path.display(), location.source);
    Ok((Arc::new(store), described))
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(store_flag: Option<&str>, args: &ServerArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (store, described) = open_store(store_flag).await?;
        eprintln!("clew server: store {described}");
        eprintln!("clew server: listening on http://{} (MLflow REST API, OTLP /v1/traces, /metrics)", config.bind);
        if let Some(addr) = config.otlp_http {
            eprintln!("clew server: OTLP/HTTP on http://{addr}/v1/traces");
        }
        if let Some(addr) = config.otlp_grpc {
            eprintln!("clew server: OTLP/gRPC on {addr}");
        }
        clew_server::serve(config, store).await.context("the server failed")?;
        eprintln!("clew server: stopped");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServerArgs,
    }

    fn parse(argv: &[&str]) -> ServerArgs {
        Wrapper::try_parse_from(std::iter::once("server").chain(argv.iter().copied())).unwrap().args
    }

    #[test]
    fn flags_map_onto_the_server_config() {
        let args = parse(&[
            "--host", "0.0.0.0", "--port", "5050", "--otlp-http", "4318", "--otlp-grpc", "4317", "--basic-auth",
            "alice:pw:x", "--cors-origin", "http://a", "--cors-origin", "*", "--max-request-bytes", "10",
            "--max-pending-spans", "5",
        ]);
        let config = args.config().unwrap();
        assert_eq!(config.bind.to_string(), "0.0.0.0:5050");
        assert_eq!(config.otlp_http.unwrap().port(), 4318);
        assert_eq!(config.otlp_grpc.unwrap().port(), 4317);
        assert_eq!(config.basic_auth, Some(("alice".into(), "pw:x".into())));
        assert_eq!(config.cors_origins, vec!["http://a", "*"]);
        assert_eq!((config.max_request_bytes, config.max_pending_spans), (10, 5));
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let err = parse(&["--basic-auth", "nocolon"]).config().unwrap_err().to_string();
        assert!(err.contains("USER:PASSWORD"), "{err}");
        let err = parse(&["--port", "4318", "--otlp-http", "4318"]).config().unwrap_err().to_string();
        assert!(err.contains("--otlp-http"), "{err}");
        let err = parse(&["--max-pending-spans", "0"]).config().unwrap_err().to_string();
        assert!(err.contains("--max-pending-spans"), "{err}");
    }
}
