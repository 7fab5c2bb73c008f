//! Global tracing settings: on/off, sampling, span processors, destination, active experiment.
//!
//! Read from the environment on first use:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `MLFLOW_TRACKING_URI` | `sqlite:///path/to.db` (embedded store), `http(s)://host:port` (an MLflow server or `clew server`), `memory:` (in-process, for tests); unset = `sqlite:///./clew.db` |
//! | `MLFLOW_TRACKING_TOKEN` / `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` | Bearer / Basic credentials for a tracking server |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` (+`/v1/traces`) | export spans to an OTLP collector **instead of** the tracking URI (reads still use the tracking URI) |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` | `grpc` (default) or `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` | `key=value,...` sent with every OTLP export |
//! | `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` | resource attributes of exported spans |
//! | `MLFLOW_ENABLE_OTLP_EXPORTER` | `false` ignores the OTLP variables |
//! | `MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT` | `true` exports to both the OTLP collector and the tracking URI |
//! | `CLEW_EXPORT_RETRY_TIMEOUT_SECS` | how long one export retries an unreachable server (default 30; else `MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT`) |
//! | `CLEW_EXPORT_RETRY_BUFFER_BYTES` | bound of the server exporter's retry buffer (default 64 MiB) |
//! | `MLFLOW_EXPERIMENT_ID` / `MLFLOW_EXPERIMENT_NAME` | the experiment traces go to (default `"0"`); a name is created if missing |
//! | `MLFLOW_TRACE_SAMPLING_RATIO` | fraction of traces recorded, 0.0–1.0 (default 1.0) |
//! | `CLEW_TRACING_ENABLED` | `false` starts with tracing disabled |
//! | `CLEW_EXPORT_QUEUE_BYTES` | bound of the export queue in bytes (default 512 MiB) |
//! | `CLEW_EXPORT_FLUSH_ON_EXIT_SECS` | how long exit waits for the queue to drain (default 10) |

use crate::export::{Destination, ExportTarget};
use crate::trace_buffer::FinishedSpan;
use parking_lot::RwLock;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};

/// A function run on every span as it ends, before export. It may change any field (to
/// redact, say) and returns `false` to drop the span; dropping a trace's root drops the trace.
///
/// ```
/// use clew::{configure, TracingConfig, FinishedSpan};
/// configure(TracingConfig::new().span_processor(|span: &mut FinishedSpan| {
///     span.remove_attribute("api_key");
///     true
/// }));
/// # clew::reset();
/// ```
pub trait SpanProcessor: Send + Sync + 'static {
    fn on_end(&self, span: &mut FinishedSpan) -> bool;
}

impl<F> SpanProcessor for F
where
    F: Fn(&mut FinishedSpan) -> bool + Send + Sync + 'static,
{
    fn on_end(&self, span: &mut FinishedSpan) -> bool {
        self(span)
    }
}

pub(crate) type Processors = Arc<[Arc<dyn SpanProcessor>]>;

/// Runs one processor; a panicking processor keeps the span and is counted, never raised.
pub(crate) fn run_processor(processor: &dyn SpanProcessor, span: &mut FinishedSpan) -> bool {
    match std::panic::catch_unwind(AssertUnwindSafe(|| processor.on_end(span))) {
        Ok(keep) => keep,
        Err(_) => {
            crate::export::stats().record_processor_panic();
            true
        }
    }
}

/// Settings for [`configure`]; unset fields keep their current value.
#[derive(Default, Clone)]
pub struct TracingConfig {
    sampling_ratio: Option<f64>,
    disable_propagation: Option<bool>,
    span_processors: Option<Vec<Arc<dyn SpanProcessor>>>,
}

impl TracingConfig {
    pub fn new() -> Self {
        Self::default()
    }
    /// Fraction of traces to record, 0.0 to 1.0 (decided on the root; children follow).
    pub fn sampling_rate(mut self, ratio: f64) -> Self {
        self.sampling_ratio = Some(ratio);
        self
    }
    /// When true, `traceparent` headers are neither produced nor honoured.
    pub fn disable_propagation(mut self, disable: bool) -> Self {
        self.disable_propagation = Some(disable);
        self
    }
    /// Adds a span processor (run in the order added).
    pub fn span_processor(mut self, processor: impl SpanProcessor) -> Self {
        self.span_processors.get_or_insert_with(Vec::new).push(Arc::new(processor));
        self
    }
    /// Replaces the processors (an empty list removes them).
    pub fn span_processors(mut self, processors: Vec<Arc<dyn SpanProcessor>>) -> Self {
        self.span_processors = Some(processors);
        self
    }
}

struct State {
    experiment_id: Option<String>,
    target: Option<Arc<ExportTarget>>,
    processors: Processors,
    sampling_ratio: f64,
    disable_propagation: bool,
}

static STATE: RwLock<Option<State>> = RwLock::new(None);
static ENABLED: AtomicBool = AtomicBool::new(true);
/// Roots are sampled when the low 64 bits of the trace id are below this; `u64::MAX` = all.
static SAMPLE_THRESHOLD: AtomicU64 = AtomicU64::new(u64::MAX);
static ENV_ONCE: Once = Once::new();

/// The default local store file, in the working directory, shared with `clew server` and the CLI.
pub const DEFAULT_STORE_URI: &str = "sqlite:///clew.db";

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn threshold_for(ratio: f64) -> u64 {
    if ratio >= 1.0 {
        u64::MAX
    } else if ratio <= 0.0 || ratio.is_nan() {
        0
    } else {
        (ratio * 18_446_744_073_709_551_616.0) as u64
    }
}

/// Reads the environment once; `enable`, `disable` and `configure` calls made earlier win.
fn read_env_once() {
    ENV_ONCE.call_once(|| {
        if let Some(v) = env_var("CLEW_TRACING_ENABLED") {
            if matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off") {
                ENABLED.store(false, Ordering::Release);
            }
        }
        let mut guard = STATE.write();
        let state = guard.get_or_insert_with(default_state);
        if let Some(v) = env_var("MLFLOW_TRACE_SAMPLING_RATIO") {
            match v.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => state.sampling_ratio = r,
                _ => crate::report::warn(&format!(
                    "MLFLOW_TRACE_SAMPLING_RATIO={v:?} is not a number between 0 and 1; sampling every trace"
                )),
            }
        }
        SAMPLE_THRESHOLD.store(threshold_for(state.sampling_ratio), Ordering::Release);
    });
}

fn default_state() -> State {
    State {
        experiment_id: None,
        target: None,
        processors: Arc::from(Vec::<Arc<dyn SpanProcessor>>::new()),
        sampling_ratio: 1.0,
        disable_propagation: false,
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    read_env_once();
    let mut guard = STATE.write();
    f(guard.get_or_insert_with(default_state))
}

/// Whether spans are being recorded right now.
#[inline]
pub fn is_enabled() -> bool {
    read_env_once();
    ENABLED.load(Ordering::Relaxed)
}

#[inline]
pub(crate) fn is_sampled(trace_id: clew_model::TraceId) -> bool {
    let threshold = SAMPLE_THRESHOLD.load(Ordering::Relaxed);
    threshold == u64::MAX || (trace_id.as_u128() as u64) < threshold
}

pub(crate) fn propagation_disabled() -> bool {
    with_state(|s| s.disable_propagation)
}

/// What a new root span needs from the configuration.
pub(crate) struct RootSettings {
    pub(crate) experiment_id: String,
    pub(crate) target: Arc<ExportTarget>,
    pub(crate) processors: Processors,
}

pub(crate) fn root_settings() -> RootSettings {
    read_env_once();
    {
        let guard = STATE.read();
        if let Some(state) = guard.as_ref() {
            if let (Some(exp), Some(target)) = (&state.experiment_id, &state.target) {
                return RootSettings { experiment_id: exp.clone(), target: target.clone(), processors: state.processors.clone() };
            }
        }
    }
    // First root (or after reset): resolve the destination and experiment from the environment.
    let target = current_target();
    let experiment_id = active_experiment_id_with(&target);
    with_state(|s| RootSettings { experiment_id, target, processors: s.processors.clone() })
}

/// The export target in force, resolving the default from the environment on first use.
pub(crate) fn current_target() -> Arc<ExportTarget> {
    if let Some(t) = with_state(|s| s.target.clone()) {
        return t;
    }
    let uri = env_var("MLFLOW_TRACKING_URI");
    let target = Arc::new(ExportTarget::new(crate::export::destination_from_env(uri.as_deref(), DEFAULT_STORE_URI)));
    with_state(|s| s.target.get_or_insert(target).clone())
}

fn active_experiment_id_with(target: &Arc<ExportTarget>) -> String {
    if let Some(id) = with_state(|s| s.experiment_id.clone()) {
        return id;
    }
    let resolved = if let Some(id) = env_var("MLFLOW_EXPERIMENT_ID") {
        id
    } else if let Some(name) = env_var("MLFLOW_EXPERIMENT_NAME") {
        match crate::client::resolve_experiment(target, &name, true) {
            Ok(exp) => exp.experiment_id,
            Err(e) => {
                crate::report::warn(&format!(
                    "could not resolve MLFLOW_EXPERIMENT_NAME={name:?} ({e}); logging to experiment 0"
                ));
                clew_model::experiment::DEFAULT_EXPERIMENT_ID.to_string()
            }
        }
    } else {
        clew_model::experiment::DEFAULT_EXPERIMENT_ID.to_string()
    };
    with_state(|s| s.experiment_id.get_or_insert(resolved).clone())
}

/// The experiment new traces go to.
pub fn active_experiment_id() -> String {
    let target = current_target();
    active_experiment_id_with(&target)
}

pub(crate) fn set_active_experiment_id(id: String) {
    with_state(|s| s.experiment_id = Some(id));
}

/// Applies tracing settings; fields left unset keep their value.
///
/// ```
/// clew::configure(clew::TracingConfig::new().sampling_rate(1.0).disable_propagation(false));
/// ```
pub fn configure(config: TracingConfig) {
    with_state(|s| {
        if let Some(ratio) = config.sampling_ratio {
            let ratio = if (0.0..=1.0).contains(&ratio) {
                ratio
            } else {
                crate::report::warn(&format!("sampling rate {ratio} is outside 0..=1; clamped"));
                ratio.clamp(0.0, 1.0)
            };
            s.sampling_ratio = ratio;
            SAMPLE_THRESHOLD.store(threshold_for(ratio), Ordering::Release);
        }
        if let Some(d) = config.disable_propagation {
            s.disable_propagation = d;
        }
        if let Some(p) = config.span_processors {
            s.processors = Arc::from(p);
        }
    });
}

/// Turns tracing on, optionally sending new traces to `experiment_id`.
pub fn enable(experiment_id: Option<&str>) {
    read_env_once();
    if let Some(id) = experiment_id {
        set_active_experiment_id(id.to_string());
    }
    ENABLED.store(true, Ordering::Release);
}

/// Turns tracing off: spans become no-ops; traced code still runs.
pub fn disable() {
    read_env_once();
    ENABLED.store(false, Ordering::Release);
}

/// Back to defaults: enabled, sampling 1.0, no processors, and the destination and
/// experiment resolved again from the environment on next use. Pending traces are flushed
/// to their destination first.
pub fn reset() {
    crate::export::flush();
    read_env_once();
    *STATE.write() = Some(default_state());
    SAMPLE_THRESHOLD.store(u64::MAX, Ordering::Release);
    ENABLED.store(true, Ordering::Release);
}

/// Sends new traces to `destination` (traces already started keep theirs).
///
/// ```
/// let memory = clew::MemoryDestination::new();
/// clew::set_destination(memory.clone());
/// # clew::reset();
/// ```
pub fn set_destination(destination: impl crate::export::IntoDestination) {
    let target = Arc::new(ExportTarget::new(destination.into_destination()));
    with_state(|s| s.target = Some(target));
}

/// The destination new traces go to.
pub fn destination() -> Arc<dyn Destination> {
    current_target().destination.clone()
}
