//! Random trace and span ids from a per-thread fast generator (never zero, as OTel requires).

use clew_model::{SpanId, TraceId};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;

thread_local! {
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_os_rng());
}

pub(crate) fn new_trace_id() -> TraceId {
    RNG.with(|r| {
        let mut rng = r.borrow_mut();
        loop {
            let v: u128 = rng.random();
            if v != 0 {
                return TraceId::from_u128(v);
            }
        }
    })
}

pub(crate) fn new_span_id() -> SpanId {
    RNG.with(|r| {
        let mut rng = r.borrow_mut();
        loop {
            let v: u64 = rng.random();
            if v != 0 {
                return SpanId::from_u64(v);
            }
        }
    })
}
