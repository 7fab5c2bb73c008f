//! Within-trace content search ([`crate::TraceStore::search_span_ids_in_trace`]): which spans
//! of one trace contain a text, case-insensitively, in their name, status message, attribute
//! keys and values, or event names and attributes.
//!
//! Attribute values are JSON text and match as decoded text, so escapes (`\"`, `\n`,
//! `\u00e9`) neither hide a match nor make one up; a needle JSON never escapes (ASCII without
//! `"`, `\`, control characters or JSON punctuation) matches the JSON text directly.
//!
//! Every backend decides in the same two steps: a cheap test of the stored span JSON
//! ([`SpanTextQuery::may_match_json`]: text fragments every match must contain verbatim; SQL
//! backends can push them into `ILIKE`) and, for the spans that pass, the exact test on the
//! decoded span ([`SpanTextQuery::matches_span`]). Spans whose name matches skip both.

use crate::{payload, StoreError, StoreResult};
use clew_model::Span;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// A prepared case-insensitive search text.
#[derive(Clone, Debug)]
pub struct SpanTextQuery {
    /// The text, lowercase.
    needle: String,
    /// The needle appears verbatim in JSON text wherever it appears in decoded text.
    plain: bool,
    /// Runs of the needle that any span JSON holding a match contains (ASCII case aside).
    fragments: Vec<String>,
}

impl SpanTextQuery {
    /// Prepares `text` (matched as given, case-insensitively); an empty text is `InvalidArgument`.
    pub fn new(text: &str) -> StoreResult<Self> {
        if text.is_empty() {
            return Err(StoreError::InvalidArgument("the search text is empty".into()));
        }
        let needle = text.to_lowercase();
        let plain = is_plain_needle(&needle);
        let fragments = if plain { vec![needle.clone()] } else { verbatim_fragments(&needle) };
        Ok(Self { needle, plain, fragments })
    }

    /// The lowercase needle.
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// Text runs that every stored span JSON holding a match contains (compare ignoring ASCII
    /// case); empty when nothing can be said (then every span needs the exact test).
    pub fn fragments(&self) -> &[String] {
        &self.fragments
    }

    /// Whether the span name holds the text (a match without reading the payload).
    pub fn name_matches(&self, name: &str) -> bool {
        contains_folded(name, &self.needle)
    }

    /// A necessary condition on the stored span JSON: `false` means the span cannot match.
    pub fn may_match_json(&self, json: &str) -> bool {
        self.fragments.iter().all(|fragment| contains_folded(json, fragment))
    }

    /// The exact test on stored span JSON (the prefilter first, then the decoded span). The
    /// fields searched are read borrowed from the text ([`StoredSpan`]), several times cheaper
    /// than decoding the whole span; a form that view does not take goes through the full
    /// decoder.
    pub fn matches_json(&self, json: &str) -> StoreResult<bool> {
        if !self.may_match_json(json) {
            return Ok(false);
        }
        if let Ok(view) = serde_json::from_str::<StoredSpan<'_>>(json) {
            return Ok(self.matches_parts(
                &view.name,
                view.status.as_ref().map_or("", |s| &*s.message),
                view.attributes.iter().map(|(k, v)| (&**k, &**v)),
                view.events.iter().map(|e| (&*e.name, e.attributes.iter().map(|(k, v)| (k.as_str(), v)))),
            ));
        }
        Ok(self.matches_span(&payload::span_from_json(json)?))
    }

    /// Whether the span's name, status message, an attribute key or value, or an event's name
    /// or attribute holds the text.
    pub fn matches_span(&self, span: &Span) -> bool {
        self.matches_parts(
            &span.name,
            &span.status.description,
            span.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            span.events
                .iter()
                .map(|e| (e.name.as_str(), e.attributes.iter().map(|(k, v)| (k.as_str(), v)))),
        )
    }

    fn matches_parts<'a, A, E, EA>(&self, name: &str, status_message: &str, mut attributes: A, mut events: E) -> bool
    where
        A: Iterator<Item = (&'a str, &'a str)>,
        E: Iterator<Item = (&'a str, EA)>,
        EA: Iterator<Item = (&'a str, &'a Value)>,
    {
        let needle = self.needle.as_str();
        if contains_folded(name, needle) || contains_folded(status_message, needle) {
            return true;
        }
        attributes.any(|(key, text)| contains_folded(key, needle) || json_text_contains(text, needle, self.plain))
            || events.any(|(event_name, mut event_attributes)| {
                contains_folded(event_name, needle)
                    || event_attributes.any(|(key, value)| contains_folded(key, needle) || value_contains(value, needle))
            })
    }
}

/// The searched fields of stored span JSON (`Span.to_dict()` form), borrowed where the text
/// has no escapes.
#[derive(Deserialize)]
struct StoredSpan<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    status: Option<StoredStatus<'a>>,
    #[serde(borrow, default)]
    attributes: HashMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(borrow, default)]
    events: Vec<StoredEvent<'a>>,
}

#[derive(Deserialize)]
struct StoredStatus<'a> {
    #[serde(borrow, default)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct StoredEvent<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
}

/// A needle JSON never escapes and that holds no JSON punctuation: its matches in decoded text
/// are exactly its matches in the JSON text, save for false hits inside escape sequences.
fn is_plain_needle(needle: &str) -> bool {
    needle
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '{' | '}' | '[' | ']' | ':' | ','))
}

/// The runs of a (non-plain) needle made of characters that no JSON encoder escapes, so a
/// decoded match shows them verbatim in the stored JSON. For a non-ASCII needle `i` and `k`
/// also break runs: `İ` and the Kelvin sign lowercase to them.
fn verbatim_fragments(needle: &str) -> Vec<String> {
    let ascii = needle.is_ascii();
    let keeps = |c: char| {
        (c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | ',' | ':' | ';' | '!' | '?' | '(' | ')' | '{' | '}' | '[' | ']' | '='))
            && (ascii || !matches!(c, 'i' | 'k'))
    };
    needle
        .split(|c: char| !keeps(c))
        .filter(|run| !run.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether the decoded JSON text holds `needle`. A scan of the raw text decides most cases
/// without parsing; the text is parsed only when the needle is not plain or the raw hit may
/// sit inside an escape sequence.
fn json_text_contains(text: &str, needle: &str, plain: bool) -> bool {
    if plain {
        if !contains_folded(text, needle) {
            return false;
        }
        if !text.contains('\\') {
            return true;
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => value_contains(&value, needle),
        Err(_) => contains_folded(text, needle),
    }
}

fn value_contains(value: &Value, needle: &str) -> bool {
    match value {
        // Stream chunks and tool arguments are JSON inside a string: their text matches too.
        Value::String(s) => contains_folded(s, needle),
        Value::Array(items) => items.iter().any(|v| value_contains(v, needle)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| contains_folded(k, needle) || value_contains(v, needle)),
        Value::Number(n) => n.to_string().contains(needle),
        Value::Bool(b) => needle == if *b { "true" } else { "false" },
        Value::Null => false,
    }
}

/// Case-insensitive substring test (`needle` already lowercase); the ASCII path compares
/// bytes without allocating (the common case, run over every span of a giant trace).
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        let Some((&first, rest)) = n.split_first() else { return true };
        if n.len() > h.len() {
            return false;
        }
        let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        let last_start = h.len() - n.len();
        let mut from = 0;
        // Jump between occurrences of the first byte (memchr-like), then compare the rest.
        while from <= last_start {
            let Some(offset) = h[from..=last_start].iter().position(|&b| b == lower || b == upper) else {
                return false;
            };
            let at = from + offset;
            if h[at + 1..at + n.len()].eq_ignore_ascii_case(rest) {
                return true;
            }
            from = at + 1;
        }
        return false;
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_search_finds_ascii_and_unicode() {
        assert!(contains_folded("Hello World", "o w"));
        assert!(contains_folded("abc", "abc"));
        assert!(!contains_folded("ab", "abc"));
        assert!(contains_folded("xxABCxx", "abc"));
        assert!(!contains_folded("xxABxCx", "abc"));
        assert!(contains_folded("Café", "café"));
        assert!(contains_folded("anything", ""));
    }

    #[test]
    fn fragments_are_verbatim_runs() {
        let q = SpanTextQuery::new("Tool\":\"get").unwrap();
        assert_eq!(q.fragments(), ["tool", ":", "get"]);
        assert!(q.may_match_json(r#"{"x":"{\"tool\":\"get_weather\"}"}"#));
        assert!(!q.may_match_json(r#"{"x":"{\"tool\":\"put\"}"}"#));
        let q = SpanTextQuery::new("Straße kiwi").unwrap();
        assert_eq!(q.fragments(), ["stra", "e ", "w"]);
        let q = SpanTextQuery::new("weather").unwrap();
        assert_eq!(q.fragments(), ["weather"]);
        assert!(SpanTextQuery::new("").is_err());
    }

    #[test]
    fn the_borrowed_view_decides_as_the_decoded_span() {
        use crate::conformance::{json_str, span, with_attr};
        let mut s = with_attr(span(1, 2, Some(1), "Lookup \"quoted\"", 0, 5), "mlflow.spanInputs", r#"{"q": "caf\u00e9 \"x\"", "n": 12345}"#);
        s = with_attr(s, "args", &json_str(r#"{"city":"Paris"}"#));
        s.status = clew_model::SpanStatus::error("Timed out\nafter 5s");
        let mut event = clew_model::SpanEvent::new("retry");
        event.attributes.insert("attempt".into(), serde_json::json!(3.5));
        event.attributes.insert("why".into(), serde_json::json!({"text": "rate limited"}));
        s.events.push(event);
        let json = payload::span_json(&s);
        for text in [
            "lookup", "\"quoted\"", "café", "u00e9", "\"x\"", "2345", "\"city\":\"paris\"", "timed out\nafter", "nafter",
            "retry", "3.5", "rate limited", "attempt", "STATUS_CODE", "unix_nano", "trace_id", "q\": \"", "é", "zzz",
        ] {
            let q = SpanTextQuery::new(text).unwrap();
            assert_eq!(q.matches_json(&json).unwrap(), q.matches_span(&s), "{text:?}");
        }
        assert!(SpanTextQuery::new("café").unwrap().matches_json(&json).unwrap());
        assert!(!SpanTextQuery::new("unix_nano").unwrap().matches_json(&json).unwrap());
    }
}
