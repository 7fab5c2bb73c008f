use thiserror::Error;

/// Errors from parsing or converting model data. Every variant names what was wrong.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    #[error("invalid id {value:?}: {reason}")]
    InvalidId { value: String, reason: &'static str },
    #[error("invalid JSON for {what}: {reason}")]
    InvalidJson { what: &'static str, reason: String },
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("invalid value for `{field}`: {reason}")]
    InvalidValue { field: &'static str, reason: String },
    #[error("invalid protobuf: {0}")]
    InvalidProto(String),
}
