//! The small, stable core of clew: MLflow's tracing entities, their wire forms and the
//! search filter grammar. Pure: no I/O, no async.
//!
//! ```
//! use clew_model::{TraceId, SpanId};
//! let id = TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c);
//! assert_eq!(id.to_mlflow(), "tr-0af7651916cd43dd8448eb211c80319c");
//! assert_eq!(SpanId::from_u64(1).to_hex(), "0000000000000001");
//! ```

pub mod assessment;
pub mod chat;
pub mod document;
pub mod error;
pub mod event;
pub mod experiment;
pub mod filter;
pub mod ids;
pub mod json;
pub mod keys;
pub mod link;
pub mod propagation;
pub mod pyjson;
pub mod run;
pub mod span;
pub mod span_type;
pub mod status;
pub mod summary;
pub mod trace;
pub mod trace_info;
pub mod translate;

pub use assessment::{Assessment, AssessmentSource, AssessmentUpdate, AssessmentValue};
pub use chat::{ChatMessage, ChatTool, ChatToolFunction, ToolCall, ToolCallFunction};
pub use document::Document;
pub use error::ModelError;
pub use event::SpanEvent;
pub use experiment::Experiment;
pub use ids::{SpanId, TraceId};
pub use link::SpanLink;
pub use run::{Run, RunStatus};
pub use span::{Attributes, Span};
pub use span_type::SpanType;
pub use status::{SpanStatus, SpanStatusCode};
pub use trace::{NameMatcher, Trace, TraceData};
pub use trace_info::{TraceInfo, TraceLocation, TraceState};
