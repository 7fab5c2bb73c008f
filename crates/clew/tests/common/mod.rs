//! Shared test setup. The SDK's configuration is process-global, so tests within one file
//! take a lock; files run as separate processes.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// Serialises tests of this process and resets the SDK to an in-memory destination.
pub fn setup() -> (MutexGuard<'static, ()>, clew::MemoryDestination) {
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    clew::reset();
    let memory = clew::MemoryDestination::new();
    clew::set_destination(memory.clone());
    (guard, memory)
}

/// Flushes and returns the exported traces.
pub fn exported(memory: &clew::MemoryDestination) -> Vec<clew::Trace> {
    clew::flush();
    memory.traces()
}

pub fn span<'a>(trace: &'a clew::Trace, name: &str) -> &'a clew::Span {
    trace.data.spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span named {name}"))
}
