//! With tracing disabled, a `#[clew::trace]` function does no tracing work: no allocation
//! (so no serialisation of inputs or outputs), sync or async, Ok or Err.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(serde::Serialize, Debug)]
struct Request {
    text: &'static str,
    scores: [f64; 3],
}

#[clew::trace(span_type = "CHAIN", attributes(model = "m", size = request.scores.len()))]
fn handle(request: &Request, n: u64) -> Result<u64, std::num::ParseIntError> {
    let parsed: u64 = request.text.parse()?;
    Ok(parsed + n)
}

#[clew::trace]
async fn handle_async(request: &Request, n: u64) -> u64 {
    std::future::ready(()).await;
    request.scores.len() as u64 + n
}

fn poll_to_end<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

#[test]
fn disabled_traced_functions_allocate_nothing() {
    clew::disable();
    let ok = Request { text: "41", scores: [0.1, 0.2, 0.3] };
    let bad = Request { text: "x", scores: [0.0; 3] };
    // Warm up anything lazily initialised once per process.
    let _ = handle(&ok, 1);
    poll_to_end(handle_async(&ok, 1));

    assert_eq!(allocations_in(|| assert_eq!(handle(&ok, 1), Ok(42))), 0);
    assert_eq!(allocations_in(|| assert!(handle(&bad, 1).is_err())), 0);
    assert_eq!(allocations_in(|| assert_eq!(poll_to_end(handle_async(&ok, 1)), 4)), 0);

    // The same calls with tracing on do allocate (the counter works).
    clew::enable(None);
    clew::set_destination(clew::NullDestination);
    assert!(allocations_in(|| assert_eq!(handle(&ok, 1), Ok(42))) > 0);
}
