//! The UI's list-level JSON API under `/ajax-api/clew/` (experiments with counts, sessions,
//! live updates). The MLflow REST API serves everything else the UI reads.

use crate::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
