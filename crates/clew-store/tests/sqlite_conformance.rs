//! The store conformance suite against SQLite: one test per case, each on a fresh store in
//! its own temporary directory, so a failure names the behaviour that broke.

use clew_store::conformance::{self, CASE_NAMES};
use clew_store::{SqliteStore, TraceStore};
use std::sync::Arc;

fn fresh_store() -> Arc<dyn TraceStore> {
    Arc::new(SqliteStore::open_in_memory().expect("open a temporary SQLite store"))
}

macro_rules! conformance_tests {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                conformance::run_case(stringify!($case), fresh_store()).await;
            }
        )*

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
    search_after_delete_finds_nothing_of_deleted_traces,
);
