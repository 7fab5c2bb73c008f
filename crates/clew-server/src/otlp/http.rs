//! OTLP/HTTP: `POST /v1/traces`.
//!
//! - `Content-Type: application/x-protobuf` or `application/json` (OTLP/JSON: camelCase, hex
//!   ids); parameters such as `charset` are ignored; anything else is a 400 naming the type.
//! - `Content-Encoding: gzip | deflate` (zlib-wrapped or raw deflate, as MLflow accepts) or
//!   `identity`. The decompressed size is limited to `max_request_bytes` while decompressing,
//!   so a small zip bomb is a 413, not an allocation.
//! - Success: 200 with an empty `ExportTraceServiceResponse` in the request's encoding (an
//!   empty protobuf body, or `{}`).
//! - Errors follow the OTLP/HTTP spec: the body is a `google.rpc.Status` in the request's
//!   encoding. The JSON form also carries MLflow's `error_code` and `message`, so the mlflow
//!   client reports it as it reports any MLflow error. 429 and 503 carry `Retry-After`, which
//!   OTel SDK exporters honour when they retry.

use super::{ingest_spans, run_blocking, spans_for_storage, Destination, EXPERIMENT_ID_HEADER, RUN_ID_HEADER};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clew_model::json::otlp::export_request_from_protobuf;
use clew_model::json::otlp_json::export_request_from_otlp_json;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::borrow::Cow;
use std::io::Read;

pub const TRACES_PATH: &str = "/v1/traces";

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The two OTLP/HTTP encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` value; parameters and case are ignored.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Encoding, ApiError> {
        let Some(value) = content_type else {
            return Err(ApiError::invalid(format!(
                "missing Content-Type header; OTLP/HTTP expects {PROTOBUF} or {JSON}"
            )));
        };
        let media_type = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match media_type.as_str() {
            PROTOBUF => Ok(Encoding::Protobuf),
            JSON => Ok(Encoding::Json),
            _ => Err(ApiError::invalid(format!(
                "unsupported Content-Type {value:?}; OTLP/HTTP expects {PROTOBUF} or {JSON}"
            ))),
        }
    }
}

/// `POST /v1/traces`.
pub async fn export_traces(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let encoding = match Encoding::from_content_type(content_type.as_deref()) {
        Ok(encoding) => encoding,
        // The encoding is unknown: answer in JSON, which both kinds of clients can read.
        Err(e) => return error_response(e, Encoding::Json),
    };
    match export(&state, &headers, body, encoding).await {
        Ok(()) => success_response(encoding),
        Err(e) => error_response(e, encoding),
    }
}

async fn export(state: &AppState, headers: &HeaderMap, body: Body, encoding: Encoding) -> Result<(), ApiError> {
    let limit = state.config.max_request_bytes;
    let raw = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid(format!("could not read the request body: {e}"))
        }
    })?;
    let content_encoding = headers.get(header::CONTENT_ENCODING).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let spans = run_blocking(move || {
        let body = decompress(&raw, content_encoding.as_deref(), limit)?;
        let request = parse(&body, encoding)?;
        spans_for_storage(request)
    })
    .await?;
    let destination = Destination::from_headers(header_str(headers, EXPERIMENT_ID_HEADER), header_str(headers, RUN_ID_HEADER));
    ingest_spans(state, spans, &destination).await?;
    Ok(())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Parses an export request in the given encoding; a 400 naming the encoding and the problem.
pub fn parse(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, ApiError> {
    match encoding {
        Encoding::Protobuf => export_request_from_protobuf(body)
            .map_err(|e| ApiError::invalid(format!("invalid OTLP protobuf body ({PROTOBUF}): {e}"))),
        Encoding::Json => export_request_from_otlp_json(body)
            .map_err(|e| ApiError::invalid(format!("invalid OTLP/JSON body ({JSON}): {e}"))),
    }
}

/// Undoes `Content-Encoding`, producing at most `limit` bytes (413 past it). An uncompressed
/// body is returned as it is, not copied.
pub fn decompress<'a>(body: &'a [u8], content_encoding: Option<&str>, limit: usize) -> Result<Cow<'a, [u8]>, ApiError> {
    let encoding = content_encoding.map(|e| e.trim().to_ascii_lowercase()).unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => read_limited(MultiGzDecoder::new(body), limit)
            .map(Cow::Owned)
            .map_err(|e| e.into_api_error("gzip", limit)),
        "deflate" => match read_limited(ZlibDecoder::new(body), limit) {
            Ok(bytes) => Ok(Cow::Owned(bytes)),
            Err(Inflate::TooLarge) => Err(ApiError::too_large(limit)),
            // Some clients send a raw DEFLATE stream without the zlib wrapper.
            Err(Inflate::Corrupt(_)) => read_limited(DeflateDecoder::new(body), limit)
                .map(Cow::Owned)
                .map_err(|e| e.into_api_error("deflate", limit)),
        },
        other => Err(ApiError::invalid(format!(
            "unsupported Content-Encoding {other:?}; OTLP/HTTP accepts gzip, deflate or identity"
        ))),
    }
}

enum Inflate {
    TooLarge,
    Corrupt(std::io::Error),
}

impl Inflate {
    fn into_api_error(self, name: &str, limit: usize) -> ApiError {
        match self {
            Inflate::TooLarge => ApiError::too_large(limit),
            Inflate::Corrupt(e) => ApiError::invalid(format!("could not decompress the {name} request body: {e}")),
        }
    }
}

fn read_limited(reader: impl Read, limit: usize) -> Result<Vec<u8>, Inflate> {
    let mut out = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut out).map_err(Inflate::Corrupt)?;
    if out.len() > limit {
        return Err(Inflate::TooLarge);
    }
    Ok(out)
}

fn success_response(encoding: Encoding) -> Response {
    let (content_type, body) = match encoding {
        Encoding::Protobuf => (PROTOBUF, Vec::new()),
        Encoding::Json => (JSON, b"{}".to_vec()),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}

/// `google.rpc.Status` (the OTLP/HTTP error body).
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The gRPC status code closest to an HTTP error status.
pub fn grpc_code_for(status: StatusCode) -> tonic::Code {
    match status.as_u16() {
        400 | 422 => tonic::Code::InvalidArgument,
        401 => tonic::Code::Unauthenticated,
        403 => tonic::Code::PermissionDenied,
        404 => tonic::Code::NotFound,
        409 => tonic::Code::AlreadyExists,
        413 => tonic::Code::OutOfRange,
        429 => tonic::Code::ResourceExhausted,
        501 => tonic::Code::Unimplemented,
        503 => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    }
}

fn error_response(error: ApiError, encoding: Encoding) -> Response {
    let code = grpc_code_for(error.status) as i32;
    let (content_type, body) = match encoding {
        Encoding::Protobuf => (PROTOBUF, RpcStatus { code, message: error.message.clone() }.encode_to_vec()),
        Encoding::Json => {
            let body = serde_json::json!({
                "code": code,
                "message": error.message,
                "error_code": error.error_code,
            });
            (JSON, body.to_string().into_bytes())
        }
    };
    let mut response =
        (error.status, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response();
    // A store that is briefly unavailable is worth retrying too; OTel exporters retry 503.
    let retry_after = error.retry_after.or((error.status == StatusCode::SERVICE_UNAVAILABLE).then_some(1));
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn compress<W: Write>(mut encoder: W, data: &[u8]) -> W {
        encoder.write_all(data).unwrap();
        encoder
    }

    #[test]
    fn content_types_ignore_parameters_and_case() {
        assert_eq!(Encoding::from_content_type(Some("application/json; charset=utf-8")).unwrap(), Encoding::Json);
        assert_eq!(Encoding::from_content_type(Some("Application/X-Protobuf")).unwrap(), Encoding::Protobuf);
        let e = Encoding::from_content_type(Some("text/plain")).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("\"text/plain\""), "{}", e.message);
        assert!(Encoding::from_content_type(None).unwrap_err().message.contains("missing Content-Type"));
    }

    #[test]
    fn every_encoding_decompresses_within_the_limit() {
        let data = b"hello otlp ".repeat(100);
        let gz = compress(GzEncoder::new(Vec::new(), Compression::default()), &data).finish().unwrap();
        let zlib = compress(ZlibEncoder::new(Vec::new(), Compression::default()), &data).finish().unwrap();
        let raw = compress(DeflateEncoder::new(Vec::new(), Compression::default()), &data).finish().unwrap();
        assert_eq!(decompress(&gz, Some("gzip"), 10_000).unwrap(), data);
        assert_eq!(decompress(&zlib, Some("Deflate"), 10_000).unwrap(), data);
        assert_eq!(decompress(&raw, Some("deflate"), 10_000).unwrap(), data);
        assert_eq!(decompress(&data, None, 10_000).unwrap(), data);
        assert_eq!(decompress(&gz, Some("gzip"), data.len()).unwrap(), data);
        assert_eq!(decompress(&gz, Some("gzip"), data.len() - 1).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(decompress(&zlib, Some("deflate"), 10).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(decompress(&raw, Some("deflate"), 10).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = decompress(b"not gzip", Some("gzip"), 100).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("gzip"), "{}", e.message);
        assert!(decompress(&data, Some("br"), 100).unwrap_err().message.contains("\"br\""));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 50 * 1024 * 1024];
        let bomb = compress(GzEncoder::new(Vec::new(), Compression::best()), &zeros).finish().unwrap();
        assert!(bomb.len() < 100 * 1024);
        assert_eq!(decompress(&bomb, Some("gzip"), 1024 * 1024).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
