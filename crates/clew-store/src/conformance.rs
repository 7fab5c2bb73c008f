//! The store conformance suite: behaviour every [`TraceStore`] backend must show, written once
//! against `dyn TraceStore`. A backend runs it with one test per case, so a failure names the
//! behaviour:
//!
//! ```no_run
//! use clew_store::{conformance, SqliteStore, TraceStore};
//! use std::sync::Arc;
//!
//! # async fn demo() {
//! for case in conformance::cases() {
//!     let store: Arc<dyn TraceStore> = Arc::new(SqliteStore::open_in_memory().unwrap());
//!     if let Err(message) = (case.run)(store).await {
//!         panic!("{}: {message}", case.name);
//!     }
//! }
//! # }
//! ```
//!
//! Cases build their own data with the helpers below (plain [`Span`] / [`TraceInfo`] literals)
//! and return `Err(description)` instead of panicking, so a runner can report them all.

use crate::{
    CreateRun, DeleteTraces, ExperimentPage, SearchExperimentsRequest, SearchTracesRequest, SpanSkeleton, StoreError,
    TraceStore, UpdateRun, ViewType, MAX_TRACES_TO_LINK,
};
use clew_model::{
    keys, Assessment, AssessmentSource, AssessmentUpdate, AssessmentValue, RunStatus, Span, SpanId, SpanStatus, Trace,
    TraceData, TraceId, TraceInfo, TraceLocation, TraceState,
};
use indexmap::IndexMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a case returns: `Err` describes the broken expectation.
pub type CaseResult = Result<(), String>;
/// A boxed case future.
pub type CaseFuture = Pin<Box<dyn Future<Output = CaseResult> + Send>>;

/// One named behaviour.
pub struct Case {
    pub name: &'static str,
    pub run: fn(Arc<dyn TraceStore>) -> CaseFuture,
}

/// Runs every case, each on a fresh store from `make_store`; panics listing the failures.
pub async fn run_all<F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn TraceStore>>,
{
    let mut failures = Vec::new();
    for case in cases() {
        let store = make_store().await;
        if let Err(message) = (case.run)(store).await {
            failures.push(format!("{}: {message}", case.name));
        }
    }
    assert!(failures.is_empty(), "conformance failures:\n{}", failures.join("\n"));
}

/// Runs the case called `name` on `store`; panics with the failure (for one-test-per-case runners).
pub async fn run_case(name: &str, store: Arc<dyn TraceStore>) {
    let Some(case) = cases().into_iter().find(|c| c.name == name) else {
        panic!("no conformance case named {name:?}");
    };
    if let Err(message) = (case.run)(store).await {
        panic!("{name}: {message}");
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr $(,)?) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!(
                "{} == {}\n  left:  {:?}\n  right: {:?}\n  (line {})",
                stringify!($left), stringify!($right), left, right, line!()
            ));
        }
    }};
}

/// Turns a store error into a case failure naming the call.
fn ok<T>(what: &str, result: Result<T, StoreError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e} ({e:?})"))
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case, in a stable order.
        pub fn cases() -> Vec<Case> {
            vec![$(Case { name: stringify!($name), run: |store| Box::pin($name(store)) }),*]
        }
        /// The names of every case.
        pub const CASE_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

/// Calls `$callback!` with the name of every conformance case, so a backend's test file
/// can make one test per case without repeating the list:
/// `clew_store::for_each_conformance_case!(my_backend_tests);`
#[macro_export]
macro_rules! for_each_conformance_case {
    ($callback:ident) => {
        $callback!(
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
            search_experiments_filters_by_name_and_pages,
            count_traces_counts_each_experiments_traces,
            rename_experiment_checks_the_new_name,
            delete_and_restore_experiment,
            set_experiment_tag_sets_and_overwrites,
            runs_are_created_read_and_updated,
            linked_traces_match_the_run_id_filter,
            create_assessment_assigns_ids_and_shows_in_trace_reads,
            assessment_calls_on_missing_things,
            update_assessment_applies_the_mask_and_merges_metadata,
            overriding_invalidates_the_old_assessment_until_the_new_one_is_deleted,
            search_sees_assessments_created_through_the_api,
            assessments_logged_with_the_trace_are_addressable,
            start_trace_merges_assessments_by_id,
            artifacts_are_stored_listed_and_deleted,
            trace_skeleton_lists_spans_without_payloads,
            get_spans_loads_payloads_in_request_order,
            search_span_ids_in_trace_matches_decoded_content,
        );
    };
}

for_each_conformance_case!(cases);

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// Base time of the generated data: 2026-01-01T00:00:00Z in ms.
pub const T0_MS: i64 = 1_767_225_600_000;

/// The MLflow trace id of test trace `n`.
pub fn trace_id(n: u128) -> String {
    TraceId::from_u128(n).to_mlflow()
}

/// JSON text of a string attribute value (`"x"` → `"\"x\""`).
pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A span of test trace `trace`: `start_ms`/`end_ms` are offsets from [`T0_MS`].
pub fn span(trace: u128, id: u64, parent: Option<u64>, name: &str, start_ms: i64, end_ms: i64) -> Span {
    let mut attributes = IndexMap::new();
    attributes.insert(keys::TRACE_REQUEST_ID.to_string(), json_str(&trace_id(trace)));
    attributes.insert(keys::SPAN_TYPE.to_string(), json_str("UNKNOWN"));
    Span {
        trace_id: TraceId::from_u128(trace),
        span_id: SpanId::from_u64(id),
        parent_id: parent.map(SpanId::from_u64),
        name: name.to_string(),
        start_time_ns: (T0_MS + start_ms) * 1_000_000,
        end_time_ns: Some((T0_MS + end_ms) * 1_000_000),
        status: SpanStatus::ok(),
        attributes,
        events: Vec::new(),
        links: Vec::new(),
    }
}

/// Sets an attribute given as JSON text.
pub fn with_attr(mut span: Span, key: &str, json_text: &str) -> Span {
    span.attributes.insert(key.to_string(), json_text.to_string());
    span
}

/// A finished info for test trace `trace` in `experiment`.
pub fn info(trace: u128, experiment: &str, start_ms: i64, duration_ms: i64) -> TraceInfo {
    TraceInfo {
        trace_id: trace_id(trace),
        trace_location: TraceLocation::experiment(experiment),
        request_time: T0_MS + start_ms,
        execution_duration: Some(duration_ms),
        state: TraceState::Ok,
        ..TraceInfo::default()
    }
}

/// A finished trace: info plus a root span and `children` child spans.
pub fn simple_trace(trace: u128, experiment: &str, start_ms: i64, duration_ms: i64, children: u64) -> Trace {
    let mut spans = vec![with_attr(
        span(trace, 1, None, "root", start_ms, start_ms + duration_ms),
        keys::SPAN_INPUTS,
        r#"{"question": "q"}"#,
    )];
    for i in 0..children {
        let offset = start_ms + 1 + i as i64;
        spans.push(span(trace, 2 + i, Some(1), &format!("child-{i}"), offset, offset + 1));
    }
    let mut info = info(trace, experiment, start_ms, duration_ms);
    info.tags.insert(keys::TRACE_NAME.to_string(), "root".to_string());
    Trace { info, data: TraceData { spans } }
}

async fn search_ids(store: &dyn TraceStore, experiment: &str, filter: &str) -> Result<Vec<String>, String> {
    let request = SearchTracesRequest {
        experiment_ids: vec![experiment.to_string()],
        filter: Some(filter.to_string()),
        max_results: Some(1000),
        ..Default::default()
    };
    let page = ok(&format!("search {filter:?}"), store.search_traces(&request).await)?;
    Ok(page.traces.into_iter().map(|t| t.trace_id).collect())
}

/// Search ids, sorted (for filters where order is not the point).
async fn matches(store: &dyn TraceStore, experiment: &str, filter: &str) -> Result<Vec<String>, String> {
    let mut ids = search_ids(store, experiment, filter).await?;
    ids.sort();
    Ok(ids)
}

fn ids(ns: &[u128]) -> Vec<String> {
    let mut ids: Vec<String> = ns.iter().map(|n| trace_id(*n)).collect();
    ids.sort();
    ids
}

/// The info without fields that legitimately differ between equivalent stores.
fn comparable(mut info: TraceInfo) -> TraceInfo {
    info.tags.sort_keys();
    info.trace_metadata.sort_keys();
    info
}

async fn new_experiment(store: &dyn TraceStore, name: &str) -> Result<String, String> {
    ok("create_experiment", store.create_experiment(name, None).await)
}

// ---------------------------------------------------------------------------------------------
// Experiments
// ---------------------------------------------------------------------------------------------

async fn default_experiment_exists(store: Arc<dyn TraceStore>) -> CaseResult {
    let default = ok("get_experiment", store.get_experiment("0").await)?.ok_or("experiment 0 is missing")?;
    ensure_eq!(default.name, "Default");
    ensure_eq!(default.lifecycle_stage, "active");
    let by_name = ok("get_experiment_by_name", store.get_experiment_by_name("Default").await)?;
    ensure_eq!(by_name.map(|e| e.experiment_id), Some("0".to_string()));
    let all = ok("list_experiments", store.list_experiments().await)?;
    ensure_eq!(all.first().map(|e| e.experiment_id.clone()), Some("0".to_string()));
    Ok(())
}

async fn create_experiment_assigns_ids_and_artifact_locations(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "alpha").await?;
    let b = ok("create_experiment", store.create_experiment("beta", Some("/data/artifacts/beta")).await)?;
    ensure!(a != b && a != "0", "ids must be new and distinct: {a} {b}");
    let alpha = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("alpha missing")?;
    ensure_eq!(alpha.name, "alpha");
    ensure!(alpha.artifact_location.ends_with(&a), "default artifact location names the id: {}", alpha.artifact_location);
    let beta = ok("get_experiment_by_name", store.get_experiment_by_name("beta").await)?.ok_or("beta missing")?;
    ensure_eq!(beta.artifact_location, "/data/artifacts/beta");
    let names: Vec<String> = ok("list_experiments", store.list_experiments().await)?.into_iter().map(|e| e.name).collect();
    ensure_eq!(names, vec!["Default".to_string(), "alpha".to_string(), "beta".to_string()]);
    ensure!(ok("get_experiment", store.get_experiment("999").await)?.is_none(), "unknown id must read as None");
    ensure!(ok("get_experiment", store.get_experiment("not-a-number").await)?.is_none(), "odd id must read as None");
    Ok(())
}

async fn duplicate_experiment_name_is_already_exists(store: Arc<dyn TraceStore>) -> CaseResult {
    new_experiment(&*store, "dup").await?;
    match store.create_experiment("dup", None).await {
        Err(StoreError::AlreadyExists(_)) => Ok(()),
        other => Err(format!("expected AlreadyExists, got {other:?}")),
    }
}

async fn empty_experiment_name_is_invalid(store: Arc<dyn TraceStore>) -> CaseResult {
    match store.create_experiment("", None).await {
        Err(StoreError::InvalidArgument(_)) => Ok(()),
        other => Err(format!("expected InvalidArgument, got {other:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------------------------

async fn write_traces_round_trips_info_and_spans(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 50, 2);
    trace.info.client_request_id = Some("client-1".into());
    trace.info.request_preview = Some("req".into());
    trace.info.response_preview = Some("resp".into());
    trace.info.tags.insert("env".into(), "dev".into());
    trace.info.trace_metadata.insert(keys::SOURCE_RUN.into(), "run-1".into());
    ok("write_traces", store.write_traces(vec![trace.clone()]).await)?;

    let stored = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    let i = &stored.info;
    ensure_eq!(i.trace_id, trace_id(1));
    ensure_eq!(i.experiment_id(), Some(exp.as_str()));
    ensure_eq!(i.request_time, T0_MS);
    ensure_eq!(i.execution_duration, Some(50));
    ensure_eq!(i.state, TraceState::Ok);
    ensure_eq!(i.client_request_id.as_deref(), Some("client-1"));
    ensure_eq!(i.request_preview.as_deref(), Some("req"));
    ensure_eq!(i.response_preview.as_deref(), Some("resp"));
    ensure_eq!(i.tags.get("env").map(String::as_str), Some("dev"));
    ensure_eq!(i.tags.get(keys::TRACE_NAME).map(String::as_str), Some("root"));
    ensure_eq!(i.tags.get(keys::SPANS_LOCATION).map(String::as_str), Some(keys::SPANS_LOCATION_TRACKING_STORE));
    ensure!(i.tags.contains_key(keys::ARTIFACT_LOCATION), "artifact location tag missing: {:?}", i.tags);
    ensure_eq!(i.trace_metadata.get(keys::SOURCE_RUN).map(String::as_str), Some("run-1"));
    ensure_eq!(stored.data.spans, trace.data.spans);
    let only_info = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("info missing")?;
    ensure_eq!(comparable(only_info), comparable(stored.info.clone()));
    Ok(())
}

async fn spans_come_back_root_first_then_by_start_time(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    // Children written out of order, root last, a grandchild starting before its uncle.
    let spans = vec![
        span(1, 4, Some(2), "grandchild", 3, 4),
        span(1, 3, Some(1), "late-child", 5, 6),
        span(1, 2, Some(1), "early-child", 2, 7),
        span(1, 1, None, "root", 0, 10),
    ];
    ok("log_spans", store.log_spans(&exp, spans).await)?;
    let trace = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    let names: Vec<&str> = trace.data.spans.iter().map(|s| s.name.as_str()).collect();
    ensure_eq!(names, vec!["root", "early-child", "grandchild", "late-child"]);
    Ok(())
}

async fn write_traces_to_missing_experiment_is_not_found(store: Arc<dyn TraceStore>) -> CaseResult {
    match store.write_traces(vec![simple_trace(1, "424242", 0, 5, 0)]).await {
        Err(StoreError::NotFound(_)) => {}
        other => return Err(format!("expected NotFound, got {other:?}")),
    }
    ensure!(ok("get_trace", store.get_trace(&trace_id(1)).await)?.is_none(), "nothing may be stored");
    Ok(())
}

async fn log_spans_trace_is_in_progress_until_root_arrives(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("log_spans", store.log_spans(&exp, vec![span(1, 2, Some(1), "child", 5, 8)]).await)?;
    let partial = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(partial.state, TraceState::InProgress);
    ensure_eq!(partial.tags.get(keys::SPANS_LOCATION).map(String::as_str), Some(keys::SPANS_LOCATION_TRACKING_STORE));
    ensure!(partial.tags.contains_key(keys::ARTIFACT_LOCATION), "artifact location tag missing");
    let partial_trace = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(partial_trace.data.spans.len(), 1);
    ok("log_spans", store.log_spans(&exp, vec![span(1, 1, None, "root", 0, 10)]).await)?;
    let done = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(done.state, TraceState::Ok);
    ensure_eq!(done.request_time, T0_MS);
    ensure_eq!(done.execution_duration, Some(10));
    Ok(())
}

async fn log_spans_root_decides_state_times_and_previews(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut root = with_attr(span(1, 1, None, "root", 100, 130), keys::SPAN_INPUTS, r#"{"x": 1}"#);
    root = with_attr(root, keys::SPAN_OUTPUTS, r#""done""#);
    root.status = SpanStatus::error("boom");
    ok("log_spans", store.log_spans(&exp, vec![root, span(1, 2, Some(1), "c", 110, 140)]).await)?;
    let info = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(info.state, TraceState::Error);
    ensure_eq!(info.request_time, T0_MS + 100);
    ensure_eq!(info.execution_duration, Some(40));
    ensure_eq!(info.request_preview.as_deref(), Some(r#"{"x": 1}"#));
    ensure_eq!(info.response_preview.as_deref(), Some(r#""done""#));
    ensure_eq!(info.experiment_id(), Some(exp.as_str()));
    Ok(())
}

async fn errored_child_alone_keeps_trace_ok(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut child = span(1, 2, Some(1), "c", 1, 2);
    child.status = SpanStatus::error("tool failed");
    ok("log_spans", store.log_spans(&exp, vec![span(1, 1, None, "root", 0, 3), child]).await)?;
    let info = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(info.state, TraceState::Ok);
    Ok(())
}

async fn log_spans_resend_overwrites_span(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let first = with_attr(span(1, 1, None, "root", 0, 10), "note", &json_str("first version"));
    ok("log_spans", store.log_spans(&exp, vec![first]).await)?;
    let second = with_attr(span(1, 1, None, "root-renamed", 0, 20), "note", &json_str("second version"));
    ok("log_spans", store.log_spans(&exp, vec![second.clone()]).await)?;
    let trace = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(trace.data.spans, vec![second]);
    ensure_eq!(trace.info.execution_duration, Some(20));
    // The substring index follows the overwrite.
    ensure_eq!(matches(&*store, &exp, "trace.text LIKE '%first version%'").await?, Vec::<String>::new());
    ensure_eq!(matches(&*store, &exp, "trace.text LIKE '%second version%'").await?, ids(&[1]));
    ensure_eq!(matches(&*store, &exp, "span.name = 'root'").await?, Vec::<String>::new());
    Ok(())
}

async fn log_spans_to_missing_experiment_is_not_found(store: Arc<dyn TraceStore>) -> CaseResult {
    match store.log_spans("424242", vec![span(1, 1, None, "root", 0, 1)]).await {
        Err(StoreError::NotFound(_)) => Ok(()),
        other => Err(format!("expected NotFound, got {other:?}")),
    }
}

async fn log_spans_adds_missing_trace_request_id(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut foreign = span(1, 1, None, "otel-root", 0, 1);
    foreign.attributes.shift_remove(keys::TRACE_REQUEST_ID);
    ok("log_spans", store.log_spans(&exp, vec![foreign]).await)?;
    let trace = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(trace.data.spans.len(), 1);
    ensure_eq!(trace.data.spans[0].request_id(), trace_id(1));
    Ok(())
}

/// The spans and info of trace 1 as the MLflow client sends them (OTLP + StartTraceV3).
fn client_trace(exp: &str) -> (Vec<Span>, TraceInfo) {
    let root = with_attr(span(1, 1, None, "answer", 0, 57), keys::SPAN_INPUTS, r#"{"question": "why?"}"#);
    let root = with_attr(root, keys::SPAN_OUTPUTS, r#"{"answer": "42"}"#);
    let root = with_attr(root, "session.id", &json_str("sess-1"));
    let spans = vec![root, span(1, 2, Some(1), "retrieve", 5, 20), span(1, 3, Some(1), "generate", 21, 50)];
    let mut info = info(1, exp, 0, 57);
    info.request_preview = Some(r#"{"question": "why?"}"#.into());
    info.response_preview = Some(r#"{"answer": "42"}"#.into());
    info.tags.insert(keys::TRACE_NAME.into(), "answer".into());
    info.tags.insert("env".into(), "dev".into());
    info.trace_metadata.insert(keys::TRACE_SCHEMA_VERSION.into(), "3".into());
    info.trace_metadata.insert(keys::SIZE_STATS.into(), r#"{"total_size_bytes": 100, "num_spans": 3}"#.into());
    (spans, info)
}

async fn spans_before_info_and_info_before_spans_converge(store: Arc<dyn TraceStore>) -> CaseResult {
    let spans_first = new_experiment(&*store, "spans-first").await?;
    let info_first = new_experiment(&*store, "info-first").await?;
    // Same trace id cannot live in two experiments; compare two stores' worth via two ids.
    let (spans_a, info_a) = client_trace(&spans_first);
    ok("log_spans", store.log_spans(&spans_first, spans_a).await)?;
    ok("start_trace", store.start_trace(info_a).await)?;

    let (spans_b, mut info_b) = client_trace(&info_first);
    // Re-key trace 1's data to trace 2 for the second order.
    let rekey = |mut s: Span| {
        s.trace_id = TraceId::from_u128(2);
        s.attributes.insert(keys::TRACE_REQUEST_ID.into(), json_str(&trace_id(2)));
        s
    };
    info_b.trace_id = trace_id(2);
    ok("start_trace", store.start_trace(info_b).await)?;
    ok("log_spans", store.log_spans(&info_first, spans_b.into_iter().map(rekey).collect()).await)?;

    let a = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace 1 missing")?;
    let b = ok("get_trace", store.get_trace(&trace_id(2)).await)?.ok_or("trace 2 missing")?;
    let normalise = |t: &Trace| {
        let mut info = comparable(t.info.clone());
        info.trace_id = String::new();
        info.trace_location = TraceLocation::Unspecified;
        info.tags.shift_remove(keys::ARTIFACT_LOCATION);
        info
    };
    ensure_eq!(normalise(&a), normalise(&b));
    ensure_eq!(a.data.spans.len(), 3);
    ensure_eq!(b.data.spans.len(), 3);
    ensure_eq!(a.info.state, TraceState::Ok);
    ensure_eq!(a.info.trace_metadata.get(keys::INFO_FINALIZED).map(String::as_str), Some("true"));
    ensure_eq!(a.info.trace_metadata.get(keys::TRACE_SESSION).map(String::as_str), Some("sess-1"));
    ensure_eq!(a.info.tags.get("env").map(String::as_str), Some("dev"));
    ensure_eq!(a.info.tags.get(keys::SPANS_LOCATION).map(String::as_str), Some(keys::SPANS_LOCATION_TRACKING_STORE));
    Ok(())
}

async fn duplicate_deliveries_converge(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let (spans, info) = client_trace(&exp);
    ok("log_spans", store.log_spans(&exp, spans.clone()).await)?;
    ok("start_trace", store.start_trace(info.clone()).await)?;
    let once = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    for _ in 0..3 {
        ok("log_spans", store.log_spans(&exp, spans.clone()).await)?;
        ok("start_trace", store.start_trace(info.clone()).await)?;
        ok("write_traces", store.write_traces(vec![Trace { info: info.clone(), data: TraceData { spans: spans.clone() } }]).await)?;
    }
    let again = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(comparable(again.info), comparable(once.info));
    ensure_eq!(again.data.spans, once.data.spans);
    ensure_eq!(matches(&*store, &exp, "trace.text LIKE '%why%'").await?, ids(&[1]));
    Ok(())
}

async fn concurrent_writers_converge(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let traces: u128 = 20;
    let mut tasks = Vec::new();
    for n in 1..=traces {
        let (spans, mut info) = client_trace(&exp);
        info.trace_id = trace_id(n);
        let spans: Vec<Span> = spans
            .into_iter()
            .map(|mut s| {
                s.trace_id = TraceId::from_u128(n);
                s.attributes.insert(keys::TRACE_REQUEST_ID.into(), json_str(&trace_id(n)));
                s
            })
            .collect();
        // Each span on its own, plus the info, all racing (and a duplicate of each).
        for s in spans.iter().chain(spans.iter()) {
            let (store, exp, s) = (Arc::clone(&store), exp.clone(), s.clone());
            tasks.push(tokio::spawn(async move { store.log_spans(&exp, vec![s]).await }));
        }
        let (store2, info2) = (Arc::clone(&store), info.clone());
        tasks.push(tokio::spawn(async move { store2.start_trace(info2).await.map(|_| ()) }));
    }
    for task in tasks {
        let joined = task.await.map_err(|e| format!("writer task panicked: {e}"))?;
        ok("concurrent write", joined)?;
    }
    for n in 1..=traces {
        let t = ok("get_trace", store.get_trace(&trace_id(n)).await)?.ok_or("trace missing")?;
        ensure_eq!(t.data.spans.len(), 3);
        ensure_eq!(t.info.state, TraceState::Ok);
        ensure_eq!(t.info.execution_duration, Some(57));
        ensure_eq!(t.info.tags.get("env").map(String::as_str), Some("dev"));
    }
    let page = ok(
        "search",
        store
            .search_traces(&SearchTracesRequest { experiment_ids: vec![exp], max_results: Some(100), ..Default::default() })
            .await,
    )?;
    ensure_eq!(page.traces.len(), traces as usize);
    Ok(())
}

async fn start_trace_returns_stored_info_with_server_fields(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let (_, info) = client_trace(&exp);
    let stored = ok("start_trace", store.start_trace(info.clone()).await)?;
    ensure_eq!(stored.trace_id, info.trace_id);
    ensure_eq!(stored.trace_metadata.get(keys::INFO_FINALIZED).map(String::as_str), Some("true"));
    let location = stored.tags.get(keys::ARTIFACT_LOCATION).ok_or("artifact location tag missing")?;
    ensure!(
        location.ends_with(&format!("/traces/{}/artifacts", info.trace_id)),
        "artifact location {location:?} must end in /traces/<id>/artifacts"
    );
    ensure!(!stored.tags.contains_key(keys::SPANS_LOCATION), "no spans yet, so no spansLocation tag");
    ensure_eq!(stored.tags.get("env").map(String::as_str), Some("dev"));
    let read = ok("get_trace_info", store.get_trace_info(&info.trace_id).await)?.ok_or("missing")?;
    ensure_eq!(comparable(read), comparable(stored));
    match store.start_trace(self::info(7, "424242", 0, 1)).await {
        Err(StoreError::NotFound(_)) => Ok(()),
        other => Err(format!("start_trace into a missing experiment: expected NotFound, got {other:?}")),
    }
}

async fn start_trace_client_values_win_over_span_derived(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut root = span(1, 1, None, "root", 0, 100);
    root.status = SpanStatus::error("x");
    ok("log_spans", store.log_spans(&exp, vec![root.clone()]).await)?;
    let mut client = info(1, &exp, 5, 77);
    client.state = TraceState::Ok;
    client.request_preview = Some("client preview".into());
    ok("start_trace", store.start_trace(client).await)?;
    // Spans arriving after the info (a re-send) do not undo the client's values.
    ok("log_spans", store.log_spans(&exp, vec![root]).await)?;
    let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(stored.state, TraceState::Ok);
    ensure_eq!(stored.request_time, T0_MS + 5);
    ensure_eq!(stored.execution_duration, Some(77));
    ensure_eq!(stored.request_preview.as_deref(), Some("client preview"));
    Ok(())
}

async fn start_trace_keeps_previews_when_client_sends_none(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let root = with_attr(span(1, 1, None, "root", 0, 10), keys::SPAN_INPUTS, r#"{"q": "from span"}"#);
    ok("log_spans", store.log_spans(&exp, vec![root]).await)?;
    let stored = ok("start_trace", store.start_trace(info(1, &exp, 0, 10)).await)?;
    ensure_eq!(stored.request_preview.as_deref(), Some(r#"{"q": "from span"}"#));
    ensure_eq!(stored.tags.get(keys::SPANS_LOCATION).map(String::as_str), Some(keys::SPANS_LOCATION_TRACKING_STORE));
    Ok(())
}

async fn session_and_user_come_from_span_attributes(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let root = with_attr(span(1, 1, None, "root", 0, 10), "session.id", &json_str("s-42"));
    let child = with_attr(span(1, 2, Some(1), "c", 1, 2), "user.id", &json_str("alice"));
    ok("log_spans", store.log_spans(&exp, vec![root, child]).await)?;
    let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(stored.trace_metadata.get(keys::TRACE_SESSION).map(String::as_str), Some("s-42"));
    ensure_eq!(stored.trace_metadata.get(keys::TRACE_USER).map(String::as_str), Some("alice"));
    ensure_eq!(matches(&*store, &exp, "metadata.`mlflow.trace.session` = 's-42'").await?, ids(&[1]));
    Ok(())
}

async fn token_usage_is_summed_from_spans(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let usage = |i: i64, o: i64| format!(r#"{{"input_tokens": {i}, "output_tokens": {o}, "total_tokens": {}}}"#, i + o);
    let a = with_attr(span(1, 2, Some(1), "llm-a", 1, 2), keys::CHAT_TOKEN_USAGE, &usage(10, 5));
    let b = with_attr(span(1, 3, Some(1), "llm-b", 3, 4), keys::CHAT_TOKEN_USAGE, &usage(7, 3));
    ok("log_spans", store.log_spans(&exp, vec![span(1, 1, None, "root", 0, 5), a.clone(), b]).await)?;
    // A duplicate delivery must not double count.
    ok("log_spans", store.log_spans(&exp, vec![a]).await)?;
    let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    let usage = stored.token_usage().ok_or("no mlflow.trace.tokenUsage metadata")?;
    ensure_eq!(usage.get("input_tokens").and_then(|v| v.as_i64()), Some(17));
    ensure_eq!(usage.get("output_tokens").and_then(|v| v.as_i64()), Some(8));
    ensure_eq!(usage.get("total_tokens").and_then(|v| v.as_i64()), Some(25));
    Ok(())
}

async fn batch_get_traces_keeps_request_order_and_skips_missing(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces((1..=3).map(|n| simple_trace(n, &exp, n as i64, 5, 1)).collect()).await)?;
    let wanted = vec![trace_id(3), trace_id(99), trace_id(1), trace_id(2)];
    let got = ok("batch_get_traces", store.batch_get_traces(&wanted).await)?;
    let got_ids: Vec<String> = got.iter().map(|t| t.info.trace_id.clone()).collect();
    ensure_eq!(got_ids, vec![trace_id(3), trace_id(1), trace_id(2)]);
    ensure!(got.iter().all(|t| t.data.spans.len() == 2), "each trace carries its spans");
    Ok(())
}

async fn batch_get_traces_skips_incomplete_traces(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let (spans, info) = client_trace(&exp); // sizeStats announces 3 spans
    ok("start_trace", store.start_trace(info).await)?;
    ok("log_spans", store.log_spans(&exp, spans[..2].to_vec()).await)?;
    ensure_eq!(ok("batch_get_traces", store.batch_get_traces(&[trace_id(1)]).await)?.len(), 0);
    ok("log_spans", store.log_spans(&exp, spans[2..].to_vec()).await)?;
    ensure_eq!(ok("batch_get_traces", store.batch_get_traces(&[trace_id(1)]).await)?.len(), 1);
    Ok(())
}

async fn missing_trace_reads_as_none(store: Arc<dyn TraceStore>) -> CaseResult {
    ensure!(ok("get_trace", store.get_trace(&trace_id(5)).await)?.is_none(), "get_trace");
    ensure!(ok("get_trace_info", store.get_trace_info(&trace_id(5)).await)?.is_none(), "get_trace_info");
    ensure!(ok("get_trace", store.get_trace("not an id ' --").await)?.is_none(), "odd id");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tags and deletes
// ---------------------------------------------------------------------------------------------

async fn set_and_delete_trace_tag(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 5, 0)]).await)?;
    ok("set_trace_tag", store.set_trace_tag(&trace_id(1), "reviewed", "yes").await)?;
    ok("set_trace_tag", store.set_trace_tag(&trace_id(1), "reviewed", "twice").await)?;
    let tagged = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(tagged.tags.get("reviewed").map(String::as_str), Some("twice"));
    ensure_eq!(matches(&*store, &exp, "tag.reviewed = 'twice'").await?, ids(&[1]));
    ok("delete_trace_tag", store.delete_trace_tag(&trace_id(1), "reviewed").await)?;
    let untagged = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure!(!untagged.tags.contains_key("reviewed"), "tag must be gone");
    ensure_eq!(matches(&*store, &exp, "tag.reviewed IS NULL").await?, ids(&[1]));
    // Renaming through the tag shows in `name` searches.
    ok("set_trace_tag", store.set_trace_tag(&trace_id(1), keys::TRACE_NAME, "renamed").await)?;
    ensure_eq!(matches(&*store, &exp, "name = 'renamed'").await?, ids(&[1]));
    Ok(())
}

async fn tag_updates_on_missing_things_are_not_found(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 5, 0)]).await)?;
    match store.delete_trace_tag(&trace_id(1), "never-set").await {
        Err(StoreError::NotFound(_)) => {}
        other => return Err(format!("delete of a missing key: expected NotFound, got {other:?}")),
    }
    match store.set_trace_tag(&trace_id(9), "k", "v").await {
        Err(StoreError::NotFound(_)) => {}
        other => return Err(format!("tag on a missing trace: expected NotFound, got {other:?}")),
    }
    match store.delete_trace_tag(&trace_id(9), "k").await {
        Err(StoreError::NotFound(_)) => Ok(()),
        other => Err(format!("untag a missing trace: expected NotFound, got {other:?}")),
    }
}

async fn delete_traces_by_ids_removes_everything(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let other = new_experiment(&*store, "other").await?;
    let mut traces: Vec<Trace> = (1..=3).map(|n| simple_trace(n, &exp, n as i64, 5, 2)).collect();
    traces.push(simple_trace(4, &other, 4, 5, 0));
    ok("write_traces", store.write_traces(traces).await)?;
    let deleted = ok(
        "delete_traces",
        store
            .delete_traces(DeleteTraces::ByIds {
                experiment_id: exp.clone(),
                // Trace 4 is in another experiment and 9 does not exist: neither counts.
                trace_ids: vec![trace_id(1), trace_id(3), trace_id(4), trace_id(9)],
            })
            .await,
    )?;
    ensure_eq!(deleted, 2);
    ensure!(ok("get_trace", store.get_trace(&trace_id(1)).await)?.is_none(), "trace 1 must be gone");
    ensure!(ok("get_trace", store.get_trace(&trace_id(4)).await)?.is_some(), "trace 4 must stay");
    ensure_eq!(matches(&*store, &exp, "").await?, ids(&[2]));
    ensure_eq!(matches(&*store, &exp, "span.name = 'child-0'").await?, ids(&[2]));
    ensure_eq!(matches(&*store, &exp, "trace.text LIKE '%question%'").await?, ids(&[2]));
    // The id is free again: a new trace with it starts from scratch.
    ok("log_spans", store.log_spans(&exp, vec![span(1, 7, Some(1), "fresh", 0, 1)]).await)?;
    let fresh = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(fresh.data.spans.len(), 1);
    ensure_eq!(fresh.info.state, TraceState::InProgress);
    Ok(())
}

async fn delete_traces_older_than_is_inclusive_and_oldest_first(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces((1..=5).map(|n| simple_trace(n, &exp, n as i64 * 10, 5, 0)).collect()).await)?;
    let older_than = |max_ms: i64, max_traces: Option<usize>| DeleteTraces::OlderThan {
        experiment_id: exp.clone(),
        max_timestamp_millis: T0_MS + max_ms,
        max_traces,
    };
    // Bound 40 covers traces 1..=4; at most 2 go, the oldest.
    ensure_eq!(ok("delete_traces", store.delete_traces(older_than(40, Some(2))).await)?, 2);
    ensure_eq!(matches(&*store, &exp, "").await?, ids(&[3, 4, 5]));
    ensure_eq!(ok("delete_traces", store.delete_traces(older_than(40, None)).await)?, 2);
    ensure_eq!(matches(&*store, &exp, "").await?, ids(&[5]));
    ensure_eq!(ok("delete_traces", store.delete_traces(older_than(0, None)).await)?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

async fn search_default_order_is_newest_first_then_request_id(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    // Traces 3 and 1 share a timestamp: request id ascending breaks the tie.
    let traces = vec![simple_trace(1, &exp, 20, 5, 0), simple_trace(2, &exp, 10, 5, 0), simple_trace(3, &exp, 20, 5, 0)];
    ok("write_traces", store.write_traces(traces).await)?;
    ensure_eq!(search_ids(&*store, &exp, "").await?, vec![trace_id(1), trace_id(3), trace_id(2)]);
    Ok(())
}

/// Five traces with distinct times, durations, states, names, tags and metadata.
async fn search_fixture(store: &dyn TraceStore) -> Result<String, String> {
    let exp = new_experiment(store, "search").await?;
    let mut traces = Vec::new();
    for n in 1..=5u128 {
        let i = n as i64;
        let mut trace = simple_trace(n, &exp, i * 100, i * 10, 1);
        trace.info.state = if n == 4 { TraceState::Error } else { TraceState::Ok };
        trace.info.client_request_id = Some(format!("req-{n}"));
        trace.info.tags.insert(keys::TRACE_NAME.into(), format!("Pipeline{n}"));
        trace.info.tags.insert("env".into(), if n % 2 == 0 { "prod".into() } else { "Dev".into() });
        if n <= 2 {
            trace.info.trace_metadata.insert(keys::SOURCE_RUN.into(), format!("run-{n}"));
        }
        if n == 5 {
            trace.info.execution_duration = None;
            trace.info.state = TraceState::InProgress;
        }
        traces.push(trace);
    }
    ok("write_traces", store.write_traces(traces).await)?;
    Ok(exp)
}

async fn search_numeric_fields(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, &format!("timestamp_ms > {}", T0_MS + 300)).await?, ids(&[4, 5]));
    ensure_eq!(matches(s, &exp, &format!("trace.timestamp >= {}", T0_MS + 300)).await?, ids(&[3, 4, 5]));
    ensure_eq!(matches(s, &exp, &format!("attributes.timestamp_ms = {}", T0_MS + 200)).await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, &format!("timestamp_ms != {}", T0_MS + 200)).await?, ids(&[1, 3, 4, 5]));
    ensure_eq!(matches(s, &exp, "execution_time_ms < 30").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "execution_time <= 30").await?, ids(&[1, 2, 3]));
    // end = timestamp + coalesce(duration, 0): trace 5 has no duration, so its end is its start.
    ensure_eq!(matches(s, &exp, &format!("end_time_ms >= {}", T0_MS + 440)).await?, ids(&[4, 5]));
    ensure_eq!(matches(s, &exp, &format!("end_time_ms = {}", T0_MS + 500)).await?, ids(&[5]));
    ensure_eq!(matches(s, &exp, &format!("end_time_ms < {}", T0_MS + 230)).await?, ids(&[1, 2]));
    ensure_eq!(
        matches(s, &exp, &format!("timestamp_ms > {} AND timestamp_ms < {}", T0_MS + 100, T0_MS + 500)).await?,
        ids(&[2, 3, 4])
    );
    Ok(())
}

async fn search_status_and_id_columns(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "status = 'ERROR'").await?, ids(&[4]));
    ensure_eq!(matches(s, &exp, "trace.status != 'OK'").await?, ids(&[4, 5]));
    ensure_eq!(matches(s, &exp, "status IN ('ERROR', 'IN_PROGRESS')").await?, ids(&[4, 5]));
    ensure_eq!(matches(s, &exp, "status NOT IN ('OK')").await?, ids(&[4, 5]));
    ensure_eq!(matches(s, &exp, &format!("request_id = '{}'", trace_id(3))).await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, &format!("attributes.request_id IN ('{}', '{}')", trace_id(1), trace_id(2))).await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "client_request_id = 'req-2'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "client_request_id LIKE 'req-%'").await?, ids(&[1, 2, 3, 4, 5]));
    Ok(())
}

async fn search_name_and_run_id(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "name = 'Pipeline3'").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "trace.name != 'Pipeline3'").await?, ids(&[1, 2, 4, 5]));
    ensure_eq!(matches(s, &exp, "name IN ('Pipeline1', 'Pipeline5')").await?, ids(&[1, 5]));
    ensure_eq!(matches(s, &exp, "name ILIKE 'pipeline%'").await?, ids(&[1, 2, 3, 4, 5]));
    ensure_eq!(matches(s, &exp, "run_id = 'run-2'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "attributes.run_id != 'run-2'").await?, ids(&[1]));
    Ok(())
}

async fn search_tags_and_metadata(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "tag.env = 'prod'").await?, ids(&[2, 4]));
    ensure_eq!(matches(s, &exp, "tags.env != 'prod'").await?, ids(&[1, 3, 5]));
    ensure_eq!(matches(s, &exp, "tag.env IS NOT NULL").await?, ids(&[1, 2, 3, 4, 5]));
    ensure_eq!(matches(s, &exp, "tag.missing IS NULL").await?, ids(&[1, 2, 3, 4, 5]));
    // A comparison needs the key: `!=` does not match traces without it.
    ensure_eq!(matches(s, &exp, "tag.missing != 'x'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "metadata.`mlflow.sourceRun` = 'run-1'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "request_metadata.\"mlflow.sourceRun\" IS NULL").await?, ids(&[3, 4, 5]));
    ensure_eq!(matches(s, &exp, "request_metadata.mlflow.sourceRun LIKE 'run-%'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "tag.env = 'prod' AND metadata.`mlflow.sourceRun` = 'run-2'").await?, ids(&[2]));
    Ok(())
}

async fn search_like_is_case_sensitive_and_ilike_is_not(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "tag.env LIKE 'dev'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "tag.env LIKE 'De_'").await?, ids(&[1, 3, 5]));
    ensure_eq!(matches(s, &exp, "tag.env ILIKE 'dev'").await?, ids(&[1, 3, 5]));
    ensure_eq!(matches(s, &exp, "tag.env ILIKE '%O%'").await?, ids(&[2, 4]));
    ensure_eq!(matches(s, &exp, "name LIKE 'pipeline%'").await?, Vec::<String>::new());
    // `=` is exact and case-sensitive too.
    ensure_eq!(matches(s, &exp, "tag.env = 'dev'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%QUESTION%'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "trace.text ILIKE '%QUESTION%'").await?, ids(&[1, 2, 3, 4, 5]));
    Ok(())
}

async fn search_rlike_is_a_regex_search(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "name RLIKE 'line[13]$'").await?, ids(&[1, 3]));
    ensure_eq!(matches(s, &exp, "tag.env RLIKE '^(?i)DEV'").await?, ids(&[1, 3, 5]));
    ensure_eq!(matches(s, &exp, "status RLIKE 'ERR'").await?, ids(&[4]));
    ensure_eq!(matches(s, &exp, "span.name RLIKE '^child-[0-9]$'").await?, ids(&[1, 2, 3, 4, 5]));
    Ok(())
}

async fn search_span_clauses_hold_on_the_same_span(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let typed = |s: Span, t: &str| with_attr(s, keys::SPAN_TYPE, &json_str(t));
    // Trace 1: one span that is both "retrieve" and RETRIEVER.
    // Trace 2: a "retrieve" span of type TOOL and another span of type RETRIEVER.
    let mut errored = typed(span(2, 3, Some(1), "lookup", 2, 3), "RETRIEVER");
    errored.status = SpanStatus::error("no docs");
    let spans = vec![
        span(1, 1, None, "root", 0, 10),
        typed(span(1, 2, Some(1), "retrieve", 1, 2), "RETRIEVER"),
        span(2, 1, None, "root", 0, 10),
        typed(span(2, 2, Some(1), "retrieve", 1, 2), "TOOL"),
        errored,
    ];
    ok("log_spans", store.log_spans(&exp, spans).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "span.name = 'retrieve' AND span.type = 'RETRIEVER'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.type = 'RETRIEVER'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "span.type = 'RETRIEVER' AND span.status = 'ERROR'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "span.name = 'retrieve' AND span.status = 'ERROR'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "span.status = 'OK'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "span.type IN ('TOOL', 'LLM')").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "span.type NOT IN ('UNKNOWN', 'RETRIEVER')").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "span.name != 'root' AND span.type = 'TOOL'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "span.name ILIKE 'RETR%'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "span.name LIKE 'RETR%'").await?, Vec::<String>::new());
    Ok(())
}

async fn search_span_attributes(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let spans = vec![
        with_attr(with_attr(span(1, 1, None, "llm", 0, 1), "model", &json_str("gpt-4")), "temperature", "0.7"),
        with_attr(with_attr(span(2, 1, None, "llm", 0, 1), "model", &json_str("gpt-4-turbo")), "temperature", "0.5"),
        with_attr(with_attr(span(3, 1, None, "llm", 0, 1), "model", &json_str("claude-3")), "streaming", "true"),
        span(4, 1, None, "plain", 0, 1),
    ];
    ok("log_spans", store.log_spans(&exp, spans).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "span.attributes.model = 'gpt-4'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.attributes.model = 'gpt'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "span.attributes.model != 'gpt-4'").await?, ids(&[2, 3]));
    ensure_eq!(matches(s, &exp, "span.attributes.model LIKE '%gpt-4%'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "span.attributes.model LIKE 'GPT%'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "span.attributes.model ILIKE 'GPT%'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "span.attributes.model RLIKE '^gpt-4$'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.attributes.temperature = '0.7'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.attributes.streaming = 'true'").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "span.attributes.nonexistent = 'gpt-4'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "span.attributes.model = 'gpt-4' AND span.name = 'llm'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.attributes.model = 'gpt-4' AND span.name = 'plain'").await?, Vec::<String>::new());
    Ok(())
}

async fn search_trace_text_and_span_content(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let spans = vec![
        span(1, 1, None, "root", 0, 10),
        with_attr(span(1, 2, Some(1), "retrieve", 1, 2), keys::SPAN_OUTPUTS, &json_str("Zebra tracing is great")),
        with_attr(span(2, 1, None, "root", 0, 10), keys::SPAN_INPUTS, &json_str("tracing with zebra")),
        span(3, 1, None, "other", 0, 10),
    ];
    ok("log_spans", store.log_spans(&exp, spans).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%Zebra tracing%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text ILIKE '%zebra%'").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%tracing%great%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%nowhere to be found%'").await?, Vec::<String>::new());
    // span.content: same span as the other span clauses.
    ensure_eq!(matches(s, &exp, "span.content LIKE '%is great%' AND span.name = 'retrieve'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.content LIKE '%is great%' AND span.name = 'root'").await?, Vec::<String>::new());
    // trace.text is trace-wide: it may match a span other than the span clauses' one.
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%is great%' AND span.name = 'root'").await?, ids(&[1]));
    // Patterns match the stored span JSON, keys included.
    ensure_eq!(matches(s, &exp, "span.content LIKE '%\"name\": \"other\"%'").await?, ids(&[3]));
    Ok(())
}

async fn search_short_patterns_still_match(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let spans = vec![
        with_attr(span(1, 1, None, "root", 0, 1), keys::SPAN_INPUTS, &json_str("xq")),
        with_attr(span(2, 1, None, "root", 0, 1), keys::SPAN_INPUTS, &json_str("zz")),
        with_attr(with_attr(span(3, 1, None, "root", 0, 1), "k", &json_str("ab")), keys::SPAN_INPUTS, &json_str("a_b")),
    ];
    ok("log_spans", store.log_spans(&exp, spans).await)?;
    let s = &*store;
    // Shorter than a trigram: no index help, same answers.
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%xq%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text ILIKE '%XQ%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "span.content LIKE '%z%'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "span.attributes.k = 'ab'").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "span.attributes.k LIKE 'a%'").await?, ids(&[3]));
    // `_` is a wildcard.
    ensure_eq!(matches(s, &exp, "span.content LIKE '%\"name\": \"r_ot\"%'").await?, ids(&[1, 2, 3]));
    Ok(())
}

async fn search_unicode(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 5, 0);
    trace.data.spans[0] = with_attr(trace.data.spans[0].clone(), keys::SPAN_OUTPUTS, &json_str("Crème brûlée — 東京タワー 🚀"));
    trace.info.tags.insert("city".into(), "Zürich".into());
    ok("write_traces", store.write_traces(vec![trace, simple_trace(2, &exp, 1, 5, 0)]).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%東京タワー%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%🚀%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text ILIKE '%CRÈME BRÛLÉE%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%CRÈME%'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "tag.city = 'Zürich'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "tag.city ILIKE 'zÜRICH'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "tag.city LIKE 'Z_rich'").await?, ids(&[1]));
    let stored = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(stored.info.tags.get("city").map(String::as_str), Some("Zürich"));
    Ok(())
}

async fn search_order_by_puts_nulls_last(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let ordered = |order: &str| {
        let store = Arc::clone(&store);
        let exp = exp.clone();
        let order = order.to_string();
        async move {
            let request = SearchTracesRequest { experiment_ids: vec![exp], order_by: vec![order.clone()], ..Default::default() };
            let page = ok(&format!("search ordered by {order}"), store.search_traces(&request).await)?;
            Ok::<Vec<String>, String>(page.traces.into_iter().map(|t| t.trace_id).collect())
        }
    };
    // Trace 5 has no duration; it stays last in both directions.
    ensure_eq!(ordered("execution_time_ms ASC").await?, vec![trace_id(1), trace_id(2), trace_id(3), trace_id(4), trace_id(5)]);
    ensure_eq!(ordered("execution_time_ms DESC").await?, vec![trace_id(4), trace_id(3), trace_id(2), trace_id(1), trace_id(5)]);
    // Only traces 1 and 2 have a run id; the rest follow in the default tie-break order.
    ensure_eq!(ordered("run_id DESC").await?, vec![trace_id(2), trace_id(1), trace_id(5), trace_id(4), trace_id(3)]);
    ensure_eq!(ordered("metadata.`mlflow.sourceRun` ASC").await?, vec![trace_id(1), trace_id(2), trace_id(5), trace_id(4), trace_id(3)]);
    Ok(())
}

async fn search_order_by_several_keys(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let request = SearchTracesRequest {
        experiment_ids: vec![exp.clone()],
        order_by: vec!["tag.env ASC".into(), "timestamp_ms ASC".into()],
        ..Default::default()
    };
    let page = ok("search", store.search_traces(&request).await)?;
    let got: Vec<String> = page.traces.into_iter().map(|t| t.trace_id).collect();
    // Binary collation: "Dev" < "prod".
    ensure_eq!(got, vec![trace_id(1), trace_id(3), trace_id(5), trace_id(2), trace_id(4)]);
    let request = SearchTracesRequest {
        experiment_ids: vec![exp],
        order_by: vec!["status DESC".into(), "name".into()],
        ..Default::default()
    };
    let page = ok("search", store.search_traces(&request).await)?;
    let got: Vec<String> = page.traces.into_iter().map(|t| t.trace_id).collect();
    ensure_eq!(got, vec![trace_id(1), trace_id(2), trace_id(3), trace_id(5), trace_id(4)]);
    Ok(())
}

async fn search_pagination(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces((1..=5).map(|n| simple_trace(n, &exp, n as i64, 1, 0)).collect()).await)?;
    let mut request = SearchTracesRequest { experiment_ids: vec![exp.clone()], max_results: Some(2), ..Default::default() };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = ok("search page", store.search_traces(&request).await)?;
        pages += 1;
        ensure!(pages <= 4, "pagination does not end");
        seen.extend(page.traces.iter().map(|t| t.trace_id.clone()));
        if page.traces.len() == 2 {
            ensure!(page.next_page_token.is_some(), "a full page carries a next token");
        }
        match page.next_page_token {
            Some(token) => request.page_token = Some(token),
            None => break,
        }
    }
    ensure_eq!(seen, vec![trace_id(5), trace_id(4), trace_id(3), trace_id(2), trace_id(1)]);
    ensure_eq!(pages, 3);
    // Five traces in pages of five: the full page has a token and the next page is empty.
    let request = SearchTracesRequest { experiment_ids: vec![exp.clone()], max_results: Some(5), ..Default::default() };
    let full = ok("search", store.search_traces(&request).await)?;
    ensure_eq!(full.traces.len(), 5);
    let token = full.next_page_token.ok_or("a full page carries a next token")?;
    ensure_eq!(token, crate::page_token::encode(5));
    let last = ok(
        "search",
        store.search_traces(&SearchTracesRequest { page_token: Some(token), ..request.clone() }).await,
    )?;
    ensure!(last.traces.is_empty() && last.next_page_token.is_none(), "the page after the last is empty, no token");
    // Default page size is 100.
    let default = ok("search", store.search_traces(&SearchTracesRequest { experiment_ids: vec![exp], ..Default::default() }).await)?;
    ensure_eq!(default.traces.len(), 5);
    ensure!(default.next_page_token.is_none(), "a partial page has no token");
    Ok(())
}

async fn search_is_scoped_to_experiments(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "a").await?;
    let b = new_experiment(&*store, "b").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &a, 0, 1, 0), simple_trace(2, &b, 1, 1, 0), simple_trace(3, "0", 2, 1, 0)]).await)?;
    ensure_eq!(matches(&*store, &a, "").await?, ids(&[1]));
    let both = SearchTracesRequest { experiment_ids: vec![a, b], ..Default::default() };
    let page = ok("search", store.search_traces(&both).await)?;
    ensure_eq!(page.traces.len(), 2);
    let all = ok("search", store.search_traces(&SearchTracesRequest::default()).await)?;
    ensure_eq!(all.traces.len(), 3);
    ensure_eq!(matches(&*store, "no-such-experiment", "").await?, Vec::<String>::new());
    Ok(())
}

async fn search_rejects_invalid_requests(store: Arc<dyn TraceStore>) -> CaseResult {
    let search = |filter: &str, order: &[&str], max: Option<usize>, token: Option<&str>| SearchTracesRequest {
        filter: Some(filter.to_string()),
        order_by: order.iter().map(|s| s.to_string()).collect(),
        max_results: max,
        page_token: token.map(str::to_string),
        ..Default::default()
    };
    for filter in ["status = ", "state = 'OK'", "status = 'OK' OR status = 'ERROR'", "timestamp_ms > 'soon'", "tag.env RLIKE '('", "trace.text = 'x'"] {
        match store.search_traces(&search(filter, &[], None, None)).await {
            Err(StoreError::InvalidFilter(e)) => ensure!(!e.message.is_empty(), "error for {filter:?} says nothing"),
            other => return Err(format!("filter {filter:?}: expected InvalidFilter, got {other:?}")),
        }
    }
    match store.search_traces(&search("", &["timestamp_ms", "timestamp DESC"], None, None)).await {
        Err(StoreError::InvalidFilter(_)) => {}
        other => return Err(format!("duplicate order_by: expected InvalidFilter, got {other:?}")),
    }
    match store.search_traces(&search("", &[], None, Some("bm90IGpzb24="))).await {
        Err(StoreError::InvalidArgument(_)) => {}
        other => return Err(format!("bad page token: expected InvalidArgument, got {other:?}")),
    }
    for max in [0, 50_001] {
        match store.search_traces(&search("", &[], Some(max), None)).await {
            Err(StoreError::InvalidArgument(_)) => {}
            other => return Err(format!("max_results {max}: expected InvalidArgument, got {other:?}")),
        }
    }
    Ok(())
}

async fn search_values_are_bound_not_spliced(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 1, 0);
    trace.info.tags.insert("quote".into(), "it's \"quoted\"; DROP TABLE traces; --".into());
    ok("write_traces", store.write_traces(vec![trace, simple_trace(2, &exp, 1, 1, 0)]).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "tag.quote = 'x'' OR ''1''=''1'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "tag.quote = \"it's \\\"quoted\\\"; DROP TABLE traces; --\"").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "tag.`it's` = 'x'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "").await?, ids(&[1, 2]));
    Ok(())
}

async fn search_feedback_and_expectation(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let feedback = |name: &str, value: serde_json::Value, valid: bool| {
        serde_json::json!({"assessment_id": format!("a-{name}"), "assessment_name": name, "feedback": {"value": value}, "valid": valid})
    };
    let mut t1 = simple_trace(1, &exp, 0, 1, 0);
    t1.info.assessments = vec![
        feedback("rating", "good".into(), true),
        feedback("score", 5.into(), true),
        serde_json::json!({"assessment_name": "expected", "expectation": {"value": "Paris"}}),
    ];
    let mut t2 = simple_trace(2, &exp, 1, 1, 0);
    t2.info.assessments = vec![feedback("rating", "bad".into(), true), feedback("score", 2.into(), false)];
    ok("write_traces", store.write_traces(vec![t1, t2, simple_trace(3, &exp, 2, 1, 0)]).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "feedback.rating = 'good'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "feedback.score = '5'").await?, ids(&[1]));
    // Overridden (invalid) assessments do not count.
    ensure_eq!(matches(s, &exp, "feedback.score = '2'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "feedback.rating IS NOT NULL").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "feedback.rating IS NULL").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "feedback.`rating` LIKE 'g%'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "expectation.expected = 'Paris'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "expectation.rating = 'good'").await?, Vec::<String>::new());
    let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(stored.assessments.len(), 3);
    Ok(())
}

async fn search_linked_prompt(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut t1 = simple_trace(1, &exp, 0, 1, 0);
    t1.info.tags.insert("mlflow.linkedPrompts".into(), r#"[{"name": "qa", "version": "2"}, {"name": "sys", "version": 1}]"#.into());
    let mut t2 = simple_trace(2, &exp, 1, 1, 0);
    t2.info.tags.insert("mlflow.linkedPrompts".into(), "not json".into());
    ok("write_traces", store.write_traces(vec![t1, t2, simple_trace(3, &exp, 2, 1, 0)]).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "prompt = 'qa/2'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "prompt = 'qa/1'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "prompt = 'sys/1'").await?, ids(&[1]));
    Ok(())
}

async fn search_after_delete_finds_nothing_of_deleted_traces(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = search_fixture(&*store).await?;
    let deleted = ok(
        "delete_traces",
        store.delete_traces(DeleteTraces::ByIds { experiment_id: exp.clone(), trace_ids: vec![trace_id(2), trace_id(4)] }).await,
    )?;
    ensure_eq!(deleted, 2);
    let s = &*store;
    ensure_eq!(matches(s, &exp, "tag.env = 'prod'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "span.name = 'child-0'").await?, ids(&[1, 3, 5]));
    ensure_eq!(matches(s, &exp, "trace.text LIKE '%question%'").await?, ids(&[1, 3, 5]));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tracking server: experiments for the UI
// ---------------------------------------------------------------------------------------------

/// Expects `result` to be the given error variant; `what` names the call.
macro_rules! ensure_err {
    ($result:expr, $variant:ident, $what:expr) => {
        match $result {
            Err(StoreError::$variant(_)) => {}
            other => return Err(format!("{}: expected {}, got {:?}", $what, stringify!($variant), other)),
        }
    };
}

async fn search_experiments_filters_by_name_and_pages(store: Arc<dyn TraceStore>) -> CaseResult {
    for name in ["Agent eval", "agent prod", "Ünïcode Agent", "other"] {
        new_experiment(&*store, name).await?;
    }
    let names = |page: &ExperimentPage| page.experiments.iter().map(|(e, _)| e.name.clone()).collect::<Vec<_>>();
    let all = ok("search_experiments", store.search_experiments(&SearchExperimentsRequest::default()).await)?;
    ensure_eq!(names(&all), vec!["Default", "Agent eval", "agent prod", "Ünïcode Agent", "other"]);
    ensure!(all.next_page_token.is_none(), "a partial page has no next token");
    let request = SearchExperimentsRequest { name_contains: Some("AGENT".into()), ..Default::default() };
    let agents = ok("search_experiments", store.search_experiments(&request).await)?;
    ensure_eq!(names(&agents), vec!["Agent eval", "agent prod", "Ünïcode Agent"]);
    let request = SearchExperimentsRequest { name_contains: Some("ünï".into()), ..Default::default() };
    ensure_eq!(names(&ok("search_experiments", store.search_experiments(&request).await)?), vec!["Ünïcode Agent"]);
    // Pages of two: the full ones carry a token, the last (partial) one does not.
    let mut seen = Vec::new();
    let mut token = None;
    for _ in 0..5 {
        let request = SearchExperimentsRequest { max_results: Some(2), page_token: token.clone(), ..Default::default() };
        let page = ok("search_experiments", store.search_experiments(&request).await)?;
        seen.extend(names(&page));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    ensure_eq!(seen, names(&all));
    ensure!(token.is_none(), "paging must end");
    let zero = SearchExperimentsRequest { max_results: Some(0), ..Default::default() };
    ensure_err!(store.search_experiments(&zero).await, InvalidArgument, "max_results 0");
    let garbage = SearchExperimentsRequest { page_token: Some("%%%".into()), ..Default::default() };
    ensure_err!(store.search_experiments(&garbage).await, InvalidArgument, "garbage page token");
    Ok(())
}

async fn count_traces_counts_each_experiments_traces(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "a").await?;
    let b = new_experiment(&*store, "b").await?;
    let traces = vec![simple_trace(1, &a, 0, 1, 1), simple_trace(2, &a, 1, 1, 0), simple_trace(3, &b, 2, 1, 0)];
    ok("write_traces", store.write_traces(traces).await)?;
    ok("log_spans", store.log_spans(&a, vec![span(4, 1, Some(9), "orphan", 0, 1)]).await)?;
    ensure_eq!(ok("count_traces", store.count_traces(&a).await)?, 3);
    ensure_eq!(ok("count_traces", store.count_traces(&b).await)?, 1);
    ensure_eq!(ok("count_traces", store.count_traces("0").await)?, 0);
    ensure_eq!(ok("count_traces", store.count_traces("424242").await)?, 0);
    ensure_eq!(ok("count_traces", store.count_traces("not-an-id").await)?, 0);
    let page = ok("search_experiments", store.search_experiments(&SearchExperimentsRequest::default()).await)?;
    let counts: Vec<(String, u64)> = page.experiments.into_iter().map(|(e, n)| (e.name, n)).collect();
    ensure_eq!(counts, vec![("Default".to_string(), 0), ("a".to_string(), 3), ("b".to_string(), 1)]);
    ok(
        "delete_traces",
        store.delete_traces(DeleteTraces::ByIds { experiment_id: a.clone(), trace_ids: vec![trace_id(1)] }).await,
    )?;
    ensure_eq!(ok("count_traces", store.count_traces(&a).await)?, 2);
    // A trace whose final info names another experiment moves there.
    ok("start_trace", store.start_trace(info(4, &b, 0, 1)).await)?;
    ensure_eq!(ok("count_traces", store.count_traces(&a).await)?, 1);
    ensure_eq!(ok("count_traces", store.count_traces(&b).await)?, 2);
    // Re-deliveries do not count twice.
    ok("write_traces", store.write_traces(vec![simple_trace(3, &b, 2, 1, 0)]).await)?;
    ok("log_spans", store.log_spans(&b, vec![span(3, 1, None, "root", 2, 3)]).await)?;
    ensure_eq!(ok("count_traces", store.count_traces(&b).await)?, 2);
    let deleted = ok(
        "delete_traces",
        store
            .delete_traces(DeleteTraces::OlderThan { experiment_id: b.clone(), max_timestamp_millis: T0_MS + 100, max_traces: None })
            .await,
    )?;
    ensure_eq!(deleted, 2);
    ensure_eq!(ok("count_traces", store.count_traces(&b).await)?, 0);
    ensure_eq!(ok("count_traces", store.count_traces(&a).await)?, 1);
    Ok(())
}

async fn rename_experiment_checks_the_new_name(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "a").await?;
    new_experiment(&*store, "taken").await?;
    let before = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("a missing")?;
    ok("rename_experiment", store.rename_experiment(&a, "renamed").await)?;
    let after = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("a missing after rename")?;
    ensure_eq!(after.name, "renamed");
    ensure!(after.last_update_time >= before.last_update_time, "last_update_time must not go back");
    ensure!(ok("get_experiment_by_name", store.get_experiment_by_name("a").await)?.is_none(), "old name must be free");
    ok("create_experiment (old name reused)", store.create_experiment("a", None).await)?;
    ensure_err!(store.rename_experiment(&a, "taken").await, AlreadyExists, "rename to a taken name");
    ensure_err!(store.rename_experiment(&a, " ").await, InvalidArgument, "rename to a blank name");
    ensure_err!(store.rename_experiment("424242", "x").await, NotFound, "rename of an unknown experiment");
    // Renaming to its own name is fine.
    ok("rename_experiment (same name)", store.rename_experiment(&a, "renamed").await)?;
    Ok(())
}

async fn delete_and_restore_experiment(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "a").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &a, 0, 1, 0)]).await)?;
    let run = ok("create_run", store.create_run(CreateRun { experiment_id: a.clone(), ..Default::default() }).await)?;
    ok("delete_experiment", store.delete_experiment(&a).await)?;
    let deleted = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("deleted experiments stay readable")?;
    ensure_eq!(deleted.lifecycle_stage, "deleted");
    let active: Vec<String> = ok("list_experiments", store.list_experiments().await)?.into_iter().map(|e| e.name).collect();
    ensure_eq!(active, vec!["Default".to_string()]);
    let request = SearchExperimentsRequest { view_type: ViewType::DeletedOnly, ..Default::default() };
    let page = ok("search_experiments", store.search_experiments(&request).await)?;
    ensure_eq!(page.experiments.iter().map(|(e, n)| (e.name.clone(), *n)).collect::<Vec<_>>(), vec![("a".to_string(), 1)]);
    let request = SearchExperimentsRequest { view_type: ViewType::All, ..Default::default() };
    ensure_eq!(ok("search_experiments", store.search_experiments(&request).await)?.experiments.len(), 2);
    let deleted_run = ok("get_run", store.get_run(&run.run_id).await)?.ok_or("run missing")?;
    ensure_eq!(deleted_run.lifecycle_stage, "deleted");
    ensure!(ok("get_trace", store.get_trace(&trace_id(1)).await)?.is_some(), "traces of a deleted experiment stay");
    ensure_err!(store.delete_experiment(&a).await, NotFound, "deleting a deleted experiment");
    ensure_err!(store.rename_experiment(&a, "b").await, InvalidArgument, "renaming a deleted experiment");
    ensure_err!(store.create_experiment("a", None).await, AlreadyExists, "a deleted experiment keeps its name");
    ensure_err!(
        store.create_run(CreateRun { experiment_id: a.clone(), ..Default::default() }).await,
        InvalidArgument,
        "creating a run in a deleted experiment"
    );

    ok("restore_experiment", store.restore_experiment(&a).await)?;
    let restored = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("restored experiment missing")?;
    ensure_eq!(restored.lifecycle_stage, "active");
    ensure_eq!(ok("get_run", store.get_run(&run.run_id).await)?.map(|r| r.lifecycle_stage), Some("active".to_string()));
    ensure_err!(store.restore_experiment(&a).await, NotFound, "restoring an active experiment");
    ensure_err!(store.delete_experiment("0").await, InvalidArgument, "deleting the Default experiment");
    ensure_err!(store.delete_experiment("424242").await, NotFound, "deleting an unknown experiment");
    ensure_err!(store.restore_experiment("424242").await, NotFound, "restoring an unknown experiment");
    Ok(())
}

async fn set_experiment_tag_sets_and_overwrites(store: Arc<dyn TraceStore>) -> CaseResult {
    let a = new_experiment(&*store, "a").await?;
    ok("set_experiment_tag", store.set_experiment_tag(&a, "owner", "alice").await)?;
    ok("set_experiment_tag", store.set_experiment_tag(&a, "mlflow.note.content", "notes").await)?;
    ok("set_experiment_tag", store.set_experiment_tag(&a, "owner", "bob").await)?;
    let experiment = ok("get_experiment", store.get_experiment(&a).await)?.ok_or("missing")?;
    ensure_eq!(experiment.tags.get("owner").map(String::as_str), Some("bob"));
    ensure_eq!(experiment.tags.get("mlflow.note.content").map(String::as_str), Some("notes"));
    ensure_eq!(experiment.tags.len(), 2);
    ensure_err!(store.set_experiment_tag("424242", "k", "v").await, NotFound, "tag on an unknown experiment");
    ensure_err!(store.set_experiment_tag(&a, "", "v").await, InvalidArgument, "empty tag key");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tracking server: runs and trace links
// ---------------------------------------------------------------------------------------------

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn runs_are_created_read_and_updated(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let experiment = ok("get_experiment", store.get_experiment(&exp).await)?.ok_or("missing")?;
    let request = CreateRun {
        experiment_id: exp.clone(),
        run_name: Some("first".into()),
        start_time: Some(T0_MS),
        user_id: Some("alice".into()),
        tags: vec![("mlflow.source.name".into(), "train.py".into())],
    };
    let run = ok("create_run", store.create_run(request).await)?;
    ensure!(is_hex(&run.run_id, 32), "run ids are 32 lowercase hex digits: {:?}", run.run_id);
    ensure_eq!(run.experiment_id, exp);
    ensure_eq!(run.run_name, "first");
    ensure_eq!(run.status, RunStatus::Running);
    ensure_eq!(run.start_time, T0_MS);
    ensure_eq!(run.end_time, None);
    ensure_eq!(run.lifecycle_stage, "active");
    ensure_eq!(run.user_id, "alice");
    ensure_eq!(run.artifact_uri, format!("{}/{}/artifacts", experiment.artifact_location, run.run_id));
    ensure_eq!(run.tags.get("mlflow.source.name").map(String::as_str), Some("train.py"));
    ensure_eq!(run.tags.get(clew_model::run::RUN_NAME_TAG).map(String::as_str), Some("first"));
    ensure_eq!(ok("get_run", store.get_run(&run.run_id).await)?, Some(run.clone()));

    let unnamed = ok("create_run", store.create_run(CreateRun { experiment_id: exp.clone(), ..Default::default() }).await)?;
    ensure!(!unnamed.run_name.is_empty(), "a run without a name gets one");
    ensure!(unnamed.run_id != run.run_id, "run ids are unique");
    ensure!(unnamed.start_time > 0, "start_time defaults to now");
    let tag_named = CreateRun {
        experiment_id: exp.clone(),
        tags: vec![(clew_model::run::RUN_NAME_TAG.into(), "from-tag".into())],
        ..Default::default()
    };
    ensure_eq!(ok("create_run", store.create_run(tag_named).await)?.run_name, "from-tag");

    let update = UpdateRun { status: Some(RunStatus::Finished), end_time: Some(T0_MS + 500), run_name: Some("final".into()) };
    let updated = ok("update_run", store.update_run(&run.run_id, update).await)?;
    ensure_eq!(updated.status, RunStatus::Finished);
    ensure_eq!(updated.end_time, Some(T0_MS + 500));
    ensure_eq!(updated.run_name, "final");
    ensure_eq!(updated.tags.get(clew_model::run::RUN_NAME_TAG).map(String::as_str), Some("final"));
    ensure_eq!(ok("get_run", store.get_run(&run.run_id).await)?, Some(updated.clone()));
    // An empty update changes nothing.
    ensure_eq!(ok("update_run", store.update_run(&run.run_id, UpdateRun::default()).await)?, updated);

    ensure!(ok("get_run", store.get_run("0123456789abcdef0123456789abcdef").await)?.is_none(), "unknown run is None");
    ensure_err!(store.update_run("nope", UpdateRun::default()).await, NotFound, "updating an unknown run");
    ensure_err!(
        store.create_run(CreateRun { experiment_id: "424242".into(), ..Default::default() }).await,
        NotFound,
        "run in an unknown experiment"
    );
    Ok(())
}

async fn linked_traces_match_the_run_id_filter(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut t1 = simple_trace(1, &exp, 0, 1, 0);
    t1.info.trace_metadata.insert(keys::SOURCE_RUN.into(), "run-a".into());
    let traces = vec![t1, simple_trace(2, &exp, 1, 1, 0), simple_trace(3, &exp, 2, 1, 0), simple_trace(4, &exp, 3, 1, 0)];
    ok("write_traces", store.write_traces(traces).await)?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "run_id = 'run-a'").await?, ids(&[1]));

    ok("link_traces_to_run", store.link_traces_to_run(&[trace_id(2), trace_id(3)], "run-a").await)?;
    // Idempotent, and a trace may be linked to several runs.
    ok("link_traces_to_run (again)", store.link_traces_to_run(&[trace_id(2)], "run-a").await)?;
    ok("link_traces_to_run (other run)", store.link_traces_to_run(&[trace_id(3)], "run-b").await)?;
    ok("link_traces_to_run (no ids)", store.link_traces_to_run(&[], "run-b").await)?;
    ensure_eq!(matches(s, &exp, "run_id = 'run-a'").await?, ids(&[1, 2, 3]));
    ensure_eq!(matches(s, &exp, "attributes.run_id = 'run-b'").await?, ids(&[3]));
    // MLflow treats `metadata.mlflow.sourceRun =` as `run_id =`.
    ensure_eq!(matches(s, &exp, "metadata.`mlflow.sourceRun` = 'run-b'").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "metadata.`mlflow.sourceRun` LIKE 'run-b'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "run_id = 'run-a' AND run_id = 'run-b'").await?, ids(&[3]));
    // Only `=` looks at links (MLflow): other operators compare the `mlflow.sourceRun` metadata.
    ensure_eq!(matches(s, &exp, "run_id != 'run-x'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "run_id LIKE 'run-%'").await?, ids(&[1]));
    // Links do not leak into other experiments' searches.
    let other = new_experiment(&*store, "other").await?;
    ensure_eq!(matches(s, &other, "run_id = 'run-a'").await?, Vec::<String>::new());

    let too_many: Vec<String> = (0..=MAX_TRACES_TO_LINK as u128).map(|n| trace_id(n + 1)).collect();
    ensure_err!(store.link_traces_to_run(&too_many, "run-a").await, InvalidArgument, "more than 100 ids");
    ensure_err!(store.link_traces_to_run(&[trace_id(4)], "").await, InvalidArgument, "empty run id");
    ensure_err!(store.link_traces_to_run(&[String::new()], "run-a").await, InvalidArgument, "empty trace id");
    // A link may come before its trace (as spans may come before the info): it matches once
    // the trace is stored.
    ok("link_traces_to_run (trace not stored yet)", store.link_traces_to_run(&[trace_id(5)], "run-c").await)?;
    ensure_eq!(matches(s, &exp, "run_id = 'run-c'").await?, Vec::<String>::new());
    ok("write_traces", store.write_traces(vec![simple_trace(5, &exp, 4, 1, 0)]).await)?;
    ensure_eq!(matches(s, &exp, "run_id = 'run-c'").await?, ids(&[5]));
    // A deleted trace takes its links with it.
    ok(
        "delete_traces",
        store.delete_traces(DeleteTraces::ByIds { experiment_id: exp.clone(), trace_ids: vec![trace_id(2)] }).await,
    )?;
    ensure_eq!(matches(s, &exp, "run_id = 'run-a'").await?, ids(&[1, 3]));
    // ... for good: the same trace id stored again is not linked any more.
    ok("write_traces", store.write_traces(vec![simple_trace(2, &exp, 1, 1, 0)]).await)?;
    ensure_eq!(matches(s, &exp, "run_id = 'run-a'").await?, ids(&[1, 3]));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tracking server: assessments
// ---------------------------------------------------------------------------------------------

fn feedback(name: &str, value: serde_json::Value) -> Assessment {
    Assessment {
        assessment_name: name.to_string(),
        source: Some(AssessmentSource { source_type: "HUMAN".into(), source_id: Some("alice".into()) }),
        value: AssessmentValue::Feedback { value: Some(value), error: None },
        ..Assessment::default()
    }
}

fn expectation(name: &str, value: serde_json::Value) -> Assessment {
    Assessment { assessment_name: name.to_string(), value: AssessmentValue::Expectation(value), ..Assessment::default() }
}

async fn create_assessment_assigns_ids_and_shows_in_trace_reads(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 1, 1)]).await)?;
    let mut input = feedback("rating", "good".into());
    input.rationale = Some("clear answer".into());
    input.metadata.insert("mlflow.assessment.sourceRunId".into(), "run-1".into());
    input.span_id = Some(SpanId::from_u64(2).to_hex());
    input.valid = false; // ignored: new assessments are valid
    let created = ok("create_assessment", store.create_assessment(&trace_id(1), input.clone()).await)?;
    ensure!(
        created.assessment_id.starts_with("a-") && is_hex(&created.assessment_id[2..], 32),
        "assessment ids are \"a-\" + 32 hex digits: {:?}",
        created.assessment_id
    );
    ensure_eq!(created.trace_id, trace_id(1));
    ensure!(created.create_time_ms.is_some(), "create_time is set");
    ensure_eq!(created.last_update_time_ms, created.create_time_ms);
    ensure!(created.valid, "a new assessment is valid");
    ensure_eq!(created.value, input.value);
    ensure_eq!(created.rationale, input.rationale);
    ensure_eq!(created.metadata, input.metadata);
    ensure_eq!(created.span_id, input.span_id);
    ensure_eq!(created.source, input.source);

    let fetched = ok("get_assessment", store.get_assessment(&trace_id(1), &created.assessment_id).await)?;
    ensure_eq!(fetched, Some(created.clone()));

    let second = ok("create_assessment", store.create_assessment(&trace_id(1), expectation("answer", "Paris".into())).await)?;
    ensure!(second.assessment_id != created.assessment_id, "ids are unique");
    // What the client set itself is kept (MLflow's client sends both times).
    let mut chosen = feedback("chosen", 1.into());
    chosen.assessment_id = "a-chosen-by-client".into();
    chosen.create_time_ms = Some(T0_MS);
    chosen.last_update_time_ms = Some(T0_MS + 1);
    let third = ok("create_assessment (client id and times)", store.create_assessment(&trace_id(1), chosen.clone()).await)?;
    ensure_eq!(third.assessment_id, "a-chosen-by-client");
    ensure_eq!((third.create_time_ms, third.last_update_time_ms), (Some(T0_MS), Some(T0_MS + 1)));
    ensure_err!(store.create_assessment(&trace_id(1), chosen).await, AlreadyExists, "an id already on the trace");
    ok("delete_assessment", store.delete_assessment(&trace_id(1), "a-chosen-by-client").await)?;

    // Every trace read carries the assessments in their dict form, in creation order.
    let expected = vec![created.to_json(), second.to_json()];
    let info = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(info.assessments, expected);
    let trace = ok("get_trace", store.get_trace(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(trace.info.assessments, expected);
    let page = ok("search_traces", store.search_traces(&SearchTracesRequest::default()).await)?;
    ensure_eq!(page.traces.first().map(|t| t.assessments.clone()), Some(expected.clone()));
    let batch = ok("batch_get_traces", store.batch_get_traces(&[trace_id(1)]).await)?;
    ensure_eq!(batch.first().map(|t| t.info.assessments.clone()), Some(expected));
    // The dict form reads back as the same assessment.
    let parsed = Assessment::from_json(&info.assessments[0]).map_err(|e| e.to_string())?;
    ensure_eq!(parsed, created);
    Ok(())
}

async fn assessment_calls_on_missing_things(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 1, 0)]).await)?;
    let t1 = trace_id(1);
    ensure_err!(store.create_assessment(&trace_id(9), feedback("x", 1.into())).await, NotFound, "create on an unknown trace");
    ensure!(ok("get_assessment", store.get_assessment(&t1, "a-missing").await)?.is_none(), "unknown assessment is None");
    ensure!(ok("get_assessment", store.get_assessment(&trace_id(9), "a-missing").await)?.is_none(), "unknown trace is None");
    ensure_err!(
        store.update_assessment(&t1, "a-missing", AssessmentUpdate::default()).await,
        NotFound,
        "update of an unknown assessment"
    );
    ok("delete_assessment (unknown, idempotent)", store.delete_assessment(&t1, "a-missing").await)?;
    ok("delete_assessment (unknown trace)", store.delete_assessment(&trace_id(9), "a-missing").await)?;
    let nameless = Assessment { value: AssessmentValue::Feedback { value: Some(1.into()), error: None }, ..Assessment::default() };
    ensure_err!(store.create_assessment(&t1, nameless).await, InvalidArgument, "assessment without a name");
    ensure_err!(
        store.create_assessment(&t1, Assessment { assessment_name: "x".into(), ..Assessment::default() }).await,
        InvalidArgument,
        "assessment without a value"
    );
    let mut wrong_trace = feedback("x", 1.into());
    wrong_trace.trace_id = trace_id(2);
    ensure_err!(store.create_assessment(&t1, wrong_trace).await, InvalidArgument, "assessment naming another trace");
    let mut bad_source = feedback("x", 1.into());
    bad_source.source = Some(AssessmentSource { source_type: "ROBOT".into(), source_id: None });
    ensure_err!(store.create_assessment(&t1, bad_source).await, InvalidArgument, "unknown source type");
    let mut bad_override = feedback("x", 1.into());
    bad_override.overrides = Some("a-missing".into());
    ensure_err!(store.create_assessment(&t1, bad_override).await, NotFound, "overriding an unknown assessment");
    let info = ok("get_trace_info", store.get_trace_info(&t1).await)?.ok_or("trace missing")?;
    ensure_eq!(info.assessments, Vec::<serde_json::Value>::new());
    Ok(())
}

async fn update_assessment_applies_the_mask_and_merges_metadata(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 1, 0)]).await)?;
    let t1 = trace_id(1);
    let mut input = feedback("rating", "good".into());
    input.rationale = Some("first look".into());
    input.metadata.insert("a".into(), "1".into());
    input.metadata.insert("b".into(), "2".into());
    let created = ok("create_assessment", store.create_assessment(&t1, input).await)?;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let mut metadata = IndexMap::new();
    metadata.insert("b".to_string(), "3".to_string());
    metadata.insert("c".to_string(), "4".to_string());
    let update = AssessmentUpdate {
        assessment_name: Some("quality".into()),
        value: Some(AssessmentValue::Feedback { value: Some("bad".into()), error: None }),
        rationale: Some(None),
        metadata: Some(metadata),
    };
    let updated = ok("update_assessment", store.update_assessment(&t1, &created.assessment_id, update).await)?;
    ensure_eq!(updated.assessment_id, created.assessment_id);
    ensure_eq!(updated.assessment_name, "quality");
    ensure_eq!(updated.value, AssessmentValue::Feedback { value: Some("bad".into()), error: None });
    ensure_eq!(updated.rationale, None);
    let merged: Vec<(&str, &str)> = updated.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ensure_eq!(merged, vec![("a", "1"), ("b", "3"), ("c", "4")]);
    ensure_eq!(updated.create_time_ms, created.create_time_ms);
    ensure!(
        updated.last_update_time_ms > created.last_update_time_ms,
        "last_update_time moves: {:?} -> {:?}",
        created.last_update_time_ms,
        updated.last_update_time_ms
    );
    ensure_eq!(updated.source, created.source);
    ensure_eq!(ok("get_assessment", store.get_assessment(&t1, &created.assessment_id).await)?, Some(updated.clone()));

    // Search follows the new name and value.
    let s = &*store;
    ensure_eq!(matches(s, &exp, "feedback.quality = 'bad'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "feedback.rating IS NOT NULL").await?, Vec::<String>::new());

    // A feedback cannot become an expectation; a rejected update changes nothing.
    let wrong_kind = AssessmentUpdate { value: Some(AssessmentValue::Expectation("x".into())), ..Default::default() };
    ensure_err!(
        store.update_assessment(&t1, &created.assessment_id, wrong_kind).await,
        InvalidArgument,
        "feedback updated with an expectation"
    );
    let blank = AssessmentUpdate { assessment_name: Some("".into()), ..Default::default() };
    ensure_err!(store.update_assessment(&t1, &created.assessment_id, blank).await, InvalidArgument, "blank name");
    ensure_eq!(ok("get_assessment", store.get_assessment(&t1, &created.assessment_id).await)?, Some(updated));

    let e = ok("create_assessment", store.create_assessment(&t1, expectation("answer", "Paris".into())).await)?;
    let change = AssessmentUpdate { value: Some(AssessmentValue::Expectation("Rome".into())), ..Default::default() };
    let e2 = ok("update_assessment (expectation)", store.update_assessment(&t1, &e.assessment_id, change).await)?;
    ensure_eq!(e2.value, AssessmentValue::Expectation("Rome".into()));
    ensure_eq!(matches(s, &exp, "expectation.answer = 'Rome'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "expectation.answer = 'Paris'").await?, Vec::<String>::new());
    Ok(())
}

async fn overriding_invalidates_the_old_assessment_until_the_new_one_is_deleted(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    ok("write_traces", store.write_traces(vec![simple_trace(1, &exp, 0, 1, 0)]).await)?;
    let t1 = trace_id(1);
    let old = ok("create_assessment", store.create_assessment(&t1, feedback("rating", "good".into())).await)?;
    let mut correction = feedback("rating", "bad".into());
    correction.overrides = Some(old.assessment_id.clone());
    let new = ok("create_assessment (override)", store.create_assessment(&t1, correction).await)?;
    ensure_eq!(new.overrides.as_deref(), Some(old.assessment_id.as_str()));
    ensure!(new.valid, "the overriding assessment is valid");
    let old_now = ok("get_assessment", store.get_assessment(&t1, &old.assessment_id).await)?.ok_or("old one gone")?;
    ensure!(!old_now.valid, "the overridden assessment becomes invalid");
    let info = ok("get_trace_info", store.get_trace_info(&t1).await)?.ok_or("trace missing")?;
    let valid: Vec<serde_json::Value> = info.assessments.iter().map(|a| a["valid"].clone()).collect();
    ensure_eq!(valid, vec![serde_json::Value::Bool(false), serde_json::Value::Bool(true)]);
    let s = &*store;
    ensure_eq!(matches(s, &exp, "feedback.rating = 'good'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "feedback.rating = 'bad'").await?, ids(&[1]));

    ok("delete_assessment", store.delete_assessment(&t1, &new.assessment_id).await)?;
    ensure!(ok("get_assessment", store.get_assessment(&t1, &new.assessment_id).await)?.is_none(), "deleted one is gone");
    let restored = ok("get_assessment", store.get_assessment(&t1, &old.assessment_id).await)?.ok_or("old one gone")?;
    ensure!(restored.valid, "deleting the override makes the overridden assessment valid again");
    ensure_eq!(matches(s, &exp, "feedback.rating = 'good'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "feedback.rating = 'bad'").await?, Vec::<String>::new());
    let info = ok("get_trace_info", store.get_trace_info(&t1).await)?.ok_or("trace missing")?;
    ensure_eq!(info.assessments, vec![restored.to_json()]);
    Ok(())
}

async fn search_sees_assessments_created_through_the_api(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let traces = vec![simple_trace(1, &exp, 0, 1, 0), simple_trace(2, &exp, 1, 1, 0), simple_trace(3, &exp, 2, 1, 0)];
    ok("write_traces", store.write_traces(traces).await)?;
    let create = |n: u128, a: Assessment| {
        let store = Arc::clone(&store);
        async move { ok("create_assessment", store.create_assessment(&trace_id(n), a).await) }
    };
    create(1, feedback("rating", "good".into())).await?;
    create(1, feedback("score", 5.into())).await?;
    create(2, feedback("rating", "bad".into())).await?;
    create(2, feedback("flags", serde_json::json!({"toxic": false}))).await?;
    create(3, expectation("answer", "Paris".into())).await?;
    let issue = Assessment {
        assessment_name: "iss-7".into(),
        value: AssessmentValue::Issue { issue_name: "hallucination".into() },
        ..Assessment::default()
    };
    create(2, issue).await?;
    let s = &*store;
    ensure_eq!(matches(s, &exp, "issue.id = 'iss-7'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "issue.id = 'iss-8'").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "feedback.`iss-7` IS NOT NULL").await?, Vec::<String>::new());
    ensure_eq!(matches(s, &exp, "feedback.rating = 'good'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "feedback.score = '5'").await?, ids(&[1]));
    ensure_eq!(matches(s, &exp, "feedback.rating IS NOT NULL").await?, ids(&[1, 2]));
    ensure_eq!(matches(s, &exp, "feedback.rating IS NULL").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "feedback.rating != 'good'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "feedback.flags LIKE '%toxic%'").await?, ids(&[2]));
    ensure_eq!(matches(s, &exp, "expectation.answer = 'Paris'").await?, ids(&[3]));
    ensure_eq!(matches(s, &exp, "feedback.answer = 'Paris'").await?, Vec::<String>::new());
    Ok(())
}

async fn assessments_logged_with_the_trace_are_addressable(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 1, 0);
    let logged = serde_json::json!({
        "assessment_id": "a-00000000000000000000000000000001",
        "assessment_name": "rating",
        "trace_id": trace_id(1),
        "source": {"source_type": "CODE", "source_id": "check.py"},
        "create_time": "2026-01-01T00:00:00.250Z",
        "last_update_time": "2026-01-01T00:00:00.250Z",
        "feedback": {"value": "good"},
        "valid": true
    });
    trace.info.assessments = vec![logged.clone()];
    ok("write_traces", store.write_traces(vec![trace]).await)?;
    let t1 = trace_id(1);
    let fetched = ok("get_assessment", store.get_assessment(&t1, "a-00000000000000000000000000000001").await)?
        .ok_or("an assessment logged inside the trace info must be found by its id")?;
    ensure_eq!(fetched.to_json(), logged);
    let added = ok("create_assessment", store.create_assessment(&t1, feedback("score", 3.into())).await)?;
    let info = ok("get_trace_info", store.get_trace_info(&t1).await)?.ok_or("trace missing")?;
    ensure_eq!(info.assessments, vec![logged.clone(), added.to_json()]);
    // The trace id a logged dict leaves out is the trace's.
    let mut bare = logged.clone();
    bare["assessment_id"] = "a-00000000000000000000000000000003".into();
    bare.as_object_mut().ok_or("dict")?.remove("trace_id");
    let mut info = info;
    info.assessments.push(bare);
    ok("start_trace", store.start_trace(info).await)?;
    let fetched_bare = ok("get_assessment", store.get_assessment(&t1, "a-00000000000000000000000000000003").await)?
        .ok_or("a logged assessment without trace_id must be found")?;
    ensure_eq!(fetched_bare.trace_id, t1);
    ok("delete_assessment", store.delete_assessment(&t1, "a-00000000000000000000000000000003").await)?;
    let change = AssessmentUpdate { rationale: Some(Some("checked".into())), ..Default::default() };
    let updated = ok("update_assessment", store.update_assessment(&t1, &fetched.assessment_id, change).await)?;
    ensure_eq!(updated.rationale.as_deref(), Some("checked"));
    ensure_eq!(updated.create_time_ms, Some(T0_MS + 250));
    ok("delete_assessment", store.delete_assessment(&t1, &fetched.assessment_id).await)?;
    let info = ok("get_trace_info", store.get_trace_info(&t1).await)?.ok_or("trace missing")?;
    ensure_eq!(info.assessments, vec![added.to_json()]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tracking server: artifacts
// ---------------------------------------------------------------------------------------------

async fn artifacts_are_stored_listed_and_deleted(store: Arc<dyn TraceStore>) -> CaseResult {
    let traces_json = br#"{"spans": []}"#.to_vec();
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    ok("put_artifact", store.put_artifact("1/traces/tr-1/artifacts/traces.json", traces_json.clone()).await)?;
    ok("put_artifact", store.put_artifact("/1/traces/tr-1/artifacts/image.png", binary.clone()).await)?;
    ok("put_artifact", store.put_artifact("1/traces/tr-2/artifacts/empty", Vec::new()).await)?;
    // Siblings whose names merely start with the prefix are not under it.
    ok("put_artifact", store.put_artifact("1/traces0", b"x".to_vec()).await)?;
    ok("put_artifact", store.put_artifact("10/a", b"y".to_vec()).await)?;

    let get = |path: &'static str| {
        let store = Arc::clone(&store);
        async move { ok(&format!("get_artifact {path}"), store.get_artifact(path).await) }
    };
    ensure_eq!(get("1/traces/tr-1/artifacts/traces.json").await?, Some(traces_json));
    ensure_eq!(get("/1/traces/tr-1/artifacts/image.png").await?, Some(binary.clone()));
    ensure_eq!(get("1/traces/tr-2/artifacts/empty").await?, Some(Vec::new()));
    ensure_eq!(get("1/traces/tr-9/artifacts/traces.json").await?, None);
    ensure_eq!(get("1/traces").await?, None);

    let list = |prefix: &'static str| {
        let store = Arc::clone(&store);
        async move {
            ok(&format!("list_artifacts {prefix:?}"), store.list_artifacts(prefix).await)
                .map(|items| items.into_iter().map(|a| (a.path, a.size)).collect::<Vec<_>>())
        }
    };
    let tr1 = vec![
        ("1/traces/tr-1/artifacts/image.png".to_string(), 70_000u64),
        ("1/traces/tr-1/artifacts/traces.json".to_string(), 13),
    ];
    ensure_eq!(list("1/traces/tr-1").await?, tr1);
    ensure_eq!(list("/1/traces/tr-1/").await?, tr1);
    ensure_eq!(list("1/traces").await?.len(), 3);
    ensure_eq!(list("1").await?.len(), 4);
    ensure_eq!(list("").await?.len(), 5);
    ensure_eq!(list("1/traces/tr-1/artifacts/traces.json").await?, Vec::<(String, u64)>::new());
    ensure_eq!(list("2").await?, Vec::<(String, u64)>::new());

    ok("put_artifact (replace)", store.put_artifact("1/traces/tr-1/artifacts/traces.json", b"{}".to_vec()).await)?;
    ensure_eq!(get("1/traces/tr-1/artifacts/traces.json").await?, Some(b"{}".to_vec()));
    ensure_eq!(list("1/traces/tr-1").await?[1].1, 2);

    ensure_eq!(ok("delete_artifact", store.delete_artifact("1/traces/tr-1/artifacts/image.png").await)?, true);
    ensure_eq!(ok("delete_artifact (again)", store.delete_artifact("1/traces/tr-1/artifacts/image.png").await)?, false);
    ensure_eq!(get("1/traces/tr-1/artifacts/image.png").await?, None);
    ensure_eq!(list("1/traces/tr-1").await?.len(), 1);

    for bad in ["", "/", "1/../secret", "1//x", "./x", "a\\b"] {
        ensure_err!(store.put_artifact(bad, b"z".to_vec()).await, InvalidArgument, format!("put_artifact {bad:?}"));
        ensure_err!(store.get_artifact(bad).await, InvalidArgument, format!("get_artifact {bad:?}"));
        ensure_err!(store.delete_artifact(bad).await, InvalidArgument, format!("delete_artifact {bad:?}"));
    }
    ensure_err!(store.list_artifacts("1/../2").await, InvalidArgument, "list_artifacts with '..'");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Big traces: skeleton first, payloads on demand
// ---------------------------------------------------------------------------------------------

async fn trace_skeleton_lists_spans_without_payloads(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 50, 3);
    trace.data.spans[1] = with_attr(trace.data.spans[1].clone(), keys::SPAN_TYPE, &json_str("LLM"));
    trace.data.spans[2].status = SpanStatus::error("boom");
    trace.data.spans[3].end_time_ns = None;
    ok("write_traces", store.write_traces(vec![trace.clone()]).await)?;

    let (info, skeleton) = ok("get_trace_skeleton", store.get_trace_skeleton(&trace_id(1)).await)?.ok_or("missing")?;
    let full = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("missing")?;
    ensure_eq!(comparable(info), comparable(full));
    let expected: Vec<SpanSkeleton> = trace
        .data
        .spans
        .iter()
        .map(|s| SpanSkeleton {
            span_id: s.span_id.to_hex(),
            parent_id: s.parent_id.map(|p| p.to_hex()),
            name: s.name.clone(),
            span_type: Some(if s.span_id == SpanId::from_u64(2) { "LLM" } else { "UNKNOWN" }.to_string()),
            status_code: if s.span_id == SpanId::from_u64(3) { "ERROR" } else { "OK" }.to_string(),
            start_time_ns: s.start_time_ns,
            end_time_ns: s.end_time_ns,
        })
        .collect();
    ensure_eq!(skeleton, expected);
    ensure!(ok("get_trace_skeleton", store.get_trace_skeleton(&trace_id(9)).await)?.is_none(), "unknown trace is None");

    // High-bit span ids survive the signed storage column.
    let high = span(2, u64::MAX - 1, None, "high", 0, 1);
    ok("log_spans", store.log_spans(&exp, vec![high.clone()]).await)?;
    let (_, skeleton) = ok("get_trace_skeleton", store.get_trace_skeleton(&trace_id(2)).await)?.ok_or("missing")?;
    ensure_eq!(skeleton.iter().map(|s| s.span_id.clone()).collect::<Vec<_>>(), vec!["fffffffffffffffe".to_string()]);
    let loaded = ok("get_spans", store.get_spans(&trace_id(2), &["fffffffffffffffe".to_string()]).await)?;
    ensure_eq!(loaded, vec![high]);
    Ok(())
}

async fn get_spans_loads_payloads_in_request_order(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let trace = simple_trace(1, &exp, 0, 50, 3);
    ok("write_traces", store.write_traces(vec![trace.clone(), simple_trace(2, &exp, 1, 5, 1)]).await)?;
    let hex = |n: u64| SpanId::from_u64(n).to_hex();
    let wanted = vec![hex(4), hex(1), hex(77), hex(2)];
    let spans = ok("get_spans", store.get_spans(&trace_id(1), &wanted).await)?;
    let expected = vec![trace.data.spans[3].clone(), trace.data.spans[0].clone(), trace.data.spans[1].clone()];
    ensure_eq!(spans, expected);
    // Spans of another trace are not returned for this one.
    let other = ok("get_spans", store.get_spans(&trace_id(2), &[hex(4)]).await)?;
    ensure_eq!(other, Vec::<Span>::new());
    ensure_eq!(ok("get_spans (unknown trace)", store.get_spans(&trace_id(9), &[hex(1)]).await)?, Vec::<Span>::new());
    ensure_eq!(ok("get_spans (no ids)", store.get_spans(&trace_id(1), &[]).await)?, Vec::<Span>::new());
    ensure_err!(store.get_spans(&trace_id(1), &["xyz".to_string()]).await, InvalidArgument, "malformed span id");
    Ok(())
}

async fn search_span_ids_in_trace_matches_decoded_content(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    let mut trace = simple_trace(1, &exp, 0, 50, 6);
    // span 1 (root): inputs {"question": "q"}
    trace.data.spans[1].name = "Weather-Lookup".into();
    trace.data.spans[2] = with_attr(
        trace.data.spans[2].clone(),
        keys::SPAN_OUTPUTS,
        &serde_json::json!({"answer": "It is sunny in Zürich", "quote": "say \"hi\"\nnow"}).to_string(),
    );
    trace.data.spans[3].status = SpanStatus::error("Connection RESET by peer");
    let mut event = clew_model::SpanEvent::new("exception");
    event.attributes.insert("exception.message".into(), serde_json::json!("disk quota exceeded"));
    event.attributes.insert("retry.count".into(), serde_json::json!(12345));
    trace.data.spans[4].events.push(event);
    // A value spelled with escapes: decoded text matches, the escape sequence does not.
    trace.data.spans[5] = with_attr(trace.data.spans[5].clone(), "note", r#""caf\u00e9 \\n tab""#);
    // Tool arguments are JSON inside a JSON string.
    trace.data.spans[6] = with_attr(trace.data.spans[6].clone(), "args", &json_str(r#"{"city":"Paris"}"#));
    let mut other = simple_trace(2, &exp, 1, 5, 1);
    other.data.spans[1].name = "weather elsewhere".into();
    ok("write_traces", store.write_traces(vec![trace.clone(), other]).await)?;

    let hex = |n: u64| SpanId::from_u64(n).to_hex();
    let find = |text: &'static str, limit: usize| {
        let store = store.clone();
        async move {
            ok(&format!("search_span_ids_in_trace {text:?}"), store.search_span_ids_in_trace(&trace_id(1), text, limit).await)?
                .ok_or_else(|| format!("{text:?}: trace 1 reported missing"))
        }
    };
    // Name, case-insensitively; only this trace's spans.
    ensure_eq!(find("WEATHER", 100).await?, vec![hex(2)]);
    // Attribute values as decoded text, keys, non-ASCII.
    ensure_eq!(find("sunny in zürich", 100).await?, vec![hex(3)]);
    ensure_eq!(find("ZÜRICH", 100).await?, vec![hex(3)]);
    ensure_eq!(find("say \"hi\"\nnow", 100).await?, vec![hex(3)]);
    ensure_eq!(find("question", 100).await?, vec![hex(1)]);
    // Status message, event name, event attribute string and number.
    ensure_eq!(find("reset by", 100).await?, vec![hex(4)]);
    ensure_eq!(find("exception", 100).await?, vec![hex(5)]);
    ensure_eq!(find("QUOTA", 100).await?, vec![hex(5)]);
    ensure_eq!(find("2345", 100).await?, vec![hex(5)]);
    // Escapes: `\u00e9` is é; the escape's own letters are not content.
    ensure_eq!(find("café", 100).await?, vec![hex(6)]);
    ensure_eq!(find("u00e9", 100).await?, Vec::<String>::new());
    // JSON inside a string: its decoded text, quotes and all.
    ensure_eq!(find("\"city\":\"paris\"", 100).await?, vec![hex(7)]);
    // Order is root first, then start time; the limit cuts.
    let all = find("child-", 100).await?;
    ensure_eq!(all, (3..=7).map(hex).collect::<Vec<_>>());
    ensure_eq!(find("child-", 2).await?, vec![hex(3), hex(4)]);
    ensure_eq!(find("no such text anywhere", 100).await?, Vec::<String>::new());
    // Unknown trace: None; empty text: InvalidArgument.
    ensure!(
        ok("search_span_ids_in_trace", store.search_span_ids_in_trace(&trace_id(9), "x", 10).await)?.is_none(),
        "unknown trace is None"
    );
    ensure_err!(store.search_span_ids_in_trace(&trace_id(1), "", 10).await, InvalidArgument, "empty search text");
    Ok(())
}

async fn start_trace_merges_assessments_by_id(store: Arc<dyn TraceStore>) -> CaseResult {
    let exp = new_experiment(&*store, "e").await?;
    // Spans first (the trace row exists), then feedback through the API, then the SDK's info
    // carrying an assessment of its own: both must survive, however often the info comes.
    ok("log_spans", store.log_spans(&exp, vec![span(1, 1, None, "root", 0, 10)]).await)?;
    let api = ok("create_assessment", store.create_assessment(&trace_id(1), feedback("rating", "good".into())).await)?;
    let sdk = serde_json::json!({
        "assessment_id": "a-00000000000000000000000000000002",
        "assessment_name": "expected",
        "expectation": {"value": "Paris"},
        "valid": true
    });
    let anonymous = serde_json::json!({"assessment_name": "note", "feedback": {"value": "n/a"}, "valid": true});
    let mut final_info = info(1, &exp, 0, 10);
    final_info.assessments = vec![sdk.clone(), anonymous.clone()];
    for _ in 0..2 {
        ok("start_trace", store.start_trace(final_info.clone()).await)?;
        let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
        ensure_eq!(stored.assessments, vec![api.to_json(), sdk.clone(), anonymous.clone()]);
    }
    // A re-sent info with a changed assessment replaces it in place.
    let mut changed = sdk.clone();
    changed["expectation"]["value"] = "Rome".into();
    final_info.assessments = vec![changed.clone()];
    ok("start_trace", store.start_trace(final_info).await)?;
    let stored = ok("get_trace_info", store.get_trace_info(&trace_id(1)).await)?.ok_or("trace missing")?;
    ensure_eq!(stored.assessments, vec![api.to_json(), changed]);
    ensure_eq!(matches(&*store, &exp, "expectation.expected = 'Rome'").await?, ids(&[1]));
    ensure_eq!(matches(&*store, &exp, "feedback.note IS NOT NULL").await?, Vec::<String>::new());
    Ok(())
}
