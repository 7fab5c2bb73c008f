//! The current span follows explicit hand-offs into threads and tokio tasks, stays nested
//! across `.await`, and crosses processes through `traceparent`.

mod common;
use clew::context::{Context, FutureExt};
use clew::SpanBuilder;
use common::{exported, setup, span};

#[test]
fn a_new_thread_starts_a_new_trace_unless_the_context_is_carried() {
    let (_g, memory) = setup();
    {
        let _root = clew::start_span("parent");
        std::thread::spawn(|| {
            let _s = clew::start_span("uncarried");
        })
        .join()
        .unwrap();
        std::thread::spawn(Context::current().wrap(|| {
            let _s = clew::start_span("carried");
        }))
        .join()
        .unwrap();
    }
    let traces = exported(&memory);
    assert_eq!(traces.len(), 2);
    let parent_trace = traces.iter().find(|t| t.data.spans.iter().any(|s| s.name == "parent")).unwrap();
    assert_eq!(span(parent_trace, "carried").parent_id, Some(span(parent_trace, "parent").span_id));
    let other = traces.iter().find(|t| t.data.spans.iter().any(|s| s.name == "uncarried")).unwrap();
    assert_eq!(span(other, "uncarried").parent_id, None);
}

#[test]
fn async_spans_stay_nested_across_await_and_spawned_tasks() {
    let (_g, memory) = setup();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        SpanBuilder::new("root")
            .run_async(|_root| async {
                let a = SpanBuilder::new("a").run_async(|_| async {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    let _inner = clew::start_span("a_inner");
                    1
                });
                let b = SpanBuilder::new("b").run_async(|_| async {
                    tokio::task::yield_now().await;
                    2
                });
                let (x, y) = tokio::join!(a, b);
                let spawned = tokio::spawn(
                    async {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        let _s = clew::start_span("in_spawned_task");
                    }
                    .with_current_context(),
                );
                spawned.await.unwrap();
                x + y
            })
            .await
    });
    let t = &exported(&memory)[0];
    assert_eq!(t.data.spans.len(), 5);
    let root = span(t, "root").span_id;
    assert_eq!(span(t, "a").parent_id, Some(root));
    assert_eq!(span(t, "b").parent_id, Some(root));
    assert_eq!(span(t, "a_inner").parent_id, Some(span(t, "a").span_id));
    assert_eq!(span(t, "in_spawned_task").parent_id, Some(root));
}

#[test]
fn traceparent_round_trip_continues_the_trace() {
    let (_g, memory) = setup();
    let (root_trace_id, root_span_id, headers) = {
        let root = clew::start_span("client_call");
        let headers = clew::propagation::get_tracing_context_headers_for_http_request();
        (root.trace_id(), root.span_id().unwrap(), headers)
    };
    let tp = &headers["traceparent"];
    assert_eq!(tp, &format!("00-{}-{}-03", &root_trace_id[3..], root_span_id));
    // The "server" continues it, with a differently cased header name.
    let incoming = [("Traceparent".to_string(), tp.clone())];
    {
        let _ctx = clew::propagation::set_tracing_context_from_http_request_headers(incoming.iter().map(|(k, v)| (k, v))).unwrap();
        let handler = clew::start_span("handle_request");
        assert_eq!(handler.trace_id(), root_trace_id);
        assert_eq!(handler.parent_id(), Some(root_span_id.clone()));
        let _child = clew::start_span("db_query");
    }
    clew::flush();
    let remote = memory.remote_spans();
    assert_eq!(remote.len(), 2, "the continued spans are exported as spans of a remote trace");
    assert!(remote.iter().all(|s| s.trace_id.to_mlflow() == root_trace_id));
    assert_eq!(memory.traces().len(), 1, "only the client's trace has a root here");
    assert!(clew::propagation::set_tracing_context_from_http_request_headers([("x", "y")]).is_err());
    assert!(clew::propagation::get_tracing_context_headers_for_http_request().is_empty());
}

#[test]
fn disabled_propagation_produces_and_honours_no_headers() {
    let (_g, _memory) = setup();
    clew::configure(clew::TracingConfig::new().disable_propagation(true));
    let _root = clew::start_span("root");
    assert!(clew::propagation::get_tracing_context_headers_for_http_request().is_empty());
    let tp = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
    let _ctx = clew::propagation::set_tracing_context_from_http_request_headers(tp).unwrap();
    let s = clew::start_span("fresh");
    assert_ne!(s.trace_id(), "tr-0af7651916cd43dd8448eb211c80319c");
}
