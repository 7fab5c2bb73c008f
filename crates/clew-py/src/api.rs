//! Configuration, reads and trace updates: thin calls into the Rust SDK. Blocking work
//! (flushing, store reads) runs with the GIL released.

use crate::live_span::PyLiveSpan;
use clew::context::Context;
use clew::{SearchOptions, TraceUpdate};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Duration;

fn runtime_err(e: clew::ClewError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pyfunction]
pub fn is_enabled() -> bool {
    clew::is_enabled()
}

#[pyfunction]
#[pyo3(signature = (experiment_id=None))]
pub fn enable(experiment_id: Option<&str>) {
    clew::enable(experiment_id);
}

#[pyfunction]
pub fn disable() {
    clew::disable();
}

#[pyfunction]
pub fn reset(py: Python<'_>) {
    py.detach(clew::reset);
}

/// `configure(sampling_rate=, disable_propagation=)`; unset arguments keep their value.
#[pyfunction]
#[pyo3(signature = (sampling_rate=None, disable_propagation=None))]
pub fn configure(sampling_rate: Option<f64>, disable_propagation: Option<bool>) {
    let mut config = clew::TracingConfig::new();
    if let Some(r) = sampling_rate {
        config = config.sampling_rate(r);
    }
    if let Some(d) = disable_propagation {
        config = config.disable_propagation(d);
    }
    clew::configure(config);
}

/// Sends new traces to a tracking URI (`sqlite:///…`, `http(s)://…`, `memory:`).
#[pyfunction]
pub fn set_destination_uri(py: Python<'_>, uri: &str) {
    let uri = uri.to_string();
    py.detach(move || clew::set_destination(clew::export::destination_from_uri(&uri)));
}

/// What the current destination is (for messages and `get_tracking_uri`).
#[pyfunction]
pub fn describe_destination(py: Python<'_>) -> String {
    py.detach(|| clew::config::destination().describe())
}

/// Waits until every finished trace has been handed to its destination (at most
/// `timeout` seconds); returns whether the queue drained.
#[pyfunction]
#[pyo3(signature = (timeout=60.0))]
pub fn flush(py: Python<'_>, timeout: f64) -> bool {
    let timeout = Duration::from_secs_f64(timeout.max(0.0));
    py.detach(move || clew::flush_timeout(timeout))
}

/// The trace as `Trace.to_json()` text, or `None` if it is not found.
#[pyfunction]
pub fn get_trace_json(py: Python<'_>, trace_id: &str) -> PyResult<Option<String>> {
    let id = trace_id.to_string();
    let found = py.detach(move || clew::try_get_trace(&id)).map_err(runtime_err)?;
    Ok(found.map(|t| clew_model::json::trace_to_json(&t)))
}

/// Search results as `Trace.to_json()` texts and the next page token.
#[pyfunction]
#[pyo3(signature = (experiment_ids=None, filter_string=None, max_results=None, order_by=None, page_token=None, include_spans=true))]
pub fn search_traces_json(
    py: Python<'_>,
    experiment_ids: Option<Vec<String>>,
    filter_string: Option<String>,
    max_results: Option<usize>,
    order_by: Option<Vec<String>>,
    page_token: Option<String>,
    include_spans: bool,
) -> PyResult<(Vec<String>, Option<String>)> {
    let mut options = SearchOptions::new().include_spans(include_spans);
    if let Some(ids) = experiment_ids {
        options = options.experiment_ids(ids);
    }
    if let Some(f) = filter_string.filter(|f| !f.trim().is_empty()) {
        options = options.filter(f);
    }
    if let Some(m) = max_results {
        options = options.max_results(m);
    }
    if let Some(o) = order_by {
        options = options.order_by(o);
    }
    if let Some(t) = page_token {
        options = options.page_token(t);
    }
    let list = py.detach(move || clew::search_traces(options)).map_err(|e| match e {
        clew::ClewError::InvalidArgument(m) => PyValueError::new_err(m),
        clew::ClewError::Store(clew_store::StoreError::InvalidArgument(m)) => PyValueError::new_err(m),
        other => runtime_err(other),
    })?;
    let next = list.next_page_token.clone();
    Ok((list.traces.iter().map(clew_model::json::trace_to_json).collect(), next))
}

fn experiment_dict<'py>(py: Python<'py>, exp: &clew::Experiment) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("experiment_id", &exp.experiment_id)?;
    d.set_item("name", &exp.name)?;
    d.set_item("artifact_location", &exp.artifact_location)?;
    d.set_item("lifecycle_stage", &exp.lifecycle_stage)?;
    d.set_item("creation_time", exp.creation_time)?;
    d.set_item("last_update_time", exp.last_update_time)?;
    let tags = PyDict::new(py);
    for (k, v) in &exp.tags {
        tags.set_item(k, v)?;
    }
    d.set_item("tags", tags)?;
    Ok(d)
}

/// Makes the experiment `name` active (created if missing); returns it as a dict.
#[pyfunction]
pub fn set_experiment<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let name = name.to_string();
    let exp = py.detach(move || clew::set_experiment(&name)).map_err(runtime_err)?;
    experiment_dict(py, &exp)
}

#[pyfunction]
pub fn set_experiment_by_id<'py>(py: Python<'py>, experiment_id: &str) -> PyResult<Bound<'py, PyDict>> {
    let id = experiment_id.to_string();
    let exp = py.detach(move || clew::set_experiment_by_id(&id)).map_err(runtime_err)?;
    experiment_dict(py, &exp)
}

#[pyfunction]
pub fn get_experiment_by_name<'py>(py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
    let name = name.to_string();
    let exp = py.detach(move || clew::get_experiment_by_name(&name)).map_err(runtime_err)?;
    exp.map(|e| experiment_dict(py, &e)).transpose()
}

/// The experiment new traces go to.
#[pyfunction]
pub fn active_experiment_id(py: Python<'_>) -> String {
    py.detach(clew::config::active_experiment_id)
}

#[pyfunction]
#[pyo3(signature = (thread_local=false))]
pub fn get_last_active_trace_id(thread_local: bool) -> Option<String> {
    if thread_local {
        clew::get_last_active_trace_id_thread_local()
    } else {
        clew::get_last_active_trace_id()
    }
}

/// Runs `f` with `span` as the SDK's current span (for SDK calls that act on "the current
/// trace").
fn in_span<R>(span: Option<&Bound<'_, PyAny>>, f: impl FnOnce() -> R) -> R {
    match span.and_then(|s| s.cast::<PyLiveSpan>().ok()) {
        Some(s) => Context::from_span(s.get().span.clone()).run(f),
        None => f(),
    }
}

/// Sets a trace tag: in memory if the trace is still running here (`current` is a span of
/// it), else in the store.
#[pyfunction]
#[pyo3(signature = (trace_id, key, value, current=None))]
pub fn set_trace_tag(py: Python<'_>, trace_id: &str, key: &str, value: &str, current: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let running = in_span(current, || clew::get_active_trace_id()).as_deref() == Some(trace_id);
    if running {
        return in_span(current, || clew::set_trace_tag(trace_id, key, value)).map_err(runtime_err);
    }
    let (id, k, v) = (trace_id.to_string(), key.to_string(), value.to_string());
    py.detach(move || clew::set_trace_tag(&id, &k, &v)).map_err(runtime_err)
}

#[pyfunction]
#[pyo3(signature = (trace_id, key, current=None))]
pub fn delete_trace_tag(py: Python<'_>, trace_id: &str, key: &str, current: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let running = in_span(current, || clew::get_active_trace_id()).as_deref() == Some(trace_id);
    if running {
        return in_span(current, || clew::delete_trace_tag(trace_id, key)).map_err(runtime_err);
    }
    let (id, k) = (trace_id.to_string(), key.to_string());
    py.detach(move || clew::delete_trace_tag(&id, &k)).map_err(runtime_err)
}

/// Applies tags, metadata and previews to the trace of `span` (sent when it is exported).
#[pyfunction]
#[pyo3(signature = (span, tags=None, metadata=None, request_preview=None, response_preview=None, client_request_id=None, state=None))]
pub fn update_trace(
    span: &Bound<'_, PyAny>,
    tags: Option<Vec<(String, String)>>,
    metadata: Option<Vec<(String, String)>>,
    request_preview: Option<String>,
    response_preview: Option<String>,
    client_request_id: Option<String>,
    state: Option<String>,
) -> PyResult<()> {
    let mut update = TraceUpdate::new();
    for (k, v) in tags.unwrap_or_default() {
        update = update.tag(k, v);
    }
    for (k, v) in metadata.unwrap_or_default() {
        update = update.metadata(k, v);
    }
    if let Some(p) = request_preview {
        update = update.request_preview(p);
    }
    if let Some(p) = response_preview {
        update = update.response_preview(p);
    }
    if let Some(c) = client_request_id {
        update = update.client_request_id(c);
    }
    if let Some(s) = state {
        let parsed = s.parse::<clew::TraceState>().map_err(|e| PyValueError::new_err(format!("state: {e}")))?;
        update = update.state(parsed);
    }
    in_span(Some(span), || clew::update_current_trace(update));
    Ok(())
}

/// `{"traceparent": ...}` for `span` (empty when propagation is disabled or no span).
#[pyfunction]
#[pyo3(signature = (span=None))]
pub fn context_headers(span: Option<&Bound<'_, PyAny>>) -> std::collections::HashMap<String, String> {
    in_span(span, clew::propagation::get_tracing_context_headers_for_http_request)
}

/// The parent for spans of an incoming request: a stand-in `LiveSpan` for the remote caller
/// (or a no-op span if the caller did not sample the trace). Raises ValueError for a
/// malformed `traceparent`.
#[pyfunction]
pub fn span_from_headers<'py>(py: Python<'py>, headers: Vec<(String, String)>) -> PyResult<Bound<'py, PyLiveSpan>> {
    let guard = clew::propagation::set_tracing_context_from_http_request_headers(headers)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let span = clew::get_current_active_span().unwrap_or_else(clew::LiveSpan::noop);
    drop(guard);
    Bound::new(py, PyLiveSpan::new(span))
}

/// Export counters (exported, dropped, failed, queued, ...).
#[pyfunction]
pub fn export_stats<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let s = clew::export::stats().snapshot();
    let d = PyDict::new(py);
    d.set_item("traces_exported", s.traces_exported)?;
    d.set_item("spans_exported", s.spans_exported)?;
    d.set_item("traces_dropped_queue_full", s.traces_dropped_queue_full)?;
    d.set_item("traces_failed", s.traces_failed)?;
    d.set_item("late_spans_dropped", s.late_spans_dropped)?;
    d.set_item("queued_traces", s.queued_traces)?;
    d.set_item("queued_bytes", s.queued_bytes)?;
    d.set_item("export_retries", s.export_retries)?;
    d.set_item("traces_dropped_after_retries", s.traces_dropped_after_retries)?;
    // Problems the Python layer absorbed instead of raising (arguments that did not bind,
    // spans that could not start, ...); each kind is also logged once on logger "clew".
    d.set_item("python_tracing_problems", crate::state::problems())?;
    Ok(d)
}

/// `Trace.to_json()` text normalised through the Rust model (validates a trace dict that
/// came from elsewhere, e.g. `mlflow`).
#[pyfunction]
pub fn normalize_trace_json(text: &str) -> PyResult<String> {
    let trace = clew_model::json::trace_from_json(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(clew_model::json::trace_to_json(&trace))
}
