//! The span text index: an inverted index of span text trigrams in a file of its own
//! (`<database>-fts`), kept up to date by a thread of its own.
//!
//! `trace.text`, `span.content` and `span.attributes.*` searches are substring matches over
//! span JSON; the index turns them into lookups. SQLite allows one writer per database file:
//! with the index in the store's file, indexing ran on the single writer thread, shared its
//! page cache, and more than halved sustained ingest. In a file of its own the index has its
//! own write lock, cache and WAL, and its thread runs beside the writer at a lower CPU
//! priority, so ingest and the application come first and the index catches up when they pause.
//!
//! **What is indexed.** One document per trace and index step (a trace whose spans arrive in
//! several batches may have several): the set of distinct trigrams of its spans' JSON, case
//! folded, each hashed to 32 bits and written as an 8-hex-digit word, in an FTS5 table with
//! the plain `ascii` tokenizer. Computing the set in Rust feeds FTS5 each trigram once per
//! trace instead of once per occurrence (a 5-span trace of ~1.3 KB spans has ~6,500 trigram
//! occurrences and ~1,200 distinct ones): FTS5's trigram tokenizer on the raw JSON cost
//! ~60-70 µs per span, mostly in its term hash. A hash collision only adds a candidate.
//!
//! **Correctness does not depend on the index keeping up.** Every span with
//! `span_pk <= indexed_up_to` is in the index, and every later one is not; searches take the
//! traces of the index's candidate documents plus the traces of spans past the watermark, and
//! check each of their spans exactly. Span keys only grow and are never reused
//! (AUTOINCREMENT). Documents of deleted traces are removed from the deletion log the main
//! database keeps (`span_deletions`); a stale document only yields a candidate that fails
//! the exact check.
//!
//! The file is derived data: when it is missing, of another format, not this store's (the
//! `store_identity` differs, e.g. a database copied in beside an old index), or ahead of the
//! database (a database restored from a backup), it is rebuilt from the spans.

use super::schema::{open_connection, sqlite_error};
use super::writer::control;
use crate::{StoreError, StoreResult};
use parking_lot::{Condvar, Mutex};
use crate::payload;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
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

/// The index file's layout version (`PRAGMA user_version`); a file of another version is
/// emptied and rebuilt.
const INDEX_FORMAT: i64 = 2;

const INDEX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS index_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    store_id          TEXT    NOT NULL,   -- store_identity.store_id of the database indexed
    indexed_up_to     INTEGER NOT NULL,   -- every span_pk <= this is indexed, no later one is
    deletions_applied INTEGER NOT NULL    -- span_deletions.seq up to which deletions were applied
);
-- One row per document: which trace it describes (doc_id = its first span's span_pk).
CREATE TABLE IF NOT EXISTS text_docs (
    doc_id   INTEGER PRIMARY KEY,
    trace_pk INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS text_docs_by_trace ON text_docs (trace_pk);
-- Contentless (rowid = text_docs.doc_id) and without positions (detail=none): it answers
-- which documents hold all these trigram words, a superset that search then checks exactly.
CREATE VIRTUAL TABLE IF NOT EXISTS text_fts USING fts5 (
    trigrams,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
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
/// (searches name `ix.text_fts`, `ix.text_docs` and `ix.index_state`).
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
    conns: Mutex<Conns>,
    signal: Mutex<Signal>,
    /// Wakes the index thread (new spans, stop).
    wake: Condvar,
    /// Wakes a writer waiting for the index to catch up.
    progressed: Condvar,
    enabled: AtomicBool,
    indexed_up_to: AtomicI64,
    /// The newest span key the writer saw after a commit (or the index at a step).
    newest_span_pk: AtomicI64,
    deletions_applied: AtomicI64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Time the writer spent in batches, in total: how busy ingest is right now.
    writer_busy_ns: AtomicU64,
    /// [`MAX_INDEX_LAG_SPANS`]; tests lower it.
    max_lag: AtomicI64,
}

/// The index file's connection, and a read connection to the database (short read
/// transactions only: a long-lived reader would keep the database's WAL from being reset).
pub(crate) struct Conns {
    index: Connection,
    store: Connection,
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
        let index = open_connection(&path, false)?;
        let store = open_connection(db, true)?;
        let (indexed_up_to, deletions_applied) = prepare(&index, &store)
            .map_err(|e| StoreError::Unavailable(format!("cannot prepare the text index {}: {e}", path.display())))?;
        let shared = Arc::new(Shared {
            conns: Mutex::new(Conns { index, store }),
            signal: Mutex::new(Signal { pending: true, ..Signal::default() }),
            wake: Condvar::new(),
            progressed: Condvar::new(),
            enabled: AtomicBool::new(true),
            indexed_up_to: AtomicI64::new(indexed_up_to),
            newest_span_pk: AtomicI64::new(indexed_up_to),
            deletions_applied: AtomicI64::new(deletions_applied),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
            writer_busy_ns: AtomicU64::new(0),
            max_lag: AtomicI64::new(MAX_INDEX_LAG_SPANS),
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

    /// Lowers the lag bound and holds the index still until the guard is dropped (tests of
    /// the writer's backpressure).
    #[cfg(test)]
    pub(crate) fn hold_with_lag_bound(&self, max_lag: i64) -> parking_lot::MutexGuard<'_, Conns> {
        self.shared.max_lag.store(max_lag, Ordering::Relaxed);
        self.shared.conns.lock()
    }

    /// Spans known to be stored but not indexed, and failed steps (cheap: no query).
    pub(crate) fn status(&self) -> crate::TextIndexStatus {
        let newest = self.shared.newest_span_pk.load(Ordering::Relaxed);
        let indexed = self.shared.indexed_up_to.load(Ordering::Relaxed);
        crate::TextIndexStatus { lag_spans: (newest - indexed).max(0), failures: self.shared.failures.load(Ordering::Relaxed) }
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

impl IndexFeed {
    /// After a committed batch, on the writer connection: wakes the index thread, then, if the
    /// index trails the newest span by more than [`MAX_INDEX_LAG_SPANS`], waits until it
    /// catches up (backpressure: the writer's queue fills and ingest answers 429). Never waits
    /// while indexing is off or failing, nor past [`MAX_WAIT_WITHOUT_PROGRESS`] without progress.
    pub(crate) fn after_commit(&self, conn: &Connection, busy: Duration) {
        self.shared.writer_busy_ns.fetch_add(u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.shared.notify();
        let Ok(newest) = newest_span_pk(conn) else { return };
        self.shared.newest_span_pk.fetch_max(newest, Ordering::Relaxed);
        if !self.shared.enabled.load(Ordering::Relaxed) {
            return;
        }
        let mut signal = self.shared.signal.lock();
        let mut last_seen = self.shared.indexed_up_to.load(Ordering::Relaxed);
        let mut since_progress = Instant::now();
        loop {
            let indexed = self.shared.indexed_up_to.load(Ordering::Relaxed);
            if newest - indexed <= self.shared.max_lag.load(Ordering::Relaxed)
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
    conn.prepare_cached(NEWEST_SPAN_PK)?.query_row([], |r| r.get(0))
}

impl Shared {
    fn notify(&self) {
        self.signal.lock().pending = true;
        self.wake.notify_one();
    }

    /// One step under the connection lock; publishes the new watermarks.
    fn step(&self, max_spans: usize) -> StoreResult<usize> {
        let conns = self.conns.lock();
        let (indexed, up_to, deletions) = step(&conns, max_spans)?;
        self.indexed_up_to.store(up_to, Ordering::Relaxed);
        self.newest_span_pk.fetch_max(up_to, Ordering::Relaxed);
        self.deletions_applied.store(deletions, Ordering::Relaxed);
        drop(conns);
        let _signal = self.signal.lock();
        self.progressed.notify_all();
        Ok(indexed)
    }
}

/// While the index trails by less than its bound minus this, it waits for ingest bursts to pass.
const DEFER_MARGIN_SPANS: i64 = 2 * SPANS_PER_STEP as i64;
/// Ingest counts as a burst while the writer is busy at least this share of the time.
const BURST_WRITER_BUSY_SHARE: f64 = 0.5;
/// How long the index thread pauses when it defers to a burst, before it looks again.
const BURST_WINDOW: Duration = Duration::from_millis(200);

impl Shared {
    /// Whether the writer is in a burst (busy most of the time lately) with the index
    /// lag still well within its bound: indexing then waits, so a burst runs at the storing
    /// rate on both cores; it resumes as soon as the burst ends or the lag nears the bound
    /// (where the writer would start waiting for it). Steady light ingest keeps the writer
    /// mostly idle, so the index follows it closely.
    ///
    /// `since` is the writer's busy time at the last decision and when that was: the share is
    /// measured over the time since (an index step, an idle wait, or a deferral's pause).
    fn defer_for_burst(&self, since: &mut (Instant, u64)) -> bool {
        let (now, busy) = (Instant::now(), self.writer_busy_ns.load(Ordering::Relaxed));
        let (then, busy_then) = std::mem::replace(since, (now, busy));
        let lag = self.newest_span_pk.load(Ordering::Relaxed) - self.indexed_up_to.load(Ordering::Relaxed);
        let defer_below = self.max_lag.load(Ordering::Relaxed) - DEFER_MARGIN_SPANS;
        if lag >= defer_below {
            return false;
        }
        let window = now.duration_since(then).as_nanos().max(1) as f64;
        if busy.saturating_sub(busy_then) as f64 >= window * BURST_WRITER_BUSY_SHARE {
            std::thread::sleep(BURST_WINDOW);
            return true;
        }
        false
    }
}

fn index_loop(shared: &Shared) {
    lower_priority();
    let mut since = (Instant::now(), shared.writer_busy_ns.load(Ordering::Relaxed));
    loop {
        let mut more = false;
        let mut failed = false;
        if shared.enabled.load(Ordering::Relaxed) && shared.defer_for_burst(&mut since) {
            if shared.signal.lock().stop {
                break;
            }
            continue;
        }
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
    let _ = shared.conns.lock().index.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
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

/// Runs `work` in a write transaction of the index file (its own write lock: the span writer
/// never waits for it).
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

/// Creates the index schema, or resets the index when it is not this store's or of another
/// format; returns the watermarks.
fn prepare(index: &Connection, store: &Connection) -> rusqlite::Result<(i64, i64)> {
    let (store_id, newest, last_deletion) = read_snapshot(store, || {
        let store_id: String = store.query_row("SELECT store_id FROM store_identity", [], |r| r.get(0))?;
        let newest: i64 = store.query_row(NEWEST_SPAN_PK, [], |r| r.get(0))?;
        let last_deletion: i64 = store.query_row("SELECT COALESCE(MAX(seq), 0) FROM span_deletions", [], |r| r.get(0))?;
        Ok((store_id, newest, last_deletion))
    })?;
    in_transaction(index, || {
        let format: i64 = index.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if format != INDEX_FORMAT {
            // Another layout (or a new file): start over.
            index.execute_batch(
                "DROP TABLE IF EXISTS spans_fts; DROP TABLE IF EXISTS text_fts;
                 DROP TABLE IF EXISTS text_docs; DROP TABLE IF EXISTS index_state;",
            )?;
            index.execute_batch(&format!("PRAGMA user_version = {INDEX_FORMAT}"))?;
        }
        index.execute_batch(INDEX_SCHEMA)?;
        // FTS5 merges index segments in groups of `automerge` (default 4); groups of 8 halve
        // the levels an entry is rewritten through. A bigger in-memory term hash (8 MiB,
        // default 1 MiB) writes fewer, larger segments per step.
        index.execute_batch(
            "INSERT INTO text_fts (text_fts, rank) VALUES ('automerge', 8);
             INSERT INTO text_fts (text_fts, rank) VALUES ('hashsize', 8388608);",
        )?;
        let state: Option<(String, i64, i64)> = index
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
                    index.execute_batch("INSERT INTO text_fts (text_fts) VALUES ('delete-all'); DELETE FROM text_docs;")?;
                }
                index.execute(
                    "INSERT OR REPLACE INTO index_state (id, store_id, indexed_up_to, deletions_applied) VALUES (1, ?1, 0, ?2)",
                    params![store_id, last_deletion],
                )?;
                Ok((0, last_deletion))
            }
        }
    })
}

const NEWEST_SPAN_PK: &str = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'spans'), 0)";

/// Runs `read` in one read transaction (one snapshot), kept short.
fn read_snapshot<T>(conn: &Connection, read: impl FnOnce() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    control(conn, "BEGIN")?;
    let result = read();
    let _ = control(conn, "COMMIT");
    result
}

/// What one step read from the database.
struct Batch {
    /// (span_pk, trace_pk, payload) past the watermark, in key order.
    spans: Vec<(i64, i64, Vec<u8>)>,
    /// Traces with logged deletions that no longer exist.
    gone_traces: Vec<i64>,
    last_deletion: i64,
}

/// One step: reads up to `max_spans` spans past the watermark and the new deletion log
/// entries (a short read of the database), builds each trace's document, and writes the
/// documents in one transaction of the index file. Returns (spans indexed, new watermark,
/// deletions applied).
fn step(conns: &Conns, max_spans: usize) -> StoreResult<(usize, i64, i64)> {
    let (watermark, applied) = watermarks(&conns.index).map_err(sqlite_error)?;
    let batch = read_snapshot(&conns.store, || read_batch(&conns.store, watermark, applied, max_spans)).map_err(sqlite_error)?;
    let docs = documents(&batch.spans);
    let new_watermark = batch.spans.last().map_or(watermark, |(pk, _, _)| *pk);
    let index = &conns.index;
    in_transaction(index, || {
        // Another process's indexer may have moved on meanwhile: then this work is stale, and
        // its watermarks are the ones to publish.
        let now = watermarks(index)?;
        if now != (watermark, applied) {
            return Ok((0, now.0, now.1));
        }
        for trace_pk in &batch.gone_traces {
            index
                .prepare_cached("DELETE FROM text_fts WHERE rowid IN (SELECT doc_id FROM text_docs WHERE trace_pk = ?1)")?
                .execute([trace_pk])?;
            index.prepare_cached("DELETE FROM text_docs WHERE trace_pk = ?1")?.execute([trace_pk])?;
        }
        for (doc_id, trace_pk, words) in &docs {
            index.prepare_cached("INSERT INTO text_docs (doc_id, trace_pk) VALUES (?1, ?2)")?.execute([doc_id, trace_pk])?;
            index.prepare_cached("INSERT INTO text_fts (rowid, trigrams) VALUES (?1, ?2)")?.execute(params![doc_id, words])?;
        }
        if new_watermark != watermark || batch.last_deletion != applied {
            index
                .prepare_cached("UPDATE index_state SET indexed_up_to = ?1, deletions_applied = ?2")?
                .execute(params![new_watermark, batch.last_deletion])?;
        }
        Ok((batch.spans.len(), new_watermark, batch.last_deletion))
    })
    .map_err(sqlite_error)
}

/// The index's (indexed_up_to, deletions_applied).
fn watermarks(index: &Connection) -> rusqlite::Result<(i64, i64)> {
    index
        .prepare_cached("SELECT indexed_up_to, deletions_applied FROM index_state")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}

fn read_batch(store: &Connection, watermark: i64, applied: i64, max_spans: usize) -> rusqlite::Result<Batch> {
    let spans = store
        .prepare_cached("SELECT span_pk, trace_pk, payload FROM spans WHERE span_pk > ?1 ORDER BY span_pk LIMIT ?2")?
        .query_map(params![watermark, i64::try_from(max_spans).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let last_deletion: i64 = store
        .prepare_cached("SELECT COALESCE(MAX(seq), ?1) FROM span_deletions")?
        .query_row([applied], |r| r.get(0))?;
    let gone_traces = if last_deletion > applied {
        store
            .prepare_cached(
                "SELECT DISTINCT d.trace_pk FROM span_deletions d WHERE d.seq > ?1 AND d.seq <= ?2
                 AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_pk = d.trace_pk)",
            )?
            .query_map([applied, last_deletion], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?
    } else {
        Vec::new()
    };
    Ok(Batch { spans, gone_traces, last_deletion })
}

/// One document per trace among `spans`: (doc_id = the trace's first span_pk here, trace_pk,
/// its distinct trigram words).
fn documents(spans: &[(i64, i64, Vec<u8>)]) -> Vec<(i64, i64, String)> {
    // Spans of a trace, in key order; traces in order of their first span.
    let mut groups: Vec<(i64, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<i64, usize> = HashMap::new();
    for (i, (_, trace_pk, _)) in spans.iter().enumerate() {
        let g = *group_of.entry(*trace_pk).or_insert_with(|| {
            groups.push((*trace_pk, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    // One set, cleared between traces, keeps its capacity: no rehashing after the first few.
    let mut set = TrigramSet::default();
    groups
        .into_iter()
        .map(|(trace_pk, members)| {
            set.clear();
            for &i in &members {
                // A payload that does not decode cannot match a search either; it is reported
                // when the span is read.
                if let Ok(text) = payload::decode(&spans[i].2) {
                    set.reserve(text.len());
                    for_each_trigram(&text, |key| set.insert(key));
                }
            }
            (spans[members[0]].0, trace_pk, set.words())
        })
        .collect()
}

/// Distinct trigram keys (already hashes: stored as they are).
#[derive(Default)]
struct TrigramSet(HashSet<u32, BuildHasherDefault<KeyHasher>>);

impl TrigramSet {
    fn insert(&mut self, key: u32) {
        self.0.insert(key);
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    /// Room for about `chars` more trigrams (distinct ones are fewer: a rough upper bound).
    fn reserve(&mut self, chars: usize) {
        self.0.reserve(chars / 2);
    }

    /// The keys as space-separated 8-hex-digit words.
    fn words(&self) -> String {
        let mut words = String::with_capacity(self.0.len() * 9);
        for &key in &self.0 {
            push_word(&mut words, key);
            words.push(' ');
        }
        words
    }
}

fn push_word(out: &mut String, key: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..8).rev() {
        out.push(char::from(HEX[((key >> (shift * 4)) & 0xf) as usize]));
    }
}

/// A `Hasher` for keys that are hashes already: spreads the 32 bits over the 64 (the hash
/// table takes its control bits from the top and its slot from the bottom).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n) << 32 | u64::from(n);
    }
}

/// The index's case folding, one character at a time (so a fragment folds as it does inside
/// any text): lowercase, with the final sigma as σ (`str::to_lowercase`, which ILIKE uses,
/// writes ς at the end of words). Whatever a LIKE or ILIKE pattern's literal fragment
/// matches, its folded trigrams are among the text's.
fn fold(c: char, mut out: impl FnMut(char)) {
    if c.is_ascii() {
        out(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        out(if lower == 'ς' { 'σ' } else { lower });
    }
}

/// A trigram's 32-bit key (chars are below 2^21, so the three fit one u64 exactly).
fn trigram_key(a: char, b: char, c: char) -> u32 {
    let packed = u64::from(a) | u64::from(b) << 21 | u64::from(c) << 42;
    (packed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

/// Calls `f` with the key of every trigram of `text`, folded.
fn for_each_trigram(text: &str, mut f: impl FnMut(u32)) {
    let (mut a, mut b): (Option<char>, Option<char>) = (None, None);
    for ch in text.chars() {
        fold(ch, |c| {
            if let (Some(x), Some(y)) = (a, b) {
                f(trigram_key(x, y, c));
            }
            a = b;
            b = Some(c);
        });
    }
}

/// At most this many trigrams of one fragment go into an index query.
const MAX_TRIGRAMS_PER_FRAGMENT: usize = 12;

/// An FTS5 MATCH expression for the documents holding every trigram of every fragment (a
/// superset of the traces whose spans contain each fragment, case-insensitively); `None`
/// when no fragment is long enough (the caller then checks every span).
pub(crate) fn match_expression<'a>(fragments: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut keys: Vec<u32> = Vec::new();
    for fragment in fragments {
        let mut fragment_keys = Vec::new();
        for_each_trigram(fragment, |key| fragment_keys.push(key));
        // A spread-out sample keeps long patterns cheap to look up and is still a superset.
        let step = fragment_keys.len().div_ceil(MAX_TRIGRAMS_PER_FRAGMENT).max(1);
        let last = fragment_keys.len().saturating_sub(1);
        for (i, key) in fragment_keys.iter().enumerate() {
            if (i % step == 0 || i == last) && !keys.contains(key) {
                keys.push(*key);
            }
        }
    }
    let mut expression = String::new();
    for key in keys {
        if !expression.is_empty() {
            expression.push_str(" AND ");
        }
        push_word(&mut expression, key);
    }
    (!expression.is_empty()).then_some(expression)
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

    fn keys(text: &str) -> HashSet<u32> {
        let mut keys = HashSet::new();
        for_each_trigram(text, |key| {
            keys.insert(key);
        });
        keys
    }

    /// The superset promise: whatever literal fragment LIKE finds in a text (a substring of
    /// it) or ILIKE finds (a substring of its lowercase form), every trigram key of the
    /// fragment is among the text's, whatever the case and script.
    #[test]
    fn every_fragment_a_pattern_can_match_has_its_trigrams_in_the_text() {
        for text in [
            r#"{"name": "Hello World", "attributes": {"mlflow.spanInputs": "{\"q\": 1}"}}"#,
            "ΟΔΥΣΣΕΥΣ und ΣΊΣΥΦΟΣ, σοφός",
            "İstanbul ǅemal STRASSE straße K Å ﬁne",
            "mixed CASE Text ς σ Σ end",
        ] {
            let in_text = keys(text);
            let lowered = text.to_lowercase();
            for source in [text, lowered.as_str()] {
                let chars: Vec<char> = source.chars().collect();
                for start in 0..chars.len() {
                    for end in start + 1..=chars.len() {
                        let fragment: String = chars[start..end].iter().collect();
                        let missing: Vec<u32> = keys(&fragment).difference(&in_text).copied().collect();
                        assert!(missing.is_empty(), "{fragment:?} in {text:?}: {} trigram(s) not indexed", missing.len());
                    }
                }
            }
        }
    }

    #[test]
    fn match_expressions_and_documents_use_the_same_words() {
        let text = "The quick brown fox";
        let words: HashSet<String> = {
            let mut set = TrigramSet::default();
            for_each_trigram(text, |key| set.insert(key));
            set.words().split_whitespace().map(str::to_string).collect()
        };
        assert_eq!(words.len(), keys(text).len());
        let expression = match_expression(["QUICK", "ox"]).expect("one fragment is long enough");
        let terms: Vec<&str> = expression.split(" AND ").collect();
        assert_eq!(terms.len(), 3, "qui, uic, ick: {expression}");
        assert!(terms.iter().all(|t| t.len() == 8 && words.contains(*t)), "{expression}");
        assert_eq!(match_expression(["ab", "c"]), None);
        // Long fragments are sampled, first and last trigram always included.
        let long = "abcdefghijklmnopqrstuvwxyz0123456789";
        let terms = match_expression([long]).expect("long").split(" AND ").count();
        assert!((MAX_TRIGRAMS_PER_FRAGMENT..=MAX_TRIGRAMS_PER_FRAGMENT + 1).contains(&terms), "{terms}");
    }
}
