//! Errors of the SDK's explicit calls (reads, experiments). Tracing itself never returns
//! errors to user code: problems there are counted and reported.

use clew_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ClewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the destination {0} has no store to read from; use a sqlite:/// tracking URI or LocalStoreDestination")]
    NoStore(String),
    #[error("{0}")]
    Runtime(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
