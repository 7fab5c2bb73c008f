//! Shared setup for the seed examples in `examples/`: each example writes to its own
//! private trace store, so examples and their tests never touch `clew.db`.
//!
//! Every file in `examples/` is one code sample of the two seed documents, ported to Rust; its
//! `main` runs the sample and asserts what the sample shows. `tests/` runs each one in its own
//! process (the SDK's configuration is global).

use std::path::PathBuf;

/// A trace store in a temporary directory, removed when this is dropped.
pub struct TempStore {
    _dir: tempfile::TempDir,
    /// The store file.
    pub path: PathBuf,
}

/// Sends new traces to a fresh store in a temporary directory (what a default setup does
/// with `clew.db` in the working directory). Keep the returned value alive while tracing.
pub fn use_temp_store() -> TempStore {
    let dir = tempfile::Builder::new()
        .prefix("clew-example-")
        .tempdir()
        .expect("create a temporary directory");
    let path = dir.path().join("clew.db");
    let destination = clew::LocalStoreDestination::open(&path)
        .unwrap_or_else(|e| panic!("cannot open the example store {}: {e}", path.display()));
    clew::set_destination(destination);
    TempStore { _dir: dir, path }
}
