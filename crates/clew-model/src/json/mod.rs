//! MLflow's JSON forms and OTLP conversion (spec §3, §8).
//!
//! | module | form |
//! | --- | --- |
//! | [`span_dict`] | `Span.to_dict()`: base64 ids, JSON-text attributes (traces.json, `spans.content`) |
//! | [`trace_json`] | `Trace.to_json()`: `{"info": TraceInfo.to_dict(), "data": {"spans": [...]}}` |
//! | [`otlp`] | OTLP protobuf spans and export requests (typed `AnyValue` attributes) |
//! | [`otlp_json`] | OTLP/JSON export requests (camelCase, hex ids) |
//! | [`rest`] | REST proto-JSON: TraceInfoV3, OTel spans (snake_case, base64 ids, int64 numbers) |
//! | [`proto_time`] | protobuf Timestamp / Duration strings |
//!
//! Which text encoding MLflow uses where: span attribute values and the SQL `spans.content`
//! column are `json.dumps(.., ensure_ascii=False)` ([`span_to_json`]); `Trace.to_json()` and
//! the REST API escape non-ASCII ([`trace_to_json`], [`rest`]). Golden files from the real
//! `mlflow` package pin every form (`tests/golden/`, `scripts/gen_golden.sh`).

mod fields;
pub mod otlp;
pub mod otlp_json;
pub mod proto_time;
pub mod rest;
pub mod span_dict;
mod trace_info_proto;
pub mod trace_json;

pub use span_dict::{span_from_dict, span_from_json, span_to_dict, span_to_json};
pub use trace_json::{
    trace_from_dict, trace_from_json, trace_info_from_dict, trace_info_to_dict, trace_to_dict,
    trace_to_json,
};
pub use otlp::{
    export_request_from_protobuf, export_request_to_protobuf, span_from_otlp, span_to_otlp,
    spans_from_export_request, spans_to_export_request,
};
pub use otlp_json::{export_request_from_otlp_json, export_request_to_otlp_json};
pub use rest::{
    span_from_rest_json, span_from_rest_value, span_to_rest_json, span_to_rest_value,
    trace_from_rest_json, trace_info_from_proto_json, trace_info_to_proto_json, trace_to_rest_json,
};
