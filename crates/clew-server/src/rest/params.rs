//! Request parameters as MLflow sends them (spec §4.1): GET requests carry the proto-JSON dict
//! as query parameters (repeated keys for repeated fields, `True`/`False` booleans); other
//! methods carry a JSON body, DELETE included. [`Params`] reads both, so a handler asks for a
//! field by name without caring where it came from; body fields win over query fields.
//!
//! Unknown fields are ignored. A malformed body, or a field of the wrong type, is a 400
//! `INVALID_PARAMETER_VALUE` whose message names the field and the problem.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

/// The fields of one request: JSON body fields, then query parameters.
#[derive(Debug, Default)]
pub struct Params {
    body: Map<String, Value>,
    query: Vec<(String, String)>,
}

impl FromRequest<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let query = parse_query(request.uri().query().unwrap_or(""))?;
        let bytes = read_body(request.into_body(), state.config.max_request_bytes).await?;
        let body = parse_json_object(&bytes)?;
        Ok(Params { body, query })
    }
}

/// Reads a whole body, refusing more than `limit` bytes with a 413 that names the limit.
pub async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if is_length_limit(&error) {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid(format!("could not read the request body: {error}"))
        }
    })
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

/// Query parameters in order, repeated keys kept.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .map_err(|e| ApiError::invalid(format!("malformed query string: {e}")))
}

/// An empty body is `{}`; anything else must be a JSON object.
fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::invalid(format!(
            "the request body must be a JSON object, got {}",
            json_kind(&other)
        ))),
        Err(e) => Err(ApiError::invalid(format!("malformed JSON in the request body: {e}"))),
    }
}

/// A short name of a JSON value's type, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Params {
    /// Fields from a JSON object (for tests and internal callers).
    pub fn from_json(body: Map<String, Value>) -> Self {
        Params { body, query: Vec::new() }
    }

    /// Whether the field was sent at all (proto "field present" semantics; `null` is absent).
    pub fn has(&self, field: &str) -> bool {
        self.body.get(field).is_some_and(|v| !v.is_null()) || self.query.iter().any(|(k, _)| k == field)
    }

    /// The raw JSON value of a body field.
    pub fn json(&self, field: &str) -> Option<&Value> {
        self.body.get(field).filter(|v| !v.is_null())
    }

    fn query_values<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == field).map(|(_, v)| v.as_str())
    }

    /// An optional string. Numbers are accepted and rendered (ids sent as numbers).
    pub fn string(&self, field: &str) -> Result<Option<String>, ApiError> {
        if let Some(value) = self.json(field) {
            return match value {
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(n) => Ok(Some(n.to_string())),
                other => Err(wrong_type(field, "a string", other)),
            };
        }
        Ok(self.query_values(field).next().map(str::to_string))
    }

    /// A required, non-empty string.
    pub fn required_string(&self, field: &str) -> Result<String, ApiError> {
        match self.string(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(ApiError::invalid(format!("Missing value for required parameter '{field}': it is empty"))),
            None => Err(missing(field)),
        }
    }

    /// An optional integer: a JSON number, a numeric string, or a query value.
    pub fn int(&self, field: &str) -> Result<Option<i64>, ApiError> {
        if let Some(value) = self.json(field) {
            return match value {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Ok(Some(i)),
                    None => match n.as_f64() {
                        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
                        _ => Err(ApiError::invalid(format!(
                            "Invalid value {n} for parameter '{field}': expected an integer"
                        ))),
                    },
                },
                Value::String(s) => parse_int(field, s).map(Some),
                other => Err(wrong_type(field, "an integer", other)),
            };
        }
        match self.query_values(field).next() {
            Some(s) => parse_int(field, s).map(Some),
            None => Ok(None),
        }
    }

    /// An optional boolean: JSON `true`/`false`, or `True`/`False`/`true`/`false`/`1`/`0` as
    /// text (the Python client renders booleans capitalised in query strings).
    pub fn bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        if let Some(value) = self.json(field) {
            return match value {
                Value::Bool(b) => Ok(Some(*b)),
                Value::String(s) => parse_bool(field, s).map(Some),
                other => Err(wrong_type(field, "a boolean", other)),
            };
        }
        match self.query_values(field).next() {
            Some(s) => parse_bool(field, s).map(Some),
            None => Ok(None),
        }
    }

    /// A repeated string field: a JSON array of strings (a lone string is accepted as one
    /// item), or repeated query keys.
    pub fn string_list(&self, field: &str) -> Result<Vec<String>, ApiError> {
        if let Some(value) = self.json(field) {
            return match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        other => Err(ApiError::invalid(format!(
                            "Invalid value for parameter '{field}': item {i} should be a string, got {}",
                            json_kind(other)
                        ))),
                    })
                    .collect(),
                Value::String(s) => Ok(vec![s.clone()]),
                other => Err(wrong_type(field, "a list of strings", other)),
            };
        }
        Ok(self.query_values(field).map(str::to_string).collect())
    }

    /// An optional JSON object field (body only).
    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        match self.json(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(wrong_type(field, "an object", other)),
        }
    }
}

fn parse_int(field: &str, text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid(format!("Invalid value {text:?} for parameter '{field}': expected an integer")))
}

fn parse_bool(field: &str, text: &str) -> Result<bool, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::invalid(format!(
            "Invalid value {text:?} for parameter '{field}': expected True or False"
        ))),
    }
}

/// 400 naming a missing required field.
pub fn missing(field: &str) -> ApiError {
    ApiError::invalid(format!("Missing value for required parameter '{field}'"))
}

/// 400 naming a field of the wrong type.
pub fn wrong_type(field: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value for parameter '{field}': expected {expected}, got {}",
        json_kind(got)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Params {
        Params::from_json(v.as_object().cloned().unwrap())
    }

    #[test]
    fn query_booleans_are_read_case_insensitively() {
        let p = Params { body: Map::new(), query: parse_query("allow_partial=False&x=True").unwrap() };
        assert_eq!(p.bool("allow_partial").unwrap(), Some(false));
        assert_eq!(p.bool("x").unwrap(), Some(true));
        assert_eq!(p.bool("missing").unwrap(), None);
        let bad = Params { body: Map::new(), query: parse_query("x=maybe").unwrap() };
        assert!(bad.bool("x").unwrap_err().message.contains("'x'"));
    }

    #[test]
    fn repeated_query_keys_are_a_list() {
        let p = Params { body: Map::new(), query: parse_query("trace_ids=a&trace_ids=b%2Fc").unwrap() };
        assert_eq!(p.string_list("trace_ids").unwrap(), vec!["a", "b/c"]);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let p = body(json!({"max_results": "ten", "name": 5, "ids": [1, {}], "flag": []}));
        assert!(p.int("max_results").unwrap_err().message.contains("'max_results'"));
        assert_eq!(p.string("name").unwrap().as_deref(), Some("5"));
        let err = p.string_list("ids").unwrap_err();
        assert!(err.message.contains("'ids'") && err.message.contains("item 1"), "{}", err.message);
        assert!(p.bool("flag").unwrap_err().message.contains("'flag'"));
        assert!(p.required_string("absent").unwrap_err().message.contains("'absent'"));
    }

    #[test]
    fn int64_accepts_numbers_and_numeric_strings() {
        let p = body(json!({"a": 1795238779860i64, "b": "42", "c": 3.0}));
        assert_eq!(p.int("a").unwrap(), Some(1795238779860));
        assert_eq!(p.int("b").unwrap(), Some(42));
        assert_eq!(p.int("c").unwrap(), Some(3));
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(parse_json_object(b"").unwrap().is_empty());
        assert!(parse_json_object(b"[1]").unwrap_err().message.contains("JSON object"));
        assert!(parse_json_object(b"{bad").unwrap_err().message.contains("malformed JSON"));
    }
}
