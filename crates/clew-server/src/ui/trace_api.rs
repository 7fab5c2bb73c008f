//! The trace view's JSON API under `/ajax-api/clew/traces/{trace_id}/`: the compact skeleton of
//! a trace's span tree and span payloads on demand, so a 100,000-span trace opens fast.
//!
//! | endpoint | answer |
//! | --- | --- |
//! | `GET skeleton` | `{"trace_info": TraceInfoV3, "skeleton": {...}}`, the tree without payloads |
//! | `GET\|POST spans?ids=a,b` | `{"spans": [span dict, ...]}` in request order, at most [`MAX_SPANS_PER_CALL`] |
//! | `GET search?q=text` | `{"span_ids": [...], "truncated": bool}`: spans whose name, attributes (inputs, outputs, ...) or events contain the text, case-insensitively |
//!
//! The skeleton is columnar, so 100,000 spans cost about 45 bytes each before compression
//! (no per-span keys, names and types dictionary-encoded):
//!
//! ```json
//! {"count": 3, "start_ns": "1795238771687000000", "ids": "<16 hex digits per span, concatenated>",
//!  "parents": [-1, 0, 0], "names": [0, 1, 1], "name_table": ["agent", "tool"],
//!  "types": [0, 1, 1], "type_table": ["AGENT", "TOOL"], "status": "OOE",
//!  "start_us": [0, 120, 900], "duration_us": [1500, 700, -1]}
//! ```
//!
//! Spans come root first, then by start time (the store's order). `parents` are indexes into
//! the same arrays (-1 for a root or for a span whose parent is not stored); `status` has one
//! letter per span (`O`k, `E`rror, `U`nset); times are microseconds from `start_ns` (the
//! earliest span start, a string because nanoseconds since the epoch exceed what a JavaScript
//! number holds exactly); `duration_us` is -1 for a span that has not ended; a span without a
//! type has type `""`.
//!
//! Span bodies are MLflow's span dict (`Span.to_dict()`, spec §3.1: base64 ids, attribute
//! values as JSON text) — the form of `traces.json` — rather than GetTrace's OTLP proto-JSON,
//! whose typed `AnyValue` trees are several times larger and costlier to read in the browser.
//!
//! Answers over 1 KiB are gzip-compressed when the client accepts it (a skeleton shrinks
//! about 3×); errors are MLflow's JSON errors (`RESOURCE_DOES_NOT_EXIST` for an unknown
//! trace, `INVALID_PARAMETER_VALUE` naming the bad field).

use crate::error::ApiError;
use crate::rest::params::Params;
use crate::rest::traces::trace_not_found;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clew_model::json::rest::trace_info_to_proto_value;
use clew_model::json::span_dict::span_to_dict;
use clew_model::SpanId;
use clew_store::SpanSkeleton;
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

/// Most spans one `spans` call returns: the view asks for the selected span and its
/// neighbours, so a bound keeps one request from decoding a whole giant trace.
pub const MAX_SPANS_PER_CALL: usize = 200;
/// Most span ids one `search` answer lists (`truncated` says when more matched).
pub const MAX_SEARCH_MATCHES: usize = 10_000;
/// Longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 1_000;
/// Answers smaller than this go out uncompressed (gzip would not pay for its header).
const COMPRESS_MIN_BYTES: usize = 1024;

/// The trace view's endpoints.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ajax-api/clew/traces/{trace_id}/skeleton", get(skeleton))
        .route("/ajax-api/clew/traces/{trace_id}/spans", get(spans).post(spans))
        .route("/ajax-api/clew/traces/{trace_id}/search", get(search))
}

/// `GET /ajax-api/clew/traces/{trace_id}/skeleton`.
async fn skeleton(State(state): State<AppState>, Path(trace_id): Path<String>, headers: HeaderMap) -> Response {
    let answer = async {
        let (info, spans) = state
            .store
            .get_trace_skeleton(&trace_id)
            .await?
            .ok_or_else(|| trace_not_found(&trace_id))?;
        let info = serde_json::to_string(&trace_info_to_proto_value(&info))
            .map_err(|e| ApiError::internal(format!("could not encode the trace info: {e}")))?;
        let mut body = String::with_capacity(info.len() + spans.len() * 48 + 256);
        body.push_str("{\"trace_info\":");
        body.push_str(&info);
        body.push_str(",\"skeleton\":");
        write_skeleton(&mut body, &spans);
        body.push('}');
        Ok::<_, ApiError>(body.into_bytes())
    }
    .await;
    respond(answer, &headers)
}

/// `GET|POST /ajax-api/clew/traces/{trace_id}/spans`: ids as `ids=a,b,c` (or repeated `ids`,
/// or `span_ids`), or a JSON body `{"ids": [...]}`.
async fn spans(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let answer = async {
        let ids = requested_span_ids(&params)?;
        // get_spans answers an empty list for an unknown trace; the view needs to tell the two apart.
        if state.store.get_trace_info(&trace_id).await?.is_none() {
            return Err(trace_not_found(&trace_id));
        }
        let spans = state.store.get_spans(&trace_id, &ids).await?;
        let body = json!({"spans": spans.iter().map(span_to_dict).collect::<Vec<_>>()});
        serde_json::to_vec(&body).map_err(|e| ApiError::internal(format!("could not encode the spans: {e}")))
    }
    .await;
    respond(answer, &headers)
}

/// The span ids of a `spans` request, each checked to be 16 hex digits, at most
/// [`MAX_SPANS_PER_CALL`], duplicates dropped.
fn requested_span_ids(params: &Params) -> Result<Vec<String>, ApiError> {
    let field = if params.has("span_ids") { "span_ids" } else { "ids" };
    let raw = params.string_list(field)?;
    let mut ids: Vec<String> = Vec::new();
    for id in raw
        .iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if SpanId::from_hex(id).is_err() {
            return Err(ApiError::invalid(format!(
                "Invalid value for parameter '{field}': '{}' is not a span id (16 hex digits)",
                id.chars().take(40).collect::<String>()
            )));
        }
        let id = id.to_ascii_lowercase();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::invalid(format!(
            "Missing value for required parameter '{field}' (comma-separated span ids)"
        )));
    }
    if ids.len() > MAX_SPANS_PER_CALL {
        return Err(ApiError::invalid(format!(
            "Invalid value for parameter '{field}': {} span ids given, at most {MAX_SPANS_PER_CALL} are allowed per call",
            ids.len()
        )));
    }
    Ok(ids)
}

/// `GET /ajax-api/clew/traces/{trace_id}/search?q=text`: the store's within-trace search
/// ([`clew_store::span_text::SpanTextQuery`] has the matching rule).
async fn search(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let answer = async {
        let query = params.string("q")?.unwrap_or_default();
        let query = query.trim();
        if query.is_empty() {
            return Err(ApiError::invalid(
                "Missing value for required parameter 'q' (the text to find)",
            ));
        }
        if query.chars().count() > MAX_SEARCH_CHARS {
            return Err(ApiError::invalid(format!(
                "Invalid value for parameter 'q': longer than {MAX_SEARCH_CHARS} characters"
            )));
        }
        // One more than the cap tells whether the answer is cut short.
        let mut matches = state
            .store
            .search_span_ids_in_trace(&trace_id, query, MAX_SEARCH_MATCHES + 1)
            .await?
            .ok_or_else(|| trace_not_found(&trace_id))?;
        let truncated = matches.len() > MAX_SEARCH_MATCHES;
        matches.truncate(MAX_SEARCH_MATCHES);
        serde_json::to_vec(&json!({"span_ids": matches, "truncated": truncated}))
            .map_err(|e| ApiError::internal(format!("could not encode the answer: {e}")))
    }
    .await;
    respond(answer, &headers)
}

/// Appends the columnar skeleton object (see the module docs) to `out`. One pass per column,
/// integers written by hand: at 100,000 spans this runs in a few milliseconds.
fn write_skeleton(out: &mut String, spans: &[SpanSkeleton]) {
    let mut index: HashMap<&str, i64, BuildIdHasher> = HashMap::with_capacity_and_hasher(spans.len(), BuildIdHasher);
    for (i, span) in spans.iter().enumerate() {
        index.insert(span.span_id.as_str(), i as i64);
    }
    let start_ns = spans.iter().map(|s| s.start_time_ns).min().unwrap_or(0);
    let _ = write!(
        out,
        "{{\"count\":{},\"start_ns\":\"{start_ns}\",\"ids\":\"",
        spans.len()
    );
    for span in spans {
        out.push_str(&span.span_id);
    }
    out.push_str("\",\"parents\":[");
    push_list(
        out,
        spans
            .iter()
            .map(|s| s.parent_id.as_deref().and_then(|p| index.get(p).copied()).unwrap_or(-1)),
    );
    out.push_str("],\"names\":[");
    let (names, name_table) = dictionary(spans.iter().map(|s| s.name.as_str()));
    push_list(out, names.into_iter());
    out.push_str("],\"name_table\":");
    out.push_str(&serde_json::to_string(&name_table).unwrap_or_else(|_| "[]".into()));
    out.push_str(",\"types\":[");
    let (types, type_table) = dictionary(spans.iter().map(|s| s.span_type.as_deref().unwrap_or("")));
    push_list(out, types.into_iter());
    out.push_str("],\"type_table\":");
    out.push_str(&serde_json::to_string(&type_table).unwrap_or_else(|_| "[]".into()));
    out.push_str(",\"status\":\"");
    for span in spans {
        out.push(match span.status_code.as_str() {
            "OK" => 'O',
            "ERROR" => 'E',
            _ => 'U',
        });
    }
    out.push_str("\",\"start_us\":[");
    push_list(out, spans.iter().map(|s| (s.start_time_ns - start_ns) / 1_000));
    out.push_str("],\"duration_us\":[");
    push_list(
        out,
        spans.iter().map(|s| match s.end_time_ns {
            // Rounded up, so a 300 ns span is not drawn as taking no time at all.
            Some(end) if end >= s.start_time_ns => (end - s.start_time_ns + 999) / 1_000,
            Some(_) => 0,
            None => -1,
        }),
    );
    out.push_str("]}");
}

/// Dictionary-encodes `values`: each value's index into the table of distinct values (in
/// first-seen order). A giant trace has few distinct names, so the last hit is tried first.
fn dictionary<'a>(values: impl Iterator<Item = &'a str>) -> (Vec<i64>, Vec<&'a str>) {
    let mut table: Vec<&str> = Vec::new();
    let mut lookup: HashMap<&str, i64> = HashMap::new();
    let mut last: Option<(&str, i64)> = None;
    let codes = values
        .map(|value| {
            if let Some((text, code)) = last {
                if text == value {
                    return code;
                }
            }
            let code = *lookup.entry(value).or_insert_with(|| {
                table.push(value);
                table.len() as i64 - 1
            });
            last = Some((value, code));
            code
        })
        .collect();
    (codes, table)
}

fn push_list(out: &mut String, values: impl Iterator<Item = i64>) {
    let mut first = true;
    for value in values {
        if !first {
            out.push(',');
        }
        first = false;
        push_int(out, value);
    }
}

/// Appends the decimal form of `value` (`itoa`: no formatting machinery, one call per id).
fn push_int(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Hashes span ids (16 hex digits) for the parent lookup: the ids are random already, so a
/// multiply-fold beats SipHash (which took a tenth of a 100,000-span skeleton's time). Not
/// for keys an attacker picks to collide: here they only cost the lookup of one trace.
#[derive(Clone, Copy, Default)]
struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        // A final mix (MurmurHash3's): the table indexes by the low bits, which the multiply
        // alone leaves depending only on the ids' leading digits (sequential ids collide).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A JSON answer (gzip-compressed when the client accepts it and it is worth it) or the
/// MLflow JSON error.
fn respond(answer: Result<Vec<u8>, ApiError>, request_headers: &HeaderMap) -> Response {
    let body = match answer {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let accepts_gzip = request_headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            // `gzip;q=0` is a refusal.
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        });
    let mut headers = vec![
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    let body = if accepts_gzip && body.len() >= COMPRESS_MIN_BYTES {
        match gzip(&body) {
            Some(compressed) => {
                headers.push((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
                compressed
            }
            None => body,
        }
    } else {
        body
    };
    let mut response = (StatusCode::OK, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Fast gzip: the skeleton of a giant trace is megabytes, and level 1 gets most of the gain
/// (ids and small integers) in a fraction of the time of the default level.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::fast());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_as_decimal() {
        for value in [0, 7, -1, 10, 99, 1_000_000, -1_234_567, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_int(&mut out, value);
            assert_eq!(out, value.to_string());
        }
    }

    #[test]
    fn sequential_ids_spread_over_the_hash_table() {
        use std::hash::BuildHasher;
        let ids: Vec<String> = (0..4096u64).map(|i| format!("{:016x}", 0x1000_0000_0000_0000 | i)).collect();
        let buckets: std::collections::HashSet<u64> =
            ids.iter().map(|id| BuildIdHasher.hash_one(id.as_str()) & 4095).collect();
        assert!(buckets.len() > 2000, "only {} of 4096 buckets used", buckets.len());
    }

    #[test]
    fn dictionary_encodes_in_first_seen_order() {
        let (codes, table) = dictionary(["a", "b", "b", "a", "c", "b"].into_iter());
        assert_eq!(codes, [0, 1, 1, 0, 2, 1]);
        assert_eq!(table, ["a", "b", "c"]);
    }
}
