//! `clew._core`: the Rust core of the `clew` Python package.
//!
//! The engine is the clew Rust SDK (span engine, sampling, background exporter, store and
//! server clients). This module adds what Python needs on top: serialising Python values to
//! MLflow's JSON text, the `@trace` hot path (argument binding, span around the call), the
//! `LiveSpan` class, and thin wrappers for configuration and reads. The Python package
//! (`python/clew/`) supplies decorators, context managers and the entity classes.

mod api;
mod live_span;
mod serialize;
mod state;
mod traced;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<live_span::PyLiveSpan>()?;
    m.add_class::<traced::TracedSpec>()?;
    m.add_class::<traced::StartSpan>()?;
    m.add_function(wrap_pyfunction!(state::_init, m)?)?;
    m.add_function(wrap_pyfunction!(state::set_root_hook, m)?)?;
    m.add_function(wrap_pyfunction!(traced::call_traced, m)?)?;
    m.add_function(wrap_pyfunction!(traced::start_function_call, m)?)?;
    m.add_function(wrap_pyfunction!(traced::end_function_call, m)?)?;
    m.add_function(wrap_pyfunction!(traced::fail_function_call, m)?)?;
    m.add_function(wrap_pyfunction!(traced::start_generator_span, m)?)?;
    m.add_function(wrap_pyfunction!(traced::fail_span, m)?)?;
    m.add_function(wrap_pyfunction!(traced::record_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(traced::enter_span, m)?)?;
    m.add_function(wrap_pyfunction!(traced::exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(traced::start_detached, m)?)?;
    m.add_function(wrap_pyfunction!(traced::noop_span, m)?)?;
    m.add_function(wrap_pyfunction!(traced::dumps, m)?)?;
    m.add_function(wrap_pyfunction!(api::is_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(api::enable, m)?)?;
    m.add_function(wrap_pyfunction!(api::disable, m)?)?;
    m.add_function(wrap_pyfunction!(api::reset, m)?)?;
    m.add_function(wrap_pyfunction!(api::configure, m)?)?;
    m.add_function(wrap_pyfunction!(api::set_destination_uri, m)?)?;
    m.add_function(wrap_pyfunction!(api::describe_destination, m)?)?;
    m.add_function(wrap_pyfunction!(api::flush, m)?)?;
    m.add_function(wrap_pyfunction!(api::get_trace_json, m)?)?;
    m.add_function(wrap_pyfunction!(api::search_traces_json, m)?)?;
    m.add_function(wrap_pyfunction!(api::set_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(api::set_experiment_by_id, m)?)?;
    m.add_function(wrap_pyfunction!(api::get_experiment_by_name, m)?)?;
    m.add_function(wrap_pyfunction!(api::active_experiment_id, m)?)?;
    m.add_function(wrap_pyfunction!(api::get_last_active_trace_id, m)?)?;
    m.add_function(wrap_pyfunction!(api::set_trace_tag, m)?)?;
    m.add_function(wrap_pyfunction!(api::delete_trace_tag, m)?)?;
    m.add_function(wrap_pyfunction!(api::update_trace, m)?)?;
    m.add_function(wrap_pyfunction!(api::context_headers, m)?)?;
    m.add_function(wrap_pyfunction!(api::span_from_headers, m)?)?;
    m.add_function(wrap_pyfunction!(api::export_stats, m)?)?;
    m.add_function(wrap_pyfunction!(api::normalize_trace_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
