//! The PostgreSQL flavour of the search compiler: `$n` placeholders, native `LIKE`/`ILIKE`
//! (no escape character, as in SQLite and the shared pattern rules), `~` for RLIKE (patterns
//! translated to PostgreSQL's syntax, see `regex.rs`), and the `pg_trgm` GIN index over
//! `spans.content` for substring search.

use super::regex::to_postgres_regex;
use crate::sql::pattern::{literal_fragments, survives_double_json_escaping, MIN_TRIGRAM_CHARS};
use crate::sql::search::{AttributeMatch, Params, SearchDialect, SqlParam};
use std::cell::RefCell;

/// Tag holding `[{"name", "version"}]` of the prompts a trace used (spec §3.5).
const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";

/// How case-insensitive comparisons fold case on this database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CaseFolding {
    /// ` COLLATE "<name>"` for ILIKE / case-insensitive regexes over the `COLLATE "C"` columns
    /// (C folds ASCII only): a Unicode-aware collation, or empty when none exists.
    pub(crate) collate: String,
    /// Whether the database's default collation folds non-ASCII letters: span content (default
    /// collation, trigram-indexed) is then matched with ILIKE directly; otherwise ASCII
    /// fragments find candidates through the index and the Unicode-aware check runs on those.
    pub(crate) default_is_unicode: bool,
}

pub(crate) struct PostgresDialect<'a> {
    folding: &'a CaseFolding,
    /// Parameter numbers holding RLIKE patterns, translated once compiling is done.
    regex_params: RefCell<Vec<usize>>,
}

impl<'a> PostgresDialect<'a> {
    pub(crate) fn new(folding: &'a CaseFolding) -> Self {
        PostgresDialect { folding, regex_params: RefCell::new(Vec::new()) }
    }

    /// Rewrites the RLIKE patterns among `params` (bound by the shared compiler in Python/Rust
    /// syntax) into PostgreSQL's.
    pub(crate) fn translate_regex_params(&self, params: &mut [SqlParam]) {
        for index in self.regex_params.borrow().iter() {
            if let Some(SqlParam::Text(pattern)) = index.checked_sub(1).and_then(|i| params.get_mut(i)) {
                *pattern = to_postgres_regex(pattern);
            }
        }
    }

    fn ci(&self, expr: &str) -> String {
        format!("{expr}{}", self.folding.collate)
    }

    /// `s.content ILIKE '%<fragment>%'` for each fragment long enough for a trigram.
    fn content_candidates<'f>(&self, fragments: impl IntoIterator<Item = &'f str>, ci: bool, params: &mut Params) -> Vec<String> {
        let op = if ci { "ILIKE" } else { "LIKE" };
        fragments
            .into_iter()
            .filter(|f| f.chars().count() >= MIN_TRIGRAM_CHARS)
            .map(|f| {
                let ph = params.bind(self, SqlParam::Text(format!("%{f}%")));
                format!("s.content {op} {ph} ESCAPE ''")
            })
            .collect()
    }
}

impl SearchDialect for PostgresDialect<'_> {
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    fn like(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} LIKE {pattern} ESCAPE ''")
    }

    fn ilike(&self, expr: &str, pattern: &str) -> String {
        format!("{} ILIKE {pattern} ESCAPE ''", self.ci(expr))
    }

    fn regex(&self, expr: &str, pattern: &str) -> String {
        if let Some(index) = pattern.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
            self.regex_params.borrow_mut().push(index);
        }
        format!("{} ~ {pattern}", self.ci(expr))
    }

    fn span_content_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
        if !case_insensitive {
            // Exact and served by the trigram index (which folds case, then rechecks).
            let ph = params.bind(self, SqlParam::Text(pattern.to_string()));
            return format!("s.content LIKE {ph} ESCAPE ''");
        }
        if self.folding.default_is_unicode || self.folding.collate.is_empty() {
            let ph = params.bind(self, SqlParam::Text(pattern.to_string()));
            return format!("s.content ILIKE {ph} ESCAPE ''");
        }
        // The default collation folds ASCII only: ASCII fragments find candidates through
        // the index (a superset), the Unicode-aware check decides.
        let ascii = literal_fragments(pattern).filter(|f| f.is_ascii());
        let mut conditions = self.content_candidates(ascii, true, params);
        let ph = params.bind(self, SqlParam::Text(pattern.to_string()));
        conditions.push(format!("{} ILIKE {ph} ESCAPE ''", self.ci("s.content")));
        conditions.join(" AND ")
    }

    fn span_attribute(
        &self,
        key: &str,
        how: AttributeMatch,
        values: &[String],
        negate: bool,
        params: &mut Params,
    ) -> String {
        // Candidates through the trigram index: spans whose JSON contains `"<key>"` and, when
        // the values appear verbatim in the doubly JSON-encoded attribute text, their fragments.
        let mut fragments: Vec<(String, bool)> = Vec::new();
        if survives_double_json_escaping(key) {
            fragments.push((format!("\"{key}\""), false));
        }
        if !negate {
            match how {
                AttributeMatch::Equals if values.len() == 1 && survives_double_json_escaping(&values[0]) => {
                    fragments.push((values[0].clone(), false));
                }
                AttributeMatch::Like | AttributeMatch::ILike => {
                    if let Some(pattern) = values.first() {
                        let ci = how == AttributeMatch::ILike;
                        fragments.extend(
                            literal_fragments(pattern).filter(|f| survives_double_json_escaping(f)).map(|f| (f.to_string(), ci)),
                        );
                    }
                }
                _ => {}
            }
        }
        let mut conditions: Vec<String> = Vec::new();
        for (fragment, ci) in &fragments {
            conditions.extend(self.content_candidates([fragment.as_str()], *ci, params));
        }
        let key_ph = params.bind(self, SqlParam::Text(key.to_string()));
        let raw = format!("clew_span_attr(s.content, {key_ph})");
        let check = if values.is_empty() {
            // IN (): nothing matches; NOT IN (): any span that has the attribute.
            if negate { format!("{raw} IS NOT NULL") } else { "FALSE".to_string() }
        } else {
            let matches: Vec<String> = match how {
                AttributeMatch::Equals => {
                    let phs: Vec<String> = values.iter().map(|v| params.bind(self, SqlParam::Text(v.clone()))).collect();
                    vec![format!("c.v IN ({})", phs.join(", "))]
                }
                AttributeMatch::Like => values
                    .iter()
                    .map(|v| format!("c.v LIKE {} ESCAPE ''", params.bind(self, SqlParam::Text(v.clone()))))
                    .collect(),
                AttributeMatch::ILike => values
                    .iter()
                    .map(|v| format!("{} ILIKE {} ESCAPE ''", self.ci("c.v"), params.bind(self, SqlParam::Text(v.clone()))))
                    .collect(),
                AttributeMatch::RLike => values
                    .iter()
                    .map(|v| format!("{} ~ {}", self.ci("c.v"), params.bind(self, SqlParam::Text(to_postgres_regex(v)))))
                    .collect(),
            };
            // The value compares as its raw JSON text and, for strings, the decoded string.
            let exists = format!(
                "EXISTS (SELECT 1 FROM (VALUES ({raw})) r(raw), \
                 LATERAL (VALUES (r.raw), (clew_json_string(r.raw))) c(v) \
                 WHERE c.v IS NOT NULL AND ({}))",
                matches.join(" OR ")
            );
            if negate { format!("({raw} IS NOT NULL AND NOT {exists})") } else { exists }
        };
        conditions.push(check);
        conditions.join(" AND ")
    }

    fn linked_prompt(&self, name: &str, version: &str, params: &mut Params) -> String {
        let key = params.bind(self, SqlParam::Text(LINKED_PROMPTS_TAG.to_string()));
        let name = params.bind(self, SqlParam::Text(name.to_string()));
        let version = params.bind(self, SqlParam::Text(version.to_string()));
        format!(
            "EXISTS (SELECT 1 FROM trace_tags kv, jsonb_array_elements(clew_json_array(kv.value)) p(value) \
             WHERE kv.trace_pk = t.trace_pk AND kv.key = {key} \
             AND p.value ->> 'name' = {name} AND p.value ->> 'version' = {version})"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::search::compile_search;
    use clew_model::filter::parse_filter;

    #[test]
    fn rlike_patterns_are_translated_after_compiling() {
        let folding = CaseFolding { collate: " COLLATE \"und-x-icu\"".into(), default_is_unicode: true };
        let dialect = PostgresDialect::new(&folding);
        let filter = parse_filter("tag.env RLIKE '^(?i)DEV' AND tag.x = '^(?i)DEV'").expect("parses");
        let mut compiled = compile_search(&dialect, &[], &filter, &[], 10, 0).expect("compiles");
        dialect.translate_regex_params(&mut compiled.params);
        assert!(compiled.params.contains(&SqlParam::Text("(?ip)^DEV".into())), "{:?}", compiled.params);
        // Only the RLIKE pattern changes.
        assert!(compiled.params.contains(&SqlParam::Text("^(?i)DEV".into())), "{:?}", compiled.params);
        assert!(compiled.sql.contains("kv.value COLLATE \"und-x-icu\" ~ $"), "{}", compiled.sql);
    }

    #[test]
    fn like_has_no_escape_character_and_content_uses_the_trigram_column() {
        let folding = CaseFolding { collate: String::new(), default_is_unicode: true };
        let dialect = PostgresDialect::new(&folding);
        let filter = parse_filter("trace.text LIKE '%a\\\\b%' AND tag.k ILIKE 'x'").expect("parses");
        let compiled = compile_search(&dialect, &[], &filter, &[], 10, 0).expect("compiles");
        assert!(compiled.sql.contains("s.content LIKE $"), "{}", compiled.sql);
        assert_eq!(compiled.sql.matches("ESCAPE ''").count(), 2, "{}", compiled.sql);
    }
}
