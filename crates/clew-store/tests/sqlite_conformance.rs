//! The store conformance suite against SQLite: one test per case, each on a fresh store in
//! its own temporary directory, so a failure names the behaviour that broke. Every case runs
//! twice: with the substring index complete (`indexed::`) and with background indexing off
//! (`unindexed::`), so both search paths are pinned.

use async_trait::async_trait;
use clew_model::{Assessment, AssessmentUpdate, Experiment, Run, Span, Trace, TraceInfo};
use clew_store::{
    ArtifactInfo, CreateRun, DeleteTraces, ExperimentPage, SearchExperimentsRequest, SearchTracesRequest, SpanSkeleton,
    SqliteStore, StoreResult, TracePage, TraceStore, UpdateRun,
};
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
    async fn search_experiments(&self, request: &SearchExperimentsRequest) -> StoreResult<ExperimentPage> {
        self.0.search_experiments(request).await
    }
    async fn count_traces(&self, experiment_id: &str) -> StoreResult<u64> {
        self.0.count_traces(experiment_id).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()> {
        self.0.rename_experiment(experiment_id, new_name).await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        self.0.delete_experiment(experiment_id).await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        self.0.restore_experiment(experiment_id).await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
        self.0.set_experiment_tag(experiment_id, key, value).await
    }
    async fn create_run(&self, request: CreateRun) -> StoreResult<Run> {
        self.0.create_run(request).await
    }
    async fn get_run(&self, run_id: &str) -> StoreResult<Option<Run>> {
        self.0.get_run(run_id).await
    }
    async fn update_run(&self, run_id: &str, update: UpdateRun) -> StoreResult<Run> {
        self.0.update_run(run_id, update).await
    }
    async fn link_traces_to_run(&self, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
        self.0.link_traces_to_run(trace_ids, run_id).await
    }
    async fn create_assessment(&self, trace_id: &str, assessment: Assessment) -> StoreResult<Assessment> {
        self.0.create_assessment(trace_id, assessment).await
    }
    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>> {
        self.0.get_assessment(trace_id, assessment_id).await
    }
    async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> StoreResult<Assessment> {
        self.0.update_assessment(trace_id, assessment_id, update).await
    }
    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
        self.0.delete_assessment(trace_id, assessment_id).await
    }
    async fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> StoreResult<()> {
        self.0.put_artifact(path, bytes).await
    }
    async fn get_artifact(&self, path: &str) -> StoreResult<Option<Vec<u8>>> {
        self.0.get_artifact(path).await
    }
    async fn list_artifacts(&self, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
        self.0.list_artifacts(prefix).await
    }
    async fn delete_artifact(&self, path: &str) -> StoreResult<bool> {
        self.0.delete_artifact(path).await
    }
    async fn get_trace_skeleton(&self, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
        self.0.get_trace_skeleton(trace_id).await
    }
    async fn get_spans(&self, trace_id: &str, span_ids: &[String]) -> StoreResult<Vec<Span>> {
        self.0.get_spans(trace_id, span_ids).await
    }
    async fn search_span_ids_in_trace(&self, trace_id: &str, text: &str, limit: usize) -> StoreResult<Option<Vec<String>>> {
        self.0.search_span_ids_in_trace(trace_id, text, limit).await
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
