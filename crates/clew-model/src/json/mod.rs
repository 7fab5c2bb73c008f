//! MLflow's JSON forms and OTLP conversion (spec §3, §8).
//!
//! | module | form |
//! | --- | --- |
//! | [`span_dict`] | `Span.to_dict()`: base64 ids, JSON-text attributes (traces.json, `spans.content`) |

mod fields;
pub mod span_dict;

pub use span_dict::{span_from_dict, span_from_json, span_to_dict, span_to_json};
