//! Experiments: the containers traces are logged to. Experiment `"0"` (Default) always exists.

use indexmap::IndexMap;

pub const DEFAULT_EXPERIMENT_ID: &str = "0";
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: IndexMap<String, String>,
}
