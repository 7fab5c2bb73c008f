//! The trace store: one async [`TraceStore`] trait, its backends, and a conformance suite.
//!
//! - [`SqliteStore`]: one SQLite file (WAL, one writer thread with group commit, pooled
//!   readers); the SDK's embedded default and a single-node server's store.
//! - [`PostgresStore`]: one PostgreSQL database shared by many server replicas (pooled
//!   connections, migrations under an advisory lock, `pg_trgm` substring index).
//! - [`sql`]: the backend-neutral search compiler (filter AST → parameterised SQL).
//! - [`conformance`]: behaviour every backend must show, written once against `dyn TraceStore`.
//!
//! See `README.md` beside this crate for the schema and the reasons behind it.

pub mod conformance;
mod ingest_rules;
pub mod page_token;
pub mod payload;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod span_record;
pub mod span_text;
pub mod sql;
pub mod sqlite;
pub mod store;
pub mod tracking;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::*;
