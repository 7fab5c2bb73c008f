//! Reporting problems to the user without ever failing their code: warnings on stderr,
//! rate-limited per kind so a storm of drops prints one line every few seconds.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// Prints a warning (suppressed with `CLEW_QUIET=1`).
pub(crate) fn warn(message: &str) {
    if std::env::var_os("CLEW_QUIET").is_some_and(|v| v == "1") {
        return;
    }
    eprintln!("clew: warning: {message}");
}

/// Prints at most one warning of this kind every 10 seconds.
pub(crate) fn warn_rate_limited(kind: &'static str, message: &str) {
    static LAST: Mutex<Option<HashMap<&'static str, Instant>>> = Mutex::new(None);
    let now = Instant::now();
    {
        let mut guard = LAST.lock();
        let last = guard.get_or_insert_with(HashMap::new);
        if last.get(kind).is_some_and(|t| now.duration_since(*t) < MIN_INTERVAL) {
            return;
        }
        last.insert(kind, now);
    }
    warn(message);
}
