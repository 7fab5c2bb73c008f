//! SQL `LIKE` patterns: matching them exactly (the final check every backend applies) and
//! deriving the literal fragments a trigram index can use to find candidates.
//!
//! `%` matches any run of characters and `_` one character. As in SQLite, and as MLflow's
//! SQLAlchemy store does there, there is no escape character.

/// Whether `text` matches the LIKE `pattern`; `case_insensitive` for ILIKE (Unicode-aware).
///
/// ```
/// use clew_store::sql::pattern::like_matches;
/// assert!(like_matches("Hello World", "%World", false));
/// assert!(!like_matches("Hello World", "%world", false));
/// assert!(like_matches("Hello World", "%world", true));
/// assert!(like_matches("abc", "a_c", false));
/// ```
pub fn like_matches(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        // ASCII text (most span JSON) lowercases byte by byte, the same result as the Unicode
        // lowercasing at a fraction of the cost: this runs on every span a search checks.
        let text = if text.is_ascii() { text.to_ascii_lowercase() } else { text.to_lowercase() };
        return like_matches_exact(&text, &pattern.to_lowercase());
    }
    like_matches_exact(text, pattern)
}

fn like_matches_exact(text: &str, pattern: &str) -> bool {
    // Fast path for the common `%needle%` form: a substring search.
    if let Some(inner) = pattern.strip_prefix('%').and_then(|p| p.strip_suffix('%')) {
        if !inner.contains(['%', '_']) {
            return text.contains(inner);
        }
    }
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Greedy wildcard matching with backtracking to the last `%`: O(len(text) * len(pattern)).
    let (mut t, mut p) = (0usize, 0usize);
    let mut last_percent: Option<usize> = None;
    let mut resume_text_at = 0usize;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '%' {
            last_percent = Some(p);
            p += 1;
            resume_text_at = t;
        } else if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if let Some(percent) = last_percent {
            p = percent + 1;
            resume_text_at += 1;
            t = resume_text_at;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

/// The literal runs of a LIKE pattern (the text between wildcards).
pub fn literal_fragments(pattern: &str) -> impl Iterator<Item = &str> {
    pattern.split(['%', '_']).filter(|s| !s.is_empty())
}

/// The shortest fragment a trigram index can look up.
pub const MIN_TRIGRAM_CHARS: usize = 3;

/// Whether `s` appears unchanged inside a JSON string that is itself inside a JSON string
/// (how span attribute values sit in span JSON), so it can serve as an index fragment.
pub fn survives_double_json_escaping(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_handles_wildcards_anchoring_and_case() {
        assert!(like_matches("abc", "abc", false));
        assert!(!like_matches("abcd", "abc", false));
        assert!(like_matches("abcd", "abc%", false));
        assert!(like_matches("xabc", "%abc", false));
        assert!(like_matches("a-b-c", "a%b%c", false));
        assert!(!like_matches("a-b-d", "a%b%c", false));
        assert!(like_matches("", "%", false));
        assert!(!like_matches("", "_", false));
        assert!(like_matches("aXc", "a_c", false));
        assert!(!like_matches("ac", "a_c", false));
        assert!(like_matches("mississippi", "%iss%ppi", false));
        assert!(!like_matches("ABC", "abc", false));
        assert!(like_matches("ABC", "abc", true));
        assert!(like_matches("ÉCOLE", "%école%", true));
        assert!(!like_matches("ÉCOLE", "%école%", false));
        assert!(like_matches("日本語テキスト", "%語テ%", false));
        assert!(like_matches("日本", "日_", false));
        // ASCII text with a non-ASCII pattern, and the Kelvin sign, whose lowercase is ASCII.
        assert!(!like_matches("SCHOOL", "%é%", true));
        assert!(like_matches("273 \u{212A}", "%273 k%", true));
        assert!(like_matches("Hello World", "%O W%", true));
    }

    #[test]
    fn fragments_split_on_both_wildcards() {
        let parts: Vec<&str> = literal_fragments("%foo_bar%baz").collect();
        assert_eq!(parts, ["foo", "bar", "baz"]);
        assert_eq!(literal_fragments("%%").count(), 0);
    }

    #[test]
    fn double_json_escaping_check() {
        assert!(survives_double_json_escaping("gpt-4o mini"));
        assert!(!survives_double_json_escaping("say \"hi\""));
        assert!(!survives_double_json_escaping("café"));
    }
}
