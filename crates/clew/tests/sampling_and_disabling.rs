//! Disabled and sampled-out spans are no-ops; sampling is decided on the root and children
//! follow.

mod common;
use common::{exported, setup};

#[test]
fn disabled_tracing_records_nothing_and_code_still_runs() {
    let (_g, memory) = setup();
    clew::disable();
    assert!(!clew::is_enabled());
    let v = {
        let s = clew::start_span("ignored");
        assert!(!s.is_recording());
        assert_eq!(s.trace_id(), clew::NO_OP_SPAN_TRACE_ID);
        s.set_inputs(1);
        assert!(clew::get_current_active_span().is_none());
        41 + 1
    };
    assert_eq!(v, 42);
    clew::update_current_trace(clew::TraceUpdate::new().tag("a", "b"));
    assert!(exported(&memory).is_empty());
    clew::enable(None);
    {
        let _s = clew::start_span("recorded");
    }
    assert_eq!(exported(&memory).len(), 1);
}

#[test]
fn enable_with_an_experiment_id_sends_traces_there() {
    let (_g, memory) = setup();
    clew::enable(Some("123"));
    {
        let _s = clew::start_span("x");
    }
    assert_eq!(exported(&memory)[0].info.experiment_id(), Some("123"));
}

#[test]
fn sampling_rate_zero_records_nothing_and_children_follow_the_root() {
    let (_g, memory) = setup();
    clew::configure(clew::TracingConfig::new().sampling_rate(0.0));
    {
        let root = clew::start_span("root");
        assert!(!root.is_recording());
        let child = clew::start_span("child");
        assert!(!child.is_recording(), "children of a dropped root are dropped");
    }
    assert!(exported(&memory).is_empty());
}

#[test]
fn sampling_rate_half_keeps_about_half_and_whole_traces() {
    let (_g, memory) = setup();
    clew::configure(clew::TracingConfig::new().sampling_rate(0.5));
    for _ in 0..2000 {
        let _root = clew::start_span("root");
        let _child = clew::start_span("child");
    }
    let traces = exported(&memory);
    assert!((800..1200).contains(&traces.len()), "kept {} of 2000", traces.len());
    assert!(traces.iter().all(|t| t.data.spans.len() == 2), "children follow their root");
}
