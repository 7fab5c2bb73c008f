//! Another runtime can own the "current span" slot (Python keeps it in a contextvar): a
//! custom `ContextStorage` sees every enter/exit, and nesting follows whatever it returns.

use clew::context::{set_context_storage, ContextStorage, EnterToken};
use clew::LiveSpan;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A single global slot (like one contextvar in one task), counting calls.
#[derive(Default)]
struct GlobalSlot {
    current: Mutex<Option<LiveSpan>>,
    enters: AtomicUsize,
    exits: AtomicUsize,
}

impl ContextStorage for &'static GlobalSlot {
    fn current(&self) -> Option<LiveSpan> {
        self.current.lock().unwrap().clone()
    }
    fn enter(&self, span: Option<LiveSpan>) -> EnterToken {
        self.enters.fetch_add(1, Ordering::SeqCst);
        let previous = std::mem::replace(&mut *self.current.lock().unwrap(), span);
        EnterToken(Box::new(previous))
    }
    fn exit(&self, token: EnterToken) {
        self.exits.fetch_add(1, Ordering::SeqCst);
        if let Ok(previous) = token.0.downcast::<Option<LiveSpan>>() {
            *self.current.lock().unwrap() = *previous;
        }
    }
}

#[test]
fn a_custom_storage_holds_the_current_span() {
    let slot: &'static GlobalSlot = Box::leak(Box::default());
    assert!(set_context_storage(Box::new(slot)));
    assert!(!set_context_storage(Box::new(slot)), "installed once");
    let memory = clew::MemoryDestination::new();
    clew::set_destination(memory.clone());

    let root = clew::start_span("root");
    assert_eq!(slot.current().and_then(|s| s.span_id()), root.span_id(), "the storage holds the current span");
    // Because the slot is process-wide here, a span started on another thread nests under
    // the root: the storage, not a thread-local, decides what is current.
    std::thread::spawn(|| {
        let _child = clew::start_span("child_on_other_thread");
    })
    .join()
    .unwrap();
    drop(root);
    assert!(slot.current().is_none(), "the previous value is restored on exit");
    assert_eq!(slot.enters.load(Ordering::SeqCst), slot.exits.load(Ordering::SeqCst));
    assert!(slot.enters.load(Ordering::SeqCst) >= 2);

    clew::flush();
    let traces = memory.traces();
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    let root_span = t.data.spans.iter().find(|s| s.name == "root").unwrap();
    let child = t.data.spans.iter().find(|s| s.name == "child_on_other_thread").unwrap();
    assert_eq!(child.parent_id, Some(root_span.span_id));
}
