//! SQL functions clew registers on every SQLite connection.
//!
//! - `regexp(pattern, value)`: makes `value REGEXP pattern` work (RLIKE), with the `regex`
//!   crate and Python `re.search` semantics (a match anywhere).
//! - `clew_like(value, pattern, case_insensitive)`: SQL LIKE that is case-sensitive when asked
//!   (SQLite's own LIKE never is for ASCII) and Unicode-aware when not (SQLite's folds ASCII only).
//! - `clew_payload_like(payload, pattern, case_insensitive)`: LIKE over a stored span payload.
//! - `clew_span_attr_match(payload, key, how, value...)`: compares one span attribute; NULL
//!   when the span lacks it.
//! - `clew_payload_text(payload)`: the span JSON of a payload (handy in the sqlite3 shell).

use crate::payload;
use crate::sql::pattern::like_matches;
use crate::sql::search::AttributeMatch;
use regex::Regex;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("regexp", 2, flags, regexp)?;
    conn.create_scalar_function("clew_like", 3, flags, |ctx| {
        let (Some(value), Some(pattern)) = (text_arg(ctx, 0), text_arg(ctx, 1)) else { return Ok(None) };
        Ok(Some(like_matches(value, pattern, ctx.get::<bool>(2)?)))
    })?;
    conn.create_scalar_function("clew_payload_like", 3, flags, |ctx| {
        let (Some(text), Some(pattern)) = (payload_arg(ctx, 0), text_arg(ctx, 1)) else { return Ok(false) };
        Ok(like_matches(&text, pattern, ctx.get::<bool>(2)?))
    })?;
    conn.create_scalar_function("clew_span_attr_match", -1, flags, span_attr_match)?;
    conn.create_scalar_function("clew_payload_text", 1, flags, |ctx| Ok(payload_arg(ctx, 0)))?;
    Ok(())
}

fn text_arg<'a>(ctx: &'a Context<'_>, index: usize) -> Option<&'a str> {
    match ctx.get_raw(index) {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

fn payload_arg(ctx: &Context<'_>, index: usize) -> Option<String> {
    match ctx.get_raw(index) {
        // A corrupt payload cannot match anything; it is reported when the span is read.
        ValueRef::Blob(bytes) => payload::decode(bytes).ok(),
        _ => None,
    }
}

fn compiled_regex(ctx: &Context<'_>, index: usize) -> rusqlite::Result<Arc<Regex>> {
    // Cached per statement: the pattern is a bound parameter, compiled once per query.
    ctx.get_or_create_aux(index as i32, |value| -> Result<Regex, Box<dyn std::error::Error + Send + Sync>> {
        let pattern = value.as_str().map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok(Regex::new(pattern)?)
    })
}

fn regexp(ctx: &Context<'_>) -> rusqlite::Result<Option<bool>> {
    let Some(value) = text_arg(ctx, 1) else { return Ok(None) };
    let regex = compiled_regex(ctx, 0)?;
    Ok(Some(regex.is_match(value)))
}

/// Only the attributes of a span JSON document; the rest is skipped without building values.
#[derive(serde::Deserialize)]
struct AttributesOnly {
    #[serde(default)]
    attributes: HashMap<String, Value>,
}

fn span_attr_match(ctx: &Context<'_>) -> rusqlite::Result<Option<bool>> {
    if ctx.len() < 4 {
        return Err(rusqlite::Error::UserFunctionError("clew_span_attr_match needs at least 4 arguments".into()));
    }
    let Some(text) = payload_arg(ctx, 0) else { return Ok(None) };
    let (Some(key), Some(how)) = (text_arg(ctx, 1), text_arg(ctx, 2).and_then(AttributeMatch::parse)) else {
        return Ok(None);
    };
    let Ok(span) = serde_json::from_str::<AttributesOnly>(&text) else { return Ok(None) };
    let Some(stored) = span.attributes.get(key) else { return Ok(None) };
    // Attribute values are JSON text; a string attribute is stored quoted. Compare against
    // both the raw text and, for strings, the decoded string, so `'gpt-4'` and `'0.7'` match.
    let raw: String = match stored {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let decoded: Option<String> = match serde_json::from_str::<Value>(&raw) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    };
    let candidates = || std::iter::once(raw.as_str()).chain(decoded.as_deref());
    for index in 3..ctx.len() {
        let Some(value) = text_arg(ctx, index) else { continue };
        let matched = match how {
            AttributeMatch::Equals => candidates().any(|c| c == value),
            AttributeMatch::Like => candidates().any(|c| like_matches(c, value, false)),
            AttributeMatch::ILike => candidates().any(|c| like_matches(c, value, true)),
            AttributeMatch::RLike => {
                let regex = compiled_regex(ctx, index)?;
                candidates().any(|c| regex.is_match(c))
            }
        };
        if matched {
            return Ok(Some(true));
        }
    }
    Ok(Some(false))
}
