//! The trace store: one async [`TraceStore`] trait, its backends, and a conformance suite.
pub mod store;
pub use store::*;
