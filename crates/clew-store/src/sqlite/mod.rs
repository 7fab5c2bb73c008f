//! The SQLite backend: one file, WAL, one writer thread with group commit, a pool of readers.
//!
//! ```no_run
//! # async fn demo() -> clew_store::StoreResult<()> {
//! use clew_store::{SqliteStore, TraceStore};
//! let store = SqliteStore::open_uri("sqlite:////tmp/clew.db")?;
//! let experiments = store.list_experiments().await?;
//! assert_eq!(experiments[0].name, "Default");
//! # Ok(()) }
//! ```

mod checkpointer;
mod dialect;
mod functions;
mod read_ops;
mod readers;
pub mod schema;
mod text_index;
mod tracking_ops;
mod write_ops;
mod writer;

use crate::span_record::SpanRecord;
use crate::sql::search::{compile_search, SqlParam};
use crate::{
    page_token, tracking, ArtifactInfo, CreateRun, DeleteTraces, ExperimentPage, SearchExperimentsRequest,
    SearchTracesRequest, SpanSkeleton, StoreError, StoreResult, TracePage, TraceStore, UpdateRun,
};
use async_trait::async_trait;
use clew_model::filter::{parse_filter, parse_order_by_list};
use clew_model::{Assessment, AssessmentUpdate, Experiment, Run, Span, Trace, TraceInfo};
use readers::ReaderPool;
use rusqlite::types::ToSql;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use checkpointer::Checkpointer;
use text_index::{IndexFeed, TextIndex};
use writer::{Writer, WriterHooks};

/// Page size when a search does not give one (MLflow's default).
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// The largest page a search may ask for (MLflow's store limit).
pub const MAX_RESULTS_LIMIT: usize = 50_000;
/// Page size of `search_experiments` when the request gives none (MLflow's).
pub const DEFAULT_MAX_EXPERIMENTS: usize = 1000;

/// A [`TraceStore`] in one SQLite file. Cheap to clone; clones share the writer and readers.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order is drop order: the writer finishes its queue and closes first, the
    // temporary directory (in-memory stores) goes last.
    writer: Writer,
    text_index: TextIndex,
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

    /// Opens a store from a URI: `sqlite:///rel/path.db` (relative to the working
    /// directory), `sqlite:////abs/path.db`, or `sqlite:///:memory:` for a temporary store.
    ///
    /// ```
    /// use clew_store::SqliteStore;
    /// assert_eq!(SqliteStore::path_from_uri("sqlite:////var/clew.db").unwrap().to_str(), Some("/var/clew.db"));
    /// assert_eq!(SqliteStore::path_from_uri("sqlite:///clew.db").unwrap().to_str(), Some("clew.db"));
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
            StoreError::InvalidArgument(format!(
                "not a SQLite URI: {uri:?} (expected sqlite:///relative/path.db or sqlite:////absolute/path.db)"
            ))
        })?;
        // SQLAlchemy's form, as MLflow uses it: after `sqlite://` comes `/` and the path, so
        // `sqlite:///clew.db` is `clew.db` in the working directory and `sqlite:////data/x.db`
        // is `/data/x.db`. A bare `sqlite://rel.db` is read as relative too.
        let path = rest.strip_prefix('/').unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return Ok(PathBuf::from(":memory:"));
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
        let text_index = TextIndex::open(&path)?;
        let checkpointer = Checkpointer::start(&path)?;
        checkpointer::configure_writer(&conn)?;
        let hooks = StoreHooks { index: text_index.feed(), checkpointer };
        let writer = Writer::start(conn, Box::new(hooks))?;
        let readers = ReaderPool::new(path.clone());
        Ok(SqliteStore { inner: Arc::new(Inner { writer, text_index, readers, path, _temp_dir: temp_dir }) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Indexes every span not yet in the substring index and returns how many it indexed.
    ///
    /// The writer indexes new spans in the background whenever it is idle, and searches are
    /// correct either way (spans past the index are checked directly), so this is only for
    /// benchmarks and for tests that want the indexed path.
    pub async fn index_pending_spans(&self) -> StoreResult<usize> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.text_index.index_all())
            .await
            .map_err(|e| StoreError::Internal(format!("indexing task failed: {e}")))?
    }

    /// Turns background indexing of span text on or off (on by default). Off suits a bulk
    /// import that calls [`SqliteStore::index_pending_spans`] at the end; searches stay correct
    /// meanwhile, scanning the spans not indexed yet.
    pub fn set_background_indexing(&self, enabled: bool) {
        self.inner.text_index.set_enabled(enabled);
    }

    /// How many spans are not in the substring index yet.
    pub async fn unindexed_span_count(&self) -> StoreResult<i64> {
        self.read(text_index::unindexed_span_count).await
    }

    /// How many background index steps failed so far, and the last failure (searches stay
    /// correct without the index, only slower).
    pub fn text_index_failures(&self) -> (u64, Option<String>) {
        self.inner.text_index.failures()
    }

    /// Runs `work` on the writer thread; it may run twice (see `writer`), so it must be an
    /// idempotent function of what it captured.
    async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: Fn(&rusqlite::Connection) -> StoreResult<R> + Send + 'static,
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

/// What the writer does after its commits: wake the checkpoint thread, feed the text index
/// (and wait for it when it trails too far), prune the deletion log behind it.
struct StoreHooks {
    index: IndexFeed,
    checkpointer: Checkpointer,
}

impl WriterHooks for StoreHooks {
    fn after_commit(&self, conn: &rusqlite::Connection, busy: std::time::Duration) {
        self.checkpointer.notify();
        self.index.after_commit(conn, busy);
    }

    fn needs_maintenance(&self) -> bool {
        self.index.needs_pruning()
    }

    fn maintain(&self, conn: &rusqlite::Connection) -> StoreResult<()> {
        self.index.prune(conn)
    }

    fn on_close(&self) {
        self.checkpointer.stop();
    }
}

/// Spans above which serialising and compressing moves to a blocking thread.
const PREPARE_INLINE_MAX_SPANS: usize = 64;

/// Runs the CPU part of a write (span JSON, compression) on the caller's side, so the single
/// writer thread only runs SQL; big batches go to a blocking thread.
async fn prepare<T: Send + 'static>(spans: usize, work: impl FnOnce() -> T + Send + 'static) -> StoreResult<T> {
    if spans <= PREPARE_INLINE_MAX_SPANS {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Internal(format!("preparing spans failed: {e}")))
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
        let records = prepare(spans.len(), move || spans.iter().map(SpanRecord::from_span).collect::<Vec<_>>()).await?;
        self.write(move |conn| write_ops::log_spans(conn, &experiment_id, &records)).await
    }

    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()> {
        if traces.is_empty() {
            return Ok(());
        }
        let span_count = traces.iter().map(|t| t.data.spans.len()).sum();
        let prepared = prepare(span_count, move || {
            traces
                .into_iter()
                .map(|t| {
                    let records: Vec<SpanRecord> = t.data.spans.iter().map(SpanRecord::from_span).collect();
                    (t.info, records)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        self.write(move |conn| {
            prepared.iter().try_for_each(|(info, records)| write_ops::write_trace(conn, info, records))
        })
        .await
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
        let experiment_ids = request.experiment_ids.clone();
        let traces = self
            .read(move |conn| {
                // Compiled on the read connection: the dialect looks at the text index to
                // choose how substring conditions run.
                let dialect = dialect::SqliteDialect::probing(conn);
                let compiled = compile_search(&dialect, &experiment_ids, &filter, &order_by, max_results, offset)?;
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
    // ---- experiments (tracking server / UI) ----

    async fn search_experiments(&self, request: &SearchExperimentsRequest) -> StoreResult<ExperimentPage> {
        let max_results = request.max_results.unwrap_or(DEFAULT_MAX_EXPERIMENTS);
        if max_results == 0 || max_results > MAX_RESULTS_LIMIT {
            return Err(StoreError::InvalidArgument(format!(
                "max_results must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}"
            )));
        }
        let offset = page_token::decode(request.page_token.as_deref())?;
        let request = request.clone();
        self.read(move |conn| tracking_ops::search_experiments(conn, &request, max_results, offset)).await
    }

    async fn count_traces(&self, experiment_id: &str) -> StoreResult<u64> {
        let id = experiment_id.to_string();
        self.read(move |conn| tracking_ops::count_traces(conn, &id)).await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()> {
        let (id, name, now) = (experiment_id.to_string(), new_name.to_string(), tracking::now_ms());
        self.write(move |conn| tracking_ops::rename_experiment(conn, &id, &name, now)).await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        let (id, now) = (experiment_id.to_string(), tracking::now_ms());
        self.write(move |conn| tracking_ops::set_experiment_deleted(conn, &id, true, now)).await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        let (id, now) = (experiment_id.to_string(), tracking::now_ms());
        self.write(move |conn| tracking_ops::set_experiment_deleted(conn, &id, false, now)).await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let (id, key, value) = (experiment_id.to_string(), key.to_string(), value.to_string());
        self.write(move |conn| tracking_ops::set_experiment_tag(conn, &id, &key, &value)).await
    }

    // ---- runs ----

    async fn create_run(&self, request: CreateRun) -> StoreResult<Run> {
        let new = tracking::NewRun::new(request);
        self.write(move |conn| tracking_ops::create_run(conn, &new)).await
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<Run>> {
        let run_id = run_id.to_string();
        self.read(move |conn| tracking_ops::get_run(conn, &run_id)).await
    }

    async fn update_run(&self, run_id: &str, update: UpdateRun) -> StoreResult<Run> {
        let run_id = run_id.to_string();
        self.write(move |conn| tracking_ops::update_run(conn, &run_id, &update)).await
    }

    async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
        if !crate::ingest_rules::validate_link_request(trace_ids, run_id)? {
            return Ok(());
        }
        let (trace_ids, run_id) = (trace_ids.to_vec(), run_id.to_string());
        self.write(move |conn| tracking_ops::link_traces_to_run(conn, &trace_ids, &run_id)).await
    }

    // ---- assessments ----

    async fn create_assessment(&self, trace_id: &str, assessment: Assessment) -> StoreResult<Assessment> {
        let prepared =
            tracking::prepare_new_assessment(trace_id, assessment, tracking::new_assessment_id(), tracking::now_ms())?;
        self.write(move |conn| tracking_ops::create_assessment(conn, &prepared)).await
    }

    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>> {
        let (trace_id, assessment_id) = (trace_id.to_string(), assessment_id.to_string());
        self.read(move |conn| tracking_ops::get_assessment(conn, &trace_id, &assessment_id)).await
    }

    async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> StoreResult<Assessment> {
        let (trace_id, assessment_id, now) = (trace_id.to_string(), assessment_id.to_string(), tracking::now_ms());
        self.write(move |conn| tracking_ops::update_assessment(conn, &trace_id, &assessment_id, &update, now)).await
    }

    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
        let (trace_id, assessment_id) = (trace_id.to_string(), assessment_id.to_string());
        self.write(move |conn| tracking_ops::delete_assessment(conn, &trace_id, &assessment_id)).await
    }

    // ---- artifacts ----

    async fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let (path, now) = (tracking::artifact_path(path)?, tracking::now_ms());
        self.write(move |conn| tracking_ops::put_artifact(conn, &path, &bytes, now)).await
    }

    async fn get_artifact(&self, path: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = tracking::artifact_path(path)?;
        self.read(move |conn| tracking_ops::get_artifact(conn, &path)).await
    }

    async fn list_artifacts(&self, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
        let prefix = tracking::artifact_prefix(prefix)?;
        self.read(move |conn| tracking_ops::list_artifacts(conn, &prefix)).await
    }

    async fn delete_artifact(&self, path: &str) -> StoreResult<bool> {
        let path = tracking::artifact_path(path)?;
        self.write(move |conn| tracking_ops::delete_artifact(conn, &path)).await
    }

    // ---- big traces ----

    async fn get_trace_skeleton(&self, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
        let trace_id = trace_id.to_string();
        self.read(move |conn| tracking_ops::get_trace_skeleton(conn, &trace_id)).await
    }

    async fn get_spans(&self, trace_id: &str, span_ids: &[String]) -> StoreResult<Vec<Span>> {
        let ids = crate::ingest_rules::span_id_keys(span_ids)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let trace_id = trace_id.to_string();
        self.read(move |conn| tracking_ops::get_spans(conn, &trace_id, &ids)).await
    }

    fn text_index_status(&self) -> Option<crate::TextIndexStatus> {
        Some(self.inner.text_index.status())
    }

    async fn search_span_ids_in_trace(&self, trace_id: &str, text: &str, limit: usize) -> StoreResult<Option<Vec<String>>> {
        let query = crate::span_text::SpanTextQuery::new(text)?;
        let trace_id = trace_id.to_string();
        self.read(move |conn| tracking_ops::search_span_ids_in_trace(conn, &trace_id, &query, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{simple_trace, with_attr};

    /// The SQLite query plan of a search, one line per step.
    fn query_plan(store: &SqliteStore, filter: &str) -> String {
        let filter = parse_filter(filter).expect("valid filter");
        let compiled = compile_search(&dialect::SqliteDialect::default(), &["0".to_string()], &filter, &[], 100, 0)
            .expect("filter compiles");
        let conn = schema::open_connection(store.path(), true).expect("open");
        text_index::attach_for_reading(&conn, store.path()).expect("attach the index");
        let values = to_sql_values(&compiled.params);
        let args: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", compiled.sql)).expect("prepare");
        let rows = stmt.query_map(args.as_slice(), |r| r.get::<_, String>(3)).expect("explain");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
    }

    async fn store_with_data() -> SqliteStore {
        let store = SqliteStore::open_in_memory().expect("open");
        let mut traces = Vec::new();
        for n in 1..=20u128 {
            let mut trace = simple_trace(n, "0", n as i64, 5, 3);
            trace.data.spans[1] = with_attr(trace.data.spans[1].clone(), "model", "\"gpt-4o\"");
            traces.push(trace);
        }
        store.write_traces(traces).await.expect("write");
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn substring_searches_use_the_trigram_index_not_a_span_scan() {
        let store = store_with_data().await;
        for filter in [
            "trace.text LIKE '%question%'",
            "trace.text ILIKE '%QUESTION%'",
            "span.content LIKE '%gpt-4o%' AND span.name = 'child-0'",
            "span.attributes.model = 'gpt-4o'",
            "span.attributes.model LIKE '%gpt%'",
        ] {
            let plan = query_plan(&store, filter);
            assert!(plan.contains("text_fts VIRTUAL TABLE"), "{filter}: no text index lookup in\n{plan}");
            let scans_spans = plan.lines().any(|l| l.trim() == "SCAN s" || l.trim().starts_with("SCAN s "));
            assert!(!scans_spans, "{filter}: scans spans in\n{plan}");
        }
    }

    /// A word in most traces is not worth a candidate set: the search then checks traces in
    /// result order and stops after a page. A rare word still goes through the index. Both
    /// give the same results as the other way would.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn common_words_scan_in_result_order_rare_ones_use_the_index() {
        let store = SqliteStore::open_in_memory().expect("open");
        let n = (dialect::MANY_CANDIDATES + 100) as u128;
        let traces: Vec<Trace> = (1..=n)
            .map(|i| {
                let mut trace = simple_trace(i, "0", i as i64, 5, 1);
                if i % 500 == 0 {
                    trace.data.spans[1] = with_attr(trace.data.spans[1].clone(), "note", "\"zephyrine\"");
                }
                trace
            })
            .collect();
        store.write_traces(traces).await.expect("write");
        store.index_pending_spans().await.expect("index");
        let compiled_with_probe = |filter: &'static str| {
            let store = store.clone();
            async move {
                store
                    .read(move |conn| {
                        let filter = parse_filter(filter).expect("filter");
                        let dialect = dialect::SqliteDialect::probing(conn);
                        Ok(compile_search(&dialect, &["0".to_string()], &filter, &[], 100, 0).expect("compiles").sql)
                    })
                    .await
                    .expect("compile")
            }
        };
        let common = compiled_with_probe("trace.text LIKE '%child-0%'").await;
        assert!(common.contains("EXISTS (SELECT 1 FROM spans s WHERE s.trace_pk = t.trace_pk"), "{common}");
        assert!(!common.contains("text_fts"), "{common}");
        let rare = compiled_with_probe("trace.text LIKE '%zephyrine%'").await;
        // The probe's candidates are bound as a list: the index is read once.
        assert!(rare.contains("t.trace_pk IN (SELECT value FROM json_each("), "{rare}");

        let found = text_search(&store, "trace.text LIKE '%child-0%'").await;
        let newest: Vec<String> = (0..100).map(|k| crate::conformance::trace_id(n - k)).collect();
        assert_eq!(found, newest, "the newest 100 traces, newest first");
        let found = text_search(&store, "trace.text LIKE '%zephyrine%'").await;
        let expected: Vec<String> = (1..=n).rev().filter(|i| i % 500 == 0).map(crate::conformance::trace_id).collect();
        assert_eq!(found, expected);

        // The same for span names: one on every trace scans in order, a rare one keeps the
        // set (and its index); a rare word with a common name is selective as a group.
        let common_name = compiled_with_probe("span.name = 'child-0'").await;
        assert!(common_name.contains("EXISTS (SELECT 1 FROM spans s WHERE s.trace_pk = t.trace_pk"), "{common_name}");
        let rare_name = compiled_with_probe("span.name IN ('no-such-span', 'root-0')").await;
        assert!(rare_name.contains("t.trace_pk IN (SELECT s.trace_pk FROM spans s"), "{rare_name}");
        let mixed = compiled_with_probe("span.name = 'child-0' AND span.content LIKE '%zephyrine%'").await;
        assert!(mixed.contains("t.trace_pk IN (SELECT s.trace_pk FROM spans s"), "{mixed}");
        assert_eq!(text_search(&store, "span.name = 'child-0'").await, newest);
        assert!(text_search(&store, "span.name = 'no-such-span'").await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn span_name_search_uses_its_index() {
        let store = store_with_data().await;
        let plan = query_plan(&store, "span.name = 'child-1'");
        assert!(plan.contains("spans_by_name"), "span.name = must use spans_by_name:\n{plan}");
    }

    /// Polls `done` every 10 ms until it holds; fails after 5 s naming `what`.
    async fn eventually<F, Fut>(what: &str, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..500 {
            if done().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("not within 5 s: {what}");
    }

    async fn text_search(store: &SqliteStore, filter: &str) -> Vec<String> {
        let request = SearchTracesRequest { filter: Some(filter.into()), ..Default::default() };
        store.search_traces(&request).await.expect("search").traces.into_iter().map(|t| t.trace_id).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_indexer_catches_up_and_search_agrees_before_and_after() {
        let store = SqliteStore::open_in_memory().expect("open");
        store.set_background_indexing(false);
        store.write_traces((1..=50).map(|n| simple_trace(n, "0", n as i64, 5, 3)).collect()).await.expect("write");
        assert_eq!(store.unindexed_span_count().await.expect("count"), 200);
        let before = text_search(&store, "span.content LIKE '%child-2%'").await;
        assert_eq!(before.len(), 50);
        store.set_background_indexing(true);
        // Any write wakes the writer, which then indexes while idle.
        store.set_trace_tag(&crate::conformance::trace_id(1), "k", "v").await.expect("tag");
        eventually("the background indexer catches up", || async {
            store.unindexed_span_count().await.expect("count") == 0
        })
        .await;
        assert_eq!(text_search(&store, "span.content LIKE '%child-2%'").await, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_resent_span_replaces_its_index_entry() {
        let store = SqliteStore::open_in_memory().expect("open");
        let v1 = with_attr(crate::conformance::span(1, 1, None, "root", 0, 1), "note", "\"alpha version\"");
        store.log_spans("0", vec![v1]).await.expect("write v1");
        store.index_pending_spans().await.expect("index");
        assert_eq!(text_search(&store, "trace.text LIKE '%alpha version%'").await.len(), 1);
        let v2 = with_attr(crate::conformance::span(1, 1, None, "root", 0, 1), "note", "\"omega version\"");
        store.log_spans("0", vec![v2]).await.expect("write v2");
        for _ in 0..2 {
            assert!(text_search(&store, "trace.text LIKE '%alpha version%'").await.is_empty());
            assert_eq!(text_search(&store, "trace.text LIKE '%omega version%'").await.len(), 1);
            store.index_pending_spans().await.expect("index");
        }
    }

    /// Deleted spans leave the index (from the deletion log), and the log is pruned behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleted_spans_leave_the_index_and_the_deletion_log_is_pruned() {
        let store = SqliteStore::open_in_memory().expect("open");
        store.set_background_indexing(false);
        store.write_traces((1..=10).map(|n| simple_trace(n, "0", n as i64, 5, 3)).collect()).await.expect("write");
        store.index_pending_spans().await.expect("index");
        let entries = |store: &SqliteStore, word: &'static str| {
            let store = store.clone();
            async move {
                store
                    .read(move |conn| {
                        let expression = text_index::match_expression([word]).expect("a trigram");
                        conn.query_row("SELECT COUNT(*) FROM ix.text_fts WHERE text_fts MATCH ?1", [expression], |r| r.get::<_, i64>(0))
                            .map_err(schema::sqlite_error)
                    })
                    .await
                    .expect("count")
            }
        };
        // One document per trace (each written whole): those of 4 traces of 10 must go.
        let before = entries(&store, "child").await;
        assert_eq!(before, 10);
        let ids: Vec<String> = (1..=4).map(crate::conformance::trace_id).collect();
        let deleted = store
            .delete_traces(DeleteTraces::ByIds { experiment_id: "0".into(), trace_ids: ids })
            .await
            .expect("delete");
        assert_eq!(deleted, 4);
        let log = |store: &SqliteStore| {
            let store = store.clone();
            async move {
                store
                    .read(|conn| {
                        conn.query_row("SELECT COUNT(*) FROM span_deletions", [], |r| r.get::<_, i64>(0))
                            .map_err(schema::sqlite_error)
                    })
                    .await
                    .expect("log")
            }
        };
        assert_eq!(log(&store).await, 16, "4 traces of 4 spans logged");
        assert_eq!(entries(&store, "child").await, before, "not applied before an index step");
        store.index_pending_spans().await.expect("index");
        assert_eq!(entries(&store, "child").await * 10, before * 6);
        assert_eq!(text_search(&store, "span.content LIKE '%child-2%'").await.len(), 6);
        // The next write lets the writer prune what the index applied (right after it answers).
        store.write_traces(vec![simple_trace(11, "0", 11, 5, 3)]).await.expect("write");
        eventually("the deletion log is pruned", || async { log(&store).await == 0 }).await;
    }

    /// Commits land in the WAL; the checkpoint thread copies them into the database file soon
    /// after (the writer's own automatic checkpoint waits for 64 MiB of WAL, far more than this).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let store = SqliteStore::open(&path).expect("open");
        let before = std::fs::metadata(&path).expect("db").len();
        store.write_traces((1..=300).map(|n| simple_trace(n, "0", n as i64, 5, 4)).collect()).await.expect("write");
        let wal = dir.path().join("c.db-wal");
        assert!(std::fs::metadata(&wal).expect("wal").len() > 200_000, "the writes went to the WAL");
        eventually("commits are checkpointed into the database file", || async {
            std::fs::metadata(&path).expect("db").len() >= before + 200_000
        })
        .await;
    }

    /// When the index trails by more than its bound, the writer waits for it after a commit:
    /// the next write is held (the server's queue then fills and answers 429) until the index
    /// moves; nothing is lost either way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    // Holding the index still across the writes is the point of the test.
    #[allow(clippy::await_holding_lock)]
    async fn writes_wait_while_the_index_trails_past_its_bound() {
        let store = SqliteStore::open_in_memory().expect("open");
        store.write_traces(vec![simple_trace(1, "0", 1, 5, 3)]).await.expect("first write");
        store.index_pending_spans().await.expect("index");
        let held = store.inner.text_index.hold_with_lag_bound(5);
        // Committed and answered; the writer then finds the index 8 spans behind, over 5.
        store.write_traces(vec![simple_trace(2, "0", 2, 5, 7)]).await.expect("second write");
        let next = tokio::spawn({
            let store = store.clone();
            async move { store.write_traces(vec![simple_trace(3, "0", 3, 5, 1)]).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(!next.is_finished(), "the writer did not wait for the index");
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(3), next)
            .await
            .expect("the write went through once the index moved")
            .expect("join")
            .expect("write");
        assert_eq!(store.count_traces("0").await.expect("count"), 3);
        assert_eq!(text_search(&store, "span.content LIKE '%child-6%'").await, vec![crate::conformance::trace_id(2)]);
    }

    /// The index file is derived: missing, or beside a different database, it is rebuilt.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_file_that_is_missing_or_not_this_stores_is_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        for (path, word) in [(&a, "apricot"), (&b, "blueberry")] {
            let store = SqliteStore::open(path).expect("open");
            let span = with_attr(crate::conformance::span(1, 1, None, "root", 0, 1), "fruit", &format!("\"{word}\""));
            store.log_spans("0", vec![span]).await.expect("write");
            store.index_pending_spans().await.expect("index");
        }
        // b's database beside a's index: same span keys, different text.
        std::fs::copy(&b, &a).expect("replace the database");
        // Were a's index trusted (it covers span key 1), b's span would be missed.
        let store = SqliteStore::open(&a).expect("reopen");
        assert_eq!(text_search(&store, "trace.text LIKE '%blueberry%'").await.len(), 1);
        assert!(text_search(&store, "trace.text LIKE '%apricot%'").await.is_empty());
        store.index_pending_spans().await.expect("index");
        assert_eq!(text_search(&store, "trace.text LIKE '%blueberry%'").await.len(), 1);
        drop(store);
        std::fs::remove_file(text_index::index_path(&a)).expect("remove the index");
        let store = SqliteStore::open(&a).expect("reopen without an index");
        assert_eq!(text_search(&store, "trace.text LIKE '%blueberry%'").await.len(), 1);
        store.index_pending_spans().await.expect("index");
        assert_eq!(store.unindexed_span_count().await.expect("count"), 0);
        assert_eq!(text_search(&store, "trace.text LIKE '%blueberry%'").await.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_does_not_fail_the_writes_committed_with_it() {
        let store = SqliteStore::open_in_memory().expect("open");
        let writes: Vec<_> = (1..=60u128)
            .map(|n| {
                let store = store.clone();
                // Every third write targets an experiment that does not exist.
                let experiment = if n % 3 == 0 { "999" } else { "0" };
                tokio::spawn(async move {
                    store.log_spans(experiment, vec![crate::conformance::span(n, 1, None, "root", 0, 1)]).await
                })
            })
            .collect();
        for (n, write) in (1..=60u128).zip(writes) {
            let result = write.await.expect("join");
            if n % 3 == 0 {
                assert!(matches!(result, Err(StoreError::NotFound(_))), "write {n}: {result:?}");
            } else {
                assert!(result.is_ok(), "write {n}: {result:?}");
            }
        }
        let stored = store.search_traces(&SearchTracesRequest::default()).await.expect("search");
        assert_eq!(stored.traces.len(), 40);
    }

    /// A batch for a trace with no row takes a shortcut (the summary is computed in memory);
    /// it must store what recomputing from the rows stores: logging the batch again (which
    /// recomputes) and logging it in two halves into a second store change nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_trace_summary_equals_the_recomputed_one() {
        use crate::conformance::{json_str, span, trace_id};
        use clew_model::keys;
        let usage = |i: i64, o: i64| format!(r#"{{"input_tokens": {i}, "output_tokens": {o}, "total_tokens": {}}}"#, i + o);
        let batch = |trace: u128| {
            let root = with_attr(
                with_attr(span(trace, 1, None, "agent", 10, 90), keys::SPAN_INPUTS, r#"{"messages": [{"role": "user", "content": "hi"}]}"#),
                keys::SPAN_OUTPUTS,
                r#""hello there""#,
            );
            let llm = with_attr(span(trace, 2, Some(1), "llm", 20, 60), keys::CHAT_TOKEN_USAGE, &usage(7, 3));
            let llm2 = with_attr(span(trace, 3, Some(1), "llm2", 30, 95), keys::CHAT_TOKEN_USAGE, &usage(5, 1));
            let tool = with_attr(with_attr(span(trace, 4, Some(1), "tool", 12, 14), "session.id", &json_str("s-1")), "user.id", &json_str("u-1"));
            let late_session = with_attr(span(trace, 5, Some(1), "late", 40, 41), "session.id", &json_str("s-2"));
            // Span 2 sent twice in the batch, the second copy without usage.
            vec![llm.clone(), root, llm2, tool, late_session, span(trace, 2, Some(1), "llm", 20, 60)]
        };
        let shortcut = SqliteStore::open_in_memory().expect("open");
        shortcut.log_spans("0", batch(1)).await.expect("log");
        let first = shortcut.get_trace(&trace_id(1)).await.expect("read").expect("stored");
        shortcut.log_spans("0", batch(1)).await.expect("log again");
        let again = shortcut.get_trace(&trace_id(1)).await.expect("read").expect("stored");
        assert_eq!(first.info, again.info);
        let names = |t: &Trace| t.data.spans.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&first), names(&again));

        let halves = SqliteStore::open_in_memory().expect("open");
        let spans = batch(1);
        halves.log_spans("0", vec![spans[2].clone()]).await.expect("first half");
        halves.log_spans("0", spans).await.expect("second half");
        let recomputed = halves.get_trace(&trace_id(1)).await.expect("read").expect("stored");
        assert_eq!(first.info, recomputed.info);

        let info = &first.info;
        assert_eq!(first.data.spans.len(), 5);
        assert_eq!(info.state.as_str(), "OK");
        assert_eq!(info.trace_metadata.get(keys::TRACE_SESSION).map(String::as_str), Some("s-1"));
        assert_eq!(info.trace_metadata.get(keys::TRACE_USER).map(String::as_str), Some("u-1"));
        assert_eq!(info.request_preview.as_deref(), Some("hi"));
        assert!(info.response_preview.as_deref().is_some_and(|p| p.contains("hello there")), "{:?}", info.response_preview);
        assert_eq!(info.execution_duration, Some(85));
        let summary = shortcut.search_traces(&SearchTracesRequest::default()).await.expect("search").traces;
        let recomputed_summary = halves.search_traces(&SearchTracesRequest::default()).await.expect("search").traces;
        assert_eq!(summary, recomputed_summary);
    }

    #[test]
    fn uris_name_files() {
        assert_eq!(SqliteStore::path_from_uri("sqlite:////abs/x.db").unwrap(), PathBuf::from("/abs/x.db"));
        assert_eq!(SqliteStore::path_from_uri("sqlite:///clew.db").unwrap(), PathBuf::from("clew.db"));
        assert_eq!(SqliteStore::path_from_uri("sqlite://rel/x.db").unwrap(), PathBuf::from("rel/x.db"));
        assert_eq!(SqliteStore::path_from_uri("sqlite:///:memory:").unwrap(), PathBuf::from(":memory:"));
        assert!(matches!(SqliteStore::path_from_uri("file:///x.db"), Err(StoreError::InvalidArgument(_))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reopening_a_file_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("clew.db");
        {
            let store = SqliteStore::open(&path).expect("open");
            store.write_traces(vec![simple_trace(1, "0", 0, 5, 1)]).await.expect("write");
        }
        let store = SqliteStore::open_uri(&format!("sqlite:///{}", path.display())).expect("reopen");
        let trace = store.get_trace(&crate::conformance::trace_id(1)).await.expect("read").expect("kept");
        assert_eq!(trace.data.spans.len(), 2);
        let conn = schema::open_connection(&path, true).expect("open");
        let versions: i64 = conn.query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0)).expect("count");
        assert_eq!(versions, schema::SCHEMA_VERSION);
        let experiments = store.list_experiments().await.expect("list");
        assert_eq!(experiments.len(), 1, "reopening must not add a second Default experiment");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_proceed_while_writes_are_queued() {
        let store = store_with_data().await;
        let writers: Vec<_> = (100..140u128)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.write_traces(vec![simple_trace(n, "0", n as i64, 5, 20)]).await })
            })
            .collect();
        let page = store
            .search_traces(&SearchTracesRequest { filter: Some("trace.text LIKE '%question%'".into()), ..Default::default() })
            .await
            .expect("search during writes");
        assert!(page.traces.len() >= 20);
        for w in writers {
            w.await.expect("join").expect("write");
        }
        let all = store.search_traces(&SearchTracesRequest::default()).await.expect("search");
        assert_eq!(all.traces.len(), 60);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_1_database_upgrades_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v1.db");
        {
            // A database as a version-1 build left it: one trace with two assessments.
            let conn = schema::open_connection(&path, false).expect("open");
            conn.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
                 INSERT INTO schema_version VALUES (1, 0);",
            )
            .expect("version table");
            conn.execute_batch(include_str!("migrations/0001_initial.sql")).expect("migration 1");
            conn.execute_batch(
                r#"INSERT INTO traces (trace_pk, trace_id, experiment_id, request_time, state) VALUES (1, 'tr-1', 0, 0, 'OK');
                   INSERT INTO assessments (trace_pk, position, name, kind, value_text, value_json, valid, payload)
                   VALUES (1, 0, 'rating', 'feedback', 'good', '"good"', 1,
                           '{"assessment_id": "a-1", "assessment_name": "rating", "feedback": {"value": "good"}, "valid": true}'),
                          (1, 1, 'note', 'feedback', 'x', '"x"', 1,
                           '{"assessment_name": "note", "feedback": {"value": "x"}, "valid": true}'),
                          (1, 2, 'iss-1', 'other', NULL, NULL, 1,
                           '{"assessment_name": "iss-1", "issue": {"issue_name": "slow"}, "valid": true}');
                   -- A payload that is not JSON must not stop the upgrade.
                   INSERT INTO traces (trace_pk, trace_id, experiment_id, request_time, state) VALUES (2, 'tr-2', 0, 0, 'OK');
                   INSERT INTO assessments (trace_pk, position, name, kind, valid, payload)
                   VALUES (2, 0, 'odd', 'other', 1, 'not json');"#,
            )
            .expect("v1 data");
        }
        let store = SqliteStore::open(&path).expect("upgrade");
        let found = store.get_assessment("tr-1", "a-1").await.expect("read").expect("a-1 addressable after upgrade");
        assert_eq!(found.assessment_name, "rating");
        let info = store.get_trace_info("tr-1").await.expect("read").expect("trace kept");
        assert_eq!(info.assessments.len(), 3);
        let issues = store
            .search_traces(&SearchTracesRequest { filter: Some("issue.id = 'iss-1'".into()), ..Default::default() })
            .await
            .expect("search");
        assert_eq!(issues.traces.len(), 1, "issue references stored by version 1 are searchable after the upgrade");
        assert_eq!(store.count_traces("0").await.expect("count"), 2, "trace counts are backfilled");
        store.write_traces(vec![simple_trace(3, "0", 0, 5, 0)]).await.expect("write");
        assert_eq!(store.count_traces("0").await.expect("count"), 3, "and kept afterwards");
        let run = store.create_run(CreateRun { experiment_id: "0".into(), ..Default::default() }).await.expect("runs table");
        store.link_traces_to_run(&["tr-1".to_string()], &run.run_id).await.expect("links table");
        store.put_artifact("0/x", b"1".to_vec()).await.expect("artifacts table");
        let conn = schema::open_connection(&path, true).expect("open");
        let version: i64 = conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0)).expect("version");
        assert_eq!(version, schema::SCHEMA_VERSION);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn skeleton_reads_do_not_touch_span_payloads() {
        let store = SqliteStore::open_in_memory().expect("open");
        store.write_traces(vec![simple_trace(1, "0", 0, 5, 3)]).await.expect("write");
        // Corrupt every payload: the skeleton must still read, a full read must fail cleanly.
        store
            .write(|conn| {
                conn.execute("UPDATE spans SET payload = x'ff00'", []).map_err(schema::sqlite_error)?;
                Ok(())
            })
            .await
            .expect("corrupt");
        let trace_id = crate::conformance::trace_id(1);
        let (_, skeleton) = store.get_trace_skeleton(&trace_id).await.expect("skeleton").expect("trace");
        assert_eq!(skeleton.len(), 4);
        assert!(store.get_trace(&trace_id).await.is_err(), "payload decoding is what fails");
        assert!(store.get_spans(&trace_id, &[skeleton[0].span_id.clone()]).await.is_err());
    }
}
