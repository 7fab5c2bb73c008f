//! Reads and experiments: `get_trace`, `search_traces`, `set_experiment`, ... on the store of
//! the configured destination.

use crate::error::ClewError;
use crate::export::ExportTarget;
use clew_model::{Experiment, Trace};
use clew_store::{SearchTracesRequest, TraceStore};
use std::sync::Arc;

fn store_of(target: &ExportTarget) -> Result<Arc<dyn TraceStore>, ClewError> {
    target.destination.store().ok_or_else(|| ClewError::NoStore(target.destination.describe()))
}

fn current_store() -> Result<Arc<dyn TraceStore>, ClewError> {
    store_of(&crate::config::current_target())
}

fn run<F, T>(future: F) -> Result<T, ClewError>
where
    F: std::future::Future<Output = Result<T, clew_store::StoreError>> + Send + 'static,
    T: Send + 'static,
{
    crate::runtime::block_on(future).map_err(ClewError::Runtime)?.map_err(ClewError::from)
}

/// Finds an experiment by name, creating it when `create` is true and it is missing.
pub(crate) fn resolve_experiment(target: &ExportTarget, name: &str, create: bool) -> Result<Experiment, ClewError> {
    let store = store_of(target)?;
    let owned = name.to_string();
    let found = run({
        let store = store.clone();
        let name = owned.clone();
        async move { store.get_experiment_by_name(&name).await }
    })?;
    if let Some(exp) = found {
        return Ok(exp);
    }
    if !create {
        return Err(ClewError::Store(clew_store::StoreError::NotFound(format!("experiment {name:?} does not exist"))));
    }
    let created = run({
        let store = store.clone();
        let name = owned.clone();
        async move { store.create_experiment(&name, None).await }
    });
    let id = match created {
        Ok(id) => id,
        // Another process created it first: read it back.
        Err(ClewError::Store(clew_store::StoreError::AlreadyExists(_))) => {
            return resolve_experiment(target, name, false);
        }
        Err(e) => return Err(e),
    };
    run(async move { store.get_experiment(&id).await })?
        .ok_or_else(|| ClewError::Runtime(format!("experiment {owned:?} vanished after it was created")))
}

/// Makes `name` the active experiment (creating it if needed); new traces go there.
///
/// ```no_run
/// let exp = clew::set_experiment("llm-application").unwrap();
/// println!("logging to experiment {}", exp.experiment_id);
/// ```
pub fn set_experiment(name: &str) -> Result<Experiment, ClewError> {
    let exp = resolve_experiment(&crate::config::current_target(), name, true)?;
    crate::config::set_active_experiment_id(exp.experiment_id.clone());
    Ok(exp)
}

/// Makes the experiment with this id the active one.
pub fn set_experiment_by_id(experiment_id: &str) -> Result<Experiment, ClewError> {
    let store = current_store()?;
    let id = experiment_id.to_string();
    let exp = run(async move { store.get_experiment(&id).await })?.ok_or_else(|| {
        ClewError::Store(clew_store::StoreError::NotFound(format!("experiment id {experiment_id:?} does not exist")))
    })?;
    crate::config::set_active_experiment_id(exp.experiment_id.clone());
    Ok(exp)
}

/// The experiment with this name, if it exists.
pub fn get_experiment_by_name(name: &str) -> Result<Option<Experiment>, ClewError> {
    let store = current_store()?;
    let name = name.to_string();
    run(async move { store.get_experiment_by_name(&name).await })
}

/// The trace with this id (`tr-…`), with its spans. Pending exports are flushed first, so a
/// trace that just ended is found. Errors are reported and read as `None`, as in MLflow;
/// use [`try_get_trace`] to see them.
pub fn get_trace(trace_id: &str) -> Option<Trace> {
    match try_get_trace(trace_id) {
        Ok(found) => found,
        Err(e) => {
            crate::report::warn(&format!("get_trace({trace_id:?}) failed: {e}"));
            None
        }
    }
}

/// Like [`get_trace`], with errors.
pub fn try_get_trace(trace_id: &str) -> Result<Option<Trace>, ClewError> {
    crate::export::flush();
    let target = crate::config::current_target();
    if let Some(found) = target.destination.find_trace(trace_id) {
        return Ok(Some(found));
    }
    let store = store_of(&target)?;
    let id = trace_id.to_string();
    run(async move { store.get_trace(&id).await })
}

/// What to search for; every field is optional.
///
/// ```no_run
/// use clew::SearchOptions;
/// let traces = clew::search_traces(
///     SearchOptions::new().experiment_ids(["1"]).filter("trace.status = 'OK'").max_results(10),
/// ).unwrap();
/// for t in traces.iter() { println!("{} {:?}", t.info.trace_id, t.info.execution_duration); }
/// ```
#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    experiment_ids: Option<Vec<String>>,
    filter_string: Option<String>,
    max_results: Option<usize>,
    order_by: Vec<String>,
    page_token: Option<String>,
    include_spans: Option<bool>,
}

impl SearchOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// Experiments to search (default: the active experiment).
    pub fn experiment_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.experiment_ids = Some(ids.into_iter().map(Into::into).collect());
        self
    }
    /// An MLflow filter string, e.g. `"tags.env = 'dev' AND trace.status = 'OK'"`.
    pub fn filter(mut self, filter_string: impl Into<String>) -> Self {
        self.filter_string = Some(filter_string.into());
        self
    }
    /// At most this many traces (default: all, fetched 100 at a time).
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = Some(n);
        self
    }
    /// `order_by` entries, e.g. `"timestamp_ms DESC"`.
    pub fn order_by<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.order_by = keys.into_iter().map(Into::into).collect();
        self
    }
    /// Continue from a previous page.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }
    /// Whether to load spans (default true); without them traces carry only their info.
    pub fn include_spans(mut self, include: bool) -> Self {
        self.include_spans = Some(include);
        self
    }
}

/// Search results: traces in order, and a token for the next page when there may be one.
#[derive(Clone, Debug, Default)]
pub struct TraceList {
    pub traces: Vec<Trace>,
    pub next_page_token: Option<String>,
}

impl std::ops::Deref for TraceList {
    type Target = Vec<Trace>;
    fn deref(&self) -> &Vec<Trace> {
        &self.traces
    }
}

impl IntoIterator for TraceList {
    type Item = Trace;
    type IntoIter = std::vec::IntoIter<Trace>;
    fn into_iter(self) -> Self::IntoIter {
        self.traces.into_iter()
    }
}

/// Searches traces in the configured store (MLflow's filter grammar and `order_by`).
pub fn search_traces(options: SearchOptions) -> Result<TraceList, ClewError> {
    crate::export::flush();
    let store = current_store()?;
    let experiment_ids = options.experiment_ids.clone().unwrap_or_else(|| vec![crate::config::active_experiment_id()]);
    const PAGE: usize = 100;
    let mut infos = Vec::new();
    let mut token = options.page_token.clone();
    let next_page_token = loop {
        let want = options.max_results.map(|m| m - infos.len().min(m));
        if want == Some(0) {
            break token;
        }
        let page_size = want.map_or(PAGE, |w| w.min(PAGE.max(w.min(500))));
        let request = SearchTracesRequest {
            experiment_ids: experiment_ids.clone(),
            filter: options.filter_string.clone(),
            max_results: Some(page_size),
            order_by: options.order_by.clone(),
            page_token: token.clone(),
        };
        let page = run({
            let store = store.clone();
            async move { store.search_traces(&request).await }
        })?;
        infos.extend(page.traces);
        token = page.next_page_token;
        if token.is_none() {
            break None;
        }
    };
    if options.include_spans == Some(false) {
        let traces = infos.into_iter().map(|info| Trace { info, data: Default::default() }).collect();
        return Ok(TraceList { traces, next_page_token });
    }
    let ids: Vec<String> = infos.iter().map(|i| i.trace_id.clone()).collect();
    let mut full = run(async move { store.batch_get_traces(&ids).await })?;
    // Keep the search order; a trace deleted in between keeps its info without spans.
    let traces = infos
        .into_iter()
        .map(|info| match full.iter().position(|t| t.info.trace_id == info.trace_id) {
            Some(pos) => {
                let mut t = full.swap_remove(pos);
                t.info = info;
                t
            }
            None => Trace { info, data: Default::default() },
        })
        .collect();
    Ok(TraceList { traces, next_page_token })
}

/// Sets a tag on a trace: in memory if it is still running in this process, else in the store.
pub fn set_trace_tag(trace_id: &str, key: &str, value: &str) -> Result<(), ClewError> {
    if crate::fluent::with_running_trace(trace_id, |o| {
        o.tags.insert(key.to_string(), value.to_string());
    }) {
        return Ok(());
    }
    crate::export::flush();
    let store = current_store()?;
    let (id, k, v) = (trace_id.to_string(), key.to_string(), value.to_string());
    run(async move { store.set_trace_tag(&id, &k, &v).await })
}

/// Deletes a tag from a trace (in memory if still running, else in the store).
pub fn delete_trace_tag(trace_id: &str, key: &str) -> Result<(), ClewError> {
    let mut found_in_memory = None;
    if crate::fluent::with_running_trace(trace_id, |o| found_in_memory = Some(o.tags.shift_remove(key).is_some())) {
        return match found_in_memory {
            Some(true) => Ok(()),
            _ => Err(ClewError::Store(clew_store::StoreError::NotFound(format!(
                "no tag {key:?} on trace {trace_id}"
            )))),
        };
    }
    crate::export::flush();
    let store = current_store()?;
    let (id, k) = (trace_id.to_string(), key.to_string());
    run(async move { store.delete_trace_tag(&id, &k).await })
}
