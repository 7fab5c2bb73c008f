//! Versioned migrations and error mapping.
//!
//! `schema_version` records each applied migration. Connecting applies the missing ones in
//! order in one transaction that first takes a transaction-level advisory lock, so several
//! server processes starting at once against the same database apply each migration exactly
//! once (the others wait, then find nothing to do). DDL is transactional in PostgreSQL: a
//! failed migration leaves no trace.

use crate::{StoreError, StoreResult};
use tokio_postgres::error::SqlState;

/// Migrations in order; a migration is never edited once released, only followed by another.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_initial.sql"))];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

/// The advisory lock key migrations hold (arbitrary, fixed: "clew" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x636c_6577;

/// Prefix of the `Unavailable` message for transaction conflicts, which are retried.
pub(crate) const CONFLICT: &str = "transaction conflict";

/// Maps a driver error to a store error naming what failed.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No server answer: connection lost, protocol or conversion errors.
        if e.is_closed() {
            return StoreError::Unavailable(format!("PostgreSQL connection closed: {e}"));
        }
        return StoreError::Internal(format!("postgres: {e}"));
    };
    let code = db.code();
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return StoreError::Unavailable(format!("{CONFLICT}: {}", db.message()));
    }
    if *code == SqlState::INVALID_REGULAR_EXPRESSION {
        return StoreError::InvalidArgument(format!("regular expression not accepted by PostgreSQL: {}", db.message()));
    }
    let class = code.code().get(..2).unwrap_or_default();
    match class {
        // Data exceptions: a value PostgreSQL cannot store, e.g. a NUL character in text.
        "22" => StoreError::InvalidArgument(format!("PostgreSQL rejected a value: {}", db.message())),
        // Connection exceptions, insufficient resources, operator intervention (shutdown).
        "08" | "53" | "57" => StoreError::Unavailable(format!("PostgreSQL: {}", db.message())),
        _ => StoreError::Internal(format!("postgres {}: {}", code.code(), db.message())),
    }
}

/// Whether `error` is a conflict worth retrying the whole transaction for.
pub(crate) fn is_conflict(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(message) if message.starts_with(CONFLICT))
}

/// Applies every migration the database lacks.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY]).await.map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    BIGINT PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )
    .await
    .map_err(pg_error)?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version", &[])
        .await
        .map_err(pg_error)?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!(
            "database schema version {current} is newer than this clew build supports ({SCHEMA_VERSION}); upgrade clew"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).await.map_err(|e| {
            let hint = if e.to_string().contains("pg_trgm") || e.as_db_error().is_some_and(|d| d.message().contains("pg_trgm")) {
                " (clew needs the pg_trgm extension: install the PostgreSQL contrib modules, or have a superuser run CREATE EXTENSION pg_trgm in this database)"
            } else {
                ""
            };
            let detail = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
            StoreError::Unavailable(format!("PostgreSQL migration {version} failed: {detail}{hint}"))
        })?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at)
             VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)",
            &[version],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}
