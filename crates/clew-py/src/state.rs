//! What the Python layer hands the core at import: the current-span `ContextVar` and the
//! constructors of the Python entity classes the core returns.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use std::collections::HashSet;
use std::sync::Mutex;

pub struct State {
    /// Bound methods of the `ContextVar` holding the current `LiveSpan` (or `None`).
    pub ctx_get: Py<PyAny>,
    pub ctx_set: Py<PyAny>,
    pub ctx_reset: Py<PyAny>,
    /// `SpanStatus(status_code, description)`.
    make_status: Py<PyAny>,
    /// `SpanEvent(name, timestamp, attributes)`.
    make_event: Py<PyAny>,
    json_loads: Py<PyAny>,
    format_exception: Py<PyAny>,
    /// `warn(message)`: the Python layer's logger.
    warn: Py<PyAny>,
}

static STATE: PyOnceLock<State> = PyOnceLock::new();

/// Called once by `clew._runtime` at import.
#[pyfunction]
pub fn _init(
    py: Python<'_>,
    context_var: &Bound<'_, PyAny>,
    make_status: Py<PyAny>,
    make_event: Py<PyAny>,
    warn: Py<PyAny>,
) -> PyResult<()> {
    let state = State {
        ctx_get: context_var.getattr("get")?.unbind(),
        ctx_set: context_var.getattr("set")?.unbind(),
        ctx_reset: context_var.getattr("reset")?.unbind(),
        make_status,
        make_event,
        json_loads: py.import("json")?.getattr("loads")?.unbind(),
        format_exception: py.import("traceback")?.getattr("format_exception")?.unbind(),
        warn,
    };
    let _ = STATE.set(py, state);
    Ok(())
}

pub fn get(py: Python<'_>) -> PyResult<&State> {
    STATE.get(py).ok_or_else(|| PyRuntimeError::new_err("clew._core used before clew was imported"))
}

pub fn json_loads(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    let state = get(py)?;
    match state.json_loads.call1(py, (text,)) {
        Ok(v) => Ok(v),
        // Attribute text that is not JSON reads as the string itself, as in MLflow.
        Err(_) => Ok(text.into_pyobject(py)?.into_any().unbind()),
    }
}

pub fn make_status(py: Python<'_>, code: &str, description: &str) -> PyResult<Py<PyAny>> {
    get(py)?.make_status.call1(py, (code, description))
}

pub fn make_event(py: Python<'_>, name: &str, timestamp_ns: i64, attributes: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    get(py)?.make_event.call1(py, (name, timestamp_ns, attributes))
}

/// (type name, message, formatted traceback) of a Python exception, as MLflow records them.
pub fn exception_parts(py: Python<'_>, exc: &Bound<'_, PyAny>, traceback: Option<Bound<'_, PyAny>>) -> (String, String, String) {
    let type_name = exc
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_string());
    let message = exc.str().map(|s| s.to_string()).unwrap_or_default();
    let stacktrace = get(py)
        .ok()
        .and_then(|state| {
            let tb = match traceback {
                Some(tb) => tb,
                None => exc.getattr("__traceback__").ok()?,
            };
            let lines = state.format_exception.call1(py, (exc.get_type(), exc, tb)).ok()?;
            let joined = "".into_pyobject(py).ok()?.call_method1("join", (lines,)).ok()?;
            Some(joined.to_string().trim().to_string())
        })
        .unwrap_or_else(|| format!("{type_name}: {message}"));
    (type_name, message, stacktrace)
}

static WARNED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static PROBLEMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many tracing problems the Python layer absorbed (every one, logged or not).
pub fn problems() -> u64 {
    PROBLEMS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Logs a warning once per `key` through the Python layer's logger (never raises) and
/// counts the problem.
pub fn warn_once(py: Python<'_>, key: &str, message: &str) {
    PROBLEMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    {
        let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
        if !warned.get_or_insert_with(HashSet::new).insert(key.to_string()) {
            return;
        }
    }
    if let Ok(state) = get(py) {
        let _ = state.warn.call1(py, (message,));
    }
}


static ROOT_HOOK: Mutex<Option<Py<PyAny>>> = Mutex::new(None);
static HAS_ROOT_HOOK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs (or with `None` removes) a function called with each new root `LiveSpan`:
/// `clew.tracing.context()` uses it to put its tags and metadata on traces started inside.
#[pyfunction]
#[pyo3(signature = (hook=None))]
pub fn set_root_hook(hook: Option<Py<PyAny>>) {
    let mut slot = ROOT_HOOK.lock().unwrap_or_else(|e| e.into_inner());
    HAS_ROOT_HOOK.store(hook.is_some(), std::sync::atomic::Ordering::Release);
    *slot = hook;
}

/// Calls the root hook, if any, with a handle of `span` (errors are logged once, never raised).
pub fn run_root_hook(py: Python<'_>, span: &clew::LiveSpan) {
    if !HAS_ROOT_HOOK.load(std::sync::atomic::Ordering::Acquire) || !span.is_recording() {
        return;
    }
    let hook = ROOT_HOOK.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|h| h.clone_ref(py));
    if let Some(hook) = hook {
        let result = Bound::new(py, crate::live_span::PyLiveSpan::new(span.clone())).and_then(|obj| hook.call1(py, (obj,)));
        if let Err(e) = result {
            warn_once(py, "root-hook", &format!("clew.tracing.context could not update a trace: {e}"));
        }
    }
}
