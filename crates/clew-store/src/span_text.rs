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
use serde_json::Value;

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

    /// The exact test on stored span JSON (the prefilter first, then the decoded span).
    pub fn matches_json(&self, json: &str) -> StoreResult<bool> {
        if !self.may_match_json(json) {
            return Ok(false);
        }
        Ok(self.matches_span(&payload::span_from_json(json)?))
    }

    /// Whether the span's name, status message, an attribute key or value, or an event's name
    /// or attribute holds the text.
    pub fn matches_span(&self, span: &Span) -> bool {
        let needle = self.needle.as_str();
        if contains_folded(&span.name, needle) || contains_folded(&span.status.description, needle) {
            return true;
        }
        let attributes = span
            .attributes
            .iter()
            .any(|(key, text)| contains_folded(key, needle) || json_text_contains(text, needle, self.plain));
        attributes
            || span.events.iter().any(|event| {
                contains_folded(&event.name, needle)
                    || event
                        .attributes
                        .iter()
                        .any(|(key, value)| contains_folded(key, needle) || value_contains(value, needle))
            })
    }
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
}
