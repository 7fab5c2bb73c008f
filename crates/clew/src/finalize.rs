//! Turning a finished in-process trace into the stored `Trace`, with its info filled as
//! MLflow fills it. Runs on the export worker, off the user's thread.

use crate::trace_buffer::{FinishedSpan, TraceBuffer};
use clew_model::summary::finalize::{finalize_trace_info, FinalizeOptions};
use clew_model::json::span_dict::span_json_len;
use clew_model::json::trace_json::trace_to_json;
use clew_model::pyjson::DumpOptions;
use clew_model::{keys, Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState};

/// The spans in stored form.
pub(crate) fn spans_of(buffer: &TraceBuffer, spans: Vec<FinishedSpan>) -> Vec<Span> {
    let request_id_text = crate::json_text::to_json_text(&buffer.request_id());
    spans.into_iter().map(|s| s.into_span(buffer.trace_id, &request_id_text)).collect()
}

/// The whole trace: spans plus finalized info.
pub(crate) fn build_trace(buffer: &TraceBuffer, spans: Vec<FinishedSpan>) -> Trace {
    let spans = spans_of(buffer, spans);
    let overrides = buffer.overrides.lock().clone();
    let mut info = TraceInfo {
        trace_id: buffer.request_id(),
        client_request_id: overrides.client_request_id.clone(),
        trace_location: TraceLocation::experiment(buffer.experiment_id.clone()),
        state: TraceState::InProgress,
        ..TraceInfo::default()
    };
    for (k, v) in crate::environment::source_metadata() {
        info.trace_metadata.insert(k.clone(), v.clone());
    }
    info.trace_metadata.extend(overrides.metadata.clone());
    info.tags.extend(overrides.tags.clone());
    // MLflow measures `json.dumps(span.to_dict())` with its default ASCII escaping.
    let sizes: Vec<usize> = spans.iter().map(|s| span_json_len(s, &DumpOptions::PYTHON_ASCII)).collect();
    let empty_trace_json_size =
        |info: &TraceInfo| trace_to_json(&Trace { info: info.clone(), data: TraceData::default() }).len();
    // Explicit previews are set first: finalizing never overwrites them.
    info.request_preview = overrides.request_preview.clone();
    info.response_preview = overrides.response_preview.clone();
    let options = FinalizeOptions {
        explicit_state: overrides.state,
        explicit_trace_name: overrides.tags.contains_key(keys::TRACE_NAME),
        empty_trace_json_size: Some(&empty_trace_json_size),
        ..Default::default()
    };
    finalize_trace_info(&mut info, &spans, &sizes, &options);
    Trace { info, data: TraceData { spans } }
}
