//! Successful REST answers: 200 with a compact proto-JSON body in one buffer (the response
//! goes out as a single write; see `serve`'s TCP_NODELAY note).

use crate::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// What every REST handler returns.
pub type Reply = Result<Response, ApiError>;

/// 200 with `value` as JSON.
pub fn ok_json(value: Value) -> Reply {
    let body = serde_json::to_vec(&value).map_err(|e| ApiError::internal(format!("could not encode the response: {e}")))?;
    Ok(json_bytes(body))
}

/// 200 with already-encoded JSON text.
pub fn json_bytes(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// 200 `{}`.
pub fn empty() -> Reply {
    Ok(json_bytes(b"{}".to_vec()))
}
