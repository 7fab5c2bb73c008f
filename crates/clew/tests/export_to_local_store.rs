//! The default destination is a local SQLite file; traces written there are read back,
//! searched, tagged; bursts lose nothing; a full queue counts its drops.

mod common;
use clew::{SearchOptions, SpanType};
use serde_json::json;
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

fn local_store() -> (MutexGuard<'static, ()>, tempfile::TempDir) {
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    clew::reset();
    let dir = tempfile::tempdir().unwrap();
    let dest = clew::LocalStoreDestination::open(dir.path().join("clew.db")).unwrap();
    clew::set_destination(dest);
    (guard, dir)
}

#[test]
fn traces_are_read_back_with_their_spans() {
    let (_g, _dir) = local_store();
    let id = {
        let root = clew::SpanBuilder::new("answer").span_type(SpanType::Chain).start();
        root.set_inputs(json!({"q": "hi"}));
        let _c = clew::start_span("child");
        root.trace_id()
    };
    let trace = clew::get_trace(&id).expect("found");
    assert_eq!(trace.info.trace_id, id);
    assert_eq!(trace.data.spans.len(), 2);
    assert_eq!(trace.data.spans[0].name, "answer", "root first");
    assert_eq!(trace.data.spans[0].inputs(), Some(json!({"q": "hi"})));
    assert!(clew::get_trace("tr-00000000000000000000000000000001").is_none());
}

#[test]
fn search_with_filters_order_and_experiments() {
    let (_g, _dir) = local_store();
    let exp = clew::set_experiment("trace_analysis").unwrap();
    assert_ne!(exp.experiment_id, "0");
    assert_eq!(clew::get_experiment_by_name("trace_analysis").unwrap().unwrap().experiment_id, exp.experiment_id);
    assert!(clew::get_experiment_by_name("nope").unwrap().is_none());
    for i in 0..5 {
        // Distinct milliseconds, so ordering by timestamp has no ties.
        std::thread::sleep(std::time::Duration::from_millis(3));
        let s = clew::start_span(format!("operation_{i}"));
        s.set_inputs(json!({"iteration": i}));
        if i == 3 {
            s.set_status("ERROR");
        }
        clew::update_current_trace(clew::TraceUpdate::new().tag("parity", if i % 2 == 0 { "even" } else { "odd" }));
    }
    let all = clew::search_traces(SearchOptions::new().experiment_ids([exp.experiment_id.clone()]).max_results(10)).unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|t| t.data.spans.len() == 1));
    let errors = clew::search_traces(SearchOptions::new().filter("trace.status = 'ERROR'")).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].data.spans[0].name, "operation_3");
    let even = clew::search_traces(SearchOptions::new().filter("tags.parity = 'even'").order_by(["timestamp_ms ASC"])).unwrap();
    assert_eq!(even.iter().map(|t| t.data.spans[0].name.clone()).collect::<Vec<_>>(), ["operation_0", "operation_2", "operation_4"]);
    let page = clew::search_traces(SearchOptions::new().max_results(2)).unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.next_page_token.is_some());
    let bad = clew::search_traces(SearchOptions::new().filter("trace.state = 'OK'"));
    assert!(bad.is_err(), "an invalid filter is an error, not an empty result");
}

#[test]
fn tags_on_finished_traces_go_to_the_store() {
    let (_g, _dir) = local_store();
    let id = clew::start_span("root").trace_id();
    clew::flush();
    clew::set_trace_tag(&id, "reviewed", "yes").unwrap();
    assert_eq!(clew::get_trace(&id).unwrap().info.tags["reviewed"], "yes");
    clew::delete_trace_tag(&id, "reviewed").unwrap();
    assert!(!clew::get_trace(&id).unwrap().info.tags.contains_key("reviewed"));
}

#[test]
fn a_burst_of_ten_thousand_five_span_traces_loses_nothing() {
    let (_g, _dir) = local_store();
    let before = clew::export::stats().snapshot();
    for i in 0..10_000 {
        let root = clew::start_span("root");
        root.set_inputs(json!({"i": i}));
        for c in 0..4 {
            let child = clew::start_span("child");
            child.set_outputs(c);
        }
    }
    clew::flush();
    let after = clew::export::stats().snapshot();
    assert_eq!(after.traces_dropped_queue_full, before.traces_dropped_queue_full);
    assert_eq!(after.traces_failed, before.traces_failed);
    assert_eq!(after.traces_exported - before.traces_exported, 10_000);
    let stored = clew::search_traces(SearchOptions::new().include_spans(false)).unwrap();
    assert_eq!(stored.len(), 10_000);
}
