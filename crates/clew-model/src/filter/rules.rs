//! Which operators and values each field accepts (spec §5 table, checked against MLflow 3.x's
//! `SearchTraceUtils` and its SQL store, which does part of the validation).

use super::ast::{CompareOp, Field, FilterValue, SpanField, TraceAttribute};
use super::error::FilterError;

use CompareOp::*;

const NUMERIC_OPS: &[CompareOp] = &[Eq, Ne, Gt, Ge, Lt, Le];
const STRING_ATTRIBUTE_OPS: &[CompareOp] = &[Eq, Ne, Like, ILike, RLike, In, NotIn];
/// `name` is the tag `mlflow.traceName` and `run_id` the metadata `mlflow.sourceRun`, so they take
/// the tag/metadata operators; IN / NOT IN are allowed too (the spec lists them as list keys).
const NAME_OPS: &[CompareOp] = &[Eq, Ne, Like, ILike, RLike, In, NotIn, IsNull, IsNotNull];
const KEY_VALUE_OPS: &[CompareOp] = &[Eq, Ne, Like, ILike, RLike, IsNull, IsNotNull];
const PATTERN_OPS: &[CompareOp] = &[Like, ILike];
const SPAN_COLUMN_OPS: &[CompareOp] = &[Eq, Ne, Like, ILike, RLike, In, NotIn];
/// MLflow validates IN / NOT IN for span attributes but then fails building the query.
const SPAN_ATTRIBUTE_OPS: &[CompareOp] = &[Eq, Ne, Like, ILike, RLike];
const ASSESSMENT_OPS: &[CompareOp] = &[
    Eq, Ne, Gt, Ge, Lt, Le, Like, ILike, RLike, IsNull, IsNotNull,
];
const EQ_ONLY: &[CompareOp] = &[Eq];

/// How an operator is written in a filter.
pub(crate) fn op_text(op: CompareOp) -> &'static str {
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

/// How a field is named in error messages: `attribute 'status'`, `tag 'env'`, `span.name`.
pub(crate) fn describe(field: &Field) -> String {
    match field {
        Field::Attribute(attribute) => format!("attribute '{}'", attribute_name(*attribute)),
        Field::Tag(key) => format!("tag '{key}'"),
        Field::Metadata(key) => format!("metadata '{key}'"),
        Field::Span(SpanField::Name) => "span.name".into(),
        Field::Span(SpanField::Type) => "span.type".into(),
        Field::Span(SpanField::Status) => "span.status".into(),
        Field::Span(SpanField::Content) => "span.content".into(),
        Field::Span(SpanField::Attribute(key)) => format!("span attribute '{key}'"),
        Field::Feedback(name) => format!("feedback '{name}'"),
        Field::Expectation(name) => format!("expectation '{name}'"),
        Field::IssueId => "issue.id".into(),
    }
}

fn attribute_name(attribute: TraceAttribute) -> &'static str {
    match attribute {
        TraceAttribute::TimestampMs => "timestamp_ms",
        TraceAttribute::ExecutionTimeMs => "execution_time_ms",
        TraceAttribute::EndTimeMs => "end_time_ms",
        TraceAttribute::Status => "status",
        TraceAttribute::RequestId => "request_id",
        TraceAttribute::ClientRequestId => "client_request_id",
        TraceAttribute::Name => "name",
        TraceAttribute::RunId => "run_id",
        TraceAttribute::Prompt => "prompt",
        TraceAttribute::Text => "text",
    }
}

fn is_numeric(attribute: TraceAttribute) -> bool {
    matches!(
        attribute,
        TraceAttribute::TimestampMs | TraceAttribute::ExecutionTimeMs | TraceAttribute::EndTimeMs
    )
}

fn is_assessment(field: &Field) -> bool {
    matches!(field, Field::Feedback(_) | Field::Expectation(_))
}

/// The operators `field` accepts.
pub(crate) fn allowed_ops(field: &Field) -> &'static [CompareOp] {
    match field {
        Field::Attribute(attribute) if is_numeric(*attribute) => NUMERIC_OPS,
        Field::Attribute(TraceAttribute::Name | TraceAttribute::RunId) => NAME_OPS,
        Field::Attribute(TraceAttribute::Prompt) => EQ_ONLY,
        Field::Attribute(TraceAttribute::Text) => PATTERN_OPS,
        Field::Attribute(_) => STRING_ATTRIBUTE_OPS,
        Field::Tag(_) | Field::Metadata(_) => KEY_VALUE_OPS,
        Field::Span(SpanField::Content) => PATTERN_OPS,
        Field::Span(SpanField::Attribute(_)) => SPAN_ATTRIBUTE_OPS,
        Field::Span(_) => SPAN_COLUMN_OPS,
        Field::Feedback(_) | Field::Expectation(_) => ASSESSMENT_OPS,
        Field::IssueId => EQ_ONLY,
    }
}

/// Errors (at `op_position`) unless `field` accepts `op`.
pub(crate) fn check_op(
    field: &Field,
    op: CompareOp,
    op_position: usize,
) -> Result<(), FilterError> {
    let allowed = allowed_ops(field);
    if allowed.contains(&op) {
        return Ok(());
    }
    let expected: Vec<&str> = allowed.iter().map(|op| op_text(*op)).collect();
    Err(FilterError::new(
        op_position,
        format!(
            "operator '{}' is not supported for {}; use one of: {}",
            op_text(op),
            describe(field),
            expected.join(", ")
        ),
    ))
}

/// What kind of value `field` takes with `op`, for error messages.
pub(crate) fn expected_value(field: &Field, op: CompareOp) -> &'static str {
    let numeric_attribute = matches!(field, Field::Attribute(a) if is_numeric(*a));
    let numeric_assessment = is_assessment(field) && matches!(op, Gt | Ge | Lt | Le);
    if numeric_attribute || numeric_assessment {
        "a number"
    } else {
        "a quoted string value"
    }
}

/// Checks the value against the field and operator (errors at `value_position`) and normalises it:
/// numeric attributes compared with a quoted number get a [`FilterValue::Number`].
pub(crate) fn check_value(
    field: &Field,
    op: CompareOp,
    value: FilterValue,
    value_position: usize,
) -> Result<FilterValue, FilterError> {
    let fail = |message: String| Err(FilterError::new(value_position, message));
    if matches!(op, IsNull | IsNotNull | In | NotIn) {
        // The parser builds these values from the operator's own syntax.
        return Ok(value);
    }
    if let Field::Attribute(attribute) = field {
        if is_numeric(*attribute) {
            return numeric_value(field, value, value_position);
        }
    }
    let wants_number = is_assessment(field) && matches!(op, Gt | Ge | Lt | Le);
    if wants_number {
        return match value {
            FilterValue::Number(_) => Ok(value),
            _ => fail(format!(
                "expected a number for {} with '{}' (e.g. 0.8), not a quoted string",
                describe(field),
                op_text(op)
            )),
        };
    }
    let FilterValue::Str(text) = value else {
        return fail(format!(
            "expected a quoted string value for {} (e.g. 'my-value')",
            describe(field)
        ));
    };
    if *field == Field::Attribute(TraceAttribute::Prompt) && text.matches('/').count() != 1 {
        return fail(format!("expected a prompt as 'name/version', got '{text}'"));
    }
    Ok(FilterValue::Str(text))
}

/// MLflow passes a quoted value straight to the SQL comparison, so `timestamp_ms > '1700000000000'`
/// works there; a quoted non-number would compare garbage, so it is rejected here.
fn numeric_value(
    field: &Field,
    value: FilterValue,
    position: usize,
) -> Result<FilterValue, FilterError> {
    let parsed = match &value {
        FilterValue::Number(_) => return Ok(value),
        FilterValue::Str(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    parsed.map(FilterValue::Number).ok_or_else(|| {
        FilterError::new(
            position,
            format!(
                "expected a number for {} (e.g. 1700000000000)",
                describe(field)
            ),
        )
    })
}
