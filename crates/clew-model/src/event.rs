//! Span events. Their attribute values are OTel primitives, kept typed (not JSON text).

use crate::keys;
use indexmap::IndexMap;
use serde_json::Value;

/// Something that happened at a point in a span's life.
///
/// ```
/// use clew_model::SpanEvent;
/// let e = SpanEvent::new("validation_completed").with_attribute("records_validated", 1000);
/// assert_eq!(e.attributes["records_validated"], 1000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    /// Nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    pub attributes: IndexMap<String, Value>,
}

impl SpanEvent {
    /// An event stamped with the current time.
    pub fn new(name: impl Into<String>) -> Self {
        SpanEvent { name: name.into(), timestamp_ns: now_ns(), attributes: IndexMap::new() }
    }
    /// An event with an explicit timestamp in nanoseconds.
    pub fn at(name: impl Into<String>, timestamp_ns: i64) -> Self {
        SpanEvent { name: name.into(), timestamp_ns, attributes: IndexMap::new() }
    }
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
    pub fn with_attributes<K: Into<String>, V: Into<Value>>(mut self, attrs: impl IntoIterator<Item = (K, V)>) -> Self {
        for (k, v) in attrs {
            self.attributes.insert(k.into(), v.into());
        }
        self
    }
    /// The `exception` event MLflow records for an error: `exception.message`,
    /// `exception.type` and `exception.stacktrace`.
    pub fn exception(type_name: &str, message: &str, stacktrace: &str) -> Self {
        SpanEvent::new(keys::EXCEPTION_EVENT)
            .with_attribute(keys::EXCEPTION_MESSAGE, message)
            .with_attribute(keys::EXCEPTION_TYPE, type_name)
            .with_attribute(keys::EXCEPTION_STACKTRACE, stacktrace)
    }
    /// An `exception` event from any error: the type is the error's Rust type name (last
    /// path segment), the message its `Display`, the stack trace its `source()` chain and,
    /// when `RUST_BACKTRACE` allows, a captured backtrace.
    pub fn from_error<E: std::error::Error + ?Sized>(err: &E) -> Self {
        let type_name = short_type_name(std::any::type_name::<E>());
        Self::exception(&type_name, &err.to_string(), &error_stacktrace(err))
    }
}

/// The last segment of a Rust type path, generics kept: `std::io::Error` → `Error`.
pub fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    let last = base.rsplit("::").next().unwrap_or(base);
    format!("{last}{}", &full[base.len()..])
}

/// The error, its chain of sources, and a backtrace when one is enabled.
pub fn error_stacktrace<E: std::error::Error + ?Sized>(err: &E) -> String {
    let mut out = format!("{err}");
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str("\nCaused by: ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    let bt = std::backtrace::Backtrace::capture();
    if bt.status() == std::backtrace::BacktraceStatus::Captured {
        out.push_str("\n\nStack backtrace:\n");
        out.push_str(&bt.to_string());
    }
    out
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
