//! What every handler shares. Nothing here outlives a restart: all state is in the store.

use crate::auth::AuthPolicy;
use crate::config::ServerConfig;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use clew_store::TraceStore;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TraceStore>,
    pub ingest: Ingest,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ServerConfig>,
    pub auth: Arc<AuthPolicy>,
}

impl AppState {
    pub fn new(store: Arc<dyn TraceStore>, config: ServerConfig) -> Self {
        let metrics = Arc::new(Metrics::new());
        let ingest = Ingest::new(store.clone(), config.max_pending_spans, metrics.clone());
        let auth = Arc::new(AuthPolicy::new(config.auth_token.clone(), config.basic_auth.clone()));
        AppState { store, ingest, metrics, config: Arc::new(config), auth }
    }
}
