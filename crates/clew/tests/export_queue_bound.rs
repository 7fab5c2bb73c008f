//! Past its byte bound the export queue drops traces and counts them — never blocks.
//! (Its own process: the bound is read from the environment once.)

use serde_json::json;
use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

/// The bound is read once, when the exporter starts: every test sets it before any span.
fn small_queue() -> std::sync::MutexGuard<'static, ()> {
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    std::env::set_var("CLEW_EXPORT_QUEUE_BYTES", "20000");
    std::env::set_var("CLEW_QUIET", "1");
    guard
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let _g = small_queue();
    /// A destination slow enough that the queue fills.
    struct Slow;
    impl clew::Destination for Slow {
        fn describe(&self) -> String {
            "slow".into()
        }
        fn export(&self, _t: Vec<clew::Trace>) -> Result<(), clew::export::ExportError> {
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(())
        }
        fn export_spans(&self, _e: &str, _s: Vec<clew::Span>) -> Result<(), clew::export::ExportError> {
            Ok(())
        }
    }
    clew::set_destination(Slow);
    let before = clew::export::stats().snapshot();
    let started = std::time::Instant::now();
    for i in 0..2000 {
        let s = clew::start_span("root");
        s.set_inputs(json!({"i": i, "pad": "x".repeat(200)}));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "user code never waits on export");
    clew::flush();
    let stats = clew::export::stats().snapshot();
    assert!(stats.traces_dropped_queue_full > before.traces_dropped_queue_full, "{stats:?}");
    let dropped = stats.traces_dropped_queue_full - before.traces_dropped_queue_full;
    let exported = stats.traces_exported - before.traces_exported;
    assert_eq!(dropped + exported, 2000, "every trace is either exported or counted as dropped: {stats:?}");
    assert_eq!(stats.queued_traces, 0);
}

#[test]
fn an_unusable_tracking_uri_counts_failures() {
    let _g = small_queue();
    let before = clew::export::stats().snapshot().traces_failed;
    clew::set_destination(clew::export::destination_from_uri("ftp://nowhere"));
    {
        let _s = clew::start_span("root");
    }
    clew::flush();
    assert_eq!(clew::export::stats().snapshot().traces_failed, before + 1);
}
