//! Span status, with OpenTelemetry's rules: once OK it stays OK, and only ERROR keeps a description.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanStatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl SpanStatusCode {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatusCode::Unset => "UNSET",
            SpanStatusCode::Ok => "OK",
            SpanStatusCode::Error => "ERROR",
        }
    }
    /// `STATUS_CODE_UNSET` / `STATUS_CODE_OK` / `STATUS_CODE_ERROR`.
    pub fn as_otel_name(self) -> &'static str {
        match self {
            SpanStatusCode::Unset => "STATUS_CODE_UNSET",
            SpanStatusCode::Ok => "STATUS_CODE_OK",
            SpanStatusCode::Error => "STATUS_CODE_ERROR",
        }
    }
    /// Reads either form (`OK` or `STATUS_CODE_OK`); anything else is UNSET as MLflow does.
    pub fn parse_lenient(s: &str) -> SpanStatusCode {
        match s.strip_prefix("STATUS_CODE_").unwrap_or(s) {
            "OK" => SpanStatusCode::Ok,
            "ERROR" => SpanStatusCode::Error,
            _ => SpanStatusCode::Unset,
        }
    }
    /// OTLP proto numeric code.
    pub fn to_proto(self) -> i32 {
        match self {
            SpanStatusCode::Unset => 0,
            SpanStatusCode::Ok => 1,
            SpanStatusCode::Error => 2,
        }
    }
    pub fn from_proto(code: i32) -> SpanStatusCode {
        match code {
            1 => SpanStatusCode::Ok,
            2 => SpanStatusCode::Error,
            _ => SpanStatusCode::Unset,
        }
    }
}

impl FromStr for SpanStatusCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().strip_prefix("STATUS_CODE_").unwrap_or(&s.to_ascii_uppercase()) {
            "OK" => Ok(SpanStatusCode::Ok),
            "ERROR" => Ok(SpanStatusCode::Error),
            "UNSET" => Ok(SpanStatusCode::Unset),
            other => Err(format!("invalid status code {other:?}: expected OK, ERROR or UNSET")),
        }
    }
}

impl fmt::Display for SpanStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span's status: a code and, for ERROR, a description.
///
/// ```
/// use clew_model::{SpanStatus, SpanStatusCode};
/// let s = SpanStatus::error("Failed to connect to database");
/// assert_eq!(s.status_code, SpanStatusCode::Error);
/// assert_eq!(SpanStatus::from("OK").status_code, SpanStatusCode::Ok);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SpanStatus {
    pub status_code: SpanStatusCode,
    pub description: String,
}

impl SpanStatus {
    pub fn new(status_code: SpanStatusCode, description: impl Into<String>) -> Self {
        SpanStatus { status_code, description: description.into() }
    }
    pub fn ok() -> Self {
        SpanStatus::new(SpanStatusCode::Ok, "")
    }
    pub fn unset() -> Self {
        SpanStatus::default()
    }
    pub fn error(description: impl Into<String>) -> Self {
        SpanStatus::new(SpanStatusCode::Error, description)
    }
}

impl From<SpanStatusCode> for SpanStatus {
    fn from(code: SpanStatusCode) -> Self {
        SpanStatus::new(code, "")
    }
}

/// `"OK"`, `"ERROR"`, `"UNSET"` (any case); anything else reads as UNSET.
impl From<&str> for SpanStatus {
    fn from(s: &str) -> Self {
        SpanStatus::from(s.parse::<SpanStatusCode>().unwrap_or(SpanStatusCode::Unset))
    }
}
