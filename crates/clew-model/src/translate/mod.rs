//! Store-time translation of foreign spans (spec §8): what MLflow's
//! `translate_span_when_storing` does to a span that arrives over OTLP, so spans from
//! OpenInference, the OTel GenAI conventions, Traceloop/OpenLLMetry and others show up with a
//! span type, inputs, outputs, token usage, model and provider.
//!
//! 1. [`sanitize_attributes`] strips one level of double JSON encoding.
//! 2. Each MLflow key is filled from the first convention that has a value for it, in MLflow's
//!    order (OpenInference, Gemini CLI, Claude Code, GenAI, Spring AI, Traceloop, Google ADK,
//!    Vercel AI, VoltAgent, LiveKit, Laminar, Langfuse); events are read too (GenAI
//!    `gen_ai.*.message` / `gen_ai.choice`, Spring AI prompt/completion, Claude Code tool
//!    output).
//! 3. Existing `mlflow.*` values are never overwritten, except that a missing or `UNKNOWN`
//!    span type is replaced. The raw attributes stay.
//!
//! Not done here: `mlflow.llm.cost` (MLflow prices model + usage from LiteLLM or its own
//! table).
//!
//! ```
//! use clew_model::{Span, SpanId, SpanStatus, TraceId};
//! use clew_model::translate::translate_span_for_storage;
//! let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(1), parent_id: None,
//!     name: "chat gpt-4o".into(), start_time_ns: 0, end_time_ns: Some(1), status: SpanStatus::ok(),
//!     attributes: Default::default(), events: vec![], links: vec![] };
//! span.attributes.insert("gen_ai.operation.name".into(), "\"chat\"".into());
//! span.attributes.insert("gen_ai.request.model".into(), "\"gpt-4o\"".into());
//! span.attributes.insert("gen_ai.usage.input_tokens".into(), "10".into());
//! span.attributes.insert("gen_ai.usage.output_tokens".into(), "5".into());
//! translate_span_for_storage(&mut span);
//! assert_eq!(span.attributes["mlflow.spanType"], "\"CHAT_MODEL\"");
//! assert_eq!(span.attributes["mlflow.llm.model"], "\"gpt-4o\"");
//! assert_eq!(span.attributes["mlflow.chat.tokenUsage"],
//!            r#"{"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}"#);
//! ```

mod py;
mod schema;
mod translators;

use crate::pyjson::PyValue;
use crate::{keys, Attributes, ModelError, Span, SpanEvent};
use indexmap::IndexMap;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use py::{dump_attribute, loads, loads_or_str, truthy};
use schema::{parse_count, Found, Lookup};
use translators::{EVENT_TRANSLATORS, TRANSLATORS};

/// Translates a span's foreign attributes into MLflow's, in place, as MLflow does before it
/// stores a span received over OTLP.
pub fn translate_span_for_storage(span: &mut Span) {
    for value in span.attributes.values_mut() {
        if let Some(inner) = sanitized(value) {
            *value = inner;
        }
    }
    translate_attributes(&mut span.attributes, &span.events);
}

/// A span of an OTLP request converted as [`crate::json::otlp::span_from_otlp`] converts it,
/// with its attributes already sanitized ([`sanitize_attributes`]): the first half of
/// [`translate_span_for_storage`], done while converting. The name, keys and string values
/// are taken out of the protobuf instead of copied (it is left as it was on an error, so the
/// caller can name the span it rejects), and a string attribute
/// that holds JSON text (the usual form of inputs and outputs) is stored as that text without
/// being escaped and parsed back. Finish with [`translate_sanitized_span_for_storage`] (not
/// [`translate_span_for_storage`]: sanitizing twice would strip a second level of encoding).
///
/// ```
/// use clew_model::translate::{span_from_otlp_for_storage, translate_sanitized_span_for_storage};
/// use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
/// use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
/// let text = |s: &str| Some(AnyValue { value: Some(Value::StringValue(s.into())) });
/// let proto = OtlpSpan { trace_id: vec![1; 16], span_id: vec![2; 8], name: "s".into(),
///     attributes: vec![KeyValue { key: "input.value".into(), value: text(r#"{"q": 1}"#), key_strindex: 0 },
///                      KeyValue { key: "openinference.span.kind".into(), value: text("LLM"), key_strindex: 0 }],
///     ..Default::default() };
/// let mut proto = proto;
/// let mut span = span_from_otlp_for_storage(&mut proto).unwrap();
/// translate_sanitized_span_for_storage(&mut span);
/// assert_eq!(span.attributes["input.value"], r#"{"q": 1}"#);
/// assert_eq!(span.attributes["openinference.span.kind"], r#""LLM""#);
/// assert_eq!(span.attributes["mlflow.spanInputs"], r#"{"q": 1}"#);
/// assert_eq!(span.attributes["mlflow.spanType"], r#""LLM""#);
/// ```
pub fn span_from_otlp_for_storage(proto: &mut OtlpSpan) -> Result<Span, ModelError> {
    crate::json::otlp::span_from_otlp_taking(proto, |value| match value {
        Some(AnyValue { value: Some(any_value::Value::StringValue(s)) }) => {
            // The attribute's JSON text would be `s` quoted; sanitizing gives `s` itself back
            // exactly when `s` is JSON text of a string, list or object.
            if crate::pyjson::loads_to_str_list_or_dict(&s) {
                s
            } else {
                let mut out = String::with_capacity(s.len() + 2);
                crate::pyjson::write_string(&mut out, &s, false);
                out
            }
        }
        other => {
            let text = crate::json::otlp::any_to_attribute_text(other.as_ref());
            sanitized(&text).unwrap_or(text)
        }
    })
}

/// The second half of [`translate_span_for_storage`], for a span whose attributes are already
/// sanitized (from [`span_from_otlp_for_storage`]): MLflow's attributes from the foreign
/// conventions.
pub fn translate_sanitized_span_for_storage(span: &mut Span) {
    translate_attributes(&mut span.attributes, &span.events);
}

/// MLflow's `sanitize_attributes`: a value whose JSON text decodes to a string that itself
/// decodes to a string, list or object was encoded twice (an OTel string attribute holding
/// JSON); it loses one level. Numbers and booleans inside strings are left alone, so `"1"`
/// stays the string `"1"`.
///
/// ```
/// use clew_model::translate::sanitize_attributes;
/// let mut attributes = clew_model::Attributes::new();
/// attributes.insert("messages".into(), r#""[{\"role\": \"user\"}]""#.into());
/// attributes.insert("count".into(), r#""1""#.into());
/// let clean = sanitize_attributes(&attributes);
/// assert_eq!(clean["messages"], r#"[{"role": "user"}]"#);
/// assert_eq!(clean["count"], r#""1""#);
/// ```
pub fn sanitize_attributes(attributes: &Attributes) -> Attributes {
    attributes
        .iter()
        .map(|(key, value)| (key.clone(), sanitized(value).unwrap_or_else(|| value.clone())))
        .collect()
}

/// The sanitized text of one attribute value, or `None` when it stays as it is.
fn sanitized(value: &str) -> Option<String> {
    // Only JSON text of a string can hold a second encoding; skip parsing the rest
    // (large inputs and outputs are objects).
    if !value.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('"') {
        return None;
    }
    match loads(value) {
        // Checked without building the (often large) inner value.
        Some(PyValue::Str(inner)) if crate::pyjson::loads_to_str_list_or_dict(&inner) => Some(inner),
        _ => None,
    }
}

/// The span type the first convention that recognises the span gives it (MLflow's
/// `translate_span_type_from_otel`); MLflow also applies it when it loads a span whose type
/// is missing or `UNKNOWN`.
///
/// ```
/// let mut attributes = clew_model::Attributes::new();
/// attributes.insert("openinference.span.kind".into(), "\"RETRIEVER\"".into());
/// assert_eq!(clew_model::translate::span_type_from_attributes(&attributes), Some("RETRIEVER"));
/// ```
pub fn span_type_from_attributes(attributes: &Attributes) -> Option<&'static str> {
    TRANSLATORS.iter().find_map(|t| t.span_type(attributes))
}

/// Load-time translation (MLflow's `translate_loaded_span`): a span whose type is missing or
/// `UNKNOWN` gets the type its foreign attributes imply. Returns whether the span changed.
///
/// ```
/// use clew_model::{Span, SpanId, SpanStatus, SpanType, TraceId};
/// let mut span = Span { trace_id: TraceId::from_u128(1), span_id: SpanId::from_u64(1), parent_id: None,
///     name: "s".into(), start_time_ns: 0, end_time_ns: Some(1), status: SpanStatus::ok(),
///     attributes: Default::default(), events: vec![], links: vec![] };
/// span.attributes.insert("traceloop.span.kind".into(), "\"workflow\"".into());
/// assert!(clew_model::translate::translate_span_for_loading(&mut span));
/// assert_eq!(span.span_type(), Some(SpanType::Workflow));
/// ```
pub fn translate_span_for_loading(span: &mut Span) -> bool {
    let current = span.attributes.find(keys::SPAN_TYPE).filter(|raw| !raw.is_empty()).map(|raw| loads_or_str(raw));
    if !is_replaceable_type(current.as_ref()) {
        return false;
    }
    match span_type_from_attributes(&span.attributes) {
        Some(span_type) => {
            span.attributes.insert(keys::SPAN_TYPE.to_string(), dump_attribute(&PyValue::Str(span_type.to_string())));
            true
        }
        None => false,
    }
}

/// A missing, `null` or `UNKNOWN` span type may be replaced by a translated one.
fn is_replaceable_type(current: Option<&PyValue>) -> bool {
    match current {
        None | Some(PyValue::Null) => true,
        Some(PyValue::Str(s)) => s == "UNKNOWN",
        Some(_) => false,
    }
}

fn translate_attributes(attributes: &mut Attributes, events: &[SpanEvent]) {
    if let Some(span_type) = span_type_from_attributes(attributes) {
        let current = attributes.find(keys::SPAN_TYPE).filter(|raw| !raw.is_empty()).map(|raw| loads_or_str(raw));
        if is_replaceable_type(current.as_ref()) {
            attributes.insert(keys::SPAN_TYPE.to_string(), dump_attribute(&PyValue::Str(span_type.to_string())));
        }
    }

    let mut found = Found::default();
    if !attributes.has(keys::SPAN_INPUTS) {
        let inputs = TRANSLATORS.iter().find_map(|t| t.input_value(attributes, &mut found)).or_else(|| {
            if events.is_empty() {
                return None;
            }
            EVENT_TRANSLATORS.iter().find_map(|t| t.input_from_events(events, attributes))
        });
        // Vercel AI marks its chat spans while inputs are looked for (MLflow writes the bare
        // text `vercel_ai` over any value there; clew writes JSON text and keeps a value set).
        if let Some(format) = found.message_format {
            if !attributes.has(keys::MESSAGE_FORMAT) {
                attributes.insert(keys::MESSAGE_FORMAT.to_string(), dump_attribute(&PyValue::Str(format.to_string())));
            }
        }
        if let Some(inputs) = inputs.filter(|v| !v.is_empty()) {
            attributes.insert(keys::SPAN_INPUTS.to_string(), inputs);
        }
    }

    if !attributes.has(keys::SPAN_OUTPUTS) {
        let outputs = TRANSLATORS.iter().find_map(|t| t.output_value(attributes)).or_else(|| {
            if events.is_empty() {
                return None;
            }
            EVENT_TRANSLATORS.iter().find_map(|t| t.output_from_events(events, attributes))
        });
        if let Some(outputs) = outputs.filter(|v| !v.is_empty()) {
            attributes.insert(keys::SPAN_OUTPUTS.to_string(), outputs);
        }
    }

    if !attributes.has(keys::CHAT_TOKEN_USAGE) {
        if let Some(usage) = token_usage(attributes) {
            attributes.insert(keys::CHAT_TOKEN_USAGE.to_string(), dump_attribute(&usage));
        }
    }

    if !attributes.has(keys::MESSAGE_FORMAT) {
        if let Some(format) = TRANSLATORS.iter().find_map(|t| t.message_format(attributes)) {
            attributes.insert(keys::MESSAGE_FORMAT.to_string(), dump_attribute(&PyValue::Str(format.to_string())));
        }
    }

    if !attributes.has(keys::CHAT_TOOLS) {
        if let Some(tools) = TRANSLATORS.iter().find_map(|t| t.tool_definitions(attributes)) {
            attributes.insert(keys::CHAT_TOOLS.to_string(), tools);
        }
    }

    if !attributes.has(keys::LLM_MODEL) {
        if let Some(model) = model_name(attributes).filter(truthy) {
            attributes.insert(keys::LLM_MODEL.to_string(), dump_attribute(&model));
        }
    }

    if !attributes.has(keys::LLM_PROVIDER) {
        if let Some(provider) = TRANSLATORS.iter().find_map(|t| t.model_provider(attributes)).filter(truthy) {
            attributes.insert(keys::LLM_PROVIDER.to_string(), dump_attribute(&provider));
        }
    }
}

/// `{input_tokens, output_tokens, total_tokens, cache_read_input_tokens?,
/// cache_creation_input_tokens?}` from the first convention with any count; the total is
/// input + output when not given.
fn token_usage(attributes: &Attributes) -> Option<PyValue> {
    TRANSLATORS.iter().find_map(|t| {
        let input = parse_count(t.input_tokens(attributes));
        let output = parse_count(t.output_tokens(attributes));
        let total = parse_count(t.total_tokens(attributes)).or(match (input, output) {
            (Some(i), Some(o)) => i.checked_add(o),
            _ => None,
        });
        if input.is_none() && output.is_none() && total.is_none() {
            return None;
        }
        let mut usage = IndexMap::new();
        let mut put = |key: &str, value: Option<i128>| {
            if let Some(v) = value {
                usage.insert(key.to_string(), PyValue::Int(v));
            }
        };
        put("input_tokens", input);
        put("output_tokens", output);
        put("total_tokens", total);
        put("cache_read_input_tokens", parse_count(t.cache_read_tokens(attributes)));
        put("cache_creation_input_tokens", parse_count(t.cache_creation_tokens(attributes)));
        Some(PyValue::Dict(usage))
    })
}

/// The model from the first convention that names one, else `model` of the inputs, else of
/// the outputs (MLflow's `_get_model_name`).
fn model_name(attributes: &Attributes) -> Option<PyValue> {
    if let Some(model) = TRANSLATORS.iter().find_map(|t| t.model_name(attributes)) {
        return Some(model);
    }
    for key in [keys::SPAN_INPUTS, keys::SPAN_OUTPUTS] {
        let Some(text) = attributes.find(key).filter(|t| !t.is_empty()) else { continue };
        if !may_hold_model_key(text) {
            continue;
        }
        if let Some(PyValue::Dict(map)) = loads(text) {
            if let Some(model) = map.get("model").filter(|m| truthy(m)) {
                // A non-string model ends the search, as in MLflow.
                return match model {
                    PyValue::Str(_) => Some(model.clone()),
                    _ => None,
                };
            }
        }
    }
    None
}

/// Whether JSON text can be an object with a `model` key, without parsing it: inputs and
/// outputs of every span are looked at, and most are neither small nor chat requests.
fn may_hold_model_key(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{') && (text.contains("\"model\"") || text.contains("\\u"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attribute values whose sanitizing is easy to get wrong: JSON of a string that holds
    /// JSON (one level goes, not two), numbers and booleans in strings, whitespace, escapes,
    /// text that only looks like JSON, bytes, arrays, a missing value.
    #[test]
    fn one_pass_conversion_sanitizes_exactly_as_the_two_step_path() {
        use crate::json::otlp::{span_from_otlp, span_to_otlp};
        use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue};
        let text = |s: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(s.to_string())) });
        let values = vec![
            text(r#"{"q": "a \"quoted\" é", "n": [1, 2.5, null]}"#),
            text(r#""[1, 2]""#),
            text(r#""\"x\"""#),
            text(r#""{\"a\": 1}""#),
            text(" [1] "),
            text("[1"),
            text("\"1\""),
            text("1"),
            text("true"),
            text("plain \n text \u{1}"),
            text(""),
            text("\"\""),
            Some(AnyValue { value: Some(any_value::Value::BytesValue(b"\"[1]\"".to_vec())) }),
            Some(AnyValue { value: Some(any_value::Value::IntValue(7)) }),
            Some(AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![text("[1]").unwrap(), text("a").unwrap()] })),
            }),
            None,
        ];
        let mut proto = span_to_otlp(&Span {
            trace_id: crate::TraceId::from_u128(7),
            span_id: crate::SpanId::from_u64(9),
            parent_id: None,
            name: "s".into(),
            start_time_ns: 1,
            end_time_ns: Some(2),
            status: crate::SpanStatus::ok(),
            attributes: Default::default(),
            events: vec![],
            links: vec![],
        });
        proto.attributes =
            values.into_iter().enumerate().map(|(i, value)| KeyValue { key: format!("k{i}"), value, key_strindex: 0 }).collect();
        let mut two_step = span_from_otlp(&proto).unwrap();
        translate_span_for_storage(&mut two_step);
        let mut one_pass = span_from_otlp_for_storage(&mut proto).unwrap();
        translate_sanitized_span_for_storage(&mut one_pass);
        assert_eq!(one_pass, two_step);
        // JSON text in a string is kept as that text: one level of encoding goes, not two.
        assert_eq!(one_pass.attributes["k0"], r#"{"q": "a \"quoted\" é", "n": [1, 2.5, null]}"#);
        assert_eq!(one_pass.attributes["k1"], r#""[1, 2]""#);
        assert_eq!(one_pass.attributes["k6"], r#""1""#);
        // A number in a string stays a string.
        assert_eq!(one_pass.attributes["k7"], r#""1""#);
        // The protobuf gave its name and attributes away.
        assert!(proto.attributes.is_empty() && proto.name.is_empty());
    }

    #[test]
    fn a_span_that_cannot_convert_is_left_as_it_was() {
        let mut proto = OtlpSpan { trace_id: vec![1; 16], span_id: vec![1, 2], name: "bad".into(), ..Default::default() };
        assert!(span_from_otlp_for_storage(&mut proto).is_err());
        assert_eq!(proto.name, "bad");
    }

    #[test]
    fn the_model_prefilter_never_hides_a_model_key() {
        for text in [r#"{"model": "m"}"#, " {\"a\": 1, \"model\": 2}", r#"{"mod\u0065l": "m"}"#] {
            assert!(may_hold_model_key(text), "{text}");
        }
        for text in [r#"["model"]"#, r#"{"models": 1}"#, "\"model\"", "{}"] {
            assert!(!may_hold_model_key(text), "{text}");
        }
    }
}
