//! The SQLite flavour of the search compiler: `?N` placeholders, clew's SQL functions for
//! case-sensitive LIKE and regexes, and the trigram text index (`text_index`) for substring search.

use super::text_index::match_expression;
use crate::sql::pattern::{literal_fragments, survives_double_json_escaping};
use crate::sql::search::{AttributeMatch, Params, SearchDialect, SqlParam};

/// Tag holding `[{"name", "version"}]` of the prompts a trace used (spec §3.5).
const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";

pub(crate) struct SqliteDialect;

impl SqliteDialect {
    /// `s.trace_pk IN (<candidates>)`: the traces of the text index's matching documents plus
    /// the traces of spans not indexed yet (the index thread may trail writes); `None` when no
    /// fragment is long enough. Every span of a candidate trace is then checked exactly.
    fn fts_candidates<'a>(&self, fragments: impl IntoIterator<Item = &'a str>, params: &mut Params) -> Option<String> {
        let expression = match_expression(fragments)?;
        let ph = params.bind(self, SqlParam::Text(expression));
        Some(format!(
            "s.trace_pk IN (SELECT d.trace_pk FROM ix.text_fts JOIN ix.text_docs d ON d.doc_id = text_fts.rowid \
             WHERE text_fts MATCH {ph} \
             UNION ALL SELECT trace_pk FROM spans WHERE span_pk > (SELECT indexed_up_to FROM ix.index_state))"
        ))
    }
}

impl SearchDialect for SqliteDialect {
    fn placeholder(&self, index: usize) -> String {
        format!("?{index}")
    }

    fn like(&self, expr: &str, pattern: &str) -> String {
        format!("clew_like({expr}, {pattern}, 0)")
    }

    fn ilike(&self, expr: &str, pattern: &str) -> String {
        format!("clew_like({expr}, {pattern}, 1)")
    }

    fn regex(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} REGEXP {pattern}")
    }

    fn span_content_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
        // The trigram index folds case, so its candidates are a superset for LIKE and ILIKE
        // alike; the exact check then runs on the candidates only.
        let candidates = self.fts_candidates(literal_fragments(pattern), params);
        let pattern_ph = params.bind(self, SqlParam::Text(pattern.to_string()));
        let check = format!("clew_payload_like(s.payload, {pattern_ph}, {})", i32::from(case_insensitive));
        match candidates {
            Some(candidates) => format!("{candidates} AND {check}"),
            None => check,
        }
    }

    fn span_attribute(
        &self,
        key: &str,
        how: AttributeMatch,
        values: &[String],
        negate: bool,
        params: &mut Params,
    ) -> String {
        // Candidates: spans whose JSON contains `"<key>"` and, when every value can be found
        // verbatim in the doubly JSON-encoded attribute text, the values' fragments too.
        let quoted_key = format!("\"{key}\"");
        let mut fragments: Vec<String> = Vec::new();
        if survives_double_json_escaping(key) {
            fragments.push(quoted_key);
        }
        if !negate {
            match how {
                AttributeMatch::Equals if values.len() == 1 && survives_double_json_escaping(&values[0]) => {
                    fragments.push(values[0].clone());
                }
                AttributeMatch::Like | AttributeMatch::ILike => {
                    if let Some(pattern) = values.first() {
                        fragments.extend(
                            literal_fragments(pattern)
                                .filter(|f| survives_double_json_escaping(f))
                                .map(str::to_string),
                        );
                    }
                }
                _ => {}
            }
        }
        let candidates = self.fts_candidates(fragments.iter().map(String::as_str), params);
        let key_ph = params.bind(self, SqlParam::Text(key.to_string()));
        let how_ph = params.bind(self, SqlParam::Text(how.as_str().to_string()));
        let value_phs: Vec<String> = values.iter().map(|v| params.bind(self, SqlParam::Text(v.clone()))).collect();
        let call = if value_phs.is_empty() {
            // IN (): nothing to match; NOT IN (): any span that has the attribute.
            format!("(clew_span_attr_match(s.payload, {key_ph}, {how_ph}, NULL) IS NOT NULL AND {})", i32::from(negate))
        } else {
            let call = format!("clew_span_attr_match(s.payload, {key_ph}, {how_ph}, {})", value_phs.join(", "));
            // The function is NULL when the span lacks the attribute, so NOT keeps such spans out.
            if negate { format!("NOT {call}") } else { call }
        };
        match candidates {
            Some(candidates) => format!("{candidates} AND {call}"),
            None => call,
        }
    }

    fn linked_prompt(&self, name: &str, version: &str, params: &mut Params) -> String {
        let key = params.bind(self, SqlParam::Text(LINKED_PROMPTS_TAG.to_string()));
        let name = params.bind(self, SqlParam::Text(name.to_string()));
        let version = params.bind(self, SqlParam::Text(version.to_string()));
        format!(
            "EXISTS (SELECT 1 FROM trace_tags kv, \
             json_each(CASE WHEN json_valid(kv.value) THEN kv.value ELSE '[]' END) p \
             WHERE kv.trace_pk = t.trace_pk AND kv.key = {key} \
             AND json_extract(p.value, '$.name') = {name} \
             AND CAST(json_extract(p.value, '$.version') AS TEXT) = {version})"
        )
    }
}
