//! Identifiers: `[<type>.]<key>` split at the first dot, resolved to a [`Field`] (filters) or an
//! [`OrderKey`] (`order_by`).

use super::ast::{Field, OrderKey, SpanField, TraceAttribute};
use super::error::FilterError;
use super::lexer::Segment;
use super::suggest::did_you_mean;

/// What the part before the first dot names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntityType {
    Attribute,
    Tag,
    Metadata,
    Span,
    Feedback,
    Expectation,
    Issue,
}

const ENTITY_TYPES: &[&str] = &[
    "attribute",
    "attributes",
    "trace",
    "tag",
    "tags",
    "metadata",
    "request_metadata",
    "span",
    "feedback",
    "expectation",
    "issue",
];

/// Attribute keys accepted in filters, canonical names first.
const FILTER_ATTRIBUTES: &[&str] = &[
    "timestamp_ms",
    "execution_time_ms",
    "end_time_ms",
    "status",
    "request_id",
    "client_request_id",
    "name",
    "run_id",
    "prompt",
    "text",
    "timestamp",
    "execution_time",
    "end_time",
];

/// Attribute keys accepted in `order_by`, canonical names first.
const ORDER_ATTRIBUTES: &[&str] = &[
    "timestamp_ms",
    "execution_time_ms",
    "status",
    "request_id",
    "experiment_id",
    "name",
    "run_id",
    "timestamp",
    "execution_time",
];

const SPAN_FIELDS: &[&str] = &["name", "type", "status", "content", "attributes"];

fn entity_type(segment: &Segment) -> Result<EntityType, FilterError> {
    let entity = match segment.text.as_str() {
        "attribute" | "attributes" | "trace" => EntityType::Attribute,
        "tag" | "tags" => EntityType::Tag,
        "metadata" | "request_metadata" => EntityType::Metadata,
        "span" => EntityType::Span,
        "feedback" => EntityType::Feedback,
        "expectation" => EntityType::Expectation,
        "issue" => EntityType::Issue,
        other => {
            return Err(FilterError::new(
                segment.start,
                format!(
                    "unknown field type '{other}'{}; expected one of: {}",
                    did_you_mean(other, ENTITY_TYPES),
                    ENTITY_TYPES.join(", ")
                ),
            ))
        }
    };
    Ok(entity)
}

fn filter_attribute(key: &str) -> Option<TraceAttribute> {
    let attribute = match key {
        "timestamp_ms" | "timestamp" => TraceAttribute::TimestampMs,
        "execution_time_ms" | "execution_time" => TraceAttribute::ExecutionTimeMs,
        "end_time_ms" | "end_time" => TraceAttribute::EndTimeMs,
        "status" => TraceAttribute::Status,
        "request_id" => TraceAttribute::RequestId,
        "client_request_id" => TraceAttribute::ClientRequestId,
        "name" => TraceAttribute::Name,
        "run_id" => TraceAttribute::RunId,
        "prompt" => TraceAttribute::Prompt,
        "text" => TraceAttribute::Text,
        _ => return None,
    };
    Some(attribute)
}

fn order_attribute(key: &str) -> Option<OrderKey> {
    let order_key = match key {
        "timestamp_ms" | "timestamp" => OrderKey::TimestampMs,
        "execution_time_ms" | "execution_time" => OrderKey::ExecutionTimeMs,
        "status" => OrderKey::Status,
        "request_id" => OrderKey::RequestId,
        "experiment_id" => OrderKey::ExperimentId,
        "name" => OrderKey::Name,
        "run_id" => OrderKey::RunId,
        _ => return None,
    };
    Some(order_key)
}

/// The key after the entity type: the segments after the first, joined with dots
/// (`request_metadata.mlflow.trace.session` → `mlflow.trace.session`). Errors when it is empty.
fn key_after(entity: &Segment, rest: &[Segment]) -> Result<String, FilterError> {
    let key = rest
        .iter()
        .map(|segment| segment.text.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if key.is_empty() {
        let position = rest
            .first()
            .map_or(entity.start + entity.text.len(), |s| s.start);
        return Err(FilterError::new(
            position,
            format!("missing key after '{}.'", entity.text),
        ));
    }
    Ok(key)
}

/// A single attribute key: unprefixed, or after `attribute.`/`attributes.`/`trace.`.
fn single_attribute_key(segments: &[Segment]) -> Result<(String, usize), FilterError> {
    let Some((entity, rest)) = segments.split_first() else {
        return Err(FilterError::new(0, "expected a field name"));
    };
    if rest.is_empty() {
        return Ok((entity.text.clone(), entity.start));
    }
    Ok((key_after(entity, rest)?, rest[0].start))
}

fn unknown_attribute(key: &str, position: usize, valid: &[&str]) -> FilterError {
    let hint = did_you_mean(key, valid);
    let message = if hint.is_empty() {
        format!(
            "unknown attribute '{key}'; expected one of: {}, or a prefixed key such as \
             tag.<key>, metadata.<key>, span.<field>, feedback.<name>",
            valid.join(", ")
        )
    } else {
        format!("unknown attribute '{key}'{hint}")
    };
    FilterError::new(position, message)
}

/// Resolves a filter identifier such as `status`, `tag.env`, `` span.attributes.`llm.model` ``.
pub(crate) fn resolve_field(segments: &[Segment]) -> Result<Field, FilterError> {
    let Some((first, rest)) = segments.split_first() else {
        return Err(FilterError::new(0, "expected a field name"));
    };
    let entity = if rest.is_empty() {
        EntityType::Attribute
    } else {
        entity_type(first)?
    };
    match entity {
        EntityType::Attribute => {
            let (key, position) = single_attribute_key(segments)?;
            filter_attribute(&key)
                .map(Field::Attribute)
                .ok_or_else(|| unknown_attribute(&key, position, FILTER_ATTRIBUTES))
        }
        EntityType::Tag => Ok(Field::Tag(key_after(first, rest)?)),
        EntityType::Metadata => Ok(Field::Metadata(key_after(first, rest)?)),
        EntityType::Feedback => Ok(Field::Feedback(key_after(first, rest)?)),
        EntityType::Expectation => Ok(Field::Expectation(key_after(first, rest)?)),
        EntityType::Span => span_field(first, rest).map(Field::Span),
        EntityType::Issue => {
            let key = key_after(first, rest)?;
            if key != "id" {
                return Err(FilterError::new(
                    rest[0].start,
                    format!("unknown issue field '{key}'; only issue.id is supported"),
                ));
            }
            Ok(Field::IssueId)
        }
    }
}

fn span_field(span: &Segment, rest: &[Segment]) -> Result<SpanField, FilterError> {
    let name = key_after(span, rest)?;
    let Some((head, tail)) = rest.split_first() else {
        return Err(FilterError::new(span.start, "missing key after 'span.'"));
    };
    if head.text == "attributes" && !head.quoted {
        return span_attribute(head, tail).map(SpanField::Attribute);
    }
    let field = match name.as_str() {
        "name" => SpanField::Name,
        "type" => SpanField::Type,
        "status" => SpanField::Status,
        "content" => SpanField::Content,
        _ => {
            return Err(FilterError::new(
                head.start,
                format!(
                    "unknown span field '{name}'{}; expected one of: name, type, status, \
                     content, attributes.<key>",
                    did_you_mean(&name, SPAN_FIELDS)
                ),
            ))
        }
    };
    Ok(field)
}

fn span_attribute(attributes: &Segment, rest: &[Segment]) -> Result<String, FilterError> {
    let key = rest
        .iter()
        .map(|segment| segment.text.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if key.is_empty() {
        let position = rest
            .first()
            .map_or(attributes.start + attributes.text.len(), |s| s.start);
        return Err(FilterError::new(
            position,
            "missing attribute name after 'span.attributes.', e.g. span.attributes.`llm.model`",
        ));
    }
    Ok(key)
}

/// Resolves an `order_by` key such as `timestamp_ms`, `trace.status`, `tag.env`.
pub(crate) fn resolve_order_key(segments: &[Segment]) -> Result<OrderKey, FilterError> {
    let Some((first, rest)) = segments.split_first() else {
        return Err(FilterError::new(0, "expected a key to order by"));
    };
    let entity = if rest.is_empty() {
        EntityType::Attribute
    } else {
        entity_type(first)?
    };
    match entity {
        EntityType::Attribute => {
            let (key, position) = single_attribute_key(segments)?;
            if matches!(key.as_str(), "end_time" | "end_time_ms") {
                return Err(FilterError::new(
                    position,
                    format!("cannot order by '{key}': it is computed, not stored; order by timestamp_ms or execution_time_ms"),
                ));
            }
            order_attribute(&key).ok_or_else(|| unknown_attribute(&key, position, ORDER_ATTRIBUTES))
        }
        EntityType::Tag => Ok(OrderKey::Tag(key_after(first, rest)?)),
        EntityType::Metadata => Ok(OrderKey::Metadata(key_after(first, rest)?)),
        EntityType::Span | EntityType::Feedback | EntityType::Expectation | EntityType::Issue => {
            Err(FilterError::new(
                first.start,
                format!(
                    "cannot order by {} fields; order by an attribute, tag.<key> or metadata.<key>",
                    first.text
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::lexer::{tokenize, TokenKind};

    fn segments(path: &str) -> Vec<Segment> {
        match tokenize(path).unwrap().remove(0).kind {
            TokenKind::Path(segments) => segments,
            other => panic!("not a path: {other:?}"),
        }
    }

    fn field(path: &str) -> Result<Field, FilterError> {
        resolve_field(&segments(path))
    }

    #[test]
    fn prefixes_and_aliases() {
        assert_eq!(
            field("status"),
            Ok(Field::Attribute(TraceAttribute::Status))
        );
        assert_eq!(
            field("trace.timestamp"),
            Ok(Field::Attribute(TraceAttribute::TimestampMs))
        );
        assert_eq!(field("tags.env"), Ok(Field::Tag("env".into())));
        assert_eq!(
            field("request_metadata.mlflow.trace.session"),
            Ok(Field::Metadata("mlflow.trace.session".into()))
        );
        assert_eq!(
            field("span.attributes.llm.model"),
            Ok(Field::Span(SpanField::Attribute("llm.model".into())))
        );
        assert_eq!(field("issue.id"), Ok(Field::IssueId));
    }

    #[test]
    fn unknown_names_get_hints() {
        let err = field("trace.state").unwrap_err();
        assert_eq!(err.position, 6);
        assert_eq!(
            err.message,
            "unknown attribute 'state' (did you mean 'status'?)"
        );
        let err = field("tagz.env").unwrap_err();
        assert_eq!(err.position, 0);
        assert!(
            err.message
                .starts_with("unknown field type 'tagz' (did you mean 'tag'?)"),
            "{}",
            err.message
        );
        assert!(field("span.nam")
            .unwrap_err()
            .message
            .contains("did you mean 'name'?"));
    }

    #[test]
    fn order_keys() {
        assert_eq!(
            resolve_order_key(&segments("attribute.timestamp")),
            Ok(OrderKey::TimestampMs)
        );
        assert!(resolve_order_key(&segments("end_time")).is_err());
        assert!(resolve_order_key(&segments("span.name")).is_err());
    }
}
