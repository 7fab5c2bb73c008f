//! RLIKE patterns (Python `re` / Rust `regex` syntax, validated by the search compiler) in
//! PostgreSQL's ARE syntax for the `~` operator.
//!
//! What differs and is translated:
//! - inline flags `(?i)` may appear anywhere in Python/Rust but only at the start in PostgreSQL:
//!   they are collected and put in front (a flag in the middle then applies to the whole
//!   pattern, a superset for `i`);
//! - newline handling: Rust's `.` does not match `\n` and `^`/`$` anchor the text unless the
//!   `s`/`m` flags say otherwise; PostgreSQL's modes `p`, `s`, `n`, `w` express the four cases;
//! - `\b`/`\B` (word boundary) are `\y`/`\Y`, `\z` is `\Z`; named groups `(?P<n>…)`/`(?<n>…)`
//!   become plain groups; scoped flags `(?i:…)` become `(?:…)` with their flags applied
//!   pattern-wide.
//!
//! Anything else passes through; PostgreSQL reports what it cannot compile.

/// The ARE form of `pattern`.
///
/// ```ignore
/// assert_eq!(to_postgres_regex("^(?i)DEV"), "(?ip)^DEV");
/// ```
pub(crate) fn to_postgres_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 6);
    let mut flags: Vec<char> = Vec::new();
    let mut in_bracket = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                out.push(c);
                break;
            };
            let mapped = if in_bracket {
                next
            } else {
                match next {
                    'b' => 'y',
                    'B' => 'Y',
                    'z' => 'Z',
                    other => other,
                }
            };
            out.push('\\');
            out.push(mapped);
            i += 2;
            continue;
        }
        if in_bracket {
            // `]` right after `[` or `[^` is a literal member.
            let opened_at_previous = out.ends_with('[') || out.ends_with("[^");
            if c == ']' && !opened_at_previous {
                in_bracket = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            in_bracket = true;
            out.push(c);
            i += 1;
            continue;
        }
        if c == '(' && chars.get(i + 1) == Some(&'?') {
            let rest: String = chars[i + 2..].iter().collect();
            // Named groups.
            if let Some(after) = rest.strip_prefix("P<").or_else(|| {
                rest.strip_prefix('<').filter(|r| !r.starts_with('=') && !r.starts_with('!'))
            }) {
                if let Some(end) = after.find('>') {
                    out.push('(');
                    let name_chars = after[..end].chars().count();
                    let prefix = if rest.starts_with("P<") { 2 } else { 1 };
                    i += 2 + prefix + name_chars + 1;
                    continue;
                }
            }
            // Flag groups: `(?flags)` and `(?flags:`.
            let flag_run: String = rest.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '-').collect();
            let terminator = rest.chars().nth(flag_run.chars().count());
            if !flag_run.is_empty() && matches!(terminator, Some(')') | Some(':')) {
                let mut enabled = true;
                for f in flag_run.chars() {
                    if f == '-' {
                        enabled = false;
                    } else if enabled && !flags.contains(&f) {
                        flags.push(f);
                    }
                }
                if terminator == Some(':') {
                    out.push_str("(?:");
                }
                i += 2 + flag_run.len() + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    let mut prefix = String::from("(?");
    if flags.contains(&'i') {
        prefix.push('i');
    }
    if flags.contains(&'x') {
        prefix.push('x');
    }
    prefix.push(match (flags.contains(&'m'), flags.contains(&'s')) {
        (false, false) => 'p',
        (false, true) => 's',
        (true, false) => 'n',
        (true, true) => 'w',
    });
    prefix.push(')');
    prefix + &out
}

#[cfg(test)]
mod tests {
    use super::to_postgres_regex as t;

    #[test]
    fn flags_move_to_the_front_with_the_newline_mode() {
        assert_eq!(t("^(?i)DEV"), "(?ip)^DEV");
        assert_eq!(t("abc"), "(?p)abc");
        assert_eq!(t("(?s)a.b"), "(?s)a.b");
        assert_eq!(t("(?m)^a$"), "(?n)^a$");
        assert_eq!(t("(?ms)^a.$"), "(?w)^a.$");
        assert_eq!(t("a(?i:b)c"), "(?ip)a(?:b)c");
        assert_eq!(t("(?-i)x"), "(?p)x");
    }

    #[test]
    fn escapes_and_groups_are_translated() {
        assert_eq!(t(r"\bword\b"), r"(?p)\yword\y");
        assert_eq!(t(r"end\z"), r"(?p)end\Z");
        assert_eq!(t(r"(?P<year>\d{4})-(?<m>\d\d)"), r"(?p)(\d{4})-(\d\d)");
        assert_eq!(t(r"(?:a|b)(?=c)"), r"(?p)(?:a|b)(?=c)");
        // Inside brackets nothing changes, and `]` first is a member.
        assert_eq!(t(r"[\b(?i)]x"), r"(?p)[\b(?i)]x");
        assert_eq!(t(r"[]a](?i)"), r"(?ip)[]a]");
        assert_eq!(t("trailing\\"), "(?p)trailing\\");
    }
}
