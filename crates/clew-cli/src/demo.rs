//! `clew demo`: writes a realistic set of traces through the clew SDK (not straight into the
//! store), so the demo also exercises the SDK: spans, context, async, events, sessions, export.
//!
//! Six scenarios repeat with different inputs: a RAG chain, a tool-calling agent, a chat turn,
//! concurrent async work, a failing SQL agent and a streamed answer. All but the async one use
//! explicit start and end times (`SpanBuilder::start_time_ns`, `LiveSpan::end_at`) so the traces
//! look like a past hour of traffic while the demo itself takes milliseconds; the async one
//! runs for real on tokio (a few short sleeps) to show context following concurrent tasks.
//!
//! `--showcase` adds one trace per message format and edge case the web UI renders
//! ([`showcase`]); `--giant N` writes a single trace of N spans instead ([`giant`]).

mod giant;
mod showcase;

use crate::format::Output;
use crate::store::{OpenMode, StoreLocation};
use anyhow::{bail, Context as _};
use clap::Args;
use clew::context::FutureExt;
use clew::{ChatTool, Document, LiveSpan, SpanBuilder, SpanEvent, SpanType, TraceUpdate};
use clew_model::keys;
use clew_store::TraceStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The experiment the traces go to (created if missing).
    #[arg(long, default_value = "clew-demo", value_name = "NAME")]
    pub experiment_name: String,
    /// How many traces to write; the six scenarios repeat with different inputs.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub traces: u64,
    /// Also write one trace per format the web UI renders: an OpenAI Responses API agent, an
    /// Anthropic Messages call (tool_use/tool_result), OTel GenAI gen_ai.* messages, huge JSON
    /// and long text payloads, and a trace still in progress.
    #[arg(long)]
    pub showcase: bool,
    /// Write only one giant trace of N spans (nested agent steps, tools, retrievals), straight
    /// into the store; for the web UI's giant-trace benchmark.
    #[arg(long, value_name = "N", conflicts_with_all = ["traces", "showcase"],
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub giant: Option<u64>,
}

/// The scenarios, in the order they repeat.
pub const SCENARIOS: [&str; 6] = ["rag", "agent", "chat", "async", "error", "streaming"];

const CHAT_MODEL: &str = "gpt-4o-mini";
const EMBEDDING_MODEL: &str = "text-embedding-3-small";
const USERS: [&str; 3] = ["alice", "bob", "carol"];

pub fn run(location: &StoreLocation, args: &DemoArgs, output: Output) -> anyhow::Result<()> {
    let store = location.open(OpenMode::CreateIfMissing)?;
    if let Some(spans) = args.giant {
        return write_giant(location, &store, args, spans as usize, output);
    }
    let store_arc: Arc<dyn TraceStore> = Arc::new(store.clone());
    clew::set_destination(clew::LocalStoreDestination::from_store(location.uri.clone(), store_arc));
    // The demo writes every trace whatever the environment says about sampling or disabling.
    clew::enable(None);
    clew::configure(clew::TracingConfig::new().sampling_rate(1.0));
    let experiment = clew::set_experiment(&args.experiment_name)
        .with_context(|| format!("cannot create or select experiment {:?}", args.experiment_name))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime for the demo")?;
    let count = args.traces as usize;
    let extra = if args.showcase { showcase::SHOWCASE.len() } else { 0 };
    let spacing_ns = 47 * 1_000_000_000i64;
    let mut clock = Clock::new(clew_model::event::now_ns() - ((count + extra) as i64 + 1) * spacing_ns);
    let mut written = Vec::with_capacity(count);
    for index in 0..count {
        let start = clock.origin + index as i64 * spacing_ns + clock.jitter_ms(0, 20_000) * 1_000_000;
        clock.jump_to(start);
        let round = index / SCENARIOS.len();
        let scenario = SCENARIOS[index % SCENARIOS.len()];
        let trace_id = match scenario {
            "rag" => rag_chain(&mut clock, round),
            "agent" => tool_calling_agent(&mut clock, round),
            "chat" => chat_turn(&mut clock, round),
            "async" => runtime.block_on(parallel_research(round)),
            "error" => failing_sql_agent(&mut clock, round),
            _ => streamed_answer(&mut clock, round),
        };
        written.push(trace_id);
    }
    if args.showcase {
        let starts: Vec<i64> = (count..count + extra)
            .map(|index| clock.origin + index as i64 * spacing_ns + clock.jitter_ms(0, 20_000) * 1_000_000)
            .collect();
        written.extend(showcase::write(&mut clock, &starts, &store, &experiment.experiment_id)?);
    }
    clew::flush();

    // Read back what was written: the summary reports what is in the store, not what was sent.
    let found = crate::runtime::block_on(store.batch_get_traces(&written))??;
    if found.len() != written.len() {
        let stats = clew::export::stats().snapshot();
        bail!(
            "only {} of {} demo traces reached {} (export failures: {}, dropped: {}); see the messages above",
            found.len(),
            written.len(),
            location.path.display(),
            stats.traces_failed,
            stats.traces_dropped_queue_full
        );
    }

    if output == Output::Json {
        return crate::format::print_json(&json!({
            "store": location.path.display().to_string(),
            "experiment_id": experiment.experiment_id,
            "experiment_name": experiment.name,
            "trace_ids": written,
        }));
    }
    let store_flag = match &location.given {
        Some(given) => format!(" --store {}", shell_word(given)),
        None => String::new(),
    };
    println!(
        "Wrote {} traces to experiment {:?} (id {}) in {}.",
        written.len(),
        experiment.name,
        experiment.experiment_id,
        location.path.display()
    );
    println!("Scenarios: RAG chain, tool-calling agent, chat turn, async fan-out, failing SQL agent, streamed answer.");
    if args.showcase {
        println!("Showcase: OpenAI Responses API agent, Anthropic Messages call, OTel GenAI messages, huge payloads, a trace in progress.");
    }
    println!("Look at them:");
    println!(
        "  clew{store_flag} traces list --experiment-name {}",
        shell_word(&experiment.name)
    );
    println!("  clew{store_flag} traces search --filter \"trace.status = 'ERROR'\"");
    println!("  clew{store_flag} traces get {}", written[0]);
    Ok(())
}

/// `--giant N`: one trace of N spans in the experiment, written through the store.
fn write_giant(
    location: &StoreLocation,
    store: &clew_store::SqliteStore,
    args: &DemoArgs,
    spans: usize,
    output: Output,
) -> anyhow::Result<()> {
    let experiment_id = match crate::runtime::block_on(store.get_experiment_by_name(&args.experiment_name))?? {
        Some(experiment) => experiment.experiment_id,
        None => crate::runtime::block_on(store.create_experiment(&args.experiment_name, None))?
            .with_context(|| format!("cannot create experiment {:?}", args.experiment_name))?,
    };
    let started = std::time::Instant::now();
    let trace_id = giant::write(store, &experiment_id, spans)?;
    if output == Output::Json {
        return crate::format::print_json(&json!({
            "store": location.path.display().to_string(),
            "experiment_id": experiment_id,
            "experiment_name": args.experiment_name,
            "trace_ids": [trace_id],
            "spans": spans,
        }));
    }
    println!(
        "Wrote trace {trace_id} with {spans} spans to experiment {:?} (id {experiment_id}) in {} ({:.1} s).",
        args.experiment_name,
        location.path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Quotes a word for the shell when it needs it.
fn shell_word(word: &str) -> String {
    if word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// Time: a simulated clock for the explicit-time scenarios

/// A cursor in simulated time (ns since the epoch) with deterministic jitter.
struct Clock {
    origin: i64,
    now: i64,
    seed: u64,
}

impl Clock {
    fn new(origin: i64) -> Self {
        Clock {
            origin,
            now: origin,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
    fn jump_to(&mut self, t: i64) {
        self.now = t;
    }
    /// A pseudo-random whole number of milliseconds in `lo..hi` (xorshift; same every run).
    fn jitter_ms(&mut self, lo: i64, hi: i64) -> i64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        lo + (self.seed % (hi - lo).max(1) as u64) as i64
    }
    /// Moves time forward by a random duration in `lo_ms..hi_ms`.
    fn work(&mut self, lo_ms: i64, hi_ms: i64) {
        self.now += self.jitter_ms(lo_ms, hi_ms) * 1_000_000 + self.jitter_ms(0, 1000) * 1000;
    }
}

/// Runs `body` in a span that starts now on `clock` and ends where `body` leaves the clock.
fn timed<R>(clock: &mut Clock, builder: SpanBuilder, body: impl FnOnce(&LiveSpan, &mut Clock) -> R) -> R {
    clock.work(0, 3);
    let guard = builder.start_time_ns(clock.now).start();
    let result = body(&guard, clock);
    clock.work(0, 2);
    guard.end_at(clock.now);
    result
}

// ---------------------------------------------------------------------------------------------
// Shapes of an OpenAI-style chat API

fn token_usage(input: i64, output: i64) -> Value {
    json!({"input_tokens": input, "output_tokens": output, "total_tokens": input + output})
}

/// A `chat.completion` response as the OpenAI API returns it.
fn chat_completion(id: &str, message: Value, finish_reason: &str, input_tokens: i64, output_tokens: i64) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": input_tokens + output_tokens},
    })
}

/// Marks a span as an OpenAI chat call: model, message format and token usage.
fn annotate_chat_span(span: &LiveSpan, input_tokens: i64, output_tokens: i64) {
    span.set_attribute(keys::LLM_MODEL, CHAT_MODEL);
    span.set_attribute(keys::LLM_PROVIDER, "openai");
    span.set_attribute(keys::MESSAGE_FORMAT, "openai");
    span.set_attribute(keys::CHAT_TOKEN_USAGE, token_usage(input_tokens, output_tokens));
    span.set_attributes([("temperature", json!(0.2)), ("max_tokens", json!(512))]);
}

/// Rough token count for simulated usage: about four characters per token.
fn tokens_in(text: &str) -> i64 {
    (text.len() as i64 / 4).max(1)
}

fn session_for(round: usize) -> String {
    format!("demo-session-{:03}", round + 1)
}

fn user_for(round: usize) -> &'static str {
    USERS[round % USERS.len()]
}

fn pick<T: Copy>(items: &[T], round: usize) -> T {
    items[round % items.len()]
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: RAG chain — CHAIN → EMBEDDING → RETRIEVER (Documents) → CHAT_MODEL

const QUESTIONS: [&str; 4] = [
    "How do I enable tracing for my LangChain app?",
    "What is the difference between a span and a trace?",
    "How can I search traces by tag?",
    "Does tracing slow down my application?",
];

const KNOWLEDGE_BASE: [(&str, &str); 5] = [
    ("docs/tracing/quickstart.md", "Call clew::start_span or annotate a function with #[clew::trace] to record spans; traces go to clew.db by default."),
    ("docs/tracing/concepts.md", "A trace is a tree of spans. Each span records one operation with inputs, outputs, attributes, events and a status."),
    ("docs/tracing/search.md", "Search traces with MLflow filter strings such as tags.env = 'prod' AND trace.status = 'OK'."),
    ("docs/tracing/performance.md", "Spans are exported in the background; starting and ending a span costs well under a microsecond."),
    ("docs/integrations/langchain.md", "LangChain components are traced through the autolog integration; each chain step becomes a span."),
];

fn rag_chain(clock: &mut Clock, round: usize) -> String {
    let question = pick(&QUESTIONS, round);
    let builder = SpanBuilder::new("rag_pipeline")
        .span_type(SpanType::Chain)
        .inputs(json!({"question": question}));
    timed(clock, builder, |root, clock| {
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("demo.scenario", "rag")
                .tag("environment", "demo")
                .session_id(session_for(round))
                .user(user_for(round)),
        );
        let embedding = timed(
            clock,
            SpanBuilder::new("embed_query").span_type(SpanType::Embedding),
            |span, clock| {
                span.set_inputs(json!({"input": [question], "model": EMBEDDING_MODEL}));
                span.set_attribute(keys::LLM_MODEL, EMBEDDING_MODEL);
                clock.work(40, 120);
                let vector: Vec<f64> = (0..8)
                    .map(|i| ((i as f64 + round as f64) * 0.731).sin() / 10.0)
                    .collect();
                span.set_outputs(json!({"dimensions": 1536, "embedding_head": vector}));
                vector
            },
        );
        let documents = timed(
            clock,
            SpanBuilder::new("vector_search")
                .span_type(SpanType::Retriever)
                .attribute("index", "docs-v2"),
            |span, clock| {
                span.set_inputs(json!({"query": question, "top_k": 3, "embedding_head": &embedding[..3]}));
                clock.work(15, 60);
                let documents: Vec<Document> = (0..3)
                    .map(|rank| {
                        let (uri, text) = KNOWLEDGE_BASE[(round + rank * 2) % KNOWLEDGE_BASE.len()];
                        Document::new(text)
                            .with_metadata("doc_uri", uri)
                            .with_metadata("chunk_id", format!("chunk_{:03}", (round * 7 + rank * 3) % 97))
                            .with_metadata("score", json!(0.92 - rank as f64 * 0.07))
                            .with_id(format!("doc_{}_{rank}", round + 1))
                    })
                    .collect();
                span.set_outputs(&documents);
                documents
            },
        );
        let context: Vec<&str> = documents.iter().map(|d| d.page_content.as_str()).collect();
        let messages = json!([
            {"role": "system", "content": format!("Answer from the context only.\n\nContext:\n{}", context.join("\n"))},
            {"role": "user", "content": question},
        ]);
        let answer = format!(
            "{} (see {})",
            context[0],
            documents[0].metadata["doc_uri"].as_str().unwrap_or("")
        );
        timed(
            clock,
            SpanBuilder::new("chat_completion").span_type(SpanType::ChatModel),
            |span, clock| {
                span.set_inputs(json!({"model": CHAT_MODEL, "messages": messages}));
                let (input_tokens, output_tokens) = (tokens_in(&messages.to_string()), tokens_in(&answer));
                annotate_chat_span(span, input_tokens, output_tokens);
                clock.work(600, 1800);
                span.set_outputs(chat_completion(
                    &format!("chatcmpl-rag{round}"),
                    json!({"role": "assistant", "content": answer}),
                    "stop",
                    input_tokens,
                    output_tokens,
                ));
            },
        );
        root.set_outputs(&answer);
        root.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: tool-calling agent — AGENT → CHAT_MODEL (tool_calls) → TOOL × 2 → CHAT_MODEL

const CITIES: [(&str, &str); 3] = [("Lisbon", "LIS"), ("Kyoto", "KIX"), ("Montreal", "YUL")];

fn agent_tools() -> Vec<ChatTool> {
    vec![
        ChatTool::function(
            "get_weather",
            Some("Current weather for a city"),
            Some(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})),
        ),
        ChatTool::function(
            "search_flights",
            Some("Find flights to an airport on a date"),
            Some(json!({
                "type": "object",
                "properties": {"destination": {"type": "string"}, "date": {"type": "string", "format": "date"}},
                "required": ["destination", "date"]
            })),
        ),
    ]
}

fn tool_calling_agent(clock: &mut Clock, round: usize) -> String {
    let (city, airport) = pick(&CITIES, round);
    let request = format!("I'm flying to {city} next Friday. What's the weather and which flights are there?");
    let builder = SpanBuilder::new("travel_agent")
        .span_type(SpanType::Agent)
        .inputs(json!({
            "messages": [{"role": "user", "content": request}]
        }));
    timed(clock, builder, |root, clock| {
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("demo.scenario", "agent")
                .tag("environment", "demo")
                .user(user_for(round + 1)),
        );
        let tools = agent_tools();
        let mut messages = vec![
            json!({"role": "system", "content": "You are a travel assistant. Use tools when helpful."}),
            json!({"role": "user", "content": request}),
        ];
        let tool_calls = json!([
            {"id": format!("call_w{round}"), "type": "function",
             "function": {"name": "get_weather", "arguments": json!({"city": city}).to_string()}},
            {"id": format!("call_f{round}"), "type": "function",
             "function": {"name": "search_flights", "arguments": json!({"destination": airport, "date": "2026-11-27"}).to_string()}},
        ]);
        timed(
            clock,
            SpanBuilder::new("chat_completion").span_type(SpanType::ChatModel),
            |span, clock| {
                span.set_chat_tools(&tools);
                span.set_inputs(json!({"model": CHAT_MODEL, "messages": messages, "tools": tools}));
                annotate_chat_span(span, 182, 64);
                clock.work(500, 1200);
                let message = json!({"role": "assistant", "content": null, "tool_calls": tool_calls});
                span.set_outputs(chat_completion(
                    &format!("chatcmpl-plan{round}"),
                    message.clone(),
                    "tool_calls",
                    182,
                    64,
                ));
                messages.push(message);
            },
        );
        let weather = timed(
            clock,
            SpanBuilder::new("get_weather").span_type(SpanType::Tool),
            |span, clock| {
                span.set_inputs(json!({"city": city}));
                clock.work(80, 300);
                let weather =
                    json!({"city": city, "forecast": "sunny", "high_c": 18 + round % 7, "low_c": 9 + round % 4});
                span.set_outputs(&weather);
                weather
            },
        );
        let flights = timed(
            clock,
            SpanBuilder::new("search_flights").span_type(SpanType::Tool),
            |span, clock| {
                span.set_inputs(json!({"destination": airport, "date": "2026-11-27"}));
                clock.work(200, 700);
                let flights = json!([
                    {"flight": format!("TP{}", 1300 + round), "departs": "08:15", "price_eur": 189},
                    {"flight": format!("LH{}", 1160 + round), "departs": "13:40", "price_eur": 214},
                ]);
                span.set_outputs(&flights);
                flights
            },
        );
        messages
            .push(json!({"role": "tool", "tool_call_id": format!("call_w{round}"), "content": weather.to_string()}));
        messages
            .push(json!({"role": "tool", "tool_call_id": format!("call_f{round}"), "content": flights.to_string()}));
        let answer =
            format!(
            "{city} will be sunny with a high of {}°C. Flights on Friday: {} at 08:15 (€189) or {} at 13:40 (€214).",
            weather["high_c"], flights[0]["flight"].as_str().unwrap_or(""), flights[1]["flight"].as_str().unwrap_or("")
        );
        timed(
            clock,
            SpanBuilder::new("chat_completion").span_type(SpanType::ChatModel),
            |span, clock| {
                span.set_chat_tools(&tools);
                span.set_inputs(json!({"model": CHAT_MODEL, "messages": messages, "tools": tools}));
                annotate_chat_span(span, 341, tokens_in(&answer));
                clock.work(400, 1100);
                span.set_outputs(chat_completion(
                    &format!("chatcmpl-final{round}"),
                    json!({"role": "assistant", "content": answer}),
                    "stop",
                    341,
                    tokens_in(&answer),
                ));
            },
        );
        root.set_outputs(json!({"role": "assistant", "content": answer}));
        root.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: one chat model call with token usage, part of a user's session

const CHAT_TURNS: [(&str, &str); 3] = [
    (
        "Summarise our refund policy in one sentence.",
        "Unused items can be returned within 30 days for a full refund.",
    ),
    (
        "Can I change my delivery address?",
        "Yes: until the order ships you can change it under Orders → Edit delivery.",
    ),
    (
        "Do you ship to Canada?",
        "We ship to Canada; delivery takes 5–8 business days.",
    ),
];

fn chat_turn(clock: &mut Clock, round: usize) -> String {
    let (question, answer) = pick(&CHAT_TURNS, round);
    let messages = json!([
        {"role": "system", "content": "You are a helpful support agent for an online shop."},
        {"role": "user", "content": question},
    ]);
    let builder = SpanBuilder::new("support_chat")
        .span_type(SpanType::ChatModel)
        .inputs(json!({"model": CHAT_MODEL, "messages": messages}));
    timed(clock, builder, |span, clock| {
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("demo.scenario", "chat")
                .tag("environment", "demo")
                .session_id(session_for(round))
                .user(user_for(round)),
        );
        let (input_tokens, output_tokens) = (tokens_in(&messages.to_string()), tokens_in(answer));
        annotate_chat_span(span, input_tokens, output_tokens);
        clock.work(300, 900);
        span.set_outputs(chat_completion(
            &format!("chatcmpl-chat{round}"),
            json!({"role": "assistant", "content": answer}),
            "stop",
            input_tokens,
            output_tokens,
        ));
        span.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: nested async work — concurrent children under one root, real time on tokio

async fn parallel_research(round: usize) -> String {
    let topic = pick(&["vector databases", "LLM evaluation", "prompt caching"], round);
    SpanBuilder::new("parallel_research")
        .span_type(SpanType::Agent)
        .inputs(json!({"topic": topic}))
        .run_async(|root| async move {
            clew::update_current_trace(
                TraceUpdate::new()
                    .tag("demo.scenario", "async")
                    .tag("environment", "demo"),
            );
            // Two searches run concurrently in this task; both are children of the root.
            let web = SpanBuilder::new("search_web")
                .span_type(SpanType::Tool)
                .inputs(json!({"query": topic}))
                .run_async(|span| async move {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    let hits = vec![format!("https://example.com/blog/{}", topic.replace(' ', "-"))];
                    span.set_outputs(&hits);
                    hits
                });
            let docs = SpanBuilder::new("search_docs")
                .span_type(SpanType::Retriever)
                .inputs(json!({"query": topic}))
                .run_async(|span| async move {
                    tokio::time::sleep(Duration::from_millis(15)).await;
                    let documents = vec![Document::new(format!("Internal notes on {topic}."))
                        .with_metadata("doc_uri", format!("wiki/{}.md", topic.replace(' ', "_")))
                        .with_metadata("chunk_id", "chunk_000")
                        .with_metadata("score", 0.81)];
                    span.set_outputs(&documents);
                    documents
                });
            let (web_hits, documents) = tokio::join!(web, docs);
            // A spawned task on another worker thread: the context is carried explicitly.
            let summary = tokio::spawn(
                SpanBuilder::new("summarize")
                    .span_type(SpanType::Llm)
                    .run_async(move |span| async move {
                        span.set_inputs(json!({"web": web_hits, "documents": documents.len()}));
                        span.set_attribute(keys::LLM_MODEL, CHAT_MODEL);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let summary = format!(
                            "{} web result(s) and {} document(s) about {topic}.",
                            web_hits.len(),
                            documents.len()
                        );
                        span.set_outputs(&summary);
                        summary
                    })
                    .with_current_context(),
            )
            .await
            .unwrap_or_else(|e| format!("summary task failed: {e}"));
            root.set_outputs(&summary);
            root.trace_id()
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: an error — a tool fails, the error is recorded (exception event, ERROR)

/// The database error the SQL tool fails with.
#[derive(Debug)]
struct QueryError {
    table: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "relation \"{}\" does not exist", self.table)
    }
}

impl std::error::Error for QueryError {}

fn failing_sql_agent(clock: &mut Clock, round: usize) -> String {
    let question = pick(
        &["How many orders shipped last week?", "Top 5 customers by revenue?"],
        round,
    );
    let builder = SpanBuilder::new("sql_agent")
        .span_type(SpanType::Chain)
        .inputs(json!({"question": question}));
    timed(clock, builder, |root, clock| {
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("demo.scenario", "error")
                .tag("environment", "demo")
                .user(user_for(round + 2)),
        );
        let sql = timed(
            clock,
            SpanBuilder::new("generate_sql").span_type(SpanType::Llm),
            |span, clock| {
                span.set_inputs(json!({"prompt": format!("Write SQL for: {question}")}));
                span.set_attribute(keys::LLM_MODEL, CHAT_MODEL);
                span.set_attribute(keys::CHAT_TOKEN_USAGE, token_usage(96, 38));
                clock.work(300, 800);
                let sql = "SELECT count(*) FROM shipments WHERE shipped_at > now() - interval '7 days'";
                span.set_outputs(sql);
                sql
            },
        );
        let result: Result<Value, QueryError> = timed(
            clock,
            SpanBuilder::new("run_query").span_type(SpanType::Tool),
            |span, clock| {
                span.set_inputs(json!({"sql": sql}));
                clock.work(5, 40);
                let error = QueryError {
                    table: "shipments".into(),
                };
                span.record_exception(&error);
                Err(error)
            },
        );
        if let Err(error) = &result {
            root.record_exception(error);
        }
        root.trace_id()
    })
}

// ---------------------------------------------------------------------------------------------
// Scenario 6: streaming — one chunk event per streamed delta, then the assembled answer

fn streamed_answer(clock: &mut Clock, round: usize) -> String {
    let (question, answer) = pick(
        &[
            (
                "Write a haiku about tracing.",
                "Spans nest like branches / each call leaves a quiet mark / the tree tells the tale",
            ),
            (
                "Name three uses of traces.",
                "Debugging slow calls, auditing tool use, and evaluating answers.",
            ),
        ],
        round,
    );
    let messages = json!([{"role": "user", "content": question}]);
    let builder = SpanBuilder::new("stream_chat")
        .span_type(SpanType::ChatModel)
        .inputs(json!({"model": CHAT_MODEL, "messages": messages, "stream": true}));
    timed(clock, builder, |span, clock| {
        clew::update_current_trace(
            TraceUpdate::new()
                .tag("demo.scenario", "streaming")
                .tag("environment", "demo")
                .session_id(session_for(round))
                .user(user_for(round)),
        );
        let (input_tokens, output_tokens) = (tokens_in(question), tokens_in(answer));
        annotate_chat_span(span, input_tokens, output_tokens);
        clock.work(150, 400); // time to first token
        let words: Vec<&str> = answer.split_inclusive(' ').collect();
        for (index, delta) in words.iter().enumerate() {
            clock.work(20, 60);
            let chunk = json!({
                "id": format!("chatcmpl-stream{round}"),
                "object": "chat.completion.chunk",
                "model": CHAT_MODEL,
                "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": Value::Null}],
            });
            span.add_event(
                SpanEvent::at(format!("{}{index}", keys::CHUNK_EVENT_PREFIX), clock.now)
                    .with_attribute(keys::CHUNK_VALUE, chunk.to_string()),
            );
        }
        span.set_outputs(chat_completion(
            &format!("chatcmpl-stream{round}"),
            json!({"role": "assistant", "content": answer}),
            "stop",
            input_tokens,
            output_tokens,
        ));
        span.trace_id()
    })
}
