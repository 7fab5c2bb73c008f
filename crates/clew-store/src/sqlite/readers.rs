//! Read connections: a small pool used from blocking threads (`spawn_blocking`).
//!
//! In WAL mode a reader sees the last committed state and never waits for the writer, so
//! reads proceed while a long write transaction is open. Each read runs in its own
//! (deferred) transaction so multi-statement reads see one snapshot.

use super::schema::{open_connection, sqlite_error};
use crate::{StoreError, StoreResult};
use parking_lot::Mutex;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Arc;

/// Idle connections kept for reuse; more are opened under load and closed afterwards.
const MAX_IDLE_READERS: usize = 8;

pub(crate) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf) -> Arc<ReaderPool> {
        Arc::new(ReaderPool { path, idle: Mutex::new(Vec::new()) })
    }

    /// Runs `read` on a pooled connection on a blocking thread.
    pub(crate) async fn run<R, F>(self: &Arc<Self>, read: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || pool.run_blocking(read))
            .await
            .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }

    fn run_blocking<R>(&self, read: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        let pooled = self.idle.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = open_connection(&self.path, true)?;
                super::text_index::attach_for_reading(&conn, &self.path)?;
                conn
            }
        };
        let result = (|| {
            let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
            let value = read(&tx)?;
            tx.finish().map_err(sqlite_error)?;
            Ok(value)
        })();
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE_READERS && conn.is_autocommit() {
            idle.push(conn);
        }
        result
    }
}
