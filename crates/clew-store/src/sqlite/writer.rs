//! The single writer: one thread owns the write connection and drains a channel of jobs.
//!
//! SQLite allows one writer at a time; funnelling every write through one thread turns lock
//! contention into a queue, and lets the thread commit many jobs in one transaction (group
//! commit): under load the cost of a commit is shared by every job in it. Each job runs in
//! its own savepoint, so one failing job does not undo the others, and its caller is
//! answered only after the commit: an `Ok` means the data is in the database.

use super::schema::sqlite_error;
use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// Jobs queued before callers wait (backpressure instead of unbounded memory).
const QUEUE_CAPACITY: usize = 1024;
/// Upper bound on jobs per transaction, so one commit never holds the lock for long.
const MAX_JOBS_PER_TRANSACTION: usize = 256;

type JobOutput = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&Connection) -> StoreResult<JobOutput> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<JobOutput>>,
}

/// Handle to the writer thread. Dropping it finishes the queued jobs and closes the connection.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> StoreResult<Writer> {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("clew-sqlite-writer".into())
            .spawn(move || writer_loop(conn, receiver))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer { sender: Some(sender), thread: Some(thread) })
    }

    /// Runs `work` inside a write transaction and returns its result once committed.
    pub(crate) async fn run<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let sender = self.sender.as_ref().ok_or_else(|| StoreError::Unavailable("store is closed".into()))?;
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |conn| work(conn).map(|r| Box::new(r) as JobOutput));
        sender
            .send(Job { work, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        let output = answer
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer stopped before answering".into()))??;
        output
            .downcast::<R>()
            .map(|r| *r)
            .map_err(|_| StoreError::Internal("writer returned a result of the wrong type".into()))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel lets the thread drain what is queued and exit.
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_loop(conn: Connection, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_TRANSACTION {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&conn, batch);
    }
    // Fold the WAL back into the main file so the database is self-contained when closed.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

fn run_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = sqlite_error(e).to_string();
        for job in batch {
            let _ = job.reply.send(Err(StoreError::Unavailable(message.clone())));
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let result = run_job(conn, job.work);
        outcomes.push((job.reply, result));
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, result) in outcomes {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let message = format!("commit failed: {}", sqlite_error(e));
            for (reply, result) in outcomes {
                let _ = reply.send(result.and(Err(StoreError::Unavailable(message.clone()))));
            }
        }
    }
}

/// Runs one job in a savepoint; on error (or panic) only its own changes are undone.
fn run_job(conn: &Connection, work: Work) -> StoreResult<JobOutput> {
    conn.execute_batch("SAVEPOINT job").map_err(sqlite_error)?;
    let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a store write panicked; it was rolled back".into())));
    if result.is_err() {
        if let Err(e) = conn.execute_batch("ROLLBACK TO job") {
            return Err(sqlite_error(e));
        }
    }
    conn.execute_batch("RELEASE job").map_err(sqlite_error)?;
    result
}
