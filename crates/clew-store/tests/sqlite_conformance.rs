//! The store conformance suite against SQLite: one test per case, each on a fresh store in
//! its own temporary directory, so a failure names the behaviour that broke. Every case runs
//! twice: with the substring index complete (`indexed::`) and with background indexing off
//! (`unindexed::`), so both search paths are pinned.

use async_trait::async_trait;
use clew_model::{Experiment, Span, Trace, TraceInfo};
use clew_store::conformance::CASE_NAMES;
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

        /// Every case of the suite has a test here (a new case cannot be silently skipped).
        #[test]
        fn every_conformance_case_has_a_test() {
            let listed: Vec<&str> = vec![$(stringify!($case)),*];
            let missing: Vec<&&str> = CASE_NAMES.iter().filter(|name| !listed.contains(name)).collect();
            assert!(missing.is_empty(), "conformance cases without a test: {missing:?}");
        }
    };
}

conformance_tests!(
    default_experiment_exists,
    create_experiment_assigns_ids_and_artifact_locations,
    duplicate_experiment_name_is_already_exists,
    empty_experiment_name_is_invalid,
    write_traces_round_trips_info_and_spans,
    spans_come_back_root_first_then_by_start_time,
    write_traces_to_missing_experiment_is_not_found,
    log_spans_trace_is_in_progress_until_root_arrives,
    log_spans_root_decides_state_times_and_previews,
    errored_child_alone_keeps_trace_ok,
    log_spans_resend_overwrites_span,
    log_spans_to_missing_experiment_is_not_found,
    log_spans_adds_missing_trace_request_id,
    spans_before_info_and_info_before_spans_converge,
    duplicate_deliveries_converge,
    concurrent_writers_converge,
    start_trace_returns_stored_info_with_server_fields,
    start_trace_client_values_win_over_span_derived,
    start_trace_keeps_previews_when_client_sends_none,
    session_and_user_come_from_span_attributes,
    token_usage_is_summed_from_spans,
    batch_get_traces_keeps_request_order_and_skips_missing,
    batch_get_traces_skips_incomplete_traces,
    missing_trace_reads_as_none,
    set_and_delete_trace_tag,
    tag_updates_on_missing_things_are_not_found,
    delete_traces_by_ids_removes_everything,
    delete_traces_older_than_is_inclusive_and_oldest_first,
    search_default_order_is_newest_first_then_request_id,
    search_numeric_fields,
    search_status_and_id_columns,
    search_name_and_run_id,
    search_tags_and_metadata,
    search_like_is_case_sensitive_and_ilike_is_not,
    search_rlike_is_a_regex_search,
    search_span_clauses_hold_on_the_same_span,
    search_span_attributes,
    search_trace_text_and_span_content,
    search_short_patterns_still_match,
    search_unicode,
    search_order_by_puts_nulls_last,
    search_order_by_several_keys,
    search_pagination,
    search_is_scoped_to_experiments,
    search_rejects_invalid_requests,
    search_values_are_bound_not_spliced,
    search_feedback_and_expectation,
    search_linked_prompt,
    search_after_delete_finds_nothing_of_deleted_traces,
);
