//! The few Python semantics the translators depend on: `json.loads` with a fallback,
//! truthiness, `int(str)`.

use crate::pyjson::{self, PyValue};
use serde_json::Value;

/// `json.loads(text)`, or `None` when the text is not JSON.
pub(crate) fn loads(text: &str) -> Option<PyValue> {
    pyjson::loads(text).ok()
}

/// MLflow's `try_json_loads`: the decoded value, else the text itself.
pub(crate) fn loads_or_str(text: &str) -> PyValue {
    loads(text).unwrap_or_else(|| PyValue::Str(text.to_string()))
}

/// Python's `bool(value)`.
pub(crate) fn truthy(value: &PyValue) -> bool {
    match value {
        PyValue::Null => false,
        PyValue::Bool(b) => *b,
        PyValue::Int(i) => *i != 0,
        PyValue::Float(f) => *f != 0.0,
        PyValue::Str(s) => !s.is_empty(),
        PyValue::List(items) => !items.is_empty(),
        PyValue::Dict(map) => !map.is_empty(),
    }
}

/// Python's `bool(value)` for a typed (event) attribute value.
pub(crate) fn truthy_value(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// A typed event attribute as Python sees it: a string is decoded when it is JSON
/// (`_decode_json_value` / `try_json_loads`), anything else is taken as is.
pub(crate) fn decode_typed(value: &Value) -> PyValue {
    match value {
        Value::String(s) => loads_or_str(s),
        other => PyValue::from_value(other),
    }
}

/// `json.dumps(value, ensure_ascii=False)`: MLflow's `dump_span_attribute_value`.
pub(crate) fn dump_attribute(value: &PyValue) -> String {
    value.dumps()
}

/// `json.dumps(value)` (ASCII): what translators that call `json.dumps` directly write.
pub(crate) fn dump_ascii(value: &PyValue) -> String {
    value.dumps_with(&pyjson::DumpOptions::PYTHON_ASCII)
}

/// Python's `int(text)` for a string: surrounding whitespace, an optional sign, ASCII
/// digits with single underscores between them (`"1_000"`). Unicode digits, which Python
/// also accepts, are not.
pub(crate) fn python_int(text: &str) -> Option<i128> {
    let s = text.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let mut value: i128 = 0;
    for b in digits.bytes() {
        match b {
            b'_' => continue,
            b'0'..=b'9' => value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?,
            _ => return None,
        }
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_parsing_follows_python() {
        assert_eq!(python_int(" 26 "), Some(26));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("-7"), Some(-7));
        assert_eq!(python_int("+7"), Some(7));
        for bad in ["", "_1", "1_", "1__0", "2.0", "abc", "-", "0x10"] {
            assert_eq!(python_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn truthiness_follows_python() {
        for (text, expected) in
            [("0", false), ("0.0", false), ("\"\"", false), ("[]", false), ("{}", false), ("null", false), ("NaN", true), ("\"0\"", true)]
        {
            assert_eq!(truthy(&loads(text).unwrap()), expected, "{text}");
        }
    }
}
