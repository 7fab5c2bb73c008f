//! The PostgreSQL backend: many server replicas share one database.
//!
//! ```no_run
//! # async fn demo() -> clew_store::StoreResult<()> {
//! use clew_store::{PostgresStore, TraceStore};
//! let store = PostgresStore::connect("postgresql://clew:secret@db.internal:5432/clew").await?;
//! let experiments = store.list_experiments().await?;
//! assert_eq!(experiments[0].name, "Default");
//! # Ok(()) }
//! ```
//!
//! - A pool of connections (`deadpool-postgres`); every operation runs in one transaction, so
//!   a returned `Ok` means committed and visible to every replica at once.
//! - Migrations are versioned and applied at connect under an advisory lock (`schema.rs`).
//! - Writes lock the trace's summary row, so concurrent writers of one trace (on any replica)
//!   take turns and the summary converges; deadlocks and serialization failures are retried.
//! - Search compiles through the shared `sql/` compiler with [`dialect::PostgresDialect`];
//!   substring search uses a `pg_trgm` GIN index over the span JSON.
//!
//! Connections are plain TCP (no TLS); put the server on a private network or a TLS-terminating
//! proxy in front.

mod dialect;
mod read_ops;
mod regex;
pub mod schema;
mod tracking_ops;
mod write_ops;

use crate::span_record::SpanRecord;
use crate::sql::search::{compile_search, SqlParam};
use crate::sqlite::{DEFAULT_MAX_EXPERIMENTS, DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT};
use crate::{
    page_token, tracking, ArtifactInfo, CreateRun, DeleteTraces, ExperimentPage, SearchExperimentsRequest, SearchTracesRequest,
    SpanSkeleton, StoreError, StoreResult, TracePage, TraceStore, UpdateRun,
};
use async_trait::async_trait;
use clew_model::filter::{parse_filter, parse_order_by_list};
use clew_model::{Assessment, AssessmentUpdate, Experiment, Run, Span, Trace, TraceInfo};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use dialect::{CaseFolding, PostgresDialect};
use schema::{is_conflict, pg_error};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Connections kept per store (per server process).
const POOL_SIZE: usize = 16;
/// How long an operation waits for a free pooled connection before the store reports itself
/// unavailable (the server then answers 503 instead of queueing without bound).
const POOL_WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long opening a connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How often a write is retried after a deadlock or serialization failure.
const CONFLICT_RETRIES: usize = 5;

/// A [`TraceStore`] in a PostgreSQL database. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    folding: CaseFolding,
    /// `host:port/db` for messages (never the password).
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("target", &self.inner.target).finish()
    }
}

/// Runs `$body` (an expression using the transaction `$tx`) in a write transaction, retried
/// on deadlocks and serialization failures; commits on `Ok`.
macro_rules! write_tx {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut attempt = 0usize;
        loop {
            let mut client = $self.client().await?;
            let $tx = client.transaction().await.map_err(pg_error)?;
            let result = async { $body }.await;
            let outcome = match result {
                Ok(value) => $tx.commit().await.map_err(pg_error).map(|()| value),
                Err(e) => Err(e), // dropping the transaction rolls it back
            };
            match outcome {
                Err(e) if is_conflict(&e) && attempt < CONFLICT_RETRIES => attempt += 1,
                other => break other,
            }
        }
    }};
}

/// Runs `$body` in a read-only transaction that sees one snapshot.
macro_rules! read_tx {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let $tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        let result = async { $body }.await;
        if result.is_ok() {
            $tx.commit().await.map_err(pg_error)?;
        }
        result
    }};
}

impl PostgresStore {
    /// Connects to `postgresql://user:pass@host:port/db` (or `postgres://…`; libpq's
    /// `key=value` form works too), brings the schema up to date and returns the store.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        if !Self::is_postgres_uri(url) {
            return Err(StoreError::InvalidArgument(format!(
                "not a PostgreSQL URI: expected postgresql://user:password@host:port/database, got {:?}",
                redact(url)
            )));
        }
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::InvalidArgument(format!("invalid PostgreSQL URI {:?}: {e}", redact(url))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = describe(&config);
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL at {target}: {e}")))?;
        schema::migrate(&mut client).await?;
        let folding = detect_case_folding(&client).await?;
        drop(client);
        Ok(PostgresStore { inner: Arc::new(Inner { pool, folding, target }) })
    }

    /// Whether `uri` names a PostgreSQL database (`postgresql://` or `postgres://`).
    ///
    /// ```
    /// use clew_store::PostgresStore;
    /// assert!(PostgresStore::is_postgres_uri("postgresql://u:p@localhost:5432/clew"));
    /// assert!(PostgresStore::is_postgres_uri("postgres://localhost/clew"));
    /// assert!(!PostgresStore::is_postgres_uri("sqlite:///clew.db"));
    /// ```
    pub fn is_postgres_uri(uri: &str) -> bool {
        uri.starts_with("postgresql://") || uri.starts_with("postgres://")
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot get a PostgreSQL connection to {}: {e}", self.inner.target)))
    }
}

/// `url` with any password replaced, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_string(),
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or_default())
}

/// Finds how this database can fold case beyond ASCII (see [`CaseFolding`]).
async fn detect_case_folding(client: &tokio_postgres::Client) -> StoreResult<CaseFolding> {
    let row = client
        .query_one("SELECT lower('ÉÀ') = 'éà'", &[])
        .await
        .map_err(pg_error)?;
    let default_is_unicode: bool = row.get(0);
    if default_is_unicode {
        return Ok(CaseFolding { collate: " COLLATE \"default\"".into(), default_is_unicode });
    }
    let candidates = ["und-x-icu", "C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8"];
    let rows = client
        .query(
            "SELECT collname FROM pg_collation
             WHERE collname = ANY($1)
               AND collencoding IN (-1, (SELECT encoding FROM pg_database WHERE datname = current_database()))",
            &[&candidates.as_slice()],
        )
        .await
        .map_err(pg_error)?;
    let available: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let collate = candidates
        .iter()
        .find(|c| available.iter().any(|a| a == *c))
        .map(|name| format!(" COLLATE \"{}\"", name.replace('"', "\"\"")))
        .unwrap_or_default();
    Ok(CaseFolding { collate, default_is_unicode })
}

#[async_trait]
impl TraceStore for PostgresStore {
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
        write_tx!(self, |tx| write_ops::create_experiment(&tx, name, artifact_location).await)
    }

    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Option<Experiment>> {
        read_tx!(self, |tx| read_ops::get_experiment(&tx, experiment_id).await)
    }

    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>> {
        read_tx!(self, |tx| read_ops::get_experiment_by_name(&tx, name).await)
    }

    async fn list_experiments(&self) -> StoreResult<Vec<Experiment>> {
        read_tx!(self, |tx| read_ops::list_experiments(&tx).await)
    }

    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo> {
        write_tx!(self, |tx| write_ops::start_trace(&tx, &info).await)
    }

    async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> StoreResult<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let records: Vec<SpanRecord> = spans.iter().map(SpanRecord::from_span).collect();
        write_tx!(self, |tx| write_ops::log_spans(&tx, experiment_id, &records).await)
    }

    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()> {
        if traces.is_empty() {
            return Ok(());
        }
        let mut prepared: Vec<(TraceInfo, Vec<SpanRecord>)> = traces
            .into_iter()
            .map(|t| {
                let records = t.data.spans.iter().map(SpanRecord::from_span).collect();
                (t.info, records)
            })
            .collect();
        // Lock order = trace id order (stable: repeats of one trace keep their order).
        prepared.sort_by(|a, b| a.0.trace_id.cmp(&b.0.trace_id));
        write_tx!(self, |tx| {
            for (info, records) in &prepared {
                write_ops::write_trace(&tx, info, records).await?;
            }
            Ok(())
        })
    }

    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>> {
        read_tx!(self, |tx| {
            match read_ops::find_trace_pk(&tx, trace_id).await? {
                Some(pk) => Ok(read_ops::load_infos(&tx, &[pk]).await?.pop()),
                None => Ok(None),
            }
        })
    }

    async fn get_trace(&self, trace_id: &str) -> StoreResult<Option<Trace>> {
        read_tx!(self, |tx| read_ops::load_trace(&tx, trace_id).await)
    }

    async fn batch_get_traces(&self, trace_ids: &[String]) -> StoreResult<Vec<Trace>> {
        read_tx!(self, |tx| {
            let mut traces = Vec::with_capacity(trace_ids.len());
            for trace_id in trace_ids {
                let Some(trace) = read_ops::load_trace(&tx, trace_id).await? else { continue };
                if read_ops::is_complete(&trace) {
                    traces.push(trace);
                }
            }
            Ok(traces)
        })
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
        let dialect = PostgresDialect::new(&self.inner.folding);
        let mut compiled = compile_search(&dialect, &request.experiment_ids, &filter, &order_by, max_results, offset)?;
        dialect.translate_regex_params(&mut compiled.params);
        let types: Vec<Type> = compiled
            .params
            .iter()
            .map(|p| match p {
                SqlParam::Int(_) => Type::INT8,
                SqlParam::Real(_) => Type::FLOAT8,
                SqlParam::Text(_) => Type::TEXT,
            })
            .collect();
        let values: Vec<&(dyn ToSql + Sync)> = compiled
            .params
            .iter()
            .map(|p| match p {
                SqlParam::Int(i) => i as &(dyn ToSql + Sync),
                SqlParam::Real(f) => f as &(dyn ToSql + Sync),
                SqlParam::Text(s) => s as &(dyn ToSql + Sync),
            })
            .collect();
        let traces = read_tx!(self, |tx| {
            // Not cached: filters vary without bound.
            let stmt = tx.prepare_typed(&compiled.sql, &types).await.map_err(pg_error)?;
            let pks: Vec<i64> = tx.query(&stmt, &values).await.map_err(pg_error)?.iter().map(|r| r.get(0)).collect();
            read_ops::load_infos(&tx, &pks).await
        })?;
        let next_page_token = (traces.len() == max_results).then(|| page_token::encode(offset + traces.len()));
        Ok(TracePage { traces, next_page_token })
    }

    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
        write_tx!(self, |tx| write_ops::set_trace_tag(&tx, trace_id, key, value).await)
    }

    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()> {
        write_tx!(self, |tx| write_ops::delete_trace_tag(&tx, trace_id, key).await)
    }

    async fn delete_traces(&self, request: DeleteTraces) -> StoreResult<usize> {
        write_tx!(self, |tx| write_ops::delete_traces(&tx, &request).await)
    }

    async fn search_experiments(&self, request: &SearchExperimentsRequest) -> StoreResult<ExperimentPage> {
        let max_results = request.max_results.unwrap_or(DEFAULT_MAX_EXPERIMENTS);
        if max_results == 0 || max_results > MAX_RESULTS_LIMIT {
            return Err(StoreError::InvalidArgument(format!(
                "max_results must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}"
            )));
        }
        let offset = page_token::decode(request.page_token.as_deref())?;
        read_tx!(self, |tx| tracking_ops::search_experiments(&tx, request, max_results, offset).await)
    }

    async fn count_traces(&self, experiment_id: &str) -> StoreResult<u64> {
        read_tx!(self, |tx| tracking_ops::count_traces(&tx, experiment_id).await)
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()> {
        let now = tracking::now_ms();
        write_tx!(self, |tx| tracking_ops::rename_experiment(&tx, experiment_id, new_name, now).await)
    }

    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        let now = tracking::now_ms();
        write_tx!(self, |tx| tracking_ops::set_experiment_deleted(&tx, experiment_id, true, now).await)
    }

    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        let now = tracking::now_ms();
        write_tx!(self, |tx| tracking_ops::set_experiment_deleted(&tx, experiment_id, false, now).await)
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
        write_tx!(self, |tx| tracking_ops::set_experiment_tag(&tx, experiment_id, key, value).await)
    }

    async fn create_run(&self, request: CreateRun) -> StoreResult<Run> {
        let new = tracking::NewRun::new(request);
        write_tx!(self, |tx| tracking_ops::create_run(&tx, &new).await)
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<Run>> {
        read_tx!(self, |tx| tracking_ops::get_run(&tx, run_id).await)
    }

    async fn update_run(&self, run_id: &str, update: UpdateRun) -> StoreResult<Run> {
        write_tx!(self, |tx| tracking_ops::update_run(&tx, run_id, &update).await)
    }

    async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
        if !crate::ingest_rules::validate_link_request(trace_ids, run_id)? {
            return Ok(());
        }
        write_tx!(self, |tx| tracking_ops::link_traces_to_run(&tx, trace_ids, run_id).await)
    }

    async fn create_assessment(&self, trace_id: &str, assessment: Assessment) -> StoreResult<Assessment> {
        let prepared =
            tracking::prepare_new_assessment(trace_id, assessment, tracking::new_assessment_id(), tracking::now_ms())?;
        write_tx!(self, |tx| tracking_ops::create_assessment(&tx, &prepared).await)
    }

    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>> {
        read_tx!(self, |tx| tracking_ops::get_assessment(&tx, trace_id, assessment_id).await)
    }

    async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> StoreResult<Assessment> {
        let now = tracking::now_ms();
        write_tx!(self, |tx| tracking_ops::update_assessment(&tx, trace_id, assessment_id, &update, now).await)
    }

    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
        write_tx!(self, |tx| tracking_ops::delete_assessment(&tx, trace_id, assessment_id).await)
    }

    async fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let (path, now) = (tracking::artifact_path(path)?, tracking::now_ms());
        write_tx!(self, |tx| tracking_ops::put_artifact(&tx, &path, &bytes, now).await)
    }

    async fn get_artifact(&self, path: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = tracking::artifact_path(path)?;
        read_tx!(self, |tx| tracking_ops::get_artifact(&tx, &path).await)
    }

    async fn list_artifacts(&self, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
        let prefix = tracking::artifact_prefix(prefix)?;
        read_tx!(self, |tx| tracking_ops::list_artifacts(&tx, &prefix).await)
    }

    async fn delete_artifact(&self, path: &str) -> StoreResult<bool> {
        let path = tracking::artifact_path(path)?;
        write_tx!(self, |tx| tracking_ops::delete_artifact(&tx, &path).await)
    }

    async fn get_trace_skeleton(&self, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
        read_tx!(self, |tx| tracking_ops::get_trace_skeleton(&tx, trace_id).await)
    }

    async fn get_spans(&self, trace_id: &str, span_ids: &[String]) -> StoreResult<Vec<Span>> {
        let ids = crate::ingest_rules::span_id_keys(span_ids)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        read_tx!(self, |tx| tracking_ops::get_spans(&tx, trace_id, &ids).await)
    }

    async fn search_span_ids_in_trace(&self, trace_id: &str, text: &str, limit: usize) -> StoreResult<Option<Vec<String>>> {
        let query = crate::span_text::SpanTextQuery::new(text)?;
        read_tx!(self, |tx| tracking_ops::search_span_ids_in_trace(&tx, trace_id, &query, limit).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
    }

    #[tokio::test]
    async fn non_postgres_uris_are_invalid_arguments() {
        let e = PostgresStore::connect("sqlite:///x.db").await.expect_err("must fail");
        assert!(matches!(e, StoreError::InvalidArgument(_)), "{e:?}");
        let e = PostgresStore::connect("postgresql://u:pw@host:notaport/db").await.expect_err("must fail");
        assert!(matches!(e, StoreError::InvalidArgument(ref m) if !m.contains("pw")), "{e:?}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_and_named() {
        // Port 1 on loopback: nothing listens there.
        let e = PostgresStore::connect("postgresql://u:pw@127.0.0.1:1/clew").await.expect_err("must fail");
        match e {
            StoreError::Unavailable(message) => {
                assert!(message.contains("127.0.0.1:1/clew"), "{message}");
                assert!(!message.contains("pw"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
