//! `clew demo --showcase`: one trace per message format and edge case the web UI renders,
//! written after the repeating scenarios: an OpenAI Responses API agent, an Anthropic Messages
//! call with a system prompt, content blocks and tool_use/tool_result, a span that carries its
//! conversation only in OTel GenAI attributes (`gen_ai.input.messages`/`gen_ai.output.messages`),
//! a span with a huge JSON input and a very long text output, and a trace still in progress.
//!
//! Each trace is tagged `demo.scenario` (`responses`, `anthropic`, `genai`, `large`,
//! `in_progress`) so tests find it. The content is deterministic: only ids and times vary.

use super::{timed, token_usage, user_for, Clock};
use anyhow::Context as _;
use clew::{SpanBuilder, SpanType, TraceUpdate};
use clew_model::summary::finalize::trace_info_from_spans;
use clew_model::{keys, Span, SpanId, SpanStatus, TraceId, TraceState};
use clew_store::{SqliteStore, TraceStore};
use serde_json::{json, Value};

/// The showcase scenarios, in the order they are written.
pub const SHOWCASE: [&str; 5] = ["responses", "anthropic", "genai", "large", "in_progress"];

const RESPONSES_MODEL: &str = "gpt-4.1-mini";
const ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
/// The answer of the Anthropic call (tests compare the rendered text with it).
pub const ANTHROPIC_ANSWER: &str = "ACME closed at 182.40 USD, up 1.3% on the day.";
/// The question of the OTel GenAI span.
pub const GENAI_QUESTION: &str = "Translate 'good morning' into Portuguese.";
/// The answer of the OTel GenAI span.
pub const GENAI_ANSWER: &str = "Bom dia!";
/// Rows in the large span's JSON input.
pub const LARGE_ROWS: usize = 2_000;
/// Paragraphs in the large span's text output.
pub const LARGE_PARAGRAPHS: usize = 200;

/// Writes one trace per entry of [`SHOWCASE`], `starts[i]` being when trace `i` begins.
pub fn write(
    clock: &mut Clock,
    starts: &[i64],
    store: &SqliteStore,
    experiment_id: &str,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(SHOWCASE.len());
    for (scenario, &start) in SHOWCASE.iter().zip(starts) {
        clock.jump_to(start);
        let id = match *scenario {
            "responses" => responses_agent(clock),
            "anthropic" => anthropic_call(clock),
            "genai" => genai_span(clock),
            "large" => large_payloads(clock),
            _ => in_progress(clock, store, experiment_id)?,
        };
        ids.push(id);
    }
    Ok(ids)
}

fn tag(scenario: &str) -> TraceUpdate {
    TraceUpdate::new()
        .tag("demo.scenario", scenario)
        .tag("environment", "demo")
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API: input items, a function_call, its function_call_output, output_text

fn responses_agent(clock: &mut Clock) -> String {
    let question = "Where is my order 8812 and when will it arrive?";
    let tools = json!([{
        "type": "function",
        "name": "lookup_order",
        "description": "Status and delivery estimate of an order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    }]);
    let builder = SpanBuilder::new("order_assistant")
        .span_type(SpanType::Agent)
        .inputs(json!({"input": question}));
    timed(clock, builder, |root, clock| {
        clew::update_current_trace(tag("responses").user(user_for(0)));
        let first_input = json!([
            {"role": "developer", "content": "You answer questions about orders. Use lookup_order."},
            {"role": "user", "content": question},
        ]);
        let call = json!({
            "type": "function_call",
            "id": "fc_8812",
            "call_id": "call_lookup_8812",
            "name": "lookup_order",
            "arguments": json!({"order_id": "8812"}).to_string(),
            "status": "completed",
        });
        timed(
            clock,
            SpanBuilder::new("responses.create").span_type(SpanType::ChatModel),
            |span, clock| {
                span.set_inputs(
                    json!({"model": RESPONSES_MODEL, "input": first_input, "tools": tools}),
                );
                responses_attributes(span, 118, 22);
                clock.work(400, 900);
                span.set_outputs(response_object("resp_plan_8812", json!([call]), 118, 22));
            },
        );
        let status = json!({"order_id": "8812", "status": "in transit", "carrier": "DHL", "eta": "2026-11-24"});
        timed(
            clock,
            SpanBuilder::new("lookup_order").span_type(SpanType::Tool),
            |span, clock| {
                span.set_inputs(json!({"order_id": "8812"}));
                clock.work(30, 120);
                span.set_outputs(&status);
            },
        );
        let answer = "Order 8812 is in transit with DHL and should arrive on Monday, 24 November.";
        let mut second_input = first_input.as_array().cloned().unwrap_or_default();
        second_input.push(call.clone());
        second_input.push(json!({"type": "function_call_output", "call_id": "call_lookup_8812", "output": status.to_string()}));
        timed(
            clock,
            SpanBuilder::new("responses.create").span_type(SpanType::ChatModel),
            |span, clock| {
                span.set_inputs(
                    json!({"model": RESPONSES_MODEL, "input": second_input, "tools": tools}),
                );
                responses_attributes(span, 187, 19);
                clock.work(400, 900);
                let message = json!({
                    "type": "message",
                    "id": "msg_8812",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": answer, "annotations": []}],
                });
                span.set_outputs(response_object(
                    "resp_answer_8812",
                    json!([message]),
                    187,
                    19,
                ));
            },
        );
        root.set_outputs(answer);
        root.trace_id()
    })
}

fn responses_attributes(span: &clew::LiveSpan, input: i64, output: i64) {
    span.set_attribute(keys::LLM_MODEL, RESPONSES_MODEL);
    span.set_attribute(keys::LLM_PROVIDER, "openai");
    span.set_attribute(keys::MESSAGE_FORMAT, "openai");
    span.set_attribute(keys::CHAT_TOKEN_USAGE, token_usage(input, output));
}

/// A `response` object as the Responses API returns it.
fn response_object(id: &str, output: Value, input_tokens: i64, output_tokens: i64) -> Value {
    json!({
        "id": id,
        "object": "response",
        "model": RESPONSES_MODEL,
        "status": "completed",
        "output": output,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens},
    })
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages: system, content blocks, tool_use and tool_result, tool definitions

fn anthropic_call(clock: &mut Clock) -> String {
    let tools = json!([{
        "name": "get_stock_price",
        "description": "Latest closing price of a stock",
        "input_schema": {"type": "object", "properties": {"ticker": {"type": "string"}}, "required": ["ticker"]},
    }]);
    let messages = json!([
        {"role": "user", "content": [{"type": "text", "text": "How did ACME stock do today?"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look up the latest price."},
            {"type": "tool_use", "id": "toolu_01ACME", "name": "get_stock_price", "input": {"ticker": "ACME"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01ACME", "content": "{\"ticker\": \"ACME\", \"close\": 182.40, \"change_pct\": 1.3}"},
        ]},
    ]);
    let builder = SpanBuilder::new("Messages.create")
        .span_type(SpanType::ChatModel)
        .inputs(json!({
            "model": ANTHROPIC_MODEL,
            "max_tokens": 1024,
            "system": "You are a concise financial assistant.",
            "messages": messages,
            "tools": tools,
        }));
    timed(clock, builder, |span, clock| {
        clew::update_current_trace(tag("anthropic").user(user_for(1)));
        span.set_attribute(keys::LLM_MODEL, ANTHROPIC_MODEL);
        span.set_attribute(keys::LLM_PROVIDER, "anthropic");
        span.set_attribute(keys::MESSAGE_FORMAT, "anthropic");
        span.set_attribute(keys::CHAT_TOKEN_USAGE, token_usage(264, 31));
        clock.work(500, 1400);
        span.set_outputs(json!({
            "id": "msg_01ACME",
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": [{"type": "text", "text": ANTHROPIC_ANSWER}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 264, "output_tokens": 31},
        }));
        span.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// OTel GenAI semantic conventions: the conversation lives in gen_ai.* attributes only

fn genai_span(clock: &mut Clock) -> String {
    // As an OTel instrumentation sends them over OTLP: JSON text in string attributes.
    let input = json!([
        {"role": "user", "parts": [{"type": "text", "content": GENAI_QUESTION}]},
    ]);
    let output = json!([
        {"role": "assistant", "parts": [{"type": "text", "content": GENAI_ANSWER}], "finish_reason": "stop"},
    ]);
    let system = json!([{"type": "text", "content": "You are a translator."}]);
    let builder = SpanBuilder::new("chat gpt-4o").span_type(SpanType::ChatModel);
    timed(clock, builder, |span, clock| {
        clew::update_current_trace(tag("genai").user(user_for(2)));
        span.set_attributes([
            ("gen_ai.operation.name", json!("chat")),
            ("gen_ai.provider.name", json!("openai")),
            ("gen_ai.request.model", json!("gpt-4o")),
            ("gen_ai.response.model", json!("gpt-4o-2024-08-06")),
            ("gen_ai.system_instructions", json!(system.to_string())),
            ("gen_ai.input.messages", json!(input.to_string())),
            ("gen_ai.output.messages", json!(output.to_string())),
            ("gen_ai.usage.input_tokens", json!(21)),
            ("gen_ai.usage.output_tokens", json!(4)),
            ("gen_ai.response.finish_reasons", json!(["stop"])),
        ]);
        clock.work(200, 500);
        span.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// Huge values: a big JSON input (thousands of rows) and a very long markdown output

/// The large span's input: a table of order rows with nested objects.
pub fn large_input() -> Value {
    let rows: Vec<Value> = (0..LARGE_ROWS)
        .map(|i| {
            let region = ["eu-west", "us-east", "ap-south"][i % 3];
            let status = ["delivered", "in transit", "returned", "cancelled"][i % 4];
            json!({
                "order_id": format!("ord-{:05}", i),
                "customer": {"id": format!("cus-{:04}", i % 613), "region": region},
                "items": [{"sku": format!("sku-{}", i % 97), "qty": 1 + i % 4, "price": 9.5 + (i % 50) as f64}],
                "status": status,
            })
        })
        .collect();
    json!({"task": "Summarise this quarter's orders by region and status.", "orders": rows})
}

/// The large span's output: a long markdown report.
pub fn large_output() -> String {
    let mut text = String::from("# Quarterly order report\n\n");
    for i in 0..LARGE_PARAGRAPHS {
        text.push_str(&format!(
            "## Section {n}\n\nRegion {region} shipped {count} orders this week; {returned} were returned and \
             {cancelled} cancelled. The **median delivery time** was {days} days, and the most common \
             item was `sku-{sku}`. Customers in this region mostly paid by card, and support tickets \
             mentioned late deliveries {late} times.\n\n",
            n = i + 1,
            region = ["eu-west", "us-east", "ap-south"][i % 3],
            count = 120 + i * 7 % 90,
            returned = i % 11,
            cancelled = i % 5,
            days = 2 + i % 6,
            sku = i % 97,
            late = i % 9,
        ));
    }
    text
}

fn large_payloads(clock: &mut Clock) -> String {
    let builder = SpanBuilder::new("quarterly_report")
        .span_type(SpanType::Chain)
        .inputs(json!({"quarter": "2026-Q3"}));
    timed(clock, builder, |root, clock| {
        clew::update_current_trace(tag("large").user(user_for(0)));
        let report = timed(
            clock,
            SpanBuilder::new("summarize_orders").span_type(SpanType::Llm),
            |span, clock| {
                span.set_inputs(large_input());
                span.set_attribute(keys::LLM_MODEL, super::CHAT_MODEL);
                span.set_attribute(keys::CHAT_TOKEN_USAGE, token_usage(61_240, 4_310));
                clock.work(4_000, 9_000);
                let report = large_output();
                span.set_outputs(&report);
                report
            },
        );
        root.set_outputs(format!(
            "Quarterly order report: {LARGE_PARAGRAPHS} sections, {} characters.",
            report.len()
        ));
        root.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// A trace still in progress: written through the store as a live server would hold it

fn in_progress(
    clock: &mut Clock,
    store: &SqliteStore,
    experiment_id: &str,
) -> anyhow::Result<String> {
    // The SDK exports a trace when its root ends, so a trace in flight is written the way a
    // server receives it from a remote client: spans so far (root not ended), then the info.
    clock.work(0, 10);
    let start = clock.now;
    // A random-looking id derived from the start time (splitmix64 twice).
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let high = mix(start as u64);
    let trace_id = TraceId::from_u128(((high as u128) << 64) | mix(high) as u128);
    let request_id = trace_id.to_mlflow();
    let span = |id: u64,
                parent: Option<u64>,
                name: &str,
                kind: &str,
                from: i64,
                to: Option<i64>,
                inputs: Value| {
        let mut attributes = clew_model::span::Attributes::new();
        attributes.insert(
            keys::TRACE_REQUEST_ID.into(),
            Value::from(request_id.clone()).to_string(),
        );
        attributes.insert(keys::SPAN_TYPE.into(), Value::from(kind).to_string());
        attributes.insert(keys::SPAN_INPUTS.into(), inputs.to_string());
        Span {
            trace_id,
            span_id: SpanId::from_u64(id),
            parent_id: parent.map(SpanId::from_u64),
            name: name.into(),
            start_time_ns: from,
            end_time_ns: to,
            status: if to.is_some() {
                SpanStatus::ok()
            } else {
                SpanStatus::unset()
            },
            attributes,
            events: vec![],
            links: vec![],
        }
    };
    let ms = 1_000_000i64;
    let mut retrieve = span(
        0xa2,
        Some(0xa1),
        "retrieve_context",
        "RETRIEVER",
        start + 5 * ms,
        Some(start + 240 * ms),
        json!({"query": "nightly batch status"}),
    );
    retrieve
        .attributes
        .insert(keys::SPAN_OUTPUTS.into(), json!([{"page_content": "Batch jobs run at 02:00 UTC.", "metadata": {"doc_uri": "runbooks/batch.md"}}]).to_string());
    let spans = vec![
        span(
            0xa1,
            None,
            "long_running_agent",
            "AGENT",
            start,
            None,
            json!({"task": "Check the nightly batch and report"}),
        ),
        retrieve,
        span(
            0xa3,
            Some(0xa1),
            "chat_completion",
            "CHAT_MODEL",
            start + 250 * ms,
            None,
            json!({"model": super::CHAT_MODEL, "messages": [{"role": "user", "content": "Is the nightly batch healthy?"}]}),
        ),
    ];
    let mut info = trace_info_from_spans(experiment_id, &spans);
    info.state = TraceState::InProgress;
    info.execution_duration = None;
    info.tags
        .insert("demo.scenario".into(), "in_progress".into());
    info.tags.insert("environment".into(), "demo".into());
    info.tags
        .insert(keys::TRACE_NAME.into(), "long_running_agent".into());
    crate::runtime::block_on(async {
        store.log_spans(experiment_id, spans).await?;
        // The root has not ended: the info says so explicitly (log_spans alone would call a
        // trace with its root OK).
        store.start_trace(info).await.map(|_| ())
    })?
    .with_context(|| format!("cannot write the in-progress demo trace {request_id}"))?;
    Ok(request_id)
}
