//! The filter and order_by of `experiments/search` (MLflow's `SearchExperimentsUtils`):
//! clauses joined by `AND`, each `<field> <op> '<value>'` where the field is `name`
//! (`attribute.name`), `tags.<key>` (`tag.<key>`, backquoted keys allowed), `creation_time` or
//! `last_update_time`, and the op one of `=`, `!=`, `LIKE`, `ILIKE` (strings) or
//! `=`, `!=`, `<`, `<=`, `>`, `>=` (times).

use crate::error::ApiError;
use clew_model::Experiment;

#[derive(Debug, Default)]
pub struct ExperimentFilter {
    clauses: Vec<Clause>,
}

#[derive(Debug)]
enum Subject {
    Name,
    Tag(String),
    CreationTime,
    LastUpdateTime,
}

#[derive(Debug)]
struct Clause {
    subject: Subject,
    op: String,
    value: String,
}

impl ExperimentFilter {
    pub fn parse(text: &str) -> Result<ExperimentFilter, ApiError> {
        let tokens = tokenize(text)?;
        let mut clauses = Vec::new();
        let mut rest = tokens.as_slice();
        while !rest.is_empty() {
            let [field, op, value, tail @ ..] = rest else {
                return Err(invalid_filter(text, "expected `<field> <operator> <value>`"));
            };
            let subject = parse_subject(field, text)?;
            let op = op.to_ascii_uppercase();
            let is_time = matches!(subject, Subject::CreationTime | Subject::LastUpdateTime);
            let allowed: &[&str] =
                if is_time { &["=", "!=", "<", "<=", ">", ">="] } else { &["=", "!=", "LIKE", "ILIKE"] };
            if !allowed.contains(&op.as_str()) {
                return Err(invalid_filter(text, &format!("operator {op:?} is not supported for {field}")));
            }
            let value = if is_time && value_is_number(value) {
                value.clone()
            } else {
                unquote(value).map_err(|_| {
                    invalid_filter(text, &format!("expected a quoted string after {field} {op}, got {value}"))
                })?
            };
            clauses.push(Clause { subject, op, value });
            rest = tail;
            if let [and, after @ ..] = rest {
                if !and.eq_ignore_ascii_case("AND") {
                    return Err(invalid_filter(text, &format!("expected AND, got {and:?}")));
                }
                if after.is_empty() {
                    return Err(invalid_filter(text, "the filter ends with AND"));
                }
                rest = after;
            }
        }
        Ok(ExperimentFilter { clauses })
    }

    pub fn matches(&self, experiment: &Experiment) -> bool {
        self.clauses.iter().all(|clause| clause.matches(experiment))
    }
}

fn value_is_number(text: &str) -> bool {
    text.parse::<i64>().is_ok()
}

impl Clause {
    fn matches(&self, experiment: &Experiment) -> bool {
        let actual = match &self.subject {
            Subject::Name => Some(experiment.name.as_str()),
            Subject::Tag(key) => experiment.tags.get(key).map(String::as_str),
            Subject::CreationTime => return compare_numbers(experiment.creation_time, &self.op, &self.value),
            Subject::LastUpdateTime => return compare_numbers(experiment.last_update_time, &self.op, &self.value),
        };
        let Some(actual) = actual else { return false };
        match self.op.as_str() {
            "=" => actual == self.value,
            "!=" => actual != self.value,
            "LIKE" => like(actual, &self.value, false),
            "ILIKE" => like(actual, &self.value, true),
            _ => false,
        }
    }
}

fn compare_numbers(actual: i64, op: &str, value: &str) -> bool {
    let Ok(expected) = value.parse::<i64>() else { return false };
    match op {
        "=" => actual == expected,
        "!=" => actual != expected,
        "<" => actual < expected,
        "<=" => actual <= expected,
        ">" => actual > expected,
        ">=" => actual >= expected,
        _ => false,
    }
}

/// SQL LIKE: `%` any run, `_` one character.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (text, pattern): (Vec<char>, Vec<char>) = if case_insensitive {
        (text.to_lowercase().chars().collect(), pattern.to_lowercase().chars().collect())
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    // Iterative wildcard match with backtracking to the last `%`.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

fn parse_subject(field: &str, text: &str) -> Result<Subject, ApiError> {
    let lower = field.to_ascii_lowercase();
    match lower.as_str() {
        "name" | "attribute.name" | "attributes.name" => return Ok(Subject::Name),
        "creation_time" | "attribute.creation_time" | "attributes.creation_time" => return Ok(Subject::CreationTime),
        "last_update_time" | "attribute.last_update_time" | "attributes.last_update_time" => {
            return Ok(Subject::LastUpdateTime)
        }
        _ => {}
    }
    for prefix in ["tags.", "tag."] {
        if lower.starts_with(prefix) {
            let key = &field[prefix.len()..];
            let key = key.strip_prefix('`').and_then(|k| k.strip_suffix('`')).unwrap_or(key);
            let key = unquote(key).unwrap_or_else(|_| key.to_string());
            if key.is_empty() {
                return Err(invalid_filter(text, "a tag clause needs a key, e.g. tags.team"));
            }
            return Ok(Subject::Tag(key));
        }
    }
    Err(invalid_filter(
        text,
        &format!("unknown field {field:?}: expected name, tags.<key>, creation_time or last_update_time"),
    ))
}

fn unquote(token: &str) -> Result<String, ApiError> {
    for quote in ['\'', '"'] {
        if token.len() >= 2 && token.starts_with(quote) && token.ends_with(quote) {
            return Ok(token[1..token.len() - 1].replace(&format!("{quote}{quote}"), &quote.to_string()));
        }
    }
    Err(ApiError::invalid(format!("expected a quoted string, got {token}")))
}

/// Words, operators and quoted strings (quotes kept; a doubled quote escapes itself).
fn tokenize(text: &str) -> Result<Vec<String>, ApiError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let start = i;
            i += 1;
            loop {
                if i >= chars.len() {
                    return Err(invalid_filter(text, "unterminated string"));
                }
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let start = i;
            i += 1;
            if chars.get(i) == Some(&'=') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let start = i;
            let mut in_backquote = false;
            while i < chars.len() {
                let ch = chars[i];
                if ch == '`' {
                    in_backquote = !in_backquote;
                } else if !in_backquote && (ch.is_whitespace() || matches!(ch, '=' | '!' | '<' | '>' | '\'' | '"')) {
                    break;
                }
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    Ok(tokens)
}

fn invalid_filter(text: &str, problem: &str) -> ApiError {
    ApiError::invalid(format!("Invalid value for parameter 'filter' ({text:?}): {problem}"))
}

/// `order_by` entries: `name`, `creation_time`, `last_update_time`, `experiment_id`, each with
/// an optional `ASC`/`DESC`. Without one, newest first (`creation_time DESC`), as MLflow; ties
/// by id.
pub fn sort_experiments(experiments: &mut [Experiment], order_by: &[String]) -> Result<(), ApiError> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    for entry in order_by {
        let mut parts = entry.split_whitespace();
        let field = parts.next().unwrap_or_default().to_ascii_lowercase();
        let field = field.trim_start_matches("attribute.").trim_start_matches("attributes.").to_string();
        let descending = match parts.next().map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "Invalid value {entry:?} for parameter 'order_by': {other:?} is not ASC or DESC"
                )))
            }
        };
        if !matches!(field.as_str(), "name" | "creation_time" | "last_update_time" | "experiment_id") {
            return Err(ApiError::invalid(format!(
                "Invalid value {entry:?} for parameter 'order_by': expected name, creation_time, last_update_time or experiment_id"
            )));
        }
        keys.push((field, descending));
    }
    if keys.is_empty() {
        keys.push(("creation_time".into(), true));
    }
    keys.push(("experiment_id".into(), false));
    experiments.sort_by(|a, b| {
        for (field, descending) in &keys {
            let ordering = match field.as_str() {
                "name" => a.name.cmp(&b.name),
                "creation_time" => a.creation_time.cmp(&b.creation_time),
                "last_update_time" => a.last_update_time.cmp(&b.last_update_time),
                _ => numeric_id(&a.experiment_id).cmp(&numeric_id(&b.experiment_id)),
            };
            let ordering = if *descending { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

fn numeric_id(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(name: &str) -> Experiment {
        let mut e = Experiment { name: name.into(), experiment_id: "1".into(), ..Default::default() };
        e.tags.insert("team".into(), "search".into());
        e
    }

    #[test]
    fn name_and_tag_clauses() {
        let e = experiment("My Agent");
        assert!(ExperimentFilter::parse("name = 'My Agent'").unwrap().matches(&e));
        assert!(ExperimentFilter::parse("name LIKE 'My%'").unwrap().matches(&e));
        assert!(!ExperimentFilter::parse("name LIKE 'my%'").unwrap().matches(&e));
        assert!(ExperimentFilter::parse("attribute.name ILIKE '%agent'").unwrap().matches(&e));
        assert!(ExperimentFilter::parse("tags.team = 'search' AND name != 'x'").unwrap().matches(&e));
        assert!(ExperimentFilter::parse("tags.`team` = \"search\"").unwrap().matches(&e));
        assert!(!ExperimentFilter::parse("tags.other = 'search'").unwrap().matches(&e));
        assert!(ExperimentFilter::parse("creation_time >= 0").unwrap().matches(&e));
    }

    #[test]
    fn errors_name_the_filter_and_the_problem() {
        for bad in ["name", "name = ", "name < 'a'", "owner = 'x'", "name = 'a' OR name = 'b'", "name = 'a' AND", "name = 'x"] {
            let err = ExperimentFilter::parse(bad).unwrap_err();
            assert!(err.message.contains("'filter'"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn like_wildcards() {
        assert!(like("abc", "a_c", false));
        assert!(like("abc", "%", false));
        assert!(like("abcbc", "a%bc", false));
        assert!(!like("abd", "a%c", false));
    }
}
