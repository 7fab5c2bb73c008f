//! The SQLite flavour of the search compiler: `?N` placeholders, clew's SQL functions for
//! case-sensitive LIKE and regexes, and the trigram text index (`text_index`) for substring search.

use super::text_index::match_expression;
use std::cell::Cell;
use crate::sql::pattern::{literal_fragments, survives_double_json_escaping};
use crate::sql::search::{AttributeMatch, Params, SearchDialect, SqlParam};

/// Tag holding `[{"name", "version"}]` of the prompts a trace used (spec §3.5).
const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";

/// The SQLite dialect. With a connection it looks at the data while compiling, to choose
/// between two shapes of span subquery. The set of matching traces computed up front (`IN`)
/// is right for a selective condition: a rare word's few candidate traces (from the text
/// index), a rare span name (from `spans_by_name`). For a condition that most traces meet (a
/// common word, a name on every trace, or nothing indexable) that set is the whole store,
/// built before the first result; the search then checks traces one by one in result order
/// (`EXISTS`) and stops after a page.
#[derive(Default)]
pub(crate) struct SqliteDialect<'c> {
    conn: Option<&'c rusqlite::Connection>,
    /// Set when a span condition of the group is selective (fewer than [`MANY_CANDIDATES`]).
    selective: Cell<bool>,
}

/// Index documents above which a substring is treated as common (see [`SqliteDialect`]).
/// Checking a candidate trace costs ~5-10 µs (its spans decompressed and matched), so this
/// bounds the candidate path at ~10-20 ms.
pub(crate) const MANY_CANDIDATES: i64 = 2000;

impl<'c> SqliteDialect<'c> {
    /// A dialect that consults the text index through `conn` (a read connection with the
    /// index attached) to choose between the index and an in-order scan.
    pub(crate) fn probing(conn: &'c rusqlite::Connection) -> Self {
        SqliteDialect { conn: Some(conn), selective: Cell::new(false) }
    }

    /// Whether span subqueries run trace by trace in result order: only with a connection to
    /// look, and when no span condition was selective.
    fn scan_in_order(&self) -> bool {
        self.conn.is_some() && !self.selective.get()
    }

    /// The candidate traces of `expression`: `Some(Ok(trace_pks))` when fewer than
    /// [`MANY_CANDIDATES`] documents match, `Some(Err(()))` when at least that many (a common
    /// substring), `None` without a connection or when the probe fails (the caller then
    /// queries the index inside the search, which is correct either way).
    fn probe(&self, expression: &str) -> Option<Result<Vec<i64>, ()>> {
        let conn = self.conn?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT d.trace_pk FROM ix.text_fts JOIN ix.text_docs d ON d.doc_id = text_fts.rowid
                 WHERE text_fts MATCH ?1 LIMIT ?2",
            )
            .ok()?;
        let pks = stmt
            .query_map(rusqlite::params![expression, MANY_CANDIDATES], |r| r.get::<_, i64>(0))
            .ok()?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .ok()?;
        Some(if pks.len() as i64 >= MANY_CANDIDATES { Err(()) } else { Ok(pks) })
    }

    /// The candidate traces for `fragments`: the traces of the text index's matching documents
    /// plus those of spans not indexed yet (the index thread may trail writes), as a subquery
    /// over `trace_pk`. `None` when no fragment is long enough or the substring is common: the
    /// caller then checks spans directly (and span subqueries become in-order `EXISTS`).
    fn fts_candidates<'a>(&self, fragments: impl IntoIterator<Item = &'a str>, params: &mut Params) -> Option<String> {
        let expression = match_expression(fragments)?;
        let tail = "SELECT trace_pk FROM spans WHERE span_pk > (SELECT indexed_up_to FROM ix.index_state)";
        match self.probe(&expression) {
            // Few: the probe's answer is the candidate set (the index is read once).
            Some(Ok(mut pks)) => {
                self.selective.set(true);
                pks.sort_unstable();
                pks.dedup();
                let list = format!("[{}]", pks.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
                let ph = params.bind(self, SqlParam::Text(list));
                Some(format!("SELECT value FROM json_each({ph}) UNION ALL {tail}"))
            }
            Some(Err(())) => None,
            None => {
                self.selective.set(true);
                let ph = params.bind(self, SqlParam::Text(expression));
                Some(format!(
                    "SELECT d.trace_pk FROM ix.text_fts JOIN ix.text_docs d ON d.doc_id = text_fts.rowid \
                     WHERE text_fts MATCH {ph} UNION ALL {tail}"
                ))
            }
        }
    }

    /// The exact LIKE check of span `s`'s content.
    fn content_check(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
        let pattern_ph = params.bind(self, SqlParam::Text(pattern.to_string()));
        format!("clew_payload_like(s.payload, {pattern_ph}, {})", i32::from(case_insensitive))
    }
}

impl SearchDialect for SqliteDialect<'_> {
    /// `trace.text`: the candidate test on the trace itself, then a per-trace `EXISTS` that
    /// stops at the first matching span (the trace-level text index cannot say which span).
    fn trace_text_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
        // Its own decision: it does not make a span condition group selective.
        let group_selective = self.selective.get();
        let candidates = self.fts_candidates(literal_fragments(pattern), params);
        self.selective.set(group_selective);
        let check = self.content_check(pattern, case_insensitive, params);
        let exists = format!("EXISTS (SELECT 1 FROM spans s WHERE s.trace_pk = t.trace_pk AND {check})");
        match candidates {
            Some(candidates) => format!("t.trace_pk IN ({candidates}) AND {exists}"),
            None => exists,
        }
    }

    fn note_span_equality(&self, column: &str, values: &[String]) {
        let Some(conn) = self.conn else { return };
        let column = match column {
            "s.name" => "name",
            "s.span_type" => "span_type",
            _ => return,
        };
        let Ok(values) = serde_json::to_string(values) else { return };
        // Through the column's index: at most MANY_CANDIDATES entries are read.
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM spans WHERE {column} IN (SELECT value FROM json_each(?1)) LIMIT ?2)"
        );
        let many = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row(rusqlite::params![values, MANY_CANDIDATES], |r| r.get::<_, i64>(0)))
            .is_ok_and(|n| n >= MANY_CANDIDATES);
        if !many {
            self.selective.set(true);
        }
    }

    fn span_subquery(&self, conditions: &str) -> String {
        if self.scan_in_order() {
            format!("EXISTS (SELECT 1 FROM spans s WHERE s.trace_pk = t.trace_pk AND {conditions})")
        } else {
            format!("t.trace_pk IN (SELECT s.trace_pk FROM spans s WHERE {conditions})")
        }
    }

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
        let check = self.content_check(pattern, case_insensitive, params);
        match candidates {
            Some(candidates) => format!("s.trace_pk IN ({candidates}) AND {check}"),
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
            Some(candidates) => format!("s.trace_pk IN ({candidates}) AND {call}"),
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
