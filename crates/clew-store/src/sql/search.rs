//! Compiles a parsed search filter and `order_by` list into one parameterised SQL query
//! (spec §5). Values are always bound parameters, never spliced into the SQL text.
//!
//! The query runs against the shared table shape of the SQL backends:
//! `traces t` (the summary row), `trace_tags` / `trace_metadata` (key, value),
//! `assessments`, `trace_run_links` (trace_id, run_id) and `spans s`. It selects `t.trace_pk`
//! of one page, in order; the caller loads the infos of those rows.
//!
//! MLflow semantics kept:
//! - every `span.*` clause holds on the **same** span (one subquery with all of them);
//! - `status` is the trace state, `name` the `mlflow.traceName` tag, `run_id` the
//!   `mlflow.sourceRun` metadata (with `=`, also traces linked to the run), `end_time` = timestamp + coalesce(duration, 0);
//! - tag/metadata comparisons require the key to be present (`!=` does not match a trace
//!   without the key); `IS NULL` / `IS NOT NULL` test presence;
//! - LIKE is case-sensitive, ILIKE case-insensitive, RLIKE a regex search;
//! - order keys sort NULLs last, then `timestamp_ms DESC, request_id ASC` break ties.

use clew_model::filter::{
    CompareOp, Comparison, Field, Filter, FilterError, FilterValue, OrderBy, OrderKey, SpanField, TraceAttribute,
};
use clew_model::keys;

/// A bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlParam {
    Int(i64),
    Real(f64),
    Text(String),
}

/// How a span attribute is compared (`span.attributes.<key>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeMatch {
    /// The value equals one of the given values (raw JSON text or decoded string).
    Equals,
    Like,
    ILike,
    RLike,
}

impl AttributeMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeMatch::Equals => "=",
            AttributeMatch::Like => "LIKE",
            AttributeMatch::ILike => "ILIKE",
            AttributeMatch::RLike => "RLIKE",
        }
    }
    pub fn parse(s: &str) -> Option<AttributeMatch> {
        Some(match s {
            "=" => AttributeMatch::Equals,
            "LIKE" => AttributeMatch::Like,
            "ILIKE" => AttributeMatch::ILike,
            "RLIKE" => AttributeMatch::RLike,
            _ => return None,
        })
    }
}

/// The parameters of a query being built.
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<SqlParam>,
}

impl Params {
    /// Binds `value` and returns its placeholder.
    pub fn bind(&mut self, dialect: &dyn SearchDialect, value: SqlParam) -> String {
        self.values.push(value);
        dialect.placeholder(self.values.len())
    }
    pub fn text(&mut self, dialect: &dyn SearchDialect, value: &str) -> String {
        self.bind(dialect, SqlParam::Text(value.to_string()))
    }
    pub fn into_values(self) -> Vec<SqlParam> {
        self.values
    }
}

/// What differs between SQL backends. Conditions on spans refer to the span row as `s`
/// (columns `span_pk`, `trace_pk`, `payload`, ...); conditions on traces to `t`.
pub trait SearchDialect {
    /// The placeholder of the `index`-th (1-based) parameter: `?1` (SQLite), `$1` (PostgreSQL).
    fn placeholder(&self, index: usize) -> String;
    /// Case-sensitive LIKE of `expr` against the pattern placeholder.
    fn like(&self, expr: &str, pattern: &str) -> String;
    /// Case-insensitive LIKE.
    fn ilike(&self, expr: &str, pattern: &str) -> String;
    /// Regex search (Python `re.search` semantics) of `expr`.
    fn regex(&self, expr: &str, pattern: &str) -> String;
    /// Condition that span `s`'s content (span JSON) matches a LIKE pattern; should use the
    /// backend's substring index where the pattern allows.
    fn span_content_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String;
    /// Condition that span `s` has attribute `key` and its value matches any of `values`
    /// (`negate`: has the attribute and matches none).
    fn span_attribute(
        &self,
        key: &str,
        how: AttributeMatch,
        values: &[String],
        negate: bool,
        params: &mut Params,
    ) -> String;
    /// Condition that trace `t` links prompt `name` version `version`.
    fn linked_prompt(&self, name: &str, version: &str, params: &mut Params) -> String;
    /// Condition that some span `s` of trace `t` meets `conditions`. By default the set of
    /// matching traces is computed first (`t.trace_pk IN (...)`), which suits selective span
    /// conditions; a backend may answer with a per-trace `EXISTS`, which a scan in result order
    /// can stop after a page of matches.
    fn span_subquery(&self, conditions: &str) -> String {
        format!("t.trace_pk IN (SELECT s.trace_pk FROM spans s WHERE {conditions})")
    }
    /// Told that a span condition compares `column` (`s.name`, `s.span_type`) for equality
    /// with one of `values`, before the condition is used (a backend may look at how
    /// selective it is to choose the shape of [`SearchDialect::span_subquery`]).
    fn note_span_equality(&self, _column: &str, _values: &[String]) {}
    /// Condition that some span of trace `t` matches a LIKE pattern (`trace.text`).
    fn trace_text_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
        let content = self.span_content_like(pattern, case_insensitive, params);
        self.span_subquery(&content)
    }
}

/// A compiled search: SQL selecting `trace_pk` of one page, and its parameters.
#[derive(Debug)]
pub struct CompiledSearch {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// Builds the page query. `experiment_ids` empty means every experiment.
pub fn compile_search(
    dialect: &dyn SearchDialect,
    experiment_ids: &[String],
    filter: &Filter,
    order_by: &[OrderBy],
    limit: usize,
    offset: usize,
) -> Result<CompiledSearch, FilterError> {
    let mut params = Params::default();
    let mut conditions: Vec<String> = Vec::new();

    if !experiment_ids.is_empty() {
        // Experiment ids are integers in the SQL backends; an id that is not one matches nothing.
        let placeholders: Vec<String> = experiment_ids
            .iter()
            .filter_map(|id| id.trim().parse::<i64>().ok())
            .map(|id| params.bind(dialect, SqlParam::Int(id)))
            .collect();
        if placeholders.is_empty() {
            conditions.push("1 = 0".to_string());
        } else {
            conditions.push(format!("t.experiment_id IN ({})", placeholders.join(", ")));
        }
    }

    let mut span_conditions: Vec<String> = Vec::new();
    for clause in &filter.clauses {
        match &clause.field {
            Field::Span(span_field) => span_conditions.push(span_condition(dialect, clause, span_field, &mut params)?),
            _ => conditions.push(trace_condition(dialect, clause, &mut params)?),
        }
    }
    if !span_conditions.is_empty() {
        conditions.push(dialect.span_subquery(&span_conditions.join(" AND ")));
    }

    let mut order_terms: Vec<String> = Vec::new();
    for entry in order_by {
        let expr = order_expression(dialect, &entry.key, &mut params);
        let direction = if entry.ascending { "ASC" } else { "DESC" };
        order_terms.push(format!("{expr} {direction} NULLS LAST"));
    }
    order_terms.push("t.request_time DESC".to_string());
    order_terms.push("t.trace_id ASC".to_string());

    let where_sql = if conditions.is_empty() { "1 = 1".to_string() } else { conditions.join("\n  AND ") };
    let limit_ph = params.bind(dialect, SqlParam::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    let offset_ph = params.bind(dialect, SqlParam::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT t.trace_pk FROM traces t\nWHERE {where_sql}\nORDER BY {}\nLIMIT {limit_ph} OFFSET {offset_ph}",
        order_terms.join(", ")
    );
    Ok(CompiledSearch { sql, params: params.into_values() })
}

fn error(clause: &Comparison, message: impl Into<String>) -> FilterError {
    FilterError { position: clause.position.0, message: message.into() }
}

fn op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Like => "LIKE",
        CompareOp::ILike => "ILIKE",
        CompareOp::RLike => "RLIKE",
        CompareOp::In => "IN",
        CompareOp::NotIn => "NOT IN",
        CompareOp::IsNull => "IS NULL",
        CompareOp::IsNotNull => "IS NOT NULL",
    }
}

fn unsupported(clause: &Comparison, what: &str, allowed: &str) -> FilterError {
    error(clause, format!("operator {} is not supported for {what}; use one of {allowed}", op_name(clause.op)))
}

fn string_value<'a>(clause: &'a Comparison, what: &str) -> Result<&'a str, FilterError> {
    match &clause.value {
        FilterValue::Str(s) => Ok(s),
        _ => Err(error(clause, format!("{what} {} expects a quoted string", op_name(clause.op)))),
    }
}

fn list_value<'a>(clause: &'a Comparison, what: &str) -> Result<&'a [String], FilterError> {
    match &clause.value {
        FilterValue::List(items) => Ok(items),
        _ => Err(error(clause, format!("{what} {} expects a list like ('a', 'b')", op_name(clause.op)))),
    }
}

fn check_regex(clause: &Comparison, pattern: &str) -> Result<(), FilterError> {
    regex::Regex::new(pattern).map(|_| ()).map_err(|e| error(clause, format!("invalid regular expression: {e}")))
}

/// `expr <op> value` for string comparisons (`= != LIKE ILIKE RLIKE IN NOT IN`).
fn string_comparison(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    what: &str,
    expr: &str,
    params: &mut Params,
) -> Result<String, FilterError> {
    Ok(match clause.op {
        CompareOp::Eq => format!("{expr} = {}", params.text(dialect, string_value(clause, what)?)),
        CompareOp::Ne => format!("{expr} != {}", params.text(dialect, string_value(clause, what)?)),
        CompareOp::Like => dialect.like(expr, &params.text(dialect, string_value(clause, what)?)),
        CompareOp::ILike => dialect.ilike(expr, &params.text(dialect, string_value(clause, what)?)),
        CompareOp::RLike => {
            let pattern = string_value(clause, what)?;
            check_regex(clause, pattern)?;
            dialect.regex(expr, &params.text(dialect, pattern))
        }
        CompareOp::In | CompareOp::NotIn => {
            let items = list_value(clause, what)?;
            let negate = clause.op == CompareOp::NotIn;
            if items.is_empty() {
                return Ok(if negate { format!("{expr} IS NOT NULL") } else { "1 = 0".to_string() });
            }
            let placeholders: Vec<String> = items.iter().map(|v| params.text(dialect, v)).collect();
            format!("{expr} {}IN ({})", if negate { "NOT " } else { "" }, placeholders.join(", "))
        }
        _ => return Err(unsupported(clause, what, "=, !=, LIKE, ILIKE, RLIKE, IN, NOT IN")),
    })
}

/// `tag.<key>` / `metadata.<key>` semantics over a key/value table.
fn key_value_condition(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    table: &str,
    what: &str,
    key: &str,
    params: &mut Params,
) -> Result<String, FilterError> {
    let key_ph = params.text(dialect, key);
    let exists = |extra: &str| {
        format!("EXISTS (SELECT 1 FROM {table} kv WHERE kv.trace_pk = t.trace_pk AND kv.key = {key_ph}{extra})")
    };
    match clause.op {
        CompareOp::IsNull => Ok(format!("NOT {}", exists(""))),
        CompareOp::IsNotNull => Ok(exists("")),
        _ => {
            let comparison = string_comparison(dialect, clause, what, "kv.value", params)?;
            Ok(exists(&format!(" AND {comparison}")))
        }
    }
}

fn numeric_value(clause: &Comparison, what: &str) -> Result<SqlParam, FilterError> {
    let number = match &clause.value {
        FilterValue::Number(n) => *n,
        FilterValue::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| error(clause, format!("{what} expects a number, got {s:?}")))?,
        _ => return Err(error(clause, format!("{what} expects a number"))),
    };
    if !number.is_finite() {
        return Err(error(clause, format!("{what} expects a finite number")));
    }
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        Ok(SqlParam::Int(number as i64))
    } else {
        Ok(SqlParam::Real(number))
    }
}

fn numeric_comparison(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    what: &str,
    expr: &str,
    params: &mut Params,
) -> Result<String, FilterError> {
    let sql_op = match clause.op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => return Err(unsupported(clause, what, "=, !=, >, >=, <, <=")),
    };
    let value = numeric_value(clause, what)?;
    Ok(format!("{expr} {sql_op} {}", params.bind(dialect, value)))
}

fn assessment_condition(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    kind: &str,
    name: &str,
    params: &mut Params,
) -> Result<String, FilterError> {
    let what = format!("{kind}.{name}");
    let kind_ph = params.text(dialect, kind);
    let name_ph = params.text(dialect, name);
    let exists = |extra: &str| {
        format!(
            "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_pk = t.trace_pk AND a.kind = {kind_ph} \
             AND a.name = {name_ph} AND a.valid = 1{extra})"
        )
    };
    Ok(match clause.op {
        CompareOp::IsNull => format!("NOT {}", exists("")),
        CompareOp::IsNotNull => exists(""),
        // `=` matches the raw text or the JSON form, so 'good' and '5' both work (spec §5).
        CompareOp::Eq => {
            let v = params.text(dialect, string_value(clause, &what)?);
            exists(&format!(" AND (a.value_text = {v} OR a.value_json = {v})"))
        }
        CompareOp::Ne => {
            let v = params.text(dialect, string_value(clause, &what)?);
            exists(&format!(" AND a.value_text != {v} AND a.value_json != {v}"))
        }
        CompareOp::Like | CompareOp::ILike | CompareOp::RLike => {
            exists(&format!(" AND {}", string_comparison(dialect, clause, &what, "a.value_text", params)?))
        }
        _ => return Err(unsupported(clause, &what, "=, !=, LIKE, ILIKE, RLIKE, IS NULL, IS NOT NULL")),
    })
}

/// `run_id` / `metadata.mlflow.sourceRun`: the metadata, and with `=` also the traces linked to
/// the run (MLflow's entity associations; MLflow treats both spellings alike, spec §5).
fn source_run_condition(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    what: &str,
    params: &mut Params,
) -> Result<String, FilterError> {
    let source_run = key_value_condition(dialect, clause, "trace_metadata", what, keys::SOURCE_RUN, params)?;
    if clause.op != CompareOp::Eq {
        return Ok(source_run);
    }
    let run = params.text(dialect, string_value(clause, what)?);
    Ok(format!(
        "({source_run} OR EXISTS (SELECT 1 FROM trace_run_links l WHERE l.trace_id = t.trace_id AND l.run_id = {run}))"
    ))
}

fn trace_condition(dialect: &dyn SearchDialect, clause: &Comparison, params: &mut Params) -> Result<String, FilterError> {
    match &clause.field {
        Field::Attribute(attribute) => match attribute {
            TraceAttribute::TimestampMs => numeric_comparison(dialect, clause, "timestamp_ms", "t.request_time", params),
            TraceAttribute::ExecutionTimeMs => {
                numeric_comparison(dialect, clause, "execution_time_ms", "t.execution_duration", params)
            }
            TraceAttribute::EndTimeMs => numeric_comparison(
                dialect,
                clause,
                "end_time_ms",
                "(t.request_time + COALESCE(t.execution_duration, 0))",
                params,
            ),
            TraceAttribute::Status => string_comparison(dialect, clause, "status", "t.state", params),
            TraceAttribute::RequestId => string_comparison(dialect, clause, "request_id", "t.trace_id", params),
            TraceAttribute::ClientRequestId => {
                string_comparison(dialect, clause, "client_request_id", "t.client_request_id", params)
            }
            TraceAttribute::Name => key_value_condition(dialect, clause, "trace_tags", "name", keys::TRACE_NAME, params),
            TraceAttribute::RunId => source_run_condition(dialect, clause, "run_id", params),
            TraceAttribute::Prompt => {
                if clause.op != CompareOp::Eq {
                    return Err(unsupported(clause, "prompt", "="));
                }
                let value = string_value(clause, "prompt")?;
                let Some((name, version)) = value.rsplit_once('/') else {
                    return Err(error(clause, format!("prompt expects \"<name>/<version>\", got {value:?}")));
                };
                Ok(dialect.linked_prompt(name, version, params))
            }
            TraceAttribute::Text => {
                let (pattern, case_insensitive) = match clause.op {
                    CompareOp::Like => (string_value(clause, "text")?, false),
                    CompareOp::ILike => (string_value(clause, "text")?, true),
                    _ => return Err(unsupported(clause, "text", "LIKE, ILIKE")),
                };
                Ok(dialect.trace_text_like(pattern, case_insensitive, params))
            }
        },
        Field::Tag(key) => key_value_condition(dialect, clause, "trace_tags", &format!("tag.{key}"), key, params),
        Field::Metadata(key) if key == keys::SOURCE_RUN => {
            source_run_condition(dialect, clause, &format!("metadata.{key}"), params)
        }
        Field::Metadata(key) => {
            key_value_condition(dialect, clause, "trace_metadata", &format!("metadata.{key}"), key, params)
        }
        Field::Feedback(name) => assessment_condition(dialect, clause, "feedback", name, params),
        Field::Expectation(name) => assessment_condition(dialect, clause, "expectation", name, params),
        Field::IssueId => {
            if clause.op != CompareOp::Eq {
                return Err(unsupported(clause, "issue.id", "="));
            }
            let id = params.text(dialect, string_value(clause, "issue.id")?);
            Ok(format!(
                "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_pk = t.trace_pk AND a.kind = 'issue' \
                 AND a.name = {id} AND a.valid = 1)"
            ))
        }
        Field::Span(_) => Err(error(clause, "internal: span clause compiled as a trace clause")),
    }
}

fn span_condition(
    dialect: &dyn SearchDialect,
    clause: &Comparison,
    field: &SpanField,
    params: &mut Params,
) -> Result<String, FilterError> {
    let column = match field {
        SpanField::Name => Some("s.name"),
        SpanField::Type => Some("s.span_type"),
        _ => None,
    };
    if let Some(column) = column {
        match (&clause.op, &clause.value) {
            (CompareOp::Eq, FilterValue::Str(value)) => dialect.note_span_equality(column, std::slice::from_ref(value)),
            (CompareOp::In, FilterValue::List(values)) => dialect.note_span_equality(column, values),
            _ => {}
        }
    }
    match field {
        SpanField::Name => string_comparison(dialect, clause, "span.name", "s.name", params),
        SpanField::Type => string_comparison(dialect, clause, "span.type", "s.span_type", params),
        SpanField::Status => {
            // Accept the OTel spelling too: `STATUS_CODE_OK` means `OK`.
            let normalise = |v: &str| v.strip_prefix("STATUS_CODE_").unwrap_or(v).to_string();
            let normalised = Comparison {
                value: match &clause.value {
                    FilterValue::Str(s) => FilterValue::Str(normalise(s)),
                    FilterValue::List(items) => FilterValue::List(items.iter().map(|s| normalise(s)).collect()),
                    other => other.clone(),
                },
                ..clause.clone()
            };
            string_comparison(dialect, &normalised, "span.status", "s.status", params)
        }
        SpanField::Content => match clause.op {
            CompareOp::Like => Ok(dialect.span_content_like(string_value(clause, "span.content")?, false, params)),
            CompareOp::ILike => Ok(dialect.span_content_like(string_value(clause, "span.content")?, true, params)),
            _ => Err(unsupported(clause, "span.content", "LIKE, ILIKE")),
        },
        SpanField::Attribute(key) => {
            let what = format!("span.attributes.{key}");
            let (how, values, negate): (AttributeMatch, Vec<String>, bool) = match clause.op {
                CompareOp::Eq => (AttributeMatch::Equals, vec![string_value(clause, &what)?.to_string()], false),
                CompareOp::Ne => (AttributeMatch::Equals, vec![string_value(clause, &what)?.to_string()], true),
                CompareOp::In => (AttributeMatch::Equals, list_value(clause, &what)?.to_vec(), false),
                CompareOp::NotIn => (AttributeMatch::Equals, list_value(clause, &what)?.to_vec(), true),
                CompareOp::Like => (AttributeMatch::Like, vec![string_value(clause, &what)?.to_string()], false),
                CompareOp::ILike => (AttributeMatch::ILike, vec![string_value(clause, &what)?.to_string()], false),
                CompareOp::RLike => {
                    let pattern = string_value(clause, &what)?;
                    check_regex(clause, pattern)?;
                    (AttributeMatch::RLike, vec![pattern.to_string()], false)
                }
                _ => return Err(unsupported(clause, &what, "=, !=, IN, NOT IN, LIKE, ILIKE, RLIKE")),
            };
            Ok(dialect.span_attribute(key, how, &values, negate, params))
        }
    }
}

fn key_value_lookup(dialect: &dyn SearchDialect, table: &str, key: &str, params: &mut Params) -> String {
    let key_ph = params.text(dialect, key);
    format!("(SELECT kv.value FROM {table} kv WHERE kv.trace_pk = t.trace_pk AND kv.key = {key_ph})")
}

fn order_expression(dialect: &dyn SearchDialect, key: &OrderKey, params: &mut Params) -> String {
    match key {
        OrderKey::TimestampMs => "t.request_time".to_string(),
        OrderKey::ExecutionTimeMs => "t.execution_duration".to_string(),
        OrderKey::Status => "t.state".to_string(),
        OrderKey::RequestId => "t.trace_id".to_string(),
        OrderKey::ExperimentId => "t.experiment_id".to_string(),
        OrderKey::Name => key_value_lookup(dialect, "trace_tags", keys::TRACE_NAME, params),
        OrderKey::RunId => key_value_lookup(dialect, "trace_metadata", keys::SOURCE_RUN, params),
        OrderKey::Tag(k) => key_value_lookup(dialect, "trace_tags", k, params),
        OrderKey::Metadata(k) => key_value_lookup(dialect, "trace_metadata", k, params),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clew_model::filter::{parse_filter, parse_order_by_list};

    /// A dialect that spells every backend-specific piece visibly, to test the shared parts.
    struct TestDialect;

    impl SearchDialect for TestDialect {
        fn placeholder(&self, index: usize) -> String {
            format!("${index}")
        }
        fn like(&self, expr: &str, pattern: &str) -> String {
            format!("{expr} LIKE {pattern}")
        }
        fn ilike(&self, expr: &str, pattern: &str) -> String {
            format!("{expr} ILIKE {pattern}")
        }
        fn regex(&self, expr: &str, pattern: &str) -> String {
            format!("{expr} ~ {pattern}")
        }
        fn span_content_like(&self, pattern: &str, case_insensitive: bool, params: &mut Params) -> String {
            let p = params.text(self, pattern);
            format!("content_like(s, {p}, {case_insensitive})")
        }
        fn span_attribute(&self, key: &str, how: AttributeMatch, values: &[String], negate: bool, params: &mut Params) -> String {
            let k = params.text(self, key);
            let vs: Vec<String> = values.iter().map(|v| params.text(self, v)).collect();
            format!("attr(s, {k}, {}, [{}], {negate})", how.as_str(), vs.join(", "))
        }
        fn linked_prompt(&self, name: &str, version: &str, params: &mut Params) -> String {
            let (n, v) = (params.text(self, name), params.text(self, version));
            format!("prompt({n}, {v})")
        }
    }

    fn compile(filter: &str, order_by: &[&str]) -> CompiledSearch {
        let filter = parse_filter(filter).expect("filter parses");
        let order: Vec<String> = order_by.iter().map(|s| s.to_string()).collect();
        let order = parse_order_by_list(&order).expect("order parses");
        compile_search(&TestDialect, &["1".into(), "x".into()], &filter, &order, 10, 20).expect("compiles")
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let c = compile("tag.`we'ird` = 'x'' OR 1=1 --' AND trace.text LIKE '%DROP TABLE%'", &["tag.`a'b` DESC"]);
        assert!(!c.sql.contains("OR 1=1"), "{}", c.sql);
        assert!(!c.sql.contains("DROP"), "{}", c.sql);
        assert!(!c.sql.contains("we'ird"), "{}", c.sql);
        assert!(c.params.contains(&SqlParam::Text("x' OR 1=1 --".into())));
        assert!(c.params.contains(&SqlParam::Text("we'ird".into())));
        assert!(c.params.contains(&SqlParam::Text("a'b".into())));
        // One placeholder per parameter, numbered in order.
        for i in 1..=c.params.len() {
            assert!(c.sql.contains(&format!("${i}")), "placeholder ${i} missing in {}", c.sql);
        }
        assert!(!c.sql.contains(&format!("${}", c.params.len() + 1)));
    }

    #[test]
    fn span_clauses_share_one_subquery_and_text_gets_its_own() {
        let c = compile("span.name = 'a' AND span.type = 'LLM' AND span.attributes.model = 'm' AND trace.text LIKE '%q%'", &[]);
        assert_eq!(c.sql.matches("FROM spans s").count(), 2, "{}", c.sql);
        let same_span = c.sql.lines().find(|l| l.contains("s.name")).expect("span subquery");
        assert!(same_span.contains("s.span_type") && same_span.contains("attr(s"), "{same_span}");
        assert!(!same_span.contains("content_like"), "trace.text is trace-wide: {same_span}");
    }

    #[test]
    fn order_by_sorts_nulls_last_then_breaks_ties() {
        let c = compile("", &["execution_time_ms ASC", "tag.env DESC"]);
        let order = c.sql.split("ORDER BY").nth(1).expect("order by");
        assert!(order.contains("t.execution_duration ASC NULLS LAST"), "{order}");
        assert!(order.contains("DESC NULLS LAST"), "{order}");
        assert!(order.trim_start().starts_with("t.execution_duration"), "{order}");
        assert!(order.contains("t.request_time DESC, t.trace_id ASC"), "{order}");
    }

    #[test]
    fn numbers_bind_as_integers_when_whole() {
        let c = compile("timestamp_ms > 1767225600000 AND execution_time_ms <= 2.5", &[]);
        assert!(c.params.contains(&SqlParam::Int(1_767_225_600_000)));
        assert!(c.params.contains(&SqlParam::Real(2.5)));
        // Experiment ids: integers only; the non-numeric id cannot match anything.
        assert!(c.params.contains(&SqlParam::Int(1)));
        assert!(c.sql.contains("t.experiment_id IN ($1)"), "{}", c.sql);
        // LIMIT and OFFSET are parameters too.
        assert_eq!(c.params[c.params.len() - 2..], [SqlParam::Int(10), SqlParam::Int(20)]);
    }

    #[test]
    fn unsupported_combinations_name_the_field_and_position() {
        // Built by hand: the parser already rejects this, the compiler must too (other
        // front ends may build ASTs).
        let filter = Filter {
            clauses: vec![Comparison {
                field: Field::Span(SpanField::Content),
                op: CompareOp::Eq,
                value: FilterValue::Str("x".into()),
                position: (18, 36),
            }],
        };
        let e = compile_search(&TestDialect, &[], &filter, &[], 10, 0).expect_err("must not compile");
        assert_eq!(e.position, 18, "{e}");
        assert!(e.message.contains("span.content"), "{e}");
        let filter = Filter {
            clauses: vec![Comparison {
                field: Field::Attribute(TraceAttribute::TimestampMs),
                op: CompareOp::Gt,
                value: FilterValue::Str("soon".into()),
                position: (0, 19),
            }],
        };
        let e = compile_search(&TestDialect, &[], &filter, &[], 10, 0).expect_err("must not compile");
        assert!(e.message.contains("timestamp_ms expects a number"), "{e}");
    }
}
