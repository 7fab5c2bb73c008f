//! Wall-clock time in nanoseconds since the Unix epoch.

/// `CLOCK_REALTIME` read directly: half the cost of `SystemTime::now().duration_since(..)`
/// on the span hot path, which reads the clock twice per span.
#[inline]
pub(crate) fn now_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    if rc != 0 {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
    }
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}
