//! The SDK's own small tokio runtime, for store calls from sync code.

use std::future::Future;
use std::sync::OnceLock;

pub(crate) fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("clew-io")
                .enable_all()
                .build()
                .map_err(|e| crate::report::warn(&format!("could not start the I/O runtime: {e}")))
                .ok()
        })
        .as_ref()
}

/// Runs a future to completion from sync code, whether or not the caller is itself inside a
/// tokio runtime (where a nested `block_on` would panic).
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime().ok_or_else(|| "the clew I/O runtime is not available".to_string())?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(rt.block_on(future));
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().map_err(|_| "the store call was cancelled".to_string())
}
