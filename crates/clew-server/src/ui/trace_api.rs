//! The trace view's JSON API under `/ajax-api/clew/traces/{trace_id}/`: the compact skeleton of
//! a trace's span tree and span payloads on demand, so a 100,000-span trace opens fast.

use crate::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
