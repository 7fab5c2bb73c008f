//! `translate_span_for_storage` against MLflow 3.17.2's `translate_span_when_storing`, case by
//! case. The cases and MLflow's answers are in `data/translate_expectations.json`, written by
//! `scripts/translate_expectations.py` with the real mlflow package: each case is an OTLP span
//! that went through `Span.from_otel_proto` and the translation, as MLflow's OTLP endpoint does.

use clew_model::json::otlp::spans_from_export_request;
use clew_model::json::otlp_json::export_request_from_otlp_json;
use clew_model::translate::{span_from_otlp_for_storage, translate_sanitized_span_for_storage, translate_span_for_storage};
use serde_json::{json, Value};

/// Where clew deliberately differs from MLflow: (case, attribute key, why).
const DIVERGENCES: &[(&str, &str, &str)] = &[
    ("vercel_do_generate_chat", "mlflow.message.format", VERCEL_FORMAT),
    ("vercel_stream_chat_without_prompt", "mlflow.message.format", VERCEL_FORMAT),
];
const VERCEL_FORMAT: &str = "MLflow stores the bare text `vercel_ai` (not JSON); clew stores the JSON string \"vercel_ai\"";

fn decode(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[test]
fn every_case_translates_as_mlflow_does() {
    let data: Value = serde_json::from_str(include_str!("data/translate_expectations.json")).expect("expectations JSON");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() > 50, "the corpus should cover every convention");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        let request = json!({"resourceSpans": [{"scopeSpans": [{"spans": [case["span"].clone()]}]}]});
        let request = export_request_from_otlp_json(request.to_string().as_bytes()).expect("OTLP/JSON span");
        let mut spans = spans_from_export_request(&request).expect("span converts");
        let mut span = spans.pop().expect("one span");
        translate_span_for_storage(&mut span);

        let expected = case["expected_attributes"].as_object().expect("expected attributes");
        for (key, expected_value) in expected {
            let Some(actual) = span.attributes.get(key) else {
                failures.push(format!("{name}: `{key}` missing, MLflow has {expected_value}"));
                continue;
            };
            if let Some((_, _, why)) = DIVERGENCES.iter().find(|(c, k, _)| *c == name && k == key) {
                let expected_decoded = expected_value.as_str().map_or_else(|| expected_value.clone(), decode);
                assert_eq!(decode(actual), expected_decoded, "{name}: `{key}` ({why})");
                continue;
            }
            let same = match expected_value {
                Value::String(text) => actual == text,
                // MLflow keeps a non-string event value as an object; clew writes its JSON text.
                other => decode(actual) == *other,
            };
            if !same {
                failures.push(format!("{name}: `{key}` is {actual:?}, MLflow has {expected_value}"));
            }
        }
        for key in span.attributes.keys() {
            if !expected.contains_key(key) {
                failures.push(format!("{name}: extra `{key}` = {:?}", span.attributes[key]));
            }
        }
        let expected_order: Vec<&String> = expected.keys().collect();
        let actual_order: Vec<&String> = span.attributes.keys().collect();
        if failures.is_empty() && expected_order != actual_order {
            failures.push(format!("{name}: attribute order {actual_order:?}, MLflow {expected_order:?}"));
        }
    }
    assert!(failures.is_empty(), "{} differences from MLflow:\n{}", failures.len(), failures.join("\n"));
}

/// Odd values under every key a translator reads: no panic, and `mlflow.*` values the span
/// already has are never replaced (apart from an UNKNOWN type).
/// The server's one-pass path (convert and sanitize while taking the protobuf apart, then
/// translate) gives every case exactly what the two-step path above gives: the same
/// attributes, texts and order.
#[test]
fn the_one_pass_ingest_path_matches_the_two_step_path_on_every_case() {
    let data: Value = serde_json::from_str(include_str!("data/translate_expectations.json")).expect("expectations JSON");
    for case in data["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("case name");
        let request = json!({"resourceSpans": [{"scopeSpans": [{"spans": [case["span"].clone()]}]}]});
        let mut request = export_request_from_otlp_json(request.to_string().as_bytes()).expect("OTLP/JSON span");
        let mut two_step = spans_from_export_request(&request).expect("span converts").pop().expect("one span");
        translate_span_for_storage(&mut two_step);
        let proto = &mut request.resource_spans[0].scope_spans[0].spans[0];
        let mut one_pass = span_from_otlp_for_storage(proto).expect("span converts");
        translate_sanitized_span_for_storage(&mut one_pass);
        assert_eq!(
            one_pass.attributes.iter().collect::<Vec<_>>(),
            two_step.attributes.iter().collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(one_pass, two_step, "{name}");
    }
}

#[test]
fn odd_values_never_panic_or_overwrite() {
    use clew_model::{Span, SpanEvent, SpanId, SpanStatus, TraceId};
    let keys = [
        "openinference.span.kind", "input.value", "output.value", "llm.token_count.prompt", "llm.model_name",
        "gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.input.messages", "gen_ai.output.messages",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.request.model", "gen_ai.tool.definitions",
        "span.type", "input_tokens", "cache_read_tokens", "tool_input", "traceloop.span.kind", "gen_ai.prompt.0.content",
        "ai.operationId", "ai.prompt.tools", "ai.response.text", "entity.type", "lk.retry_count", "lmnr.span.type",
        "langfuse.observation.type", "usage.prompt_tokens",
    ];
    let values = [
        "", "null", "[]", "{}", "[1, [2, {}]]", "\"\"", "\"\\\"\\\"\"", "1e400", "-1", "99999999999999999999999999999999999999999",
        "NaN", "Infinity", "true", "\"gemini-cli\"", "\"claude_code.llm_request\"", "\"ai.generateText.doGenerate\"",
        "{\"contents\": 1}", "not json", "\"\\ud800\"", "[\"<REDACTED>\"]",
    ];
    for (i, value) in values.iter().enumerate() {
        let mut span = Span {
            trace_id: TraceId::from_u128(1),
            span_id: SpanId::from_u64(1),
            parent_id: None,
            name: "odd".into(),
            start_time_ns: 0,
            end_time_ns: Some(1),
            status: SpanStatus::ok(),
            attributes: keys.iter().map(|k| (k.to_string(), value.to_string())).collect(),
            events: vec![SpanEvent::at("tool.output", 0).with_attribute("output", json!([1])),
                         SpanEvent::at("gen_ai.choice", 0).with_attribute("content", json!({"a": null}))],
            links: vec![],
        };
        span.attributes.insert("mlflow.spanInputs".into(), format!("{{\"kept\": {i}}}"));
        span.attributes.insert("mlflow.llm.model".into(), "\"kept\"".into());
        translate_span_for_storage(&mut span);
        assert_eq!(span.attributes["mlflow.spanInputs"], format!("{{\"kept\": {i}}}"));
        assert_eq!(span.attributes["mlflow.llm.model"], "\"kept\"");
    }
}
