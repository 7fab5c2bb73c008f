//! The store conformance suite against SQLite: one test per case, each on a fresh store in
//! its own temporary directory, so a failure names the behaviour that broke. Every case runs
//! twice: with the substring index complete (`indexed::`) and with background indexing off
//! (`unindexed::`), so both search paths are pinned.

use async_trait::async_trait;
use clew_model::{Experiment, Span, Trace, TraceInfo};
use clew_store::{DeleteTraces, SearchTracesRequest, SqliteStore, StoreResult, TracePage, TraceStore};
use std::sync::Arc;

/// A store whose searches always see a complete substring index: each search first indexes
/// whatever the background indexer has not reached yet.
struct FullyIndexed(SqliteStore);

#[async_trait]
impl TraceStore for FullyIndexed {
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
        self.0.create_experiment(name, artifact_location).await
    }
    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Option<Experiment>> {
        self.0.get_experiment(experiment_id).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>> {
        self.0.get_experiment_by_name(name).await
    }
    async fn list_experiments(&self) -> StoreResult<Vec<Experiment>> {
        self.0.list_experiments().await
    }
    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo> {
        self.0.start_trace(info).await
    }
    async fn log_spans(&self, experiment_id: &str, spans: Vec<Span>) -> StoreResult<()> {
        self.0.log_spans(experiment_id, spans).await
    }
    async fn write_traces(&self, traces: Vec<Trace>) -> StoreResult<()> {
        self.0.write_traces(traces).await
    }
    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<Option<TraceInfo>> {
        self.0.get_trace_info(trace_id).await
    }
    async fn get_trace(&self, trace_id: &str) -> StoreResult<Option<Trace>> {
        self.0.get_trace(trace_id).await
    }
    async fn batch_get_traces(&self, trace_ids: &[String]) -> StoreResult<Vec<Trace>> {
        self.0.batch_get_traces(trace_ids).await
    }
    async fn search_traces(&self, request: &SearchTracesRequest) -> StoreResult<TracePage> {
        self.0.index_pending_spans().await?;
        assert_eq!(self.0.unindexed_span_count().await?, 0, "index_pending_spans must leave nothing behind");
        self.0.search_traces(request).await
    }
    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
        self.0.set_trace_tag(trace_id, key, value).await
    }
    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()> {
        self.0.delete_trace_tag(trace_id, key).await
    }
    async fn delete_traces(&self, request: DeleteTraces) -> StoreResult<usize> {
        self.0.delete_traces(request).await
    }
}

fn open() -> SqliteStore {
    SqliteStore::open_in_memory().expect("open a temporary SQLite store")
}

/// Searches use the substring index for every span.
fn indexed_store() -> Arc<dyn TraceStore> {
    Arc::new(FullyIndexed(open()))
}

/// Searches find every span past the index (background indexing off): the scan fallback.
fn unindexed_store() -> Arc<dyn TraceStore> {
    let store = open();
    store.set_background_indexing(false);
    Arc::new(store)
}

macro_rules! conformance_tests {
    ($($case:ident),* $(,)?) => {
        mod indexed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    clew_store::conformance::run_case(stringify!($case), super::indexed_store()).await;
                }
            )*
        }

        mod unindexed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    clew_store::conformance::run_case(stringify!($case), super::unindexed_store()).await;
                }
            )*
        }

    };
}

clew_store::for_each_conformance_case!(conformance_tests);
