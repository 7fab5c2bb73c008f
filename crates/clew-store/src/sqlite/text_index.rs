//! The span text index: a trigram FTS5 table in a file of its own (`<database>-fts`), kept up
//! to date by a thread of its own.
//!
//! `trace.text`, `span.content` and `span.attributes.*` searches are substring matches over
//! span JSON; the trigram index turns them into lookups. Indexing a span costs about as much
//! CPU as storing it, and SQLite allows one writer per database file: with the index in the
//! store's file, indexing ran on the single writer thread, shared its page cache, and halved
//! sustained ingest. In a file of its own the index has its own write lock, cache and WAL, and
//! its thread runs beside the writer (at a lower CPU priority, so ingest and the application
//! come first; the index catches up when they pause).
//!
//! **Correctness does not depend on the index keeping up.** Every span with
//! `span_pk <= indexed_up_to` is in the index, and every later one is not; searches take the
//! index's candidates plus the spans past the watermark and check each exactly. Span keys
//! only grow and are never reused (AUTOINCREMENT), so an entry for a span that went away
//! only yields a candidate that matches no row; the index thread also removes such entries,
//! from the deletion log the main database keeps (`span_deletions`).
//!
//! The file is derived data: when it is missing, unreadable as an index of this store (the
//! `store_identity` differs, e.g. a database copied in beside an old index), or ahead of the
//! database (a database restored from a backup), it is rebuilt from the spans.

use super::schema::{open_connection, sqlite_error};
use crate::{StoreError, StoreResult};
use parking_lot::{Condvar, Mutex};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Spans indexed per step (one transaction of the index file). FTS5 writes one index segment
/// per transaction, and fewer, larger segments mean less merging later.
const SPANS_PER_STEP: usize = 4000;

/// How far the index may trail the stored spans before the writer waits for it (spans).
/// Bursts up to this size are acknowledged at the storing rate; past it, ingest runs at the
/// rate the index keeps. Searches stay correct meanwhile: spans past the index are matched
/// directly, ~1.3 µs each, so the lag adds at most ~0.1-0.2 s to a text search.
pub(crate) const MAX_INDEX_LAG_SPANS: i64 = 100_000;

/// How often the index thread looks for spans another process wrote.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Pause after a failed step before the next try.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// The writer waits for the index at most this long without it making progress, then goes on
/// (a stuck index must not stop ingest).
const MAX_WAIT_WITHOUT_PROGRESS: Duration = Duration::from_secs(5);

/// The index thread's nice value (Linux): below ingest and the application.
#[cfg(target_os = "linux")]
const INDEX_THREAD_NICE: i32 = 10;

const INDEX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS index_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    store_id          TEXT    NOT NULL,   -- store_identity.store_id of the database indexed
    indexed_up_to     INTEGER NOT NULL,   -- every span_pk <= this is indexed, no later one is
    deletions_applied INTEGER NOT NULL    -- span_deletions.seq up to which entries were removed
);
-- Contentless (the text lives compressed in spans.payload; rowid = spans.span_pk) and without
-- positions (detail=none): it answers which spans contain all these trigrams, a superset that
-- search then checks exactly; a fraction of the size and write cost of a full index.
CREATE VIRTUAL TABLE IF NOT EXISTS spans_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram',
    detail = none
);";

/// The index file of the database at `db`.
pub(crate) fn index_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_os_string();
    path.push("-fts");
    PathBuf::from(path)
}

/// A `file:` URI for `path` (percent-encoded, as SQLite's URI parser expects).
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// Attaches the index file of the database at `db` to a read connection as schema `ix`
/// (searches name `ix.spans_fts` and `ix.index_state`).
pub(crate) fn attach_for_reading(conn: &Connection, db: &Path) -> StoreResult<()> {
    conn.execute("ATTACH DATABASE ?1 AS ix", [file_uri(&index_path(db), "mode=ro")])
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable(format!("cannot open the text index {}: {e}", index_path(db).display())))
}

/// Handle to the index file and its thread. Dropping it stops the thread after its current step.
pub(crate) struct TextIndex {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// The index file's connection, with the database attached read-only as `m`.
    conn: Mutex<Connection>,
    signal: Mutex<Signal>,
    /// Wakes the index thread (new spans, stop).
    wake: Condvar,
    /// Wakes a writer waiting for the index to catch up.
    progressed: Condvar,
    enabled: AtomicBool,
    indexed_up_to: AtomicI64,
    deletions_applied: AtomicI64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Signal {
    pending: bool,
    stop: bool,
    failing: bool,
}

impl TextIndex {
    /// Opens (creating or rebuilding when needed) the index of the database at `db`, whose
    /// schema is already migrated, and starts its thread.
    pub(crate) fn open(db: &Path) -> StoreResult<TextIndex> {
        let path = index_path(db);
        let conn = open_connection(&path, false)?;
        conn.execute("ATTACH DATABASE ?1 AS m", [file_uri(db, "mode=ro")]).map_err(|e| {
            StoreError::Unavailable(format!("cannot attach {} to its text index: {e}", db.display()))
        })?;
        let (indexed_up_to, deletions_applied) = prepare(&conn)
            .map_err(|e| StoreError::Unavailable(format!("cannot prepare the text index {}: {e}", path.display())))?;
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            signal: Mutex::new(Signal { pending: true, ..Signal::default() }),
            wake: Condvar::new(),
            progressed: Condvar::new(),
            enabled: AtomicBool::new(true),
            indexed_up_to: AtomicI64::new(indexed_up_to),
            deletions_applied: AtomicI64::new(deletions_applied),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("clew-text-index".into())
            .spawn(move || index_loop(&thread_shared))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the text index thread: {e}")))?;
        Ok(TextIndex { shared, thread: Some(thread) })
    }

    /// A handle the writer keeps (see [`IndexFeed`]).
    pub(crate) fn feed(&self) -> IndexFeed {
        IndexFeed { shared: Arc::clone(&self.shared), pruned_up_to: AtomicI64::new(0) }
    }

    /// Turns background indexing on or off; off, the writer never waits for the index.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::Relaxed);
        self.shared.notify();
    }

    /// Indexes every span not yet indexed, on the calling thread; returns how many.
    pub(crate) fn index_all(&self) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let indexed = self.shared.step(SPANS_PER_STEP)?;
            total += indexed;
            if indexed < SPANS_PER_STEP {
                return Ok(total);
            }
        }
    }

    /// Failed index steps so far and the last error, for diagnostics.
    pub(crate) fn failures(&self) -> (u64, Option<String>) {
        (self.shared.failures.load(Ordering::Relaxed), self.shared.last_error.lock().clone())
    }
}

impl Drop for TextIndex {
    fn drop(&mut self) {
        self.shared.signal.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer's side of the index: wake it after commits, wait for it when it trails too far,
/// prune the deletion log behind it.
pub(crate) struct IndexFeed {
    shared: Arc<Shared>,
    pruned_up_to: AtomicI64,
}

impl super::writer::WriterHooks for IndexFeed {
    fn after_commit(&self, conn: &Connection) {
        IndexFeed::after_commit(self, conn);
    }

    fn needs_maintenance(&self) -> bool {
        self.needs_pruning()
    }

    fn maintain(&self, conn: &Connection) -> StoreResult<()> {
        self.prune(conn)
    }
}

impl IndexFeed {
    /// After a committed batch, on the writer connection: wakes the index thread, then, if the
    /// index trails the newest span by more than [`MAX_INDEX_LAG_SPANS`], waits until it
    /// catches up (backpressure: the writer's queue fills and ingest answers 429). Never waits
    /// while indexing is off or failing, nor past [`MAX_WAIT_WITHOUT_PROGRESS`] without progress.
    pub(crate) fn after_commit(&self, conn: &Connection) {
        self.shared.notify();
        if !self.shared.enabled.load(Ordering::Relaxed) {
            return;
        }
        let Ok(newest) = newest_span_pk(conn) else { return };
        let mut signal = self.shared.signal.lock();
        let mut last_seen = self.shared.indexed_up_to.load(Ordering::Relaxed);
        let mut since_progress = Instant::now();
        loop {
            let indexed = self.shared.indexed_up_to.load(Ordering::Relaxed);
            if newest - indexed <= MAX_INDEX_LAG_SPANS
                || signal.failing
                || signal.stop
                || !self.shared.enabled.load(Ordering::Relaxed)
            {
                return;
            }
            if indexed != last_seen {
                last_seen = indexed;
                since_progress = Instant::now();
            } else if since_progress.elapsed() >= MAX_WAIT_WITHOUT_PROGRESS {
                return;
            }
            self.shared.progressed.wait_for(&mut signal, Duration::from_millis(100));
        }
    }

    /// Whether the deletion log has entries the index has applied (a cheap check).
    pub(crate) fn needs_pruning(&self) -> bool {
        self.shared.deletions_applied.load(Ordering::Relaxed) > self.pruned_up_to.load(Ordering::Relaxed)
    }

    /// Drops the deletion log entries the index has applied; inside a write transaction.
    pub(crate) fn prune(&self, conn: &Connection) -> StoreResult<()> {
        let applied = self.shared.deletions_applied.load(Ordering::Relaxed);
        conn.prepare_cached("DELETE FROM span_deletions WHERE seq <= ?1")
            .and_then(|mut stmt| stmt.execute([applied]))
            .map_err(sqlite_error)?;
        self.pruned_up_to.store(applied, Ordering::Relaxed);
        Ok(())
    }
}

/// The newest span key ever assigned (AUTOINCREMENT's counter: one row lookup).
fn newest_span_pk(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'spans'), 0)")?
        .query_row([], |r| r.get(0))
}

impl Shared {
    fn notify(&self) {
        self.signal.lock().pending = true;
        self.wake.notify_one();
    }

    /// One step under the connection lock; publishes the new watermarks.
    fn step(&self, max_spans: usize) -> StoreResult<usize> {
        let conn = self.conn.lock();
        let (indexed, up_to, deletions) = step(&conn, max_spans)?;
        self.indexed_up_to.store(up_to, Ordering::Relaxed);
        self.deletions_applied.store(deletions, Ordering::Relaxed);
        drop(conn);
        let _signal = self.signal.lock();
        self.progressed.notify_all();
        Ok(indexed)
    }
}

fn index_loop(shared: &Shared) {
    lower_priority();
    loop {
        let mut more = false;
        let mut failed = false;
        if shared.enabled.load(Ordering::Relaxed) {
            match shared.step(SPANS_PER_STEP) {
                Ok(indexed) => more = indexed == SPANS_PER_STEP,
                Err(e) => {
                    failed = true;
                    shared.failures.fetch_add(1, Ordering::Relaxed);
                    *shared.last_error.lock() = Some(e.to_string());
                }
            }
        }
        let mut signal = shared.signal.lock();
        if signal.failing != failed {
            signal.failing = failed;
            shared.progressed.notify_all();
        }
        if signal.stop {
            break;
        }
        if more {
            continue;
        }
        if !signal.pending {
            let timeout = if failed { RETRY_AFTER_ERROR } else { POLL_INTERVAL };
            shared.wake.wait_for(&mut signal, timeout);
        }
        signal.pending = false;
        if signal.stop {
            break;
        }
    }
    // Fold the index's WAL back into its file, so it is self-contained when closed.
    let _ = shared.conn.lock().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread; a failure only leaves the priority as is.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, INDEX_THREAD_NICE);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Runs `work` in a write transaction of the index file (`BEGIN IMMEDIATE` locks only the
/// file's own database: the store is attached read-only, so the span writer never waits).
fn in_transaction<T>(conn: &Connection, work: impl FnOnce() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    control(conn, "BEGIN IMMEDIATE")?;
    match work().and_then(|value| control(conn, "COMMIT").map(|()| value)) {
        Ok(value) => Ok(value),
        Err(e) => {
            let _ = control(conn, "ROLLBACK");
            Err(e)
        }
    }
}

/// Creates the index schema, or resets the index when it is not this store's; returns the
/// watermarks.
fn prepare(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    in_transaction(conn, || {
        conn.execute_batch(INDEX_SCHEMA)?;
        // FTS5 merges index segments in groups of `automerge` (default 4). Merging in groups
        // of 8 halves the levels a trigram entry is rewritten through: ~25% less CPU to index
        // a span, with no measurable cost to queries. A bigger in-memory term hash (8 MiB,
        // default 1 MiB) writes fewer, larger segments per step: ~10% less again.
        conn.execute_batch(
            "INSERT INTO spans_fts (spans_fts, rank) VALUES ('automerge', 8);
             INSERT INTO spans_fts (spans_fts, rank) VALUES ('hashsize', 8388608);",
        )?;
        let store_id: String = conn.query_row("SELECT store_id FROM m.store_identity", [], |r| r.get(0))?;
        let newest = newest_span_pk_in(conn)?;
        let last_deletion: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM m.span_deletions", [], |r| r.get(0))?;
        let state: Option<(String, i64, i64)> = conn
            .query_row("SELECT store_id, indexed_up_to, deletions_applied FROM index_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        match state {
            Some((id, indexed_up_to, deletions_applied)) if id == store_id && indexed_up_to <= newest => {
                Ok((indexed_up_to, deletions_applied))
            }
            state => {
                if state.is_some() {
                    conn.execute("INSERT INTO spans_fts (spans_fts) VALUES ('delete-all')", [])?;
                }
                conn.execute(
                    "INSERT OR REPLACE INTO index_state (id, store_id, indexed_up_to, deletions_applied) VALUES (1, ?1, 0, ?2)",
                    params![store_id, last_deletion],
                )?;
                Ok((0, last_deletion))
            }
        }
    })
}

fn newest_span_pk_in(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE((SELECT seq FROM m.sqlite_sequence WHERE name = 'spans'), 0)", [], |r| r.get(0))
}

/// One step in one transaction: removes the entries of deleted spans, then indexes up to
/// `max_spans` spans past the watermark in key order. Returns (spans indexed, new watermark,
/// deletions applied).
///
/// One `INSERT ... SELECT` per step: FTS5 flushes its in-memory terms whenever a statement
/// savepoint opens, so indexing span by span would build (and then merge) a segment per span.
fn step(conn: &Connection, max_spans: usize) -> StoreResult<(usize, i64, i64)> {
    in_transaction(conn, || {
        let (watermark, applied): (i64, i64) = conn
            .prepare_cached("SELECT indexed_up_to, deletions_applied FROM index_state")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let last_deletion: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(seq), ?1) FROM m.span_deletions")?
            .query_row([applied], |r| r.get(0))?;
        if last_deletion > applied {
            // Only spans at or below the watermark have entries; later ones were deleted
            // before they were indexed.
            conn.prepare_cached(
                "DELETE FROM spans_fts WHERE rowid IN
                 (SELECT span_pk FROM m.span_deletions WHERE seq > ?1 AND seq <= ?2 AND span_pk <= ?3)",
            )?
            .execute(params![applied, last_deletion, watermark])?;
        }
        let (count, new_watermark): (i64, Option<i64>) = conn
            .prepare_cached(
                "SELECT COUNT(*), MAX(span_pk) FROM (SELECT span_pk FROM m.spans WHERE span_pk > ?1 ORDER BY span_pk LIMIT ?2)",
            )?
            .query_row(params![watermark, i64::try_from(max_spans).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let new_watermark = new_watermark.unwrap_or(watermark);
        if new_watermark > watermark {
            conn.prepare_cached(
                "INSERT INTO spans_fts (rowid, body)
                 SELECT span_pk, clew_payload_text(payload) FROM m.spans WHERE span_pk > ?1 AND span_pk <= ?2 ORDER BY span_pk",
            )?
            .execute(params![watermark, new_watermark])?;
        }
        if new_watermark != watermark || last_deletion != applied {
            conn.prepare_cached("UPDATE index_state SET indexed_up_to = ?1, deletions_applied = ?2")?
                .execute(params![new_watermark, last_deletion])?;
        }
        Ok((usize::try_from(count).unwrap_or(0), new_watermark, last_deletion))
    })
    .map_err(sqlite_error)
}

/// Spans past the index watermark, on a read connection with the index attached.
pub(crate) fn unindexed_span_count(conn: &Connection) -> StoreResult<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM spans WHERE span_pk > (SELECT indexed_up_to FROM ix.index_state)")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(sqlite_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_escape_what_sqlite_would_read_as_syntax() {
        assert_eq!(file_uri(Path::new("/tmp/a b/c?d#e%f.db"), "mode=ro"), "file:/tmp/a%20b/c%3Fd%23e%25f.db?mode=ro");
        assert_eq!(index_path(Path::new("data/clew.db")), PathBuf::from("data/clew.db-fts"));
    }
}
