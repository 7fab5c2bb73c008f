//! The single writer: one thread owns the write connection and drains a channel of jobs.
//!
//! SQLite allows one writer at a time; funnelling every write through one thread turns lock
//! contention into a queue, and lets the thread commit many jobs in one transaction (group
//! commit): under load the cost of a commit is shared by every job in it. A caller is answered
//! only after the commit: an `Ok` means the data is in the database.
//!
//! Jobs share the transaction without savepoints (a savepoint per job costs a statement
//! journal per job). When a job fails, the
//! whole transaction is rolled back and each job of the batch runs again in a transaction of
//! its own, so one bad request never takes the others down with it. Jobs are therefore
//! `Fn`, and must be safe to run twice (they are: every write is an idempotent upsert).

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
type Work = Box<dyn Fn(&Connection) -> StoreResult<JobOutput> + Send>;

/// What the writer does besides jobs: after each committed batch, a call outside any
/// transaction (the SQLite store wakes its text index there, and waits for it when it trails
/// too far: backpressure), then, when asked for, a maintenance step in a transaction of its own.
pub(crate) trait WriterHooks: Send + 'static {
    /// After each batch, outside any transaction, with the time the batch took; may block.
    fn after_commit(&self, conn: &Connection, busy: std::time::Duration);
    /// Whether [`WriterHooks::maintain`] has work (a cheap check).
    fn needs_maintenance(&self) -> bool;
    /// One bounded maintenance step, inside a write transaction.
    fn maintain(&self, conn: &Connection) -> StoreResult<()>;
    /// When the queue is closed and drained, before the closing checkpoint.
    fn on_close(&self);
}

/// Prepared statements the writer connection keeps. Every statement on the write path is
/// `prepare_cached`; the write operations, tracking writes and the per-table variants of
/// the tag/metadata upserts together pass the default of 16, and an evicted statement costs a
/// full prepare (parse + plan) the next time it runs.
const WRITER_STATEMENT_CACHE_CAPACITY: usize = 256;

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
    pub(crate) fn start(conn: Connection, hooks: Box<dyn WriterHooks>) -> StoreResult<Writer> {
        configure_connection(&conn);
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("clew-sqlite-writer".into())
            .spawn(move || writer_loop(conn, receiver, hooks.as_ref()))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer { sender: Some(sender), thread: Some(thread) })
    }

    /// Runs `work` inside a write transaction and returns its result once committed.
    pub(crate) async fn run<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: Fn(&Connection) -> StoreResult<R> + Send + 'static,
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

/// Settings of the write connection that only concern the writer.
///
/// The query planner stability guarantee (QPSG): SQLite built with STAT4 (the bundled one is)
/// plans a statement with the values bound to it once the file has histogram samples, which
/// the `PRAGMA optimize` at close stores; such a statement is then re-prepared (parsed and
/// planned again) whenever a bound value changes, i.e. on nearly every write, and cached
/// statements stop saving anything. The writer's statements are key lookups and inserts whose
/// plan no value changes; readers keep value-aware planning.
pub(crate) fn configure_connection(conn: &Connection) {
    conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE_CAPACITY);
    // Best effort: without it writes are correct, only slower.
    let _ = conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true);
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

fn writer_loop(conn: Connection, mut receiver: mpsc::Receiver<Job>, hooks: &dyn WriterHooks) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_TRANSACTION {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        run_batch(&conn, batch);
        hooks.after_commit(&conn, started.elapsed());
        if hooks.needs_maintenance() {
            run_maintenance(&conn, hooks);
        }
    }
    hooks.on_close();
    // Refresh planner statistics cheaply, and fold the WAL back into the main file so the
    // database is self-contained when closed.
    let _ = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE)");
}

/// Runs a transaction-control statement (`BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`) from the
/// statement cache: `execute_batch` would parse it again every time, two to four times per
/// batch, which for small batches (one trace per job) is a cost per trace. The text index
/// thread runs its transactions with it too.
pub(crate) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// One maintenance step in its own transaction; a failure is dropped (it is retried after
/// the next batch).
fn run_maintenance(conn: &Connection, hooks: &dyn WriterHooks) {
    if control(conn, "BEGIN IMMEDIATE").is_err() {
        return;
    }
    match catch_unwind(AssertUnwindSafe(|| hooks.maintain(conn))) {
        Ok(Ok(())) => {
            if control(conn, "COMMIT").is_err() {
                let _ = control(conn, "ROLLBACK");
            }
        }
        _ => {
            let _ = control(conn, "ROLLBACK");
        }
    }
}

fn run_batch(conn: &Connection, batch: Vec<Job>) {
    if batch.len() > 1 {
        if let Ok(outputs) = run_in_transaction(conn, &batch) {
            for (job, output) in batch.into_iter().zip(outputs) {
                let _ = job.reply.send(Ok(output));
            }
            return;
        }
        // Someone's job failed: give each job its own transaction below.
    }
    for job in batch {
        let result = run_in_transaction(conn, std::slice::from_ref(&job)).map(|mut outputs| outputs.remove(0));
        let _ = job.reply.send(result);
    }
}

/// Runs `jobs` in one transaction: all commit, or none (the first error is returned).
fn run_in_transaction(conn: &Connection, jobs: &[Job]) -> StoreResult<Vec<JobOutput>> {
    control(conn, "BEGIN IMMEDIATE").map_err(|e| StoreError::Unavailable(sqlite_error(e).to_string()))?;
    let mut outputs = Vec::with_capacity(jobs.len());
    for job in jobs {
        match run_job(conn, &job.work) {
            Ok(output) => outputs.push(output),
            Err(e) => {
                let _ = control(conn, "ROLLBACK");
                return Err(e);
            }
        }
    }
    if let Err(e) = control(conn, "COMMIT") {
        let _ = control(conn, "ROLLBACK");
        return Err(StoreError::Unavailable(format!("commit failed: {}", sqlite_error(e))));
    }
    Ok(outputs)
}

/// Runs one job, turning a panic into an error (the writer thread must survive it).
fn run_job(conn: &Connection, work: &Work) -> StoreResult<JobOutput> {
    catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a store write panicked; it was rolled back".into())))
}
