//! The hot paths: calling a `@trace`d function, and entering/leaving `start_span`.
//!
//! The current span lives in a Python `contextvars.ContextVar` owned by the Python layer
//! (so it follows `copy_context()` threads and asyncio tasks exactly as in MLflow). The core
//! reads it to find the parent and sets/resets it around the call; the Rust SDK's own
//! thread-local slot is not used for Python spans.

use crate::live_span::{record_exception, record_exception_with_traceback, span_type_of, PyLiveSpan};
use crate::serialize::{to_json, with_str, write_value};
use crate::state::{self, State};
use clew::{SpanBuilder, SpanType};
use clew_model::pyjson::write_string;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use std::borrow::Cow;

const POSITIONAL_ONLY: u8 = 0;
const POSITIONAL_OR_KEYWORD: u8 = 1;
const VAR_POSITIONAL: u8 = 2;
const KEYWORD_ONLY: u8 = 3;
const VAR_KEYWORD: u8 = 4;

struct Param {
    name: String,
    kind: u8,
    default: Option<Py<PyAny>>,
}

/// What `@trace` knows about one function, computed once when it is decorated.
#[pyclass(module = "clew._core", frozen)]
pub struct TracedSpec {
    func: Py<PyAny>,
    /// Interned: each call's span borrows the name instead of allocating a copy.
    name: &'static str,
    function_name: &'static str,
    span_type: SpanType,
    /// (key, JSON text), serialised at decoration time.
    attributes: Vec<(String, String)>,
    /// The signature's parameters; `None` when it could not be read (no inputs recorded).
    params: Option<Vec<Param>>,
}

#[pymethods]
impl TracedSpec {
    /// `params`: `[(name, kind, has_default, default), ...]` from `inspect.signature`
    /// (`kind` is `inspect.Parameter.kind` as an int), or `None`.
    #[new]
    #[pyo3(signature = (func, name, function_name, span_type, attributes, params))]
    fn new(
        func: Py<PyAny>,
        name: String,
        function_name: String,
        span_type: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyDict>>,
        params: Option<Vec<(String, u8, bool, Py<PyAny>)>>,
    ) -> Self {
        let attributes = attributes
            .map(|d| d.iter().map(|(k, v)| (k.to_string(), to_json(&v))).collect())
            .unwrap_or_default();
        let params = params.map(|ps| {
            ps.into_iter()
                .map(|(name, kind, has_default, default)| Param { name, kind, default: has_default.then_some(default) })
                .collect()
        });
        TracedSpec {
            func,
            name: intern(&name),
            function_name: intern(&function_name),
            span_type: span_type_of(span_type),
            attributes,
            params,
        }
    }

    #[getter]
    fn name(&self) -> &str {
        self.name
    }
}

/// A `'static` copy of a span or function name, shared by every function with that name
/// (bounded by the number of distinct names in the program).
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<Option<std::collections::HashSet<&'static str>>> = std::sync::Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = names.get_or_insert_with(Default::default);
    if let Some(existing) = set.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// The parent for a new span: the current span from the ContextVar, or a new trace.
/// Returns whether the span will be a root.
fn builder_with_parent(py: Python<'_>, state: &State, builder: SpanBuilder) -> PyResult<(SpanBuilder, bool)> {
    let current = state.ctx_get.call0(py)?;
    let current = current.bind(py);
    Ok(match current.cast::<PyLiveSpan>() {
        Ok(parent) => (builder.parent(&parent.get().span), false),
        Err(_) => (builder.root(), true),
    })
}

fn start_function_span(
    py: Python<'_>,
    state: &State,
    spec: &TracedSpec,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<clew::LiveSpan> {
    let builder = SpanBuilder::new(Cow::Borrowed(spec.name)).span_type(spec.span_type.clone());
    let (builder, is_root) = builder_with_parent(py, state, builder)?;
    let span = builder.start_detached();
    if is_root {
        state::run_root_hook(py, &span);
    }
    if span.is_recording() {
        span.set_function_name(Cow::Borrowed(spec.function_name));
        for (k, v) in &spec.attributes {
            span.set_attribute_json(k.clone(), v.as_str());
        }
        match spec.params.as_ref().and_then(|ps| bind_inputs(ps, args, kwargs)) {
            Some(inputs) => span.set_inputs_json(inputs),
            None => state::warn_once(
                py,
                &format!("inputs:{}", spec.function_name),
                &format!("Failed to capture inputs for function {}.", spec.function_name),
            ),
        }
    }
    Ok(span)
}

/// Binds the call's arguments to the signature as `inspect.Signature.bind` +
/// `apply_defaults` would, and writes them as a JSON object in parameter order, leaving out
/// `self` and a first `cls` that is a class (as MLflow does). `None` if they don't bind.
fn bind_inputs(params: &[Param], args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> Option<String> {
    let n = args.len();
    let mut slots: Vec<Option<Bound<'_, PyAny>>> = Vec::with_capacity(params.len());
    let mut next_arg = 0;
    let mut has_var_positional = false;
    let mut has_var_keyword = false;
    for p in params {
        let mut slot = None;
        match p.kind {
            POSITIONAL_ONLY | POSITIONAL_OR_KEYWORD if next_arg < n => {
                slot = args.get_item(next_arg).ok();
                next_arg += 1;
            }
            VAR_POSITIONAL => has_var_positional = true,
            VAR_KEYWORD => has_var_keyword = true,
            _ => {}
        }
        slots.push(slot);
    }
    let extra_positional_from = next_arg;
    if next_arg < n && !has_var_positional {
        return None;
    }
    let mut extra_keywords: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = Vec::new();
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key_str = key.cast::<PyString>().ok()?;
            let found = with_str(key_str, |key_text| {
                params
                    .iter()
                    .position(|p| (p.kind == POSITIONAL_OR_KEYWORD || p.kind == KEYWORD_ONLY) && p.name == key_text)
            });
            match found {
                Some(i) => {
                    if slots[i].is_some() {
                        return None; // "multiple values for argument"
                    }
                    slots[i] = Some(value);
                }
                None if has_var_keyword => extra_keywords.push((key, value)),
                None => return None,
            }
        }
    }
    let py = args.py();
    let mut out = String::with_capacity(64);
    out.push('{');
    let mut first = true;
    for (i, (p, slot)) in params.iter().zip(slots).enumerate() {
        let value: Option<Bound<'_, PyAny>> = match p.kind {
            VAR_POSITIONAL | VAR_KEYWORD => None,
            _ => match slot {
                Some(v) => Some(v),
                None => Some(p.default.as_ref()?.bind(py).clone()),
            },
        };
        if i == 0 {
            if p.name == "self" {
                continue;
            }
            if p.name == "cls" && value.as_ref().is_some_and(|v| v.is_instance_of::<PyType>()) {
                continue;
            }
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        write_string(&mut out, &p.name, false);
        out.push_str(": ");
        match p.kind {
            VAR_POSITIONAL => {
                out.push('[');
                for j in extra_positional_from..n {
                    if j > extra_positional_from {
                        out.push_str(", ");
                    }
                    if let Ok(item) = args.get_item(j) {
                        write_value(&mut out, &item, 1);
                    }
                }
                out.push(']');
            }
            VAR_KEYWORD => {
                let dict = PyDict::new(py);
                for (k, v) in &extra_keywords {
                    let _ = dict.set_item(k, v);
                }
                write_value(&mut out, dict.as_any(), 1);
            }
            _ => {
                if let Some(v) = value {
                    write_value(&mut out, &v, 1);
                }
            }
        }
    }
    out.push('}');
    Some(out)
}

fn finish_ok(obj: &PyLiveSpan, result: &Bound<'_, PyAny>) {
    let span = &obj.span;
    if span.is_recording() {
        // An explicit set_outputs() inside the function wins over the return value (MLflow).
        if !span.has_outputs() {
            span.set_outputs_json(to_json(result));
        }
        obj.end_span(None);
    }
}

fn finish_err(py: Python<'_>, obj: &PyLiveSpan, err: &PyErr) {
    let span = &obj.span;
    if span.is_recording() {
        let traceback = err.traceback(py).map(Bound::into_any);
        record_exception_with_traceback(py, span, err.value(py).as_any(), traceback);
        obj.end_span(None);
    }
}

/// Calls a traced sync function: span around the call, inputs from the bound arguments,
/// the return value as outputs, an exception recorded and re-raised unchanged.
#[pyfunction]
#[pyo3(signature = (spec, args, kwargs=None))]
pub fn call_traced<'py>(
    py: Python<'py>,
    spec: &Bound<'py, TracedSpec>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = spec.get();
    let func = spec.func.bind(py);
    let kwargs = kwargs.filter(|k| !k.is_empty());
    if !clew::is_enabled() {
        return func.call(args, kwargs);
    }
    let state = state::get(py)?;
    // Tracing must never break the call: if the span cannot be set up, just call.
    let started = start_current_span(py, state, spec, args, kwargs);
    let (span_obj, token) = match started {
        Ok(s) => s,
        Err(e) => {
            state::warn_once(py, "start-span", &format!("clew could not start a span: {e}"));
            return func.call(args, kwargs);
        }
    };
    let result = func.call(args, kwargs);
    if let Err(e) = state.ctx_reset.call1(py, (token,)) {
        state::warn_once(py, "reset-context", &format!("clew could not restore the span context: {e}"));
    }
    let span = span_obj.get();
    match &result {
        Ok(v) => finish_ok(span, v),
        Err(e) => finish_err(py, span, e),
    }
    result
}

/// For async functions: starts the function's span as the current span; returns
/// `(span, token)` for `end_function_span` / `fail_function_span`, or `None` when disabled.
#[pyfunction]
#[pyo3(signature = (spec, args, kwargs=None))]
pub fn start_function_call<'py>(
    py: Python<'py>,
    spec: &Bound<'py, TracedSpec>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Option<(Bound<'py, PyLiveSpan>, Py<PyAny>)>> {
    if !clew::is_enabled() {
        return Ok(None);
    }
    let state = state::get(py)?;
    let kwargs = kwargs.filter(|k| !k.is_empty());
    start_current_span(py, state, spec.get(), args, kwargs).map(Some)
}

/// Starts the function's span and makes it the current span; returns it with the context
/// token that restores the previous current span.
fn start_current_span<'py>(
    py: Python<'py>,
    state: &State,
    spec: &TracedSpec,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyLiveSpan>, Py<PyAny>)> {
    let span = start_function_span(py, state, spec, args, kwargs)?;
    let obj = Bound::new(py, PyLiveSpan::new(span))?;
    let token = state.ctx_set.call1(py, (&obj,))?;
    Ok((obj, token))
}

/// Ends a span started by `start_function_call` with the call's result.
#[pyfunction]
pub fn end_function_call(py: Python<'_>, span: &Bound<'_, PyLiveSpan>, token: &Bound<'_, PyAny>, result: &Bound<'_, PyAny>) {
    if let Ok(state) = state::get(py) {
        let _ = state.ctx_reset.call1(py, (token,));
    }
    finish_ok(span.get(), result);
}

/// Ends a span started by `start_function_call` with the exception the call raised.
#[pyfunction]
pub fn fail_function_call(py: Python<'_>, span: &Bound<'_, PyLiveSpan>, token: &Bound<'_, PyAny>, exception: &Bound<'_, PyAny>) {
    if let Ok(state) = state::get(py) {
        let _ = state.ctx_reset.call1(py, (token,));
    }
    record_and_end(py, span.get(), exception);
}

/// Records an exception on a span and ends it, leaving the current span alone (generators).
#[pyfunction]
pub fn fail_span(py: Python<'_>, span: &Bound<'_, PyLiveSpan>, exception: &Bound<'_, PyAny>) {
    record_and_end(py, span.get(), exception);
}

/// Records `exception` on a still-recording span and ends it (shared by the async and
/// generator failure paths).
fn record_and_end(py: Python<'_>, obj: &PyLiveSpan, exception: &Bound<'_, PyAny>) {
    if obj.span.is_recording() {
        record_exception(py, &obj.span, exception);
        obj.end_span(None);
    }
}

/// For generators: a span with the call's inputs, child of the current span, not made
/// current (the wrapper makes it current only while the generator body runs).
#[pyfunction]
#[pyo3(signature = (spec, args, kwargs=None))]
pub fn start_generator_span<'py>(
    py: Python<'py>,
    spec: &Bound<'py, TracedSpec>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyLiveSpan>> {
    let span = if clew::is_enabled() {
        let kwargs = kwargs.filter(|k| !k.is_empty());
        start_function_span(py, state::get(py)?, spec.get(), args, kwargs)?
    } else {
        clew::LiveSpan::noop()
    };
    Bound::new(py, PyLiveSpan::new(span))
}

/// Records one streamed chunk: event `mlflow.chunk.item.<index>` with `mlflow.chunk.value`
/// (the chunk's JSON text), as MLflow does.
#[pyfunction]
pub fn record_chunk(span: &Bound<'_, PyLiveSpan>, index: usize, value: &Bound<'_, PyAny>) {
    let span = &span.get().span;
    if span.is_recording() {
        let event = clew::SpanEvent::new(format!("{}{index}", clew_model::keys::CHUNK_EVENT_PREFIX))
            .with_attribute(clew_model::keys::CHUNK_VALUE, to_json(value));
        span.add_event(event);
    }
}

fn new_span(
    py: Python<'_>,
    name: &str,
    span_type: Option<&Bound<'_, PyAny>>,
    parent: Option<&Bound<'_, PyAny>>,
    inputs: Option<&Bound<'_, PyAny>>,
    attributes: Option<&Bound<'_, PyAny>>,
    start_time_ns: Option<i64>,
) -> PyResult<clew::LiveSpan> {
    let mut builder = SpanBuilder::new(Cow::Owned(name.to_string()));
    if let Some(t) = span_type {
        builder = builder.span_type(span_type_of(t));
    }
    if let Some(ts) = start_time_ns {
        builder = builder.start_time_ns(ts);
    }
    let (builder, is_root) = match parent {
        // Explicit parent (start_span_no_context): a LiveSpan, or None for a new trace.
        Some(p) => match p.cast::<PyLiveSpan>() {
            Ok(p) => (builder.parent(&p.get().span), false),
            Err(_) => (builder.root(), true),
        },
        None => builder_with_parent(py, state::get(py)?, builder)?,
    };
    let span = builder.start_detached();
    if is_root {
        state::run_root_hook(py, &span);
    }
    if span.is_recording() {
        if let Some(a) = attributes.and_then(|a| a.cast::<PyDict>().ok()) {
            for (k, v) in a.iter() {
                span.set_attribute_json(k.to_string(), to_json(&v));
            }
        }
        if let Some(i) = inputs.filter(|i| !i.is_none()) {
            span.set_inputs_json(to_json(i));
        }
    }
    Ok(span)
}

/// `start_span(...)`'s `__enter__`: a child of the current span (or a new trace) made
/// current. Returns `(span, token)`; the token is `None` when tracing is disabled.
#[pyfunction]
#[pyo3(signature = (name, span_type=None, attributes=None, inputs=None))]
pub fn enter_span<'py>(
    py: Python<'py>,
    name: &str,
    span_type: Option<&Bound<'py, PyAny>>,
    attributes: Option<&Bound<'py, PyAny>>,
    inputs: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyLiveSpan>, Option<Py<PyAny>>)> {
    if !clew::is_enabled() {
        return Ok((Bound::new(py, PyLiveSpan::new(clew::LiveSpan::noop()))?, None));
    }
    let span = new_span(py, name, span_type, None, inputs, attributes, None)?;
    let obj = Bound::new(py, PyLiveSpan::new(span))?;
    let token = state::get(py)?.ctx_set.call1(py, (&obj,))?;
    Ok((obj, Some(token)))
}

/// `start_span(...)`'s `__exit__`: records the exception if one is leaving the block, ends
/// the span (status OK unless ERROR) and restores the previous current span.
#[pyfunction]
#[pyo3(signature = (span, token, exception=None))]
pub fn exit_span(py: Python<'_>, span: &Bound<'_, PyLiveSpan>, token: Option<&Bound<'_, PyAny>>, exception: Option<&Bound<'_, PyAny>>) {
    let obj = span.get();
    if obj.span.is_recording() {
        if let Some(e) = exception.filter(|e| !e.is_none()) {
            record_exception(py, &obj.span, e);
        }
        obj.end_span(None);
    }
    if let Some(token) = token {
        if let Ok(state) = state::get(py) {
            if let Err(e) = state.ctx_reset.call1(py, (token,)) {
                state::warn_once(py, "reset-context", &format!("clew could not restore the span context: {e}"));
            }
        }
    }
}

/// The context manager `start_span(...)` returns (its `__enter__` gives the `LiveSpan`).
/// Written in Rust so entering and leaving a block costs no Python frames.
#[pyclass(module = "clew._core", name = "StartSpan")]
pub struct StartSpan {
    name: String,
    span_type: Option<Py<PyAny>>,
    attributes: Option<Py<PyAny>>,
    inputs: Option<Py<PyAny>>,
    entered: Option<(Py<PyLiveSpan>, Option<Py<PyAny>>)>,
}

#[pymethods]
impl StartSpan {
    #[new]
    #[pyo3(signature = (name, span_type=None, attributes=None, inputs=None))]
    fn new(name: String, span_type: Option<Py<PyAny>>, attributes: Option<Py<PyAny>>, inputs: Option<Py<PyAny>>) -> Self {
        StartSpan { name, span_type, attributes, inputs, entered: None }
    }

    fn __enter__(&mut self, py: Python<'_>) -> PyResult<Py<PyLiveSpan>> {
        let entered = enter_span(
            py,
            &self.name,
            self.span_type.as_ref().map(|t| t.bind(py)),
            self.attributes.as_ref().map(|a| a.bind(py)),
            self.inputs.as_ref().map(|i| i.bind(py)),
        );
        // Tracing never breaks the block: a span that cannot start is a no-op span.
        let (span, token) = match entered {
            Ok((span, token)) => (span.unbind(), token),
            Err(e) => {
                state::warn_once(py, "start-span", &format!("clew could not start span {:?}: {e}", self.name));
                (Bound::new(py, PyLiveSpan::new(clew::LiveSpan::noop()))?.unbind(), None)
            }
        };
        self.entered = Some((span.clone_ref(py), token));
        Ok(span)
    }

    #[pyo3(signature = (exc_type=None, exc=None, _traceback=None))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        let Some((span, token)) = self.entered.take() else { return false };
        let mut exception = exc.filter(|e| !e.is_none()).cloned();
        if exception.is_none() {
            exception = exc_type.filter(|t| !t.is_none()).and_then(|t| t.call0().ok());
        }
        // A generator closed inside the block is not a failure of the block.
        let exception = exception.filter(|e| !e.is_instance_of::<pyo3::exceptions::PyGeneratorExit>());
        exit_span(py, span.bind(py), token.as_ref().map(|t| t.bind(py)), exception.as_ref());
        false
    }
}

/// `start_span_no_context(...)`: a span that is not made current; `parent=None` starts a
/// new trace.
#[pyfunction]
#[pyo3(signature = (name, span_type=None, parent=None, inputs=None, attributes=None, start_time_ns=None))]
pub fn start_detached<'py>(
    py: Python<'py>,
    name: &str,
    span_type: Option<&Bound<'py, PyAny>>,
    parent: Option<&Bound<'py, PyAny>>,
    inputs: Option<&Bound<'py, PyAny>>,
    attributes: Option<&Bound<'py, PyAny>>,
    start_time_ns: Option<i64>,
) -> PyResult<Bound<'py, PyLiveSpan>> {
    let span = if clew::is_enabled() {
        let none = py.None().into_bound(py);
        new_span(py, name, span_type, Some(parent.unwrap_or(&none)), inputs, attributes, start_time_ns)?
    } else {
        clew::LiveSpan::noop()
    };
    Bound::new(py, PyLiveSpan::new(span))
}

/// A no-op `LiveSpan` (what MLflow calls `NoOpSpan`).
#[pyfunction]
pub fn noop_span(py: Python<'_>) -> PyResult<Bound<'_, PyLiveSpan>> {
    Bound::new(py, PyLiveSpan::new(clew::LiveSpan::noop()))
}

/// JSON text of any Python value, exactly as span attributes store it.
#[pyfunction]
pub fn dumps(value: &Bound<'_, PyAny>) -> String {
    to_json(value)
}
