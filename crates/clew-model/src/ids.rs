//! Trace and span ids as MLflow makes them: the OTel 128-bit trace id shown as
//! `tr-<32 lowercase hex>`, and 64-bit span ids shown as 16 hex chars.

use crate::ModelError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::fmt;

/// The prefix MLflow puts before the 32-hex OTel trace id.
pub const TRACE_ID_PREFIX: &str = "tr-";

/// A 128-bit OpenTelemetry trace id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(u128);

impl TraceId {
    pub const fn from_u128(v: u128) -> Self {
        TraceId(v)
    }
    pub const fn as_u128(self) -> u128 {
        self.0
    }
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let arr: [u8; 16] = b.try_into().map_err(|_| ModelError::InvalidId {
            value: hex::encode(b),
            reason: "a trace id has 16 bytes",
        })?;
        Ok(TraceId(u128::from_be_bytes(arr)))
    }
    /// 32 lowercase hex chars.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, ModelError> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ModelError::InvalidId { value: s.to_string(), reason: "expected 32 hex chars" });
        }
        u128::from_str_radix(s, 16)
            .map(TraceId)
            .map_err(|_| ModelError::InvalidId { value: s.to_string(), reason: "expected 32 hex chars" })
    }
    /// MLflow's trace id: `tr-<32 hex>`.
    pub fn to_mlflow(self) -> String {
        format!("{TRACE_ID_PREFIX}{:032x}", self.0)
    }
    /// Parses `tr-<32 hex>` (or bare 32 hex).
    pub fn from_mlflow(s: &str) -> Result<Self, ModelError> {
        Self::from_hex(s.strip_prefix(TRACE_ID_PREFIX).unwrap_or(s))
    }
    pub fn to_base64(self) -> String {
        B64.encode(self.to_bytes())
    }
    pub fn from_base64(s: &str) -> Result<Self, ModelError> {
        let bytes = decode_b64(s).ok_or_else(|| ModelError::InvalidId {
            value: s.to_string(),
            reason: "not valid base64",
        })?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({:032x})", self.0)
    }
}
impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{TRACE_ID_PREFIX}{:032x}", self.0)
    }
}

/// A 64-bit OpenTelemetry span id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(u64);

impl SpanId {
    pub const fn from_u64(v: u64) -> Self {
        SpanId(v)
    }
    pub const fn as_u64(self) -> u64 {
        self.0
    }
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let arr: [u8; 8] = b.try_into().map_err(|_| ModelError::InvalidId {
            value: hex::encode(b),
            reason: "a span id has 8 bytes",
        })?;
        Ok(SpanId(u64::from_be_bytes(arr)))
    }
    /// 16 lowercase hex chars.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, ModelError> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ModelError::InvalidId { value: s.to_string(), reason: "expected 16 hex chars" });
        }
        u64::from_str_radix(s, 16)
            .map(SpanId)
            .map_err(|_| ModelError::InvalidId { value: s.to_string(), reason: "expected 16 hex chars" })
    }
    pub fn to_base64(self) -> String {
        B64.encode(self.to_bytes())
    }
    pub fn from_base64(s: &str) -> Result<Self, ModelError> {
        let bytes = decode_b64(s).ok_or_else(|| ModelError::InvalidId {
            value: s.to_string(),
            reason: "not valid base64",
        })?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({:016x})", self.0)
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    B64.decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_forms_round_trip() {
        let id = TraceId::from_mlflow("tr-0af7651916cd43dd8448eb211c80319c").unwrap();
        assert_eq!(id.to_base64(), "CvdlGRbNQ92ESOshHIAxnA==");
        assert_eq!(TraceId::from_base64("CvdlGRbNQ92ESOshHIAxnA==").unwrap(), id);
        assert_eq!(id.to_mlflow(), "tr-0af7651916cd43dd8448eb211c80319c");
    }

    #[test]
    fn span_id_forms_round_trip() {
        let id = SpanId::from_u64(1);
        assert_eq!(id.to_base64(), "AAAAAAAAAAE=");
        assert_eq!(SpanId::from_hex("0000000000000001").unwrap(), id);
        assert!(SpanId::from_hex("xyz").is_err());
        assert!(TraceId::from_hex("00").is_err());
    }
}
