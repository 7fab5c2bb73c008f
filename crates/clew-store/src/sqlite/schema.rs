//! Connection setup and versioned migrations.
//!
//! `schema_version` records each applied migration. Opening a store applies the missing ones
//! in order inside one `BEGIN IMMEDIATE` transaction, so several processes opening the same
//! file at once apply each migration exactly once.

use super::functions;
use crate::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Migrations in order; a migration is never edited once released, only followed by another.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_tracking_server.sql")),
    (3, include_str!("migrations/0003_text_index_file.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

/// How long a connection waits on another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn sqlite_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(format!("database is busy: {e}"))
        }
        _ => StoreError::Internal(format!("sqlite: {e}")),
    }
}

/// Opens a connection with clew's pragmas and SQL functions.
pub(crate) fn open_connection(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Unavailable(format!("cannot open SQLite database {}: {e}", path.display()))
    })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
    // WAL: readers see the last commit and never wait on the writer. NORMAL sync is durable
    // against process crashes (WAL is fsynced at checkpoints), the usual WAL pairing.
    if !read_only {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(sqlite_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!("SQLite refused WAL mode (got {mode})")));
        }
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;",
    )
    .map_err(sqlite_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    functions::register(&conn).map_err(sqlite_error)?;
    Ok(conn)
}

/// Applies every migration the database lacks.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sqlite_error)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(sqlite_error)?;
    let current: i64 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!(
            "database schema version {current} is newer than this clew build supports ({SCHEMA_VERSION}); upgrade clew"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Internal(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
            [version],
        )
        .map_err(sqlite_error)?;
    }
    tx.commit().map_err(sqlite_error)
}
