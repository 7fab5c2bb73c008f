//! `clew.entities.LiveSpan`: the Python handle of a running span (a `clew::LiveSpan`).

use crate::serialize::to_json;
use crate::state;
use clew::{SpanEvent, SpanStatus, SpanStatusCode, SpanType};
use clew_model::keys;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// A span while it runs, as returned by `start_span`, `start_span_no_context` and
/// `get_current_active_span`. Values are serialised to JSON text when set, as MLflow does.
/// A span that is not recorded (tracing disabled, sampled out) accepts every call and
/// records nothing; its `trace_id` is `MLFLOW_NO_OP_SPAN_TRACE_ID`.
#[pyclass(name = "LiveSpan", module = "clew.entities", frozen, weakref)]
pub struct PyLiveSpan {
    pub span: clew::LiveSpan,
    /// Status and end time as the span ended: once ended, the span's data belongs to the
    /// exporter, and these keep `span.status` / `span.end_time_ns` readable afterwards.
    ended: std::sync::OnceLock<(SpanStatus, i64)>,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl PyLiveSpan {
    pub fn new(span: clew::LiveSpan) -> Self {
        PyLiveSpan { span, ended: std::sync::OnceLock::new() }
    }

    /// Ends the span (status OK unless ERROR), remembering its final status and end time.
    /// Ending twice keeps the first end.
    pub fn end_span(&self, end_time_ns: Option<i64>) {
        if !self.span.is_recording() || self.span.end_time_ns().is_some() {
            return;
        }
        let end = end_time_ns.unwrap_or_else(now_ns);
        let mut status = self.span.status().unwrap_or_else(SpanStatus::unset);
        if status.status_code != SpanStatusCode::Error {
            status = SpanStatus::ok();
        }
        let _ = self.ended.set((status, end));
        self.span.end_at(end);
    }
}

/// The text of a status code given as `SpanStatusCode`, a str, or anything with `.value`.
fn status_code_of(obj: &Bound<'_, PyAny>) -> SpanStatusCode {
    if let Ok(s) = obj.cast::<PyString>() {
        return SpanStatusCode::parse_lenient(&s.to_string_lossy());
    }
    if let Ok(v) = obj.getattr("value") {
        if let Ok(s) = v.cast::<PyString>() {
            return SpanStatusCode::parse_lenient(&s.to_string_lossy());
        }
    }
    SpanStatusCode::parse_lenient(&obj.str().map(|s| s.to_string()).unwrap_or_default())
}

/// A `SpanStatus`, `SpanStatusCode` or str as a Rust status.
pub fn status_of(obj: &Bound<'_, PyAny>) -> SpanStatus {
    if !obj.is_instance_of::<PyString>() {
        if let Ok(code) = obj.getattr("status_code") {
            let description = obj
                .getattr("description")
                .ok()
                .filter(|d| !d.is_none())
                .and_then(|d| d.str().ok().map(|s| s.to_string()))
                .unwrap_or_default();
            return SpanStatus::new(status_code_of(&code), description);
        }
    }
    SpanStatus::from(status_code_of(obj))
}

/// A Python `SpanEvent` (name, timestamp in ns, attributes) as a Rust event.
pub fn event_of(obj: &Bound<'_, PyAny>) -> PyResult<SpanEvent> {
    let name: String = obj.getattr("name")?.str()?.to_string();
    let timestamp = obj.getattr("timestamp").ok().filter(|t| !t.is_none()).and_then(|t| t.extract::<i64>().ok());
    let mut event = match timestamp {
        Some(ts) => SpanEvent::at(name, ts),
        None => SpanEvent::new(name),
    };
    if let Ok(attributes) = obj.getattr("attributes") {
        if let Ok(dict) = attributes.cast::<PyDict>() {
            for (k, v) in dict.iter() {
                let key = k.str()?.to_string();
                let value = serde_json::from_str::<serde_json::Value>(&to_json(&v))
                    .unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
                event.attributes.insert(key, value);
            }
        }
    }
    Ok(event)
}

/// Records a Python exception on `span`: an `exception` event (type, message, formatted
/// traceback) and status ERROR `"Type: message"`.
pub fn record_exception(py: Python<'_>, span: &clew::LiveSpan, exc: &Bound<'_, PyAny>) {
    record_exception_with_traceback(py, span, exc, None)
}

/// Like [`record_exception`], with the traceback given separately (a `PyErr` carries it
/// apart from the exception object until it is raised again).
pub fn record_exception_with_traceback(
    py: Python<'_>,
    span: &clew::LiveSpan,
    exc: &Bound<'_, PyAny>,
    traceback: Option<Bound<'_, PyAny>>,
) {
    if !span.is_recording() {
        return;
    }
    let (type_name, message, stacktrace) = state::exception_parts(py, exc, traceback);
    span.record_exception_parts(&type_name, &message, &stacktrace);
}

fn loads_opt(py: Python<'_>, text: Option<String>) -> PyResult<Py<PyAny>> {
    match text {
        Some(t) => state::json_loads(py, &t),
        None => Ok(py.None()),
    }
}

#[pymethods]
impl PyLiveSpan {
    /// MLflow's trace id (`tr-…`).
    #[getter]
    fn trace_id(&self) -> String {
        self.span.trace_id()
    }
    /// Same as `trace_id` (MLflow 2's name).
    #[getter]
    fn request_id(&self) -> String {
        self.span.trace_id()
    }
    /// The 16-hex span id (`None` for a span that is not recorded).
    #[getter]
    fn span_id(&self) -> Option<String> {
        self.span.span_id()
    }
    #[getter]
    fn parent_id(&self) -> Option<String> {
        self.span.parent_id()
    }
    #[getter]
    fn name(&self) -> Option<String> {
        self.span.name()
    }
    #[getter]
    fn span_type(&self) -> Option<String> {
        self.span.span_type().map(|t| t.as_str().to_string())
    }
    #[getter]
    fn start_time_ns(&self) -> Option<i64> {
        self.span.start_time_ns()
    }
    #[getter]
    fn end_time_ns(&self) -> Option<i64> {
        self.ended.get().map(|e| e.1).or_else(|| self.span.end_time_ns())
    }
    /// Whether this span is recorded (false when tracing is disabled or it was sampled out).
    #[getter]
    fn is_recording(&self) -> bool {
        self.span.is_recording()
    }
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let status = match self.ended.get() {
            Some((status, _)) => status.clone(),
            None => self.span.status().unwrap_or_else(SpanStatus::unset),
        };
        state::make_status(py, status.status_code.as_str(), &status.description)
    }
    #[getter]
    fn inputs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        loads_opt(py, self.span.inputs_json())
    }
    #[getter]
    fn outputs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        loads_opt(py, self.span.outputs_json())
    }
    /// All attributes, decoded, with MLflow's reserved keys (`mlflow.spanType`,
    /// `mlflow.spanInputs`, ...) included as MLflow's LiveSpan reports them.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        if !self.span.is_recording() {
            return Ok(dict);
        }
        dict.set_item(keys::TRACE_REQUEST_ID, self.span.trace_id())?;
        if let Some(t) = self.span.span_type() {
            dict.set_item(keys::SPAN_TYPE, t.as_str())?;
        }
        if let Some(f) = self.span.function_name() {
            dict.set_item(keys::SPAN_FUNCTION_NAME, f)?;
        }
        if let Some(i) = self.span.inputs_json() {
            dict.set_item(keys::SPAN_INPUTS, state::json_loads(py, &i)?)?;
        }
        if let Some(o) = self.span.outputs_json() {
            dict.set_item(keys::SPAN_OUTPUTS, state::json_loads(py, &o)?)?;
        }
        for (k, v) in self.span.attributes_json() {
            dict.set_item(k, state::json_loads(py, &v)?)?;
        }
        Ok(dict)
    }
    /// One attribute, decoded (`None` if missing).
    fn get_attribute(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        let attrs = self.attributes(py)?;
        Ok(attrs.get_item(key)?.map(Bound::unbind).unwrap_or_else(|| py.None()))
    }
    #[getter]
    fn events(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.span
            .events()
            .into_iter()
            .map(|e| {
                let attrs = PyDict::new(py);
                for (k, v) in &e.attributes {
                    attrs.set_item(k, state::json_loads(py, &v.to_string())?)?;
                }
                state::make_event(py, &e.name, e.timestamp_ns, attrs.into_any())
            })
            .collect()
    }

    /// Sets the inputs (any Python value; serialised as MLflow does).
    fn set_inputs(&self, inputs: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            self.span.set_inputs_json(to_json(inputs));
        }
    }
    /// Sets the outputs. For RETRIEVER spans pass a list of `Document`s.
    fn set_outputs(&self, outputs: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            self.span.set_outputs_json(to_json(outputs));
        }
    }
    fn set_attribute(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            let Ok(key) = key.str() else { return };
            self.span.set_attribute_json(key.to_string_lossy().into_owned(), to_json(value));
        }
    }
    /// Sets several attributes (a dict); existing keys are overwritten.
    fn set_attributes(&self, attributes: &Bound<'_, PyAny>) {
        if !self.span.is_recording() {
            return;
        }
        match attributes.cast::<PyDict>() {
            Ok(dict) => {
                for (k, v) in dict.iter() {
                    self.set_attribute(&k, &v);
                }
            }
            Err(_) => state::warn_once(
                attributes.py(),
                "set_attributes",
                "LiveSpan.set_attributes expects a dict; the value was ignored",
            ),
        }
    }
    fn set_span_type(&self, span_type: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            self.span.set_span_type(span_type_of(span_type));
        }
    }
    /// Sets the status: a `SpanStatus`, a `SpanStatusCode`, or `"OK"` / `"ERROR"` / `"UNSET"`.
    fn set_status(&self, status: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            self.span.set_status(status_of(status));
        }
    }
    /// Adds a `SpanEvent`.
    fn add_event(&self, event: &Bound<'_, PyAny>) {
        if !self.span.is_recording() {
            return;
        }
        match event_of(event) {
            Ok(e) => self.span.add_event(e),
            Err(e) => state::warn_once(event.py(), "add_event", &format!("LiveSpan.add_event: not a SpanEvent ({e})")),
        }
    }
    /// Records an exception (an `exception` event and status ERROR).
    fn record_exception(&self, py: Python<'_>, exception: &Bound<'_, PyAny>) {
        if exception.is_instance_of::<PyString>() {
            let message = exception.to_string();
            self.span.record_exception_parts("Exception", &message, "");
        } else {
            record_exception(py, &self.span, exception);
        }
    }
    /// Sets `mlflow.chat.tools` (a list of tool definitions).
    fn set_chat_tools(&self, tools: &Bound<'_, PyAny>) {
        if self.span.is_recording() {
            self.span.set_attribute_json(keys::CHAT_TOOLS, to_json(tools));
        }
    }
    /// Ends the span, optionally setting outputs, attributes and status first.
    #[pyo3(signature = (outputs=None, attributes=None, status=None, end_time_ns=None))]
    fn end(
        &self,
        outputs: Option<&Bound<'_, PyAny>>,
        attributes: Option<&Bound<'_, PyAny>>,
        status: Option<&Bound<'_, PyAny>>,
        end_time_ns: Option<i64>,
    ) {
        if !self.span.is_recording() {
            return;
        }
        if let Some(o) = outputs.filter(|o| !o.is_none()) {
            self.set_outputs(o);
        }
        if let Some(a) = attributes.filter(|a| !a.is_none()) {
            self.set_attributes(a);
        }
        if let Some(s) = status.filter(|s| !s.is_none()) {
            self.set_status(s);
        }
        self.end_span(end_time_ns);
    }

    fn __repr__(&self) -> String {
        match (self.span.name(), self.span.span_id()) {
            (Some(name), Some(id)) => {
                format!("LiveSpan(name={name:?}, trace_id={:?}, span_id={id:?})", self.span.trace_id())
            }
            _ => "LiveSpan(no-op)".to_string(),
        }
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyLiveSpan>() {
            Ok(o) => {
                let o = o.get();
                match (&self.span.span_id(), &o.span.span_id()) {
                    (Some(a), Some(b)) => a == b && self.span.trace_id() == o.span.trace_id(),
                    _ => std::ptr::eq(self, o),
                }
            }
            Err(_) => false,
        }
    }
    fn __hash__(&self) -> u64 {
        let id = self.span.span_id().unwrap_or_default();
        let mut h: u64 = 1469598103934665603;
        for b in id.bytes() {
            h = (h ^ b as u64).wrapping_mul(1099511628211);
        }
        h
    }
}

/// A span type from a `SpanType` constant, a str, or anything whose `str()` names one.
pub fn span_type_of(obj: &Bound<'_, PyAny>) -> SpanType {
    if obj.is_none() {
        return SpanType::Unknown;
    }
    let text = match obj.cast::<PyString>() {
        Ok(s) => s.to_string_lossy().into_owned(),
        Err(_) => match obj.getattr("value") {
            Ok(v) => v.str().map(|s| s.to_string()).unwrap_or_default(),
            Err(_) => obj.str().map(|s| s.to_string()).unwrap_or_default(),
        },
    };
    SpanType::from(text)
}
