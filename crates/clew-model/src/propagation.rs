//! W3C Trace Context `traceparent` headers, for distributed tracing across processes
//! (MLflow's `get_tracing_context_headers_for_http_request` /
//! `set_tracing_context_from_http_request_headers`).
//!
//! The header is `<version>-<trace id>-<parent span id>-<flags>`, all lowercase hex:
//! `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`.

use crate::{ModelError, SpanId, TraceId};

/// The header name (HTTP header names are case-insensitive).
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Flag bit 0: the caller may have recorded (sampled) the trace.
pub const FLAG_SAMPLED: u8 = 0x01;
/// Flag bit 1 (W3C Trace Context level 2): the trace id is random. OpenTelemetry Python sets
/// it, so MLflow sends `-03` for sampled spans.
pub const FLAG_RANDOM_TRACE_ID: u8 = 0x02;
/// Longer headers are ignored, as OpenTelemetry's propagator does.
pub const MAX_TRACEPARENT_LEN: usize = 512;

const VERSION_00_LEN: usize = 55;

/// The parent context a `traceparent` header carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemoteContext {
    pub version: u8,
    pub trace_id: TraceId,
    /// The caller's span: the parent of spans started under this context.
    pub parent_span_id: SpanId,
    pub flags: u8,
}

impl RemoteContext {
    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }
    /// The header for this context (always written as version `00`).
    pub fn to_traceparent(&self) -> String {
        format_traceparent_with_flags(self.trace_id, self.parent_span_id, self.flags)
    }
}

/// The `traceparent` value MLflow writes for a span: version `00` and flags `03` when
/// sampled (sampled + random trace id, as OpenTelemetry Python sets them; clew's trace ids are
/// random too), `02` when not.
///
/// ```
/// use clew_model::{SpanId, TraceId};
/// use clew_model::propagation::format_traceparent;
/// let tp = format_traceparent(
///     TraceId::from_u128(0x2469f51a3b992b2e895b79eedcecd38f),
///     SpanId::from_u64(0xf862f06239f5c1e8),
///     true,
/// );
/// assert_eq!(tp, "00-2469f51a3b992b2e895b79eedcecd38f-f862f06239f5c1e8-03");
/// ```
pub fn format_traceparent(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    let flags = FLAG_RANDOM_TRACE_ID | if sampled { FLAG_SAMPLED } else { 0 };
    format_traceparent_with_flags(trace_id, span_id, flags)
}

/// A version-`00` `traceparent` with the given flags byte.
///
/// ```
/// use clew_model::{SpanId, TraceId};
/// use clew_model::propagation::format_traceparent_with_flags;
/// let tp = format_traceparent_with_flags(TraceId::from_u128(1), SpanId::from_u64(2), 0x01);
/// assert_eq!(tp, "00-00000000000000000000000000000001-0000000000000002-01");
/// ```
pub fn format_traceparent_with_flags(trace_id: TraceId, span_id: SpanId, flags: u8) -> String {
    format!(
        "00-{}-{}-{:02x}",
        trace_id.to_hex(),
        span_id.to_hex(),
        flags
    )
}

/// Parses a `traceparent` value per W3C Trace Context (as OpenTelemetry's propagator does):
/// spaces and tabs around it are ignored; ids and flags are lowercase hex; all-zero ids and
/// version `ff` are invalid; version `00` must be exactly 55 characters; a later version may
/// carry more fields after a `-`, which are ignored.
///
/// ```
/// use clew_model::propagation::parse_traceparent;
/// let ctx = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
/// assert!(ctx.sampled());
/// assert_eq!(ctx.parent_span_id.to_hex(), "b7ad6b7169203331");
/// assert!(parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01").is_err());
/// assert!(parse_traceparent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds").is_ok());
/// ```
pub fn parse_traceparent(value: &str) -> Result<RemoteContext, ModelError> {
    let invalid = |reason: String| ModelError::InvalidValue {
        field: "traceparent",
        reason,
    };
    if value.len() > MAX_TRACEPARENT_LEN {
        return Err(invalid(format!(
            "longer than {MAX_TRACEPARENT_LEN} characters"
        )));
    }
    let trimmed = value.trim_matches(|c| c == ' ' || c == '\t');
    let bytes = trimmed.as_bytes();
    if bytes.len() < VERSION_00_LEN {
        return Err(invalid(format!(
            "expected `<2 hex version>-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, got {value:?}"
        )));
    }
    let version = lower_hex_u8(&trimmed[0..2]).ok_or_else(|| {
        invalid(format!(
            "version is not 2 lowercase hex digits in {value:?}"
        ))
    })?;
    if version == 0xff {
        return Err(invalid("version ff is invalid".into()));
    }
    if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return Err(invalid(format!(
            "fields must be separated by `-` in {value:?}"
        )));
    }
    let trace_hex = &trimmed[3..35];
    let span_hex = &trimmed[36..52];
    if !is_lower_hex(trace_hex) {
        return Err(invalid(format!(
            "trace id is not 32 lowercase hex digits in {value:?}"
        )));
    }
    if !is_lower_hex(span_hex) {
        return Err(invalid(format!(
            "parent id is not 16 lowercase hex digits in {value:?}"
        )));
    }
    let flags = lower_hex_u8(&trimmed[53..55])
        .ok_or_else(|| invalid(format!("flags are not 2 lowercase hex digits in {value:?}")))?;
    if bytes.len() > VERSION_00_LEN && (version == 0 || bytes[VERSION_00_LEN] != b'-') {
        return Err(invalid(format!(
            "unexpected characters after the flags in {value:?}"
        )));
    }
    let trace_id = TraceId::from_hex(trace_hex)?;
    let parent_span_id = SpanId::from_hex(span_hex)?;
    if trace_id.as_u128() == 0 {
        return Err(invalid("trace id is all zeros".into()));
    }
    if parent_span_id.as_u64() == 0 {
        return Err(invalid("parent id is all zeros".into()));
    }
    Ok(RemoteContext {
        version,
        trace_id,
        parent_span_id,
        flags,
    })
}

/// Finds and parses the `traceparent` header among HTTP headers, matching the name in any
/// case (MLflow accepts `traceparent` and `Traceparent`). The first one found is used. A
/// missing header is [`ModelError::MissingField`], as MLflow raises then.
///
/// ```
/// use clew_model::propagation::extract_from_headers;
/// let headers = [("Content-Type", "application/json"),
///                ("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
/// let ctx = extract_from_headers(headers).unwrap();
/// assert_eq!(ctx.trace_id.to_mlflow(), "tr-0af7651916cd43dd8448eb211c80319c");
/// assert!(extract_from_headers([("x", "y")]).is_err());
/// ```
pub fn extract_from_headers<I, K, V>(headers: I) -> Result<RemoteContext, ModelError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    for (name, value) in headers {
        if name.as_ref().eq_ignore_ascii_case(TRACEPARENT_HEADER) {
            return parse_traceparent(value.as_ref());
        }
    }
    Err(ModelError::MissingField(TRACEPARENT_HEADER))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn lower_hex_u8(s: &str) -> Option<u8> {
    if s.len() != 2 || !is_lower_hex(s) {
        return None;
    }
    u8::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(parse_traceparent(tp).unwrap().to_traceparent(), tp);
    }

    #[test]
    fn non_ascii_input_is_rejected_without_panicking() {
        assert!(
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319é-b7ad6b7169203331-01").is_err()
        );
        assert!(parse_traceparent(&"é".repeat(30)).is_err());
    }
}
