//! Export: finished traces go to their destination from a background worker, in batches.
//! User code never waits on I/O. The queue is bounded in bytes; past the bound a trace is
//! dropped, counted in [`stats`] and reported on stderr — never a block or a panic.

mod destination;
mod http;
mod local;
mod memory;
mod otlp;
mod rest_store;
mod server;
mod stats;
mod worker;

pub use destination::{destination_from_uri, Destination, ExportError, IntoDestination, NullDestination};
pub use local::LocalStoreDestination;
pub use memory::MemoryDestination;
pub use otlp::{destination_from_env, OtlpDestination, OtlpProtocol};
pub use rest_store::RestStore;
pub use server::ServerDestination;
pub use stats::{stats, ExportStats, ExportStatsSnapshot};
pub use worker::{flush, flush_timeout};
pub(crate) use worker::submit;

use std::sync::Arc;

/// A destination as held by running traces.
pub struct ExportTarget {
    pub(crate) destination: Arc<dyn Destination>,
}

impl ExportTarget {
    pub(crate) fn new(destination: Arc<dyn Destination>) -> Self {
        ExportTarget { destination }
    }
}
