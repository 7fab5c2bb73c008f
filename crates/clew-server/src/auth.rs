//! Optional authentication, accepted as the mlflow client sends it: `MLFLOW_TRACKING_TOKEN`
//! becomes `Authorization: Bearer <token>`, `MLFLOW_TRACKING_USERNAME`/`PASSWORD` become
//! `Authorization: Basic base64(user:password)`. Anything else is a 401 JSON
//! `UNAUTHENTICATED`. `/health` stays open (load balancers probe it without credentials),
//! and so do CORS preflights (browsers send them without credentials; the CORS layer answers
//! them before this check).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// What the server accepts, from its config.
#[derive(Clone, Debug, Default)]
pub struct AuthPolicy {
    bearer_token: Option<String>,
    basic: Option<(String, String)>,
}

impl AuthPolicy {
    pub fn new(bearer_token: Option<String>, basic: Option<(String, String)>) -> Self {
        AuthPolicy { bearer_token: bearer_token.filter(|t| !t.is_empty()), basic }
    }

    pub fn is_enabled(&self) -> bool {
        self.bearer_token.is_some() || self.basic.is_some()
    }

    /// Whether the `Authorization` header value carries accepted credentials.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        if !self.is_enabled() {
            return true;
        }
        let Some(value) = authorization else { return false };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else { return false };
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.bearer_token.as_deref().is_some_and(|token| constant_time_eq(token.as_bytes(), credentials.as_bytes()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Some((user, password)) = &self.basic else { return false };
            let Ok(decoded) = STANDARD.decode(credentials) else { return false };
            let expected = format!("{user}:{password}");
            return constant_time_eq(expected.as_bytes(), &decoded);
        }
        false
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths answered without credentials.
fn is_open_path(path: &str) -> bool {
    path == "/health"
}

/// The auth middleware.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let policy = &state.auth;
    if !policy.is_enabled() || is_open_path(request.uri().path()) || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if policy.accepts(authorization) {
        return next.run(request).await;
    }
    state.metrics.record_rejected("unauthenticated");
    let message = if authorization.is_some() {
        "The credentials in the Authorization header are not valid for this server"
    } else {
        "This server requires authentication: send Authorization: Bearer <token> (MLFLOW_TRACKING_TOKEN) \
         or Basic credentials (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)"
    };
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message).into_response();
    let challenge = if policy.basic.is_some() { "Basic realm=\"clew\"" } else { "Bearer" };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_as_the_mlflow_client_sends_them() {
        let policy = AuthPolicy::new(Some("s3cret".into()), Some(("alice".into(), "pw:with:colons".into())));
        assert!(policy.accepts(Some("Bearer s3cret")));
        assert!(policy.accepts(Some("bearer s3cret")));
        assert!(!policy.accepts(Some("Bearer wrong")));
        let basic = format!("Basic {}", STANDARD.encode("alice:pw:with:colons"));
        assert!(policy.accepts(Some(&basic)));
        assert!(!policy.accepts(Some(&format!("Basic {}", STANDARD.encode("alice:nope")))));
        assert!(!policy.accepts(Some("Basic !!!")));
        assert!(!policy.accepts(None));
        assert!(!policy.accepts(Some("Token s3cret")));
        assert!(AuthPolicy::default().accepts(None));
    }
}
