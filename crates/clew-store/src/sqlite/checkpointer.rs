//! WAL checkpoints on a thread of their own.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them
//! back into the database file and `fsync`s both (`synchronous=NORMAL` syncs only there). By
//! default the connection that commits runs the checkpoint once the WAL passes 1,000 pages
//! (~4 MB): on the single writer thread that meant a page copy and two `fsync`s of several
//! milliseconds each every few thousand spans, during which nothing else was written.
//!
//! Here a thread with its own connection runs passive checkpoints (which never block the
//! writer or readers) shortly after commits, and the writer's own automatic checkpoint is
//! raised to [`WRITER_AUTOCHECKPOINT_PAGES`]: a backstop that bounds the WAL under sustained
//! writes (the WAL file restarts from its beginning only when a write begins with every frame
//! copied back, which a steady stream of commits rarely allows), and that finds most frames
//! already copied when it runs.

use super::schema::{open_connection, sqlite_error};
use crate::{StoreError, StoreResult};
use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The writer's automatic checkpoint threshold (pages of 4 KiB: 64 MiB).
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Pause after a checkpoint, so a stream of small commits does not become a stream of fsyncs.
const MIN_INTERVAL: Duration = Duration::from_millis(50);

pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    signal: Mutex<Signal>,
    wake: Condvar,
}

#[derive(Default)]
struct Signal {
    pending: bool,
    stop: bool,
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database at `db`.
    pub(crate) fn start(db: &Path) -> StoreResult<Checkpointer> {
        let conn = open_connection(db, false)?;
        // This connection only checkpoints; it must not checkpoint on its own commits either.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0").map_err(sqlite_error)?;
        let shared = Arc::new(Shared { signal: Mutex::new(Signal::default()), wake: Condvar::new() });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("clew-checkpoint".into())
            .spawn(move || checkpoint_loop(&conn, &thread_shared))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite checkpoint thread: {e}")))?;
        Ok(Checkpointer { shared, thread: Mutex::new(Some(thread)) })
    }

    /// After a commit: a checkpoint is due soon.
    pub(crate) fn notify(&self) {
        self.shared.signal.lock().pending = true;
        self.shared.wake.notify_one();
    }

    /// Stops the thread (after its current checkpoint): the writer's closing checkpoint must
    /// not find another one running, or it gives up at once and leaves the WAL behind.
    pub(crate) fn stop(&self) {
        self.shared.signal.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Settings of the writer connection that go with a checkpoint thread.
pub(crate) fn configure_writer(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")).map_err(sqlite_error)
}

fn checkpoint_loop(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut signal = shared.signal.lock();
            while !signal.pending && !signal.stop {
                shared.wake.wait(&mut signal);
            }
            if signal.stop {
                return;
            }
            signal.pending = false;
        }
        // PASSIVE: copies what no reader still needs, waits for no one. A failure (e.g. the
        // database busy in another process's checkpoint) is retried after the next commit;
        // the writer's own automatic checkpoint remains the backstop.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        std::thread::sleep(MIN_INTERVAL);
    }
}
