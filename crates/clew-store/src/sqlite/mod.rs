//! The SQLite backend: one file, WAL, one writer thread with group commit, a pool of readers.
//!
//! ```no_run
//! # async fn demo() -> clew_store::StoreResult<()> {
//! use clew_store::{SqliteStore, TraceStore};
//! let store = SqliteStore::open_uri("sqlite:///tmp/clew.db")?;
//! let experiments = store.list_experiments().await?;
//! assert_eq!(experiments[0].name, "Default");
//! # Ok(()) }
//! ```

mod dialect;
mod functions;
mod read_ops;
mod readers;
pub mod schema;
mod write_ops;
mod writer;

use crate::sql::search::{compile_search, SqlParam};
use crate::{
    page_token, DeleteTraces, SearchTracesRequest, StoreError, StoreResult, TracePage, TraceStore,
};
use async_trait::async_trait;
use clew_model::filter::{parse_filter, parse_order_by_list};
use clew_model::{Experiment, Span, Trace, TraceInfo};
use readers::ReaderPool;
use rusqlite::types::ToSql;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use writer::Writer;

/// Page size when a search does not give one (MLflow's default).
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// The largest page a search may ask for (MLflow's store limit).
pub const MAX_RESULTS_LIMIT: usize = 50_000;

/// A [`TraceStore`] in one SQLite file. Cheap to clone; clones share the writer and readers.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order is drop order: the writer finishes its queue and closes first, the
    // temporary directory (in-memory stores) goes last.
    writer: Writer,
    readers: Arc<ReaderPool>,
    path: PathBuf,
    _temp_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// The parent directory is created when missing.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        Self::open_at(path.as_ref().to_path_buf(), None)
    }

    /// A private store in a temporary directory, removed when the last clone is dropped.
    /// (A file, not `:memory:`, because WAL and separate reader connections need one.)
    pub fn open_in_memory() -> StoreResult<SqliteStore> {
        let dir = tempfile::Builder::new()
            .prefix("clew-store-")
            .tempdir()
            .map_err(|e| StoreError::Unavailable(format!("cannot create a temporary directory: {e}")))?;
        let path = dir.path().join("clew.db");
        Self::open_at(path, Some(dir))
    }

    /// Opens a store from a URI: `sqlite:///abs/path.db`, `sqlite://rel/path.db`, or
    /// `sqlite://:memory:` / `sqlite:///:memory:` for a temporary store.
    ///
    /// ```
    /// use clew_store::SqliteStore;
    /// assert_eq!(SqliteStore::path_from_uri("sqlite:///var/clew.db").unwrap().to_str(), Some("/var/clew.db"));
    /// assert_eq!(SqliteStore::path_from_uri("sqlite://data/clew.db").unwrap().to_str(), Some("data/clew.db"));
    /// assert!(SqliteStore::path_from_uri("postgresql://host/db").is_err());
    /// ```
    pub fn open_uri(uri: &str) -> StoreResult<SqliteStore> {
        let path = Self::path_from_uri(uri)?;
        if path.as_os_str() == ":memory:" {
            return Self::open_in_memory();
        }
        Self::open(path)
    }

    /// The file path a `sqlite://` URI names (`:memory:` for the in-memory forms).
    pub fn path_from_uri(uri: &str) -> StoreResult<PathBuf> {
        let rest = uri.strip_prefix("sqlite://").ok_or_else(|| {
            StoreError::InvalidArgument(format!("not a SQLite URI: {uri:?} (expected sqlite:///abs/path or sqlite://rel/path)"))
        })?;
        // SQLAlchemy form: three slashes = absolute path, two = relative.
        let path = if rest == "/:memory:" || rest == ":memory:" || rest.is_empty() {
            ":memory:".to_string()
        } else {
            rest.to_string()
        };
        if path.is_empty() || path == "/" {
            return Err(StoreError::InvalidArgument(format!("SQLite URI {uri:?} names no file")));
        }
        Ok(PathBuf::from(path))
    }

    fn open_at(path: PathBuf, temp_dir: Option<tempfile::TempDir>) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        let mut conn = schema::open_connection(&path, false)?;
        schema::migrate(&mut conn)?;
        let writer = Writer::start(conn)?;
        let readers = ReaderPool::new(path.clone());
        Ok(SqliteStore { inner: Arc::new(Inner { writer, readers, path, _temp_dir: temp_dir }) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> StoreResult<R> + Send + 'static,
    {
        self.inner.writer.run(work).await
    }

    async fn read<R, F>(&self, read: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> StoreResult<R> + Send + 'static,
    {
        self.inner.readers.run(read).await
    }
}

fn to_sql_values(params: &[SqlParam]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            SqlParam::Int(i) => rusqlite::types::Value::Integer(*i),
            SqlParam::Real(f) => rusqlite::types::Value::Real(*f),
            SqlParam::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect()
}

#[async_trait]
impl TraceStore for SqliteStore {
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
        let name = name.to_string();
        let artifact_location = artifact_location.map(str::to_string);
        self.write(move |conn| write_ops::create_experiment(conn, &name, artifact_location.as_deref())).await
    }

    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Option<Experiment>> {
        let id = experiment_id.to_string();
        self.read(move |conn| read_ops::get_experiment(conn, &id)).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>> {
        let name = name.to_string();
        self.read(move |conn| read_ops::get_experiment_by_name(conn, &name)).await
    }

    async fn list_experiments(&self) -> StoreResult<Vec<Experiment>> {
        self.read(read_ops::list_experiments).await
    }

    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo> {
        self.write(move |conn| write_ops::start_trace(conn, &info)).await
    }

    async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> StoreResult<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let experiment_id = experiment_id.to_string();
        self.write(move |conn| write_ops::log_spans(conn, &experiment_id, &spans)).await
    }

    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()> {
        if traces.is_empty() {
            return Ok(());
        }
        self.write(move |conn| traces.iter().try_for_each(|trace| write_ops::write_trace(conn, trace))).await
    }

    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>> {
        let trace_id = trace_id.to_string();
        self.read(move |conn| {
            let Some(pk) = read_ops::find_trace_pk(conn, &trace_id)? else { return Ok(None) };
            Ok(read_ops::load_infos(conn, &[pk])?.pop())
        })
        .await
    }

    async fn get_trace(&self, trace_id: &str) -> StoreResult<Option<Trace>> {
        let trace_id = trace_id.to_string();
        self.read(move |conn| read_ops::load_trace(conn, &trace_id)).await
    }

    async fn batch_get_traces(&self, trace_ids: &[String]) -> StoreResult<Vec<Trace>> {
        let trace_ids = trace_ids.to_vec();
        self.read(move |conn| {
            let mut traces = Vec::with_capacity(trace_ids.len());
            for trace_id in &trace_ids {
                let Some(trace) = read_ops::load_trace(conn, trace_id)? else { continue };
                if read_ops::is_complete(conn, trace_id, &trace.info)? {
                    traces.push(trace);
                }
            }
            Ok(traces)
        })
        .await
    }

    async fn search_traces(&self, request: &SearchTracesRequest) -> StoreResult<TracePage> {
        let max_results = request.max_results.unwrap_or(DEFAULT_MAX_RESULTS);
        if max_results == 0 || max_results > MAX_RESULTS_LIMIT {
            return Err(StoreError::InvalidArgument(format!(
                "max_results must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}"
            )));
        }
        let offset = page_token::decode(request.page_token.as_deref())?;
        let filter = parse_filter(request.filter.as_deref().unwrap_or_default())?;
        let order_by = parse_order_by_list(&request.order_by)?;
        let compiled = compile_search(
            &dialect::SqliteDialect,
            &request.experiment_ids,
            &filter,
            &order_by,
            max_results,
            offset,
        )?;
        let traces = self
            .read(move |conn| {
                let values = to_sql_values(&compiled.params);
                let args: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
                let mut stmt = conn.prepare_cached(&compiled.sql).map_err(schema::sqlite_error)?;
                let pks = stmt
                    .query_map(args.as_slice(), |r| r.get::<_, i64>(0))
                    .map_err(schema::sqlite_error)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(schema::sqlite_error)?;
                read_ops::load_infos(conn, &pks)
            })
            .await?;
        let next_page_token = (traces.len() == max_results).then(|| page_token::encode(offset + traces.len()));
        Ok(TracePage { traces, next_page_token })
    }

    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let (trace_id, key, value) = (trace_id.to_string(), key.to_string(), value.to_string());
        self.write(move |conn| write_ops::set_trace_tag(conn, &trace_id, &key, &value)).await
    }

    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()> {
        let (trace_id, key) = (trace_id.to_string(), key.to_string());
        self.write(move |conn| write_ops::delete_trace_tag(conn, &trace_id, &key)).await
    }

    async fn delete_traces(&self, request: DeleteTraces) -> StoreResult<usize> {
        self.write(move |conn| write_ops::delete_traces(conn, &request)).await
    }
}
