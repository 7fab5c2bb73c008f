//! The trace search filter grammar (spec §5): every field, operator, quoting form and
//! `order_by` key, the error messages with their positions, and behaviours pinned against
//! MLflow 3.17.2's `SearchTraceUtils` + SQL store.

use clew_model::filter::*;

fn parse_one(s: &str) -> Comparison {
    let mut filter = parse_filter(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
    assert_eq!(filter.clauses.len(), 1, "{s:?}");
    filter.clauses.remove(0)
}

fn field_of(s: &str) -> Field {
    parse_one(s).field
}

fn error(s: &str) -> FilterError {
    match parse_filter(s) {
        Ok(filter) => panic!("{s:?} should be rejected, got {filter:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's position and that its message contains `needle`.
fn assert_error(s: &str, position: usize, needle: &str) {
    let e = error(s);
    assert!(
        e.message.contains(needle),
        "{s:?}: message {:?} lacks {needle:?}",
        e.message
    );
    assert_eq!(e.position, position, "{s:?}: {e}");
}

fn attr(a: TraceAttribute) -> Field {
    Field::Attribute(a)
}

fn s(text: &str) -> FilterValue {
    FilterValue::Str(text.into())
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

#[test]
fn every_attribute_key_and_alias() {
    use TraceAttribute::*;
    let cases = [
        ("timestamp_ms > 1", TimestampMs),
        ("timestamp > 1", TimestampMs),
        ("execution_time_ms > 1", ExecutionTimeMs),
        ("execution_time > 1", ExecutionTimeMs),
        ("end_time_ms > 1", EndTimeMs),
        ("end_time > 1", EndTimeMs),
        ("status = 'OK'", Status),
        ("request_id = 'tr-1'", RequestId),
        ("client_request_id = 'c'", ClientRequestId),
        ("name = 'agent'", Name),
        ("run_id = 'r'", RunId),
        ("prompt = 'qa/3'", Prompt),
        ("text LIKE '%hello%'", Text),
    ];
    for (filter, expected) in cases {
        assert_eq!(field_of(filter), attr(expected), "{filter}");
    }
}

#[test]
fn attribute_prefixes_are_interchangeable() {
    for prefix in ["", "attribute.", "attributes.", "trace."] {
        let filter = format!("{prefix}status = 'OK'");
        assert_eq!(field_of(&filter), attr(TraceAttribute::Status), "{filter}");
    }
    assert_eq!(
        field_of("trace.text ILIKE '%q%'"),
        attr(TraceAttribute::Text)
    );
    assert_eq!(field_of("`status` = 'OK'"), attr(TraceAttribute::Status));
}

#[test]
fn tag_and_metadata_prefixes() {
    assert_eq!(field_of("tag.env = 'prod'"), Field::Tag("env".into()));
    assert_eq!(field_of("tags.env = 'prod'"), Field::Tag("env".into()));
    assert_eq!(field_of("metadata.k = 'v'"), Field::Metadata("k".into()));
    assert_eq!(
        field_of("request_metadata.k = 'v'"),
        Field::Metadata("k".into())
    );
}

#[test]
fn every_key_quoting_form() {
    let user = Field::Metadata("mlflow.trace.user".into());
    assert_eq!(field_of("metadata.`mlflow.trace.user` = 'u'"), user);
    assert_eq!(field_of("metadata.\"mlflow.trace.user\" = 'u'"), user);
    assert_eq!(field_of("metadata.'mlflow.trace.user' = 'u'"), user);
    assert_eq!(field_of("metadata.mlflow.trace.user = 'u'"), user);
    assert_eq!(
        field_of("request_metadata.\"mlflow.modelId\" = 'm-1'"),
        Field::Metadata("mlflow.modelId".into())
    );
    assert_eq!(
        field_of("request_metadata.mlflow.trace.session ILIKE '%s%'"),
        Field::Metadata("mlflow.trace.session".into())
    );
    assert_eq!(field_of("tag.`my key` = 'x'"), Field::Tag("my key".into()));
    assert_eq!(field_of("tag.`we``ird` = 'x'"), Field::Tag("we`ird".into()));
    assert_eq!(field_of("tag.`änd.ü` = 'x'"), Field::Tag("änd.ü".into()));
    assert_eq!(field_of("tag.123 = 'x'"), Field::Tag("123".into()));
    assert_eq!(field_of("`tag`.env = 'x'"), Field::Tag("env".into()));
}

#[test]
fn span_fields() {
    assert_eq!(field_of("span.name = 'llm'"), Field::Span(SpanField::Name));
    assert_eq!(field_of("span.type = 'LLM'"), Field::Span(SpanField::Type));
    assert_eq!(
        field_of("span.status = 'ERROR'"),
        Field::Span(SpanField::Status)
    );
    assert_eq!(
        field_of("span.content LIKE '%x%'"),
        Field::Span(SpanField::Content)
    );
    let model = Field::Span(SpanField::Attribute("llm.model".into()));
    assert_eq!(field_of("span.attributes.llm.model LIKE '%gpt%'"), model);
    assert_eq!(field_of("span.attributes.`llm.model` LIKE '%gpt%'"), model);
    assert_eq!(
        field_of("span.attributes.\"llm.model\" LIKE '%gpt%'"),
        model
    );
    assert_eq!(
        field_of("span.attributes.foo = 'x'"),
        Field::Span(SpanField::Attribute("foo".into()))
    );
}

#[test]
fn assessment_and_issue_fields() {
    assert_eq!(
        field_of("feedback.rating = 'good'"),
        Field::Feedback("rating".into())
    );
    assert_eq!(
        field_of("feedback.`my score` = '5'"),
        Field::Feedback("my score".into())
    );
    assert_eq!(
        field_of("expectation.answer = 'x'"),
        Field::Expectation("answer".into())
    );
    assert_eq!(
        field_of("expectation.`expected.facts` = 'x'"),
        Field::Expectation("expected.facts".into())
    );
    assert_eq!(field_of("issue.id = 'iss-1'"), Field::IssueId);
}

// ---------------------------------------------------------------------------------------------
// Operators: the accept/reject matrix of spec §5
// ---------------------------------------------------------------------------------------------

const ALL_OPS: [CompareOp; 13] = [
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::RLike,
    CompareOp::In,
    CompareOp::NotIn,
    CompareOp::IsNull,
    CompareOp::IsNotNull,
];

fn op_syntax(op: CompareOp) -> &'static str {
    use CompareOp::*;
    match op {
        Eq => "=",
        Ne => "!=",
        Gt => ">",
        Ge => ">=",
        Lt => "<",
        Le => "<=",
        Like => "LIKE",
        ILike => "ILIKE",
        RLike => "RLIKE",
        In => "IN",
        NotIn => "NOT IN",
        IsNull => "IS NULL",
        IsNotNull => "IS NOT NULL",
    }
}

/// A filter on `identifier` with `op` and a value of the right shape for it.
fn filter_with(identifier: &str, op: CompareOp, numeric: bool, scalar: &str) -> String {
    use CompareOp::*;
    let syntax = op_syntax(op);
    match op {
        IsNull | IsNotNull => format!("{identifier} {syntax}"),
        In | NotIn => format!("{identifier} {syntax} ('a/1', 'b/2')"),
        Gt | Ge | Lt | Le if numeric => format!("{identifier} {syntax} 3"),
        _ => format!("{identifier} {syntax} {scalar}"),
    }
}

#[test]
fn operator_matrix() {
    use CompareOp::*;
    let numeric = &[Eq, Ne, Gt, Ge, Lt, Le][..];
    let string_attribute = &[Eq, Ne, Like, ILike, RLike, In, NotIn][..];
    let name_like = &[Eq, Ne, Like, ILike, RLike, In, NotIn, IsNull, IsNotNull][..];
    let key_value = &[Eq, Ne, Like, ILike, RLike, IsNull, IsNotNull][..];
    let pattern = &[Like, ILike][..];
    let span_attribute = &[Eq, Ne, Like, ILike, RLike][..];
    let assessment = &[
        Eq, Ne, Gt, Ge, Lt, Le, Like, ILike, RLike, IsNull, IsNotNull,
    ][..];
    let eq_only = &[Eq][..];
    // (identifier, accepted operators, numeric value for > etc., scalar value)
    let table: &[(&str, &[CompareOp], bool, &str)] = &[
        ("timestamp_ms", numeric, true, "5"),
        ("execution_time", numeric, true, "5"),
        ("end_time_ms", numeric, true, "5"),
        ("status", string_attribute, false, "'a/1'"),
        ("request_id", string_attribute, false, "'a/1'"),
        ("client_request_id", string_attribute, false, "'a/1'"),
        ("name", name_like, false, "'a/1'"),
        ("run_id", name_like, false, "'a/1'"),
        ("prompt", eq_only, false, "'a/1'"),
        ("text", pattern, false, "'a/1'"),
        ("tag.env", key_value, false, "'a/1'"),
        ("metadata.k", key_value, false, "'a/1'"),
        ("span.name", string_attribute, false, "'a/1'"),
        ("span.type", string_attribute, false, "'a/1'"),
        ("span.status", string_attribute, false, "'a/1'"),
        ("span.content", pattern, false, "'a/1'"),
        ("span.attributes.k", span_attribute, false, "'a/1'"),
        ("feedback.score", assessment, true, "'a/1'"),
        ("expectation.answer", assessment, true, "'a/1'"),
        ("issue.id", eq_only, false, "'a/1'"),
    ];
    for (identifier, accepted, numeric_value, scalar) in table {
        for op in ALL_OPS {
            let filter = filter_with(identifier, op, *numeric_value, scalar);
            let result = parse_filter(&filter);
            if accepted.contains(&op) {
                let parsed = result.unwrap_or_else(|e| panic!("{filter:?} should parse: {e}"));
                assert_eq!(parsed.clauses[0].op, op, "{filter}");
            } else {
                let e = result.expect_err(&filter);
                let op_position = identifier.len() + 1;
                assert_eq!(e.position, op_position, "{filter:?}: {e}");
                assert!(
                    e.message.starts_with(&format!(
                        "operator '{}' is not supported for",
                        op_syntax(op)
                    )),
                    "{filter:?}: {e}"
                );
            }
        }
    }
}

#[test]
fn operators_are_case_insensitive() {
    assert_eq!(parse_one("status like 'O%'").op, CompareOp::Like);
    assert_eq!(parse_one("status iLike 'o%'").op, CompareOp::ILike);
    assert_eq!(parse_one("status rlike '^O'").op, CompareOp::RLike);
    assert_eq!(parse_one("status in ('OK')").op, CompareOp::In);
    assert_eq!(parse_one("status not in ('OK')").op, CompareOp::NotIn);
    assert_eq!(parse_one("tag.a is null").op, CompareOp::IsNull);
    assert_eq!(parse_one("tag.a Is Not Null").op, CompareOp::IsNotNull);
    assert_eq!(
        parse_filter("status = 'OK' and tag.a = 'b' AnD tag.c = 'd'")
            .unwrap()
            .clauses
            .len(),
        3
    );
}

#[test]
fn operators_without_spaces() {
    let c = parse_one("timestamp_ms>=5");
    assert_eq!((c.op, c.value), (CompareOp::Ge, FilterValue::Number(5.0)));
    assert_eq!(parse_one("tag.a!='b'").value, s("b"));
    assert_eq!(
        parse_one("status IN('a','b')").value,
        FilterValue::List(vec!["a".into(), "b".into()])
    );
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

#[test]
fn string_quoting_forms() {
    assert_eq!(parse_one("tag.a = 'single'").value, s("single"));
    assert_eq!(parse_one("tag.a = \"double\"").value, s("double"));
    assert_eq!(parse_one("tag.a = ''").value, s(""));
    assert_eq!(parse_one("tag.a = 'it''s'").value, s("it's"));
    assert_eq!(parse_one(r"tag.a = 'it\'s'").value, s("it's"));
    assert_eq!(parse_one(r#"tag.a = "say ""hi""""#).value, s(r#"say "hi""#));
    assert_eq!(parse_one(r#"tag.a = "it's""#).value, s("it's"));
    assert_eq!(parse_one(r#"tag.a = 'say "hi"'"#).value, s(r#"say "hi""#));
    // LIKE escapes and other backslashes reach the pattern unchanged.
    assert_eq!(parse_one(r"tag.a LIKE '100\%'").value, s(r"100\%"));
    assert_eq!(
        parse_one("tag.a = 'AND status = ''x'''").value,
        s("AND status = 'x'")
    );
    assert_eq!(parse_one("tag.a = '日本語 ✓'").value, s("日本語 ✓"));
}

#[test]
fn numbers_for_numeric_attributes() {
    assert_eq!(
        parse_one("timestamp_ms > 1700000000000").value,
        FilterValue::Number(1_700_000_000_000.0)
    );
    assert_eq!(
        parse_one("execution_time_ms <= 1.5").value,
        FilterValue::Number(1.5)
    );
    assert_eq!(
        parse_one("timestamp_ms > 1.5e3").value,
        FilterValue::Number(1500.0)
    );
    assert_eq!(
        parse_one("timestamp_ms > -5").value,
        FilterValue::Number(-5.0)
    );
    // MLflow hands a quoted value to SQL, where the numeric column coerces it.
    assert_eq!(
        parse_one("timestamp_ms > '1700000000000'").value,
        FilterValue::Number(1_700_000_000_000.0)
    );
    assert_eq!(
        parse_one("end_time != \"42\"").value,
        FilterValue::Number(42.0)
    );
    assert_error(
        "timestamp_ms > 'yesterday'",
        15,
        "expected a number for attribute 'timestamp_ms'",
    );
}

#[test]
fn numbers_are_rejected_for_string_fields() {
    assert_error(
        "status = 5",
        9,
        "expected a quoted string value for attribute 'status'",
    );
    assert_error(
        "name = 5",
        7,
        "expected a quoted string value for attribute 'name'",
    );
    assert_error(
        "tag.env = 5",
        10,
        "expected a quoted string value for tag 'env'",
    );
    assert_error(
        "metadata.k = 5",
        13,
        "expected a quoted string value for metadata 'k'",
    );
    assert_error(
        "span.name = 5",
        12,
        "expected a quoted string value for span.name",
    );
    assert_error(
        "issue.id = 5",
        11,
        "expected a quoted string value for issue.id",
    );
}

#[test]
fn assessments_compare_numbers_with_ordering_operators_only() {
    let c = parse_one("feedback.score >= 0.8");
    assert_eq!((c.op, c.value), (CompareOp::Ge, FilterValue::Number(0.8)));
    assert_eq!(parse_one("feedback.score = '5'").value, s("5"));
    assert_error(
        "feedback.score = 5",
        17,
        "expected a quoted string value for feedback 'score'",
    );
    assert_error(
        "expectation.x > '3'",
        16,
        "expected a number for expectation 'x' with '>'",
    );
}

#[test]
fn null_values() {
    let c = parse_one("tag.env IS NOT NULL");
    assert_eq!((c.op, c.value), (CompareOp::IsNotNull, FilterValue::None));
    assert_eq!(
        parse_one("feedback.rating IS NULL").value,
        FilterValue::None
    );
    assert_error("tag.env = NULL", 10, "IS NULL");
}

#[test]
fn lists_for_in_and_not_in() {
    let expected = FilterValue::List(vec!["OK".into(), "ERROR".into()]);
    assert_eq!(parse_one("status IN ('OK', 'ERROR')").value, expected);
    assert_eq!(
        parse_one("status NOT IN (\"OK\",\"ERROR\")").value,
        expected
    );
    assert_eq!(
        parse_one("span.type IN ('LLM')").value,
        FilterValue::List(vec!["LLM".into()])
    );
    assert_eq!(
        parse_one("request_id IN ('a',)").value,
        FilterValue::List(vec!["a".into()])
    );
    assert_eq!(
        parse_one("run_id IN ('r1', 'r2')").value,
        FilterValue::List(vec!["r1".into(), "r2".into()])
    );
    assert_error("status IN ()", 10, "must not be empty");
    assert_error(
        "status IN ('OK', 1)",
        17,
        "list items must be quoted strings",
    );
    assert_error("status IN ('OK'", 10, "unclosed '('");
    assert_error("status IN 'OK'", 10, "expected a parenthesised list");
    assert_error(
        "status = ('OK')",
        9,
        "a list value is only allowed with IN / NOT IN",
    );
    assert_error(
        "timestamp_ms IN ('1')",
        13,
        "operator 'IN' is not supported for attribute 'timestamp_ms'",
    );
    assert_error(
        "tag.env IN ('a')",
        8,
        "operator 'IN' is not supported for tag 'env'",
    );
}

#[test]
fn prompt_values_are_name_slash_version() {
    assert_eq!(parse_one("prompt = 'qa-prompt/3'").value, s("qa-prompt/3"));
    assert_error(
        "prompt = 'qa-prompt'",
        9,
        "expected a prompt as 'name/version'",
    );
    assert_error("prompt = 'a/b/c'", 9, "expected a prompt as 'name/version'");
}

#[test]
fn bare_words_must_be_quoted() {
    let e = error("tag.env = prod");
    assert_eq!(e.position, 10);
    assert_eq!(
        e.message,
        "expected a quoted string value for tag 'env', found prod; write 'prod'"
    );
    assert_error(
        "timestamp_ms > now",
        15,
        "expected a number for attribute 'timestamp_ms', found now",
    );
    assert_error(
        "feedback.score > high",
        17,
        "expected a number for feedback 'score', found high",
    );
    assert_error(
        "feedback.score = high",
        17,
        "expected a quoted string value for feedback 'score', found high; write 'high'",
    );
}

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

#[test]
fn conditions_are_joined_by_and() {
    let filter = parse_filter(
        "trace.timestamp_ms > 100 AND attributes.run_id = 'r' AND request_metadata.\"mlflow.trace.user\" = 'u' \
         AND span.name ILIKE 'llm%' AND feedback.`correct` = 'yes' AND expectation.`answer` IS NOT NULL \
         AND prompt = 'p/1' AND issue.id = 'i'",
    )
    .unwrap();
    let fields: Vec<Field> = filter.clauses.into_iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        vec![
            attr(TraceAttribute::TimestampMs),
            attr(TraceAttribute::RunId),
            Field::Metadata("mlflow.trace.user".into()),
            Field::Span(SpanField::Name),
            Field::Feedback("correct".into()),
            Field::Expectation("answer".into()),
            attr(TraceAttribute::Prompt),
            Field::IssueId,
        ]
    );
}

#[test]
fn comparison_positions_are_byte_ranges() {
    let input = "tag.ü = 'é' AND status IN ('OK')";
    let filter = parse_filter(input).unwrap();
    assert_eq!(filter.clauses[0].position, (0, 13));
    assert_eq!(
        &input[filter.clauses[1].position.0..filter.clauses[1].position.1],
        "status IN ('OK')"
    );
}

#[test]
fn empty_and_blank_filters_match_everything() {
    assert_eq!(parse_filter("").unwrap(), Filter::default());
    assert_eq!(parse_filter(" \n\t ").unwrap(), Filter::default());
}

// ---------------------------------------------------------------------------------------------
// Error messages, with positions
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_attribute_state_suggests_status() {
    let e = error("status = 'OK' AND state = 'x'");
    assert_eq!(
        e.to_string(),
        "invalid filter at position 18: unknown attribute 'state' (did you mean 'status'?)"
    );
    assert_error(
        "trace.state = 'OK'",
        6,
        "unknown attribute 'state' (did you mean 'status'?)",
    );
    assert_error(
        "STATUS = 'OK'",
        0,
        "unknown attribute 'STATUS' (did you mean 'status'?)",
    );
    assert_error(
        "foo = 'x'",
        0,
        "unknown attribute 'foo'; expected one of: timestamp_ms",
    );
}

#[test]
fn unknown_prefixes_and_keys() {
    assert_error(
        "tagz.env = 'x'",
        0,
        "unknown field type 'tagz' (did you mean 'tag'?)",
    );
    assert_error(
        "TAG.env = 'x'",
        0,
        "unknown field type 'TAG' (did you mean 'tag'?)",
    );
    assert_error(
        "span.nme = 'x'",
        5,
        "unknown span field 'nme' (did you mean 'name'?)",
    );
    assert_error(
        "span.attributes = 'x'",
        15,
        "missing attribute name after 'span.attributes.'",
    );
    assert_error(
        "span.attributes. = 'x'",
        16,
        "missing attribute name after 'span.attributes.'",
    );
    assert_error(
        "issue.name = 'x'",
        6,
        "unknown issue field 'name'; only issue.id is supported",
    );
    assert_error("tag. = 'x'", 4, "missing key after 'tag.'");
    assert_error("feedback. = 'x'", 9, "missing key after 'feedback.'");
}

#[test]
fn unsupported_syntax() {
    let e = error("status = 'OK' OR status = 'ERROR'");
    assert_eq!(
        e.to_string(),
        "invalid filter at position 14: OR is not supported; combine conditions with AND"
    );
    assert_error(
        "status = 'OK' or status = 'ERROR'",
        14,
        "OR is not supported",
    );
    assert_error(
        "(status = 'OK')",
        0,
        "parentheses for grouping are not supported",
    );
    assert_error(
        "status = 'OK' AND (tag.a = 'b')",
        18,
        "parentheses for grouping are not supported",
    );
    assert_error(
        "status = 'OK'; DROP TABLE traces",
        13,
        "multiple statements are not supported",
    );
    assert_error(
        "status = 'OK';",
        13,
        "multiple statements are not supported",
    );
    assert_error(
        "NOT status = 'OK'",
        0,
        "NOT is only supported in 'NOT IN' and 'IS NOT NULL'",
    );
}

#[test]
fn misplaced_and() {
    assert_error("status = 'OK' AND", 14, "expected a condition after AND");
    assert_error("AND status = 'OK'", 0, "expected a condition before AND");
    assert_error(
        "status = 'OK' AND AND tag.a = 'b'",
        18,
        "expected a condition before AND",
    );
    assert_error(
        "status = 'OK' tag.a = 'b'",
        14,
        "expected AND between conditions, found 'tag.a'",
    );
}

#[test]
fn operator_errors() {
    assert_error("name <> 'x'", 5, "operator '<>' is not supported; use '!='");
    assert_error("name == 'x'", 5, "unknown operator '=='");
    assert_error("tag.a NOT LIKE 'x'", 6, "'NOT LIKE' is not supported");
    assert_error("tag.a NOT 'x'", 10, "expected IN after NOT");
    assert_error("tag.a IS 'x'", 9, "expected NULL or NOT NULL after IS");
    assert_error("tag.a IS NOT", 12, "expected NULL after IS NOT");
    assert_error("status", 6, "expected an operator");
    assert_error("status 'OK'", 7, "expected an operator");
    assert_error("status =", 8, "expected a value after '='");
    assert_error("status IN", 9, "expected a value after 'IN'");
    assert_error("= 'x'", 0, "expected a field name, found '='");
    assert_error("'status' = 'x'", 0, "expected a field name");
    assert_error(
        "text = 'x'",
        5,
        "operator '=' is not supported for attribute 'text'; use one of: LIKE, ILIKE",
    );
    assert_error("span.content = 'x'", 13, "use one of: LIKE, ILIKE");
    assert_error(
        "timestamp_ms LIKE '5'",
        13,
        "use one of: =, !=, >, >=, <, <=",
    );
    assert_error(
        "status IS NULL",
        7,
        "operator 'IS NULL' is not supported for attribute 'status'",
    );
    assert_error(
        "issue.id != 'x'",
        9,
        "operator '!=' is not supported for issue.id; use one of: =",
    );
    assert_error(
        "prompt LIKE 'a/1'",
        7,
        "operator 'LIKE' is not supported for attribute 'prompt'",
    );
}

#[test]
fn lexical_errors() {
    assert_error(
        "tag.env = 'prod",
        10,
        "unterminated string: missing closing '",
    );
    assert_error(
        "tag.env = \"prod",
        10,
        "unterminated string: missing closing \"",
    );
    assert_error(
        "tag.`env = 'x'",
        4,
        "unterminated quoted name: missing closing `",
    );
    assert_error("timestamp_ms > 12abc", 15, "invalid number '12abc'");
    assert_error("timestamp_ms > 0x10", 15, "invalid number '0x10'");
    assert_error("tag.env = 'x' # comment", 14, "unexpected character '#'");
    assert_error("tag.my-key = 'x'", 6, "unexpected character '-'");
}

#[test]
fn error_display_format() {
    let e = error("tag.env = 5");
    assert_eq!(e.to_string(), "invalid filter at position 10: expected a quoted string value for tag 'env' (e.g. 'my-value')");
}

// ---------------------------------------------------------------------------------------------
// order_by
// ---------------------------------------------------------------------------------------------

#[test]
fn every_order_by_key() {
    let cases = [
        ("timestamp_ms", OrderKey::TimestampMs),
        ("timestamp", OrderKey::TimestampMs),
        ("execution_time_ms", OrderKey::ExecutionTimeMs),
        ("execution_time", OrderKey::ExecutionTimeMs),
        ("status", OrderKey::Status),
        ("request_id", OrderKey::RequestId),
        ("experiment_id", OrderKey::ExperimentId),
        ("name", OrderKey::Name),
        ("run_id", OrderKey::RunId),
        ("attribute.status", OrderKey::Status),
        ("attributes.request_id", OrderKey::RequestId),
        ("trace.timestamp_ms", OrderKey::TimestampMs),
        ("tag.env", OrderKey::Tag("env".into())),
        ("tags.`team name`", OrderKey::Tag("team name".into())),
        ("tag.'env'", OrderKey::Tag("env".into())),
        (
            "metadata.mlflow.trace.user",
            OrderKey::Metadata("mlflow.trace.user".into()),
        ),
        (
            "request_metadata.\"mlflow.x\"",
            OrderKey::Metadata("mlflow.x".into()),
        ),
    ];
    for (entry, key) in cases {
        assert_eq!(
            parse_order_by(entry),
            Ok(OrderBy {
                key: key.clone(),
                ascending: true
            }),
            "{entry}"
        );
        let descending = format!("{entry} DESC");
        assert_eq!(
            parse_order_by(&descending),
            Ok(OrderBy {
                key,
                ascending: false
            }),
            "{descending}"
        );
    }
}

#[test]
fn order_by_direction() {
    assert!(parse_order_by("status ASC").unwrap().ascending);
    assert!(parse_order_by("status asc").unwrap().ascending);
    assert!(!parse_order_by("status desc").unwrap().ascending);
    assert!(!parse_order_by("  status   Desc ").unwrap().ascending);
}

#[test]
fn order_by_errors() {
    let e = parse_order_by("state DESC").unwrap_err();
    assert_eq!(
        (e.position, e.message.as_str()),
        (0, "unknown attribute 'state' (did you mean 'status'?)")
    );
    let cases = [
        ("", 0, "expected a key to order by"),
        ("status DOWN", 7, "expected ASC or DESC, found 'DOWN'"),
        ("status DESC ASC", 12, "unexpected 'ASC'"),
        ("tag.env DESC NULLS LAST", 13, "unexpected 'NULLS'"),
        ("end_time", 0, "cannot order by 'end_time'"),
        ("trace.end_time_ms DESC", 6, "cannot order by 'end_time_ms'"),
        (
            "client_request_id",
            0,
            "unknown attribute 'client_request_id'",
        ),
        ("span.name", 0, "cannot order by span fields"),
        ("feedback.score DESC", 0, "cannot order by feedback fields"),
        ("tag.", 4, "missing key after 'tag.'"),
        ("'status'", 0, "expected a key to order by"),
        ("status, name", 6, "expected ASC or DESC"),
    ];
    for (entry, position, needle) in cases {
        let e = parse_order_by(entry).expect_err(entry);
        assert!(e.message.contains(needle), "{entry:?}: {e}");
        assert_eq!(e.position, position, "{entry:?}: {e}");
    }
}

#[test]
fn order_by_list_rejects_duplicates_through_aliases() {
    let list =
        |entries: &[&str]| -> Vec<String> { entries.iter().map(|e| e.to_string()).collect() };
    let parsed = parse_order_by_list(&list(&[
        "timestamp_ms DESC",
        "status",
        "tag.env",
        "metadata.env",
    ]))
    .unwrap();
    assert_eq!(parsed.len(), 4);
    assert!(!parsed[0].ascending);
    assert_eq!(parse_order_by_list(&[]).unwrap(), vec![]);
    for duplicate in [
        ["status", "status"],
        ["status DESC", "attribute.status ASC"],
        ["timestamp", "timestamp_ms"],
        ["tag.a", "tags.a"],
        ["metadata.`k`", "request_metadata.k"],
    ] {
        let e = parse_order_by_list(&list(&duplicate)).expect_err(duplicate[1]);
        assert!(e.message.contains("order_by entry 1"), "{e}");
        assert!(e.message.contains("duplicate keys are not allowed"), "{e}");
    }
    let e = parse_order_by_list(&list(&["status", "state"])).unwrap_err();
    assert_eq!(e.to_string(), "invalid filter at position 0: order_by entry 1 ('state'): unknown attribute 'state' (did you mean 'status'?)");
}

// ---------------------------------------------------------------------------------------------
// Pinned against MLflow 3.17.2 (SearchTraceUtils.parse_search_filter_for_search_traces and
// SqlAlchemyStore.search_traces on SQLite). Where clew deliberately differs, the comment says so.
// ---------------------------------------------------------------------------------------------

#[test]
fn pinned_mlflow_behaviours() {
    // MLflow: "state = 'OK'" -> Invalid attribute key 'state'.
    assert!(parse_filter("state = 'OK'").is_err());
    // MLflow: "name <> 'x'" -> Invalid comparator '<>' (rejected by the store).
    assert!(parse_filter("name <> 'x'").is_err());
    // MLflow: "timestamp_ms > '123'" accepted; the quoted value reaches SQL.
    assert_eq!(
        parse_one("timestamp_ms > '123'").value,
        FilterValue::Number(123.0)
    );
    // MLflow: "timestamp_ms = 1.5", "timestamp_ms > 1.5e3", "timestamp_ms > -5" accepted.
    assert!(
        parse_filter("timestamp_ms = 1.5 AND timestamp_ms > 1.5e3 AND timestamp_ms > -5").is_ok()
    );
    // MLflow: "status IN ('a')" and 'status IN ("a", "b")' accepted; "status IN ()" rejected.
    assert!(parse_filter("status IN ('a') AND status IN (\"a\", \"b\")").is_ok());
    // MLflow: "tag.'env'", 'tag."env"', "tag.`env`" all give key env.
    for quoted in ["tag.'env' = 'x'", "tag.\"env\" = 'x'", "tag.`env` = 'x'"] {
        assert_eq!(field_of(quoted), Field::Tag("env".into()), "{quoted}");
    }
    // MLflow: "TAG.env" and "STATUS" rejected: prefixes and attribute keys are case-sensitive.
    assert!(parse_filter("TAG.env = 'x'").is_err());
    assert!(parse_filter("STATUS = 'OK'").is_err());
    // MLflow: "feedback.x > 3" accepted, "feedback.x = 3" and "feedback.x > '3'" rejected.
    assert!(parse_filter("feedback.x > 3").is_ok());
    assert!(parse_filter("feedback.x = 3").is_err());
    assert!(parse_filter("feedback.x > '3'").is_err());
    // MLflow: "issue.id != 'x'" rejected; only '='.
    assert!(parse_filter("issue.id != 'x'").is_err());
    // MLflow: "prompt = 'a'" rejected (expects name/version); "prompt LIKE 'a/1'" rejected.
    assert!(parse_filter("prompt = 'a'").is_err());
    assert!(parse_filter("prompt LIKE 'a/1'").is_err());
    // MLflow: "span.name IS NULL", "span.content = 'x'", "status IS NULL", "tag.a IN ('x')" rejected.
    for rejected in [
        "span.name IS NULL",
        "span.content = 'x'",
        "status IS NULL",
        "tag.a IN ('x')",
    ] {
        assert!(parse_filter(rejected).is_err(), "{rejected}");
    }
    // MLflow: "tag.a NOT LIKE 'x'" rejected (comparator 'NOT LIKE').
    assert!(parse_filter("tag.a NOT LIKE 'x'").is_err());
    // MLflow: "trace.text ILIKE '%x%'" accepted. (Bare "text LIKE ..." fails there only because
    // sqlparse lexes `text` as a keyword; clew accepts it, as the spec lists `text`.)
    assert!(parse_filter("trace.text ILIKE '%x%' AND text LIKE '%y%'").is_ok());
    // MLflow: "span.attributes.foo IN ('x')" passes validation, then fails building SQL; clew
    // rejects it up front.
    assert!(parse_filter("span.attributes.foo IN ('x')").is_err());
    // MLflow: "issue.name = 'x'" is silently rewritten to the trace-name tag (its key mapping
    // ignores the prefix); clew rejects it.
    assert!(parse_filter("issue.name = 'x'").is_err());
    // MLflow keeps escaped quotes verbatim ("'it''s'" -> "it''s"); clew unescapes them.
    assert_eq!(parse_one("tag.a = 'it''s'").value, s("it's"));
    // MLflow tolerates a missing, leading or trailing AND; clew rejects them.
    assert!(parse_filter("status = 'OK' AND").is_err());
    // MLflow: "name IN (...)"/"run_id IN (...)" pass the parser's list check but the store
    // rejects IN for the tag/metadata they map to; clew accepts them (spec lists them).
    assert!(parse_filter("name IN ('a') AND run_id NOT IN ('r')").is_ok());
    // MLflow order_by: "client_request_id" rejected, "tag.'env' DESC" accepted, duplicates
    // through aliases ("timestamp", "timestamp_ms") rejected, "end_time" a server error.
    assert!(parse_order_by("client_request_id").is_err());
    assert_eq!(
        parse_order_by("tag.'env' DESC").unwrap().key,
        OrderKey::Tag("env".into())
    );
    assert!(parse_order_by_list(&["timestamp".into(), "timestamp_ms".into()]).is_err());
    assert!(parse_order_by("end_time").is_err());
}

// ---------------------------------------------------------------------------------------------
// Never panics
// ---------------------------------------------------------------------------------------------

/// xorshift64*, so the test needs no extra crate and is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn check_never_panics(input: &str) {
    let errors = [parse_filter(input).err(), parse_order_by(input).err()];
    for e in errors.into_iter().flatten() {
        assert!(
            e.position <= input.len(),
            "{input:?}: position {} past end",
            e.position
        );
        assert!(
            input.is_char_boundary(e.position),
            "{input:?}: position {} inside a char",
            e.position
        );
        assert!(!e.message.is_empty());
    }
}

#[test]
fn garbage_never_panics() {
    const FRAGMENTS: &[&str] = &[
        "status",
        "tag",
        ".",
        "`",
        "'",
        "\"",
        "''",
        "\\",
        " ",
        "AND",
        "OR",
        "NOT",
        "IN",
        "IS",
        "NULL",
        "(",
        ")",
        ",",
        ";",
        "=",
        "!=",
        "<>",
        ">=",
        "<",
        "LIKE",
        "-",
        "1",
        "1.5e",
        ".5",
        "e9",
        "span",
        "attributes",
        "feedback",
        "issue",
        "id",
        "é",
        "日本",
        "🦀",
        "\u{0}",
        "\n",
        "\t",
        "timestamp_ms",
        "metadata",
        "`a.b`",
        "'x'",
        "('a','b')",
        "prompt",
        "text",
        "DESC",
        "asc",
        "--",
        "#",
        "~",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let mut input = String::new();
        for _ in 0..rng.below(12) {
            if rng.below(8) == 0 {
                let c = char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{FFFD}');
                input.push(c);
            } else {
                input.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            }
        }
        check_never_panics(&input);
    }
}

#[test]
fn every_truncation_of_valid_filters_never_panics() {
    let valid = [
        "trace.timestamp_ms >= 1700000000000 AND tag.`my.key` ILIKE '%it''s%' AND status IN ('OK', \"ERROR\")",
        "request_metadata.\"mlflow.trace.user\" IS NOT NULL AND span.attributes.`llm.model` RLIKE '^gpt'",
        "feedback.`score` > 0.5 AND expectation.x != 'y' AND issue.id = 'i' AND prompt = 'p/1'",
        "tag.ü = 'ß' AND metadata.日本 LIKE '🦀%'",
    ];
    for filter in valid {
        assert!(parse_filter(filter).is_ok(), "{filter}");
        for (end, _) in filter.char_indices() {
            check_never_panics(&filter[..end]);
        }
    }
}
