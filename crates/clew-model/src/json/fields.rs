//! Reading fields out of untyped JSON with errors that name the field. Shared by every form.

use crate::ids::decode_b64;
use crate::{ModelError, SpanId, TraceId};
use serde_json::{Map, Value};

/// Parses JSON text with serde_json, falling back to Python's grammar (`NaN`, `Infinity`),
/// which MLflow writes for non-finite floats in event attributes.
pub(crate) fn parse_json_text(text: &str, what: &'static str) -> Result<Value, ModelError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(serde_error) => crate::pyjson::loads(text)
            .map(|v| v.to_value())
            .map_err(|_| ModelError::InvalidJson {
                what,
                reason: serde_error.to_string(),
            }),
    }
}

/// The object a form is built from, or an error naming `what`.
pub(crate) fn as_object<'a>(
    v: &'a Value,
    what: &'static str,
) -> Result<&'a Map<String, Value>, ModelError> {
    v.as_object().ok_or_else(|| ModelError::InvalidValue {
        field: what,
        reason: format!("expected a JSON object, got {}", kind(v)),
    })
}

/// A required field (present and not null).
pub(crate) fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a Value, ModelError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(ModelError::MissingField(field)),
        Some(v) => Ok(v),
    }
}

/// An optional field: absent and `null` both read as `None`.
pub(crate) fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(crate) fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, ModelError> {
    let v = required(obj, key, field)?;
    v.as_str()
        .ok_or_else(|| invalid(field, format!("expected a string, got {}", kind(v))))
}

pub(crate) fn optional_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a str>, ModelError> {
    match optional(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| invalid(field, format!("expected a string, got {}", kind(v)))),
    }
}

/// An integer given as a JSON number or a numeric string (protobuf JSON writes int64 as a
/// string; MLflow writes a number). Integral floats are accepted, as Python's `int()` does.
pub(crate) fn int_value(v: &Value, field: &'static str) -> Result<i64, ModelError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            if let Some(u) = n.as_u64() {
                return i64::try_from(u)
                    .map_err(|_| invalid(field, format!("{u} does not fit in int64")));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
                _ => Err(invalid(field, format!("expected an integer, got {n}"))),
            }
        }
        Value::String(s) => s.trim().parse::<i64>().or_else(|_| {
            s.trim()
                .parse::<u64>()
                .ok()
                .and_then(|u| i64::try_from(u).ok())
                .ok_or_else(|| invalid(field, format!("expected an integer, got {s:?}")))
        }),
        other => Err(invalid(
            field,
            format!("expected an integer, got {}", kind(other)),
        )),
    }
}

/// A JSON array (absent or `null` reads as empty).
pub(crate) fn optional_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a [Value], ModelError> {
    match optional(obj, key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(invalid(
            field,
            format!("expected an array, got {}", kind(v)),
        )),
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidValue {
        field,
        reason: reason.into(),
    }
}

/// A short name of a JSON value's type for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Hex as Python's `int(s, 16)` reads it: optional `0x`, any length up to the id width.
pub(crate) fn lenient_hex(s: &str, max_hex_digits: usize) -> Option<u128> {
    let digits = s.trim();
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .unwrap_or(digits);
    let digits = digits.trim_start_matches('0');
    if digits.len() > max_hex_digits || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    u128::from_str_radix(digits, 16).ok()
}

/// A trace id in hex: `tr-<hex>`, `trace:/<location>/<hex>` (v4) or bare hex.
pub(crate) fn trace_id_from_hex_forms(s: &str, field: &'static str) -> Result<TraceId, ModelError> {
    let hex_part = match s.strip_prefix("trace:/") {
        Some(rest) => rest.rsplit('/').next().unwrap_or(rest),
        None => s,
    };
    let hex_part = hex_part
        .strip_prefix(crate::ids::TRACE_ID_PREFIX)
        .unwrap_or(hex_part);
    lenient_hex(hex_part, 32)
        .map(TraceId::from_u128)
        .ok_or_else(|| invalid(field, format!("{s:?} is not a hex trace id")))
}

/// A span id in hex (16 digits, or fewer as Python's `int(s, 16)` allows).
pub(crate) fn span_id_from_hex(s: &str, field: &'static str) -> Result<SpanId, ModelError> {
    lenient_hex(s, 16)
        .and_then(|v| u64::try_from(v).ok())
        .map(SpanId::from_u64)
        .ok_or_else(|| invalid(field, format!("{s:?} is not a hex span id")))
}

/// Decodes base64 (standard or URL-safe, padded or not) into an id of exactly `width` bytes.
pub(crate) fn id_bytes_from_base64(
    s: &str,
    width: usize,
    field: &'static str,
) -> Result<Vec<u8>, ModelError> {
    let bytes = decode_b64(s).ok_or_else(|| invalid(field, format!("{s:?} is not base64")))?;
    if bytes.len() != width {
        return Err(invalid(
            field,
            format!("{s:?} decodes to {} bytes, expected {width}", bytes.len()),
        ));
    }
    Ok(bytes)
}

pub(crate) fn trace_id_from_base64(s: &str, field: &'static str) -> Result<TraceId, ModelError> {
    TraceId::from_bytes(&id_bytes_from_base64(s, 16, field)?)
}

pub(crate) fn span_id_from_base64(s: &str, field: &'static str) -> Result<SpanId, ModelError> {
    SpanId::from_bytes(&id_bytes_from_base64(s, 8, field)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_accept_numbers_and_numeric_strings() {
        assert_eq!(int_value(&json!(5), "f").unwrap(), 5);
        assert_eq!(
            int_value(&json!("1795238771687890236"), "f").unwrap(),
            1795238771687890236
        );
        assert_eq!(int_value(&json!(3.0), "f").unwrap(), 3);
        let err = int_value(&json!("x"), "span.start_time_unix_nano").unwrap_err();
        assert!(
            err.to_string().contains("span.start_time_unix_nano"),
            "{err}"
        );
        assert!(int_value(&json!(1.5), "f").is_err());
        assert!(int_value(&json!(u64::MAX), "f").is_err());
    }

    #[test]
    fn hex_ids_read_like_python_int_base_16() {
        assert_eq!(span_id_from_hex("0x1", "f").unwrap(), SpanId::from_u64(1));
        assert_eq!(
            trace_id_from_hex_forms("tr-0af7651916cd43dd8448eb211c80319c", "f")
                .unwrap()
                .to_hex(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(
            trace_id_from_hex_forms("trace:/cat.sch/0af7651916cd43dd8448eb211c80319c", "f")
                .unwrap()
                .to_hex(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert!(span_id_from_hex("00000000000000001", "f").is_ok()); // leading zeros are fine
        assert!(span_id_from_hex("10000000000000000", "f").is_err());
        assert!(span_id_from_hex("zz", "f").is_err());
    }

    #[test]
    fn base64_ids_accept_url_safe_and_unpadded() {
        let id = trace_id_from_base64("CvdlGRbNQ92ESOshHIAxnA==", "f").unwrap();
        assert_eq!(
            trace_id_from_base64("CvdlGRbNQ92ESOshHIAxnA", "f").unwrap(),
            id
        );
        assert_eq!(
            span_id_from_base64("FJKl_cCDw0E=", "f").unwrap(),
            span_id_from_base64("FJKl/cCDw0E=", "f").unwrap()
        );
        assert!(span_id_from_base64("CvdlGRbNQ92ESOshHIAxnA==", "f").is_err());
    }
}
