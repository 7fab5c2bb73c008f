//! Support for `#[clew::trace]`; not a public API.
//!
//! The macro expands to calls into this module. Values are turned into JSON text with
//! *autoref specialisation*: the expansion calls a method on `&&&Wrap(&value)` (or
//! `&&&&&&ErrWrap(&error)`), and method resolution picks the impl with the most `&`s whose
//! bounds the concrete type meets. This happens in the user's function, where the types are
//! known, so `Serialize` is used when there is one, then `Debug`, then a placeholder, and a
//! type that implements neither still compiles.

use crate::context::Context;
use crate::json_text::PythonFormatter;
use crate::span::LiveSpan;
use crate::tracer::{EndOnDrop, SpanBuilder, SpanGuard};
use serde::Serialize;
use std::any::Any;
use std::fmt::{self, Debug, Display};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// Exception type recorded when a traced async fn's future is dropped before it completes.
pub const CANCELLED_TYPE: &str = "Cancelled";
/// Exception message recorded when a traced async fn's future is dropped before it completes.
pub const CANCELLED_MESSAGE: &str = "the future was dropped before it completed";

// ---------------------------------------------------------------------------------------------
// Starting and ending spans

/// Sync functions: starts the span as the current span until the guard drops.
#[inline]
pub fn start_span(name: &'static str) -> SpanGuard {
    SpanBuilder::new(name).start()
}

/// Async functions: creates the span (parent: the current span, at first poll); it is made
/// current at each poll by [`Instrumented`].
#[inline]
pub fn start_detached(name: &'static str) -> LiveSpan {
    SpanBuilder::new(name).start_detached()
}

/// Runs a sync function's body. A panic is recorded on `span` with its message, the span is
/// ended, and the panic resumes.
///
/// Taking `impl FnOnce` makes the body closure an `FnOnce` closure, so it may return borrows of
/// what it captured by move (`&mut self.field` from a `&mut self` method).
#[inline]
pub fn call_once<R>(span: &LiveSpan, body: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            record_panic(span, payload.as_ref());
            panic::resume_unwind(payload)
        }
    }
}

/// Records a panic (exception event `panic` with the panic message, status ERROR) and ends the
/// span, so guards that see the unwinding later add nothing.
fn record_panic(span: &LiveSpan, payload: &(dyn Any + Send)) {
    if span.is_recording() {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("the code in this span panicked");
        span.record_exception_parts("panic", message, &crate::backtrace_text());
    }
    span.end();
}

/// Ends an async function's span when dropped. Dropped before [`AsyncSpanGuard::complete`]
/// means the future was cancelled (dropped before it finished): that is recorded as an
/// exception `Cancelled` with status ERROR, the way MLflow records `asyncio.CancelledError`.
pub struct AsyncSpanGuard {
    span: EndOnDrop,
    completed: bool,
}

impl AsyncSpanGuard {
    #[inline]
    pub fn new(span: LiveSpan) -> Self {
        AsyncSpanGuard { span: EndOnDrop(span), completed: false }
    }
    #[inline]
    pub fn span(&self) -> &LiveSpan {
        &self.span.0
    }
    /// The body finished (returned or returned an error); ending is no longer a cancellation.
    #[inline]
    pub fn complete(&mut self) {
        self.completed = true;
    }
}

impl Drop for AsyncSpanGuard {
    fn drop(&mut self) {
        let span = &self.span.0;
        if !self.completed && span.is_recording() && !std::thread::panicking() {
            span.record_exception_parts(CANCELLED_TYPE, CANCELLED_MESSAGE, "");
        }
        // `EndOnDrop` then ends the span (recording a panic if one is unwinding).
    }
}

/// An async function's body: `span` is current at every poll (across `.await`s and threads);
/// a panic while polling is recorded with its message and the span ended before it resumes.
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F> {
    inner: F,
    span: LiveSpan,
    context: Option<Context>,
}

impl<F: Future> Instrumented<F> {
    #[inline]
    pub fn new(inner: F, span: &LiveSpan) -> Self {
        // With tracing off nothing below can record, so skip the context switch per poll.
        // A sampled-out (no-op) span must still become current so its children are not recorded.
        let context = crate::config::is_enabled().then(|| Context::from_span(span.clone()));
        Instrumented { inner, span: span.clone(), context }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `Instrumented` has no `Drop` impl and no manual `Unpin` impl.
        let this = unsafe { self.get_unchecked_mut() };
        let _context = this.context.as_ref().map(Context::attach);
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        match panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                record_panic(&this.span, payload.as_ref());
                panic::resume_unwind(payload)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON text: Serialize, else Debug, else a placeholder

/// Writes `value` as Python-`json.dumps`-compatible JSON. A failing `Serialize` impl leaves a
/// JSON string describing the failure instead (tracing never fails the caller).
pub fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, PythonFormatter);
    if let Err(e) = value.serialize(&mut ser) {
        out.truncate(start);
        write_json(out, &format!("<unserializable value: {e}>"));
    }
}

/// A `Display` value serialised as a JSON string without an intermediate `String`.
struct CollectStr<'a, T: ?Sized>(&'a T);
impl<T: Display + ?Sized> Serialize for CollectStr<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// `Debug` as `Display`, for [`CollectStr`].
struct DebugText<'a, T: ?Sized>(&'a T);
impl<T: Debug + ?Sized> Display for DebugText<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Debug::fmt(self.0, f)
    }
}

/// The value whose JSON text the expansion asks for: `(&&&Wrap(&v)).__clew_json(out)`.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

pub trait ViaSerialize {
    fn __clew_json(&self, out: &mut Vec<u8>);
}
impl<T: Serialize + ?Sized> ViaSerialize for &&Wrap<'_, T> {
    #[inline]
    fn __clew_json(&self, out: &mut Vec<u8>) {
        write_json(out, self.0)
    }
}

pub trait ViaDebug {
    fn __clew_json(&self, out: &mut Vec<u8>);
}
impl<T: Debug + ?Sized> ViaDebug for &Wrap<'_, T> {
    fn __clew_json(&self, out: &mut Vec<u8>) {
        write_json(out, &CollectStr(&DebugText(self.0)))
    }
}

pub trait ViaPlaceholder {
    fn __clew_json(&self, out: &mut Vec<u8>);
}
impl<T: ?Sized> ViaPlaceholder for Wrap<'_, T> {
    fn __clew_json(&self, out: &mut Vec<u8>) {
        write_json(out, &format!("<unserializable: {}>", std::any::type_name::<T>()))
    }
}

/// The JSON object of a function's named arguments, written key by key.
pub struct InputsJson {
    buf: Vec<u8>,
    first: bool,
}

impl InputsJson {
    #[inline]
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.push(b'{');
        InputsJson { buf, first: true }
    }
    /// Starts the member `key` (given as JSON text, quotes included) and returns the buffer
    /// its value is written to.
    #[inline]
    pub fn key(&mut self, key_json: &str) -> &mut Vec<u8> {
        if !self.first {
            self.buf.extend_from_slice(b", ");
        }
        self.first = false;
        self.buf.extend_from_slice(key_json.as_bytes());
        self.buf.extend_from_slice(b": ");
        &mut self.buf
    }
    pub fn finish(mut self) -> String {
        self.buf.push(b'}');
        // Only serde_json output and UTF-8 keys were written.
        String::from_utf8(self.buf).unwrap_or_default()
    }
}

impl Default for InputsJson {
    fn default() -> Self {
        Self::new()
    }
}

/// A buffer for one value's JSON text (outputs).
pub struct JsonBuf(pub Vec<u8>);

impl JsonBuf {
    #[inline]
    pub fn new() -> Self {
        JsonBuf(Vec::with_capacity(64))
    }
    pub fn into_string(self) -> String {
        String::from_utf8(self.0).unwrap_or_default()
    }
}

impl Default for JsonBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// Outputs `null` (a function returning `()` or `None`).
#[inline]
pub fn set_outputs_null(span: &LiveSpan) {
    span.set_outputs_json("null".to_string());
}

/// Views a `Result` return value (the expansion only calls this when the return type is
/// syntactically `…::Result<…>`).
#[inline]
pub fn result_ref<T, E>(result: &Result<T, E>) -> Result<&T, &E> {
    result.as_ref()
}

/// Views an `Option` return value.
#[inline]
pub fn option_ref<T>(option: &Option<T>) -> Option<&T> {
    option.as_ref()
}

// ---------------------------------------------------------------------------------------------
// Errors: std::error::Error (with its source chain), else an `AsRef<dyn Error>` wrapper
// (anyhow::Error, Box<dyn Error>), else Display, else Debug, else a placeholder

/// The error the expansion records: `(&&&&&&ErrWrap(&e)).__clew_record_error(&span)`.
pub struct ErrWrap<'a, E: ?Sized>(pub &'a E);

/// The exception type recorded for `E`: its short name (`std::io::Error` → `Error`), looking
/// through `Box`/`Arc`/`Rc`; a trait object (`Box<dyn Error + Send + Sync>`), whose concrete type
/// is unknown here, is recorded as `Error`.
fn error_type_name<E: ?Sized>() -> String {
    let mut name = std::any::type_name::<E>();
    while let Some(inner) = ["alloc::boxed::Box<", "alloc::sync::Arc<", "alloc::rc::Rc<"]
        .iter()
        .find_map(|wrapper| name.strip_prefix(wrapper).and_then(|rest| rest.strip_suffix('>')))
    {
        name = inner;
    }
    if name.starts_with("dyn ") {
        return "Error".to_string();
    }
    clew_model::event::short_type_name(name)
}

fn record_error_parts(span: &LiveSpan, type_name: &str, message: &str, stacktrace: &str) {
    span.record_exception_parts(type_name, message, stacktrace);
}

pub trait ErrViaError {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: std::error::Error + ?Sized> ErrViaError for &&&&&ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let error = self.0;
        let stacktrace = clew_model::event::error_stacktrace(error);
        record_error_parts(span, &error_type_name::<E>(), &error.to_string(), &stacktrace);
    }
}

pub trait ErrViaAsRefError {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: AsRef<dyn std::error::Error + 'static> + ?Sized> ErrViaAsRefError for &&&&ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let error: &dyn std::error::Error = self.0.as_ref();
        let stacktrace = clew_model::event::error_stacktrace(error);
        record_error_parts(span, &error_type_name::<E>(), &error.to_string(), &stacktrace);
    }
}

pub trait ErrViaAsRefSendError {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: AsRef<dyn std::error::Error + Send + Sync + 'static> + ?Sized> ErrViaAsRefSendError for &&&ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let error: &(dyn std::error::Error + Send + Sync) = self.0.as_ref();
        let stacktrace = clew_model::event::error_stacktrace(error);
        record_error_parts(span, &error_type_name::<E>(), &error.to_string(), &stacktrace);
    }
}

pub trait ErrViaDisplay {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: Display + ?Sized> ErrViaDisplay for &&ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let message = self.0.to_string();
        record_error_parts(span, &error_type_name::<E>(), &message, &message);
    }
}

pub trait ErrViaDebug {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: Debug + ?Sized> ErrViaDebug for &ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let message = format!("{:?}", self.0);
        record_error_parts(span, &error_type_name::<E>(), &message, &message);
    }
}

pub trait ErrViaPlaceholder {
    fn __clew_record_error(&self, span: &LiveSpan);
}
impl<E: ?Sized> ErrViaPlaceholder for ErrWrap<'_, E> {
    fn __clew_record_error(&self, span: &LiveSpan) {
        let type_name = error_type_name::<E>();
        let message = format!("<unprintable error: {}>", std::any::type_name::<E>());
        record_error_parts(span, &type_name, &message, &message);
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the extra `&`s are the point: they select the impl
mod tests {
    use super::*;

    #[derive(Debug)]
    struct OnlyDebug {
        #[allow(dead_code)]
        x: i32,
    }
    struct Nothing;

    fn json_of<F: FnOnce(&mut Vec<u8>)>(f: F) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn serialize_is_preferred_then_debug_then_placeholder() {
        let v = vec![1.0, 2.5];
        assert_eq!(json_of(|o| (&&&Wrap(&v)).__clew_json(o)), "[1.0, 2.5]");
        let d = OnlyDebug { x: 3 };
        assert_eq!(json_of(|o| (&&&Wrap(&d)).__clew_json(o)), r#""OnlyDebug { x: 3 }""#);
        let n = Nothing;
        let text = json_of(|o| (&&&Wrap(&n)).__clew_json(o));
        assert!(text.starts_with("\"<unserializable: ") && text.contains("Nothing"), "{text}");
    }

    #[test]
    fn error_type_names_look_through_smart_pointers_and_trait_objects() {
        assert_eq!(error_type_name::<std::io::Error>(), "Error");
        assert_eq!(error_type_name::<std::num::ParseIntError>(), "ParseIntError");
        assert_eq!(error_type_name::<Box<std::num::ParseIntError>>(), "ParseIntError");
        assert_eq!(error_type_name::<std::sync::Arc<std::fmt::Error>>(), "Error");
        assert_eq!(error_type_name::<Box<dyn std::error::Error + Send + Sync>>(), "Error");
        assert_eq!(error_type_name::<Vec<u8>>(), "Vec<u8>");
    }

    #[test]
    fn inputs_object_has_python_separators() {
        let mut inputs = InputsJson::new();
        write_json(inputs.key("\"a\""), &1);
        write_json(inputs.key("\"b\""), &"x");
        assert_eq!(inputs.finish(), r#"{"a": 1, "b": "x"}"#);
        assert_eq!(InputsJson::new().finish(), "{}");
    }
}
