//! Facts about the running process that MLflow records as trace metadata, resolved once.

use clew_model::keys;
use std::sync::OnceLock;

/// `mlflow.user`, `mlflow.source.name`, `mlflow.source.type` for this process.
pub(crate) fn source_metadata() -> &'static [(String, String)] {
    static METADATA: OnceLock<Vec<(String, String)>> = OnceLock::new();
    METADATA.get_or_init(|| {
        let mut out = Vec::with_capacity(3);
        if let Some(user) = std::env::var("USER").ok().or_else(|| std::env::var("USERNAME").ok()) {
            out.push((keys::MLFLOW_USER.to_string(), user));
        }
        let source = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        out.push((keys::SOURCE_NAME.to_string(), source));
        out.push((keys::SOURCE_TYPE.to_string(), "LOCAL".to_string()));
        out
    })
}
