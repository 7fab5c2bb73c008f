//! The web UI: hand-written ES modules and CSS from `crates/clew-server/ui/`, embedded in the
//! binary (no JavaScript build step, no CDN), and the JSON endpoints only the UI uses.
//!
//! | path | what |
//! | --- | --- |
//! | `/` | the single-page app (`ui/index.html`); views are addressed by the URL hash |
//! | `/static/{path}` | the app's modules, styles and icons |
//! | `/static-files/lib/notebook-trace-renderer/index.html` | the compact one-trace page MLflow's client puts in Jupyter iframes |
//! | `/ajax-api/clew/...` | the UI's own JSON API ([`api`], [`trace_api`]) |
//!
//! MLflow's links (`/#/experiments/<id>/traces?selectedEvaluationId=<trace_id>`) are resolved
//! by the app's router, since the hash never reaches the server.

pub mod api;
pub mod trace_api;

use crate::state::AppState;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The UI's files. In debug builds rust-embed reads them from disk, so editing a module needs
/// no rebuild; release builds carry them in the binary.
#[derive(rust_embed::RustEmbed)]
#[folder = "ui/"]
struct Assets;

/// The page, its assets, the notebook renderer and the UI's JSON API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/static/{*path}", get(|Path(path): Path<String>| async move { asset(&path) }))
        .route("/static-files/lib/notebook-trace-renderer/index.html", get(|| async { asset("notebook.html") }))
        .merge(api::routes())
        .merge(trace_api::routes())
}

/// One embedded file with its content type; a plain 404 for anything else.
fn asset(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = file.metadata.mimetype();
    // Pages revalidate (they name the modules); modules and styles are small, so a short
    // cache keeps reloads cheap without serving stale code after an upgrade.
    let cache = if path.ends_with(".html") { "no-cache" } else { "public, max-age=60" };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // Modules must run only as what they are declared to be.
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
