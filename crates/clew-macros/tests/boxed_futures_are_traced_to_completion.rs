//! `#[clew::trace]` inside an `#[async_trait]` impl, and on a function whose body is
//! `Box::pin(async move { … })`: the span covers the future's whole run, not just creating it.

use async_trait::async_trait;
use clew::{MemoryDestination, SpanStatusCode, Trace};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn record(f: impl FnOnce()) -> Vec<Trace> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    clew::reset();
    let memory = MemoryDestination::new();
    clew::set_destination(memory.clone());
    f();
    clew::flush();
    let traces = memory.traces();
    clew::reset();
    traces
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap().block_on(future)
}

#[async_trait]
trait Tool: Send + Sync {
    async fn call(&self, input: &str, times: usize) -> Result<String, std::fmt::Error>;
}

struct Repeat;

#[async_trait]
impl Tool for Repeat {
    #[clew::trace(span_type = "TOOL")]
    async fn call(&self, input: &str, times: usize) -> Result<String, std::fmt::Error> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        // Made after an await: a child of this call's span.
        drop(clew::start_span("inside"));
        if times == 0 {
            return Err(std::fmt::Error);
        }
        Ok(input.repeat(times))
    }
}

#[clew::trace]
fn manual_boxed(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        drop(clew::start_span("inside_manual"));
        n * 2
    })
}

#[test]
fn async_trait_methods_are_traced_across_their_awaits() {
    let traces = record(|| {
        block_on(async {
            let tool: Box<dyn Tool> = Box::new(Repeat);
            let _root = clew::start_span("agent");
            // `dyn Tool` futures are `Send`: they can be spawned.
            let spawned = tokio::spawn(clew::context::FutureExt::with_current_context(async move {
                let ok = tool.call("ab", 2).await.unwrap();
                let err = tool.call("x", 0).await;
                (ok, err)
            }));
            let (ok, err) = spawned.await.unwrap();
            assert_eq!(ok, "abab");
            assert!(err.is_err());
        })
    });
    assert_eq!(traces.len(), 1);
    let spans = &traces[0].data.spans;
    let root = spans.iter().find(|s| s.name == "agent").unwrap();
    let calls: Vec<_> = spans.iter().filter(|s| s.name == "call").collect();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.parent_id == Some(root.span_id)));
    assert_eq!(calls[0].inputs(), Some(clew::serde_json::json!({"input": "ab", "times": 2})));
    assert_eq!(calls[0].outputs(), Some(clew::serde_json::json!("abab")));
    assert_eq!(calls[0].span_type(), Some(clew::SpanType::Tool));
    assert_eq!(calls[1].status.status_code, SpanStatusCode::Error);
    assert_eq!(calls[1].status.description, "Error: an error occurred when formatting an argument");
    // The span covered the awaits: children made after them are its children.
    let insides: Vec<_> = spans.iter().filter(|s| s.name == "inside").collect();
    assert_eq!(insides.len(), 2);
    for inside in insides {
        assert!(calls.iter().any(|c| Some(c.span_id) == inside.parent_id));
    }
}

#[test]
fn a_function_returning_a_boxed_async_block_is_traced_like_an_async_fn() {
    let traces = record(|| {
        let future = manual_boxed(21);
        assert_eq!(block_on(future), 42);
    });
    assert_eq!(traces.len(), 1);
    let spans = &traces[0].data.spans;
    let outer = spans.iter().find(|s| s.name == "manual_boxed").unwrap();
    assert_eq!(outer.inputs(), Some(clew::serde_json::json!({"n": 21})));
    assert_eq!(outer.outputs(), Some(clew::serde_json::json!(42)));
    let inside = spans.iter().find(|s| s.name == "inside_manual").unwrap();
    assert_eq!(inside.parent_id, Some(outer.span_id));
}
