//! `#[clew::trace]` on `async fn`: the span stays current across `.await`s and thread
//! migration, concurrent calls keep their own parents, a cancelled future ends its span, and
//! the future stays `Send`.

use clew::context::FutureExt;
use clew::{MemoryDestination, Span, SpanStatusCode, Trace};
use serde_json::json;
use std::time::Duration;
use tokio::sync::Mutex;

// The SDK's configuration is process-global: tests that change it run one at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

async fn record<F: std::future::Future<Output = ()>>(f: F) -> Vec<Trace> {
    let _serial = SERIAL.lock().await;
    clew::reset();
    let memory = MemoryDestination::new();
    clew::set_destination(memory.clone());
    f.await;
    clew::flush();
    let traces = memory.traces();
    clew::reset();
    traces
}

fn only_trace(traces: &[Trace]) -> &Trace {
    assert_eq!(traces.len(), 1, "expected one trace, got {}", traces.len());
    &traces[0]
}

fn spans<'a>(trace: &'a Trace, name: &str) -> Vec<&'a Span> {
    trace.data.spans.iter().filter(|s| s.name == name).collect()
}

fn span<'a>(trace: &'a Trace, name: &str) -> &'a Span {
    let found = spans(trace, name);
    assert_eq!(found.len(), 1, "one span {name} expected");
    found[0]
}

#[clew::trace(span_type = "LLM")]
async fn generate(prompt: String, delay_ms: u64) -> String {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    // A child made after an await point is still a child of this span.
    let _child = clew::start_span("after_sleep");
    format!("answer to {prompt}")
}

#[clew::trace]
async fn pipeline(question: &str) -> String {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let first = generate(question.to_string(), 5).await;
    let second = generate(first.clone(), 1).await;
    second
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_async_fns_stay_parented_across_awaits() {
    let traces = record(async {
        assert_eq!(pipeline("q").await, "answer to answer to q");
    })
    .await;
    let trace = only_trace(&traces);
    assert_eq!(trace.data.spans.len(), 5);
    let root = span(trace, "pipeline");
    assert_eq!(root.parent_id, None);
    assert_eq!(root.inputs(), Some(json!({"question": "q"})));
    assert_eq!(root.outputs(), Some(json!("answer to answer to q")));
    assert_eq!(root.get_attribute("mlflow.spanFunctionName"), Some(json!("pipeline")));
    let generates = spans(trace, "generate");
    assert_eq!(generates.len(), 2);
    for g in &generates {
        assert_eq!(g.parent_id, Some(root.span_id));
        assert_eq!(g.span_type(), Some(clew::SpanType::Llm));
    }
    for child in spans(trace, "after_sleep") {
        assert!(generates.iter().any(|g| Some(g.span_id) == child.parent_id));
    }
    assert_eq!(generates[0].inputs(), Some(json!({"prompt": "q", "delay_ms": 5})));
}

#[clew::trace]
async fn fan_out(n: u32) -> u32 {
    // Both branches run concurrently under this span (`join!` polls both in this task).
    let (a, b) = tokio::join!(leaf(n, 10), leaf(n + 1, 1));
    a + b
}

#[clew::trace]
async fn leaf(n: u32, delay_ms: u64) -> u32 {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    tokio::task::yield_now().await;
    // A guard must not live across an await; made between awaits, it nests under this call.
    drop(clew::start_span(format!("inner_{n}")));
    tokio::task::yield_now().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_under_one_parent_keep_their_parents() {
    let traces = record(async {
        assert_eq!(fan_out(1).await, 3);
    })
    .await;
    let trace = only_trace(&traces);
    let root = span(trace, "fan_out");
    let leaves = spans(trace, "leaf");
    assert_eq!(leaves.len(), 2);
    assert!(leaves.iter().all(|l| l.parent_id == Some(root.span_id)));
    for (n, leaf) in [
        (1, leaves.iter().find(|l| l.inputs().unwrap()["n"] == 1).unwrap()),
        (2, { leaves.iter().find(|l| l.inputs().unwrap()["n"] == 2).unwrap() }),
    ] {
        // Each inner span is the child of the leaf call that made it, not of its sibling.
        assert_eq!(span(trace, &format!("inner_{n}")).parent_id, Some(leaf.span_id));
    }
}

#[clew::trace]
async fn spawner() -> u32 {
    let carried = tokio::spawn(leaf(7, 1).with_current_context());
    let detached = tokio::spawn(leaf(8, 1));
    carried.await.unwrap() + detached.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_traced_futures_are_send_and_follow_the_carried_context() {
    let traces = record(async {
        assert_eq!(spawner().await, 15);
    })
    .await;
    // `leaf(8)` was spawned without the context: its own root trace (as in MLflow).
    assert_eq!(traces.len(), 2);
    let main = traces.iter().find(|t| t.data.spans.iter().any(|s| s.name == "spawner")).unwrap();
    let root = span(main, "spawner");
    let carried = span(main, "leaf");
    assert_eq!(carried.parent_id, Some(root.span_id));
    assert_eq!(carried.inputs().unwrap()["n"], json!(7));
    let other = traces.iter().find(|t| !std::ptr::eq(*t, main)).unwrap();
    assert_eq!(span(other, "leaf").parent_id, None);
    assert_eq!(span(other, "leaf").inputs().unwrap()["n"], json!(8));
}

#[clew::trace]
async fn slow(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_dropped_before_completion_ends_its_span_as_cancelled() {
    let traces = record(async {
        let _root = clew::start_span("root");
        let timed_out = tokio::time::timeout(Duration::from_millis(5), slow(10_000)).await;
        assert!(timed_out.is_err());
        // Dropped before its first poll: nothing is recorded.
        drop(slow(1));
    })
    .await;
    let trace = only_trace(&traces);
    assert_eq!(trace.data.spans.len(), 2);
    let cancelled = span(trace, "slow");
    assert_eq!(cancelled.status.status_code, SpanStatusCode::Error);
    assert_eq!(cancelled.status.description, "Cancelled: the future was dropped before it completed");
    let event = cancelled.events.iter().find(|e| e.name == "exception").unwrap();
    assert_eq!(event.attributes.get("exception.type"), Some(&json!("Cancelled")));
    assert!(cancelled.end_time_ns.is_some());
    assert_eq!(cancelled.get_attribute("mlflow.spanOutputs"), None);
}

#[derive(Debug, thiserror::Error)]
#[error("upstream said no")]
struct Upstream;

#[clew::trace]
async fn fallible(fail: bool) -> Result<Vec<u8>, Upstream> {
    tokio::task::yield_now().await;
    if fail {
        Err(Upstream)?;
    }
    Ok(vec![1, 2])
}

#[clew::trace]
async fn panics_after_await() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_errors_and_panics_are_recorded() {
    let traces = record(async {
        assert_eq!(fallible(false).await.unwrap(), vec![1, 2]);
        assert!(fallible(true).await.is_err());
        let joined = tokio::spawn(panics_after_await()).await;
        assert!(joined.unwrap_err().is_panic());
    })
    .await;
    assert_eq!(traces.len(), 3);
    assert_eq!(traces[0].data.spans[0].outputs(), Some(json!([1, 2])));
    let failed = &traces[1].data.spans[0];
    assert_eq!(failed.status.description, "Upstream: upstream said no");
    assert_eq!(failed.get_attribute("mlflow.spanOutputs"), None);
    let panicked = &traces[2].data.spans[0];
    assert_eq!(panicked.status.status_code, SpanStatusCode::Error);
    let events: Vec<_> = panicked.events.iter().filter(|e| e.name == "exception").collect();
    assert_eq!(events.len(), 1, "{:?}", panicked.events);
    assert_eq!(events[0].attributes.get("exception.message"), Some(&json!("async boom")));
}

struct Store {
    items: Vec<String>,
}

impl Store {
    #[clew::trace(span_type = "RETRIEVER")]
    async fn find(&self, prefix: &str) -> Vec<&String> {
        tokio::task::yield_now().await;
        self.items.iter().filter(|i| i.starts_with(prefix)).collect()
    }

    #[clew::trace]
    async fn push(&mut self, item: String) -> &mut Vec<String> {
        self.items.push(item);
        &mut self.items
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_methods_borrowing_self() {
    let traces = record(async {
        let mut store = Store { items: vec!["apple".into(), "banana".into()] };
        store.push("avocado".into()).await.push("cherry".into());
        assert_eq!(store.find("a").await.len(), 2);
    })
    .await;
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0].data.spans[0].inputs(), Some(json!({"item": "avocado"})));
    assert_eq!(traces[1].data.spans[0].outputs(), Some(json!(["apple", "avocado"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tracing_records_nothing_for_async_fns() {
    let traces = record(async {
        clew::disable();
        assert_eq!(pipeline("q").await, "answer to answer to q");
        assert!(tokio::time::timeout(Duration::from_millis(1), slow(10_000)).await.is_err());
        clew::enable(None);
    })
    .await;
    assert!(traces.is_empty());
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn traced_async_fn_futures_are_send() {
    assert_send(&pipeline("q"));
    assert_send(&fallible(true));
    let store = Store { items: vec![] };
    assert_send(&store.find(""));
}

trait Agent {
    async fn act(&self, input: &str) -> String;

    #[clew::trace]
    async fn act_twice(&self, input: &str) -> String {
        let once = self.act(input).await;
        self.act(&once).await
    }
}

struct Shouter;

impl Agent for Shouter {
    #[clew::trace(span_type = "AGENT")]
    async fn act(&self, input: &str) -> String {
        tokio::task::yield_now().await;
        format!("{input}!")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_fns_in_traits_and_their_default_methods() {
    let traces = record(async {
        assert_eq!(Shouter.act_twice("hey").await, "hey!!");
    })
    .await;
    let trace = only_trace(&traces);
    let root = span(trace, "act_twice");
    let acts = spans(trace, "act");
    assert_eq!(acts.len(), 2);
    assert!(acts.iter().all(|a| a.parent_id == Some(root.span_id)));
    assert_eq!(acts[1].inputs(), Some(json!({"input": "hey!"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_calls_under_a_sampled_out_root_record_nothing() {
    let traces = record(async {
        clew::configure(clew::TracingConfig::new().sampling_rate(0.0));
        assert_eq!(pipeline("q").await, "answer to answer to q");
        clew::configure(clew::TracingConfig::new().sampling_rate(1.0));
        // Sampling is decided on the root: children of a recorded root are recorded.
        assert_eq!(pipeline("r").await, "answer to answer to r");
    })
    .await;
    let trace = only_trace(&traces);
    assert_eq!(trace.data.spans.len(), 5);
    assert_eq!(span(trace, "pipeline").inputs(), Some(json!({"question": "r"})));
}
