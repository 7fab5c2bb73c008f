//! The one error type of the filter grammar: where in the string, and what is wrong.

/// A rejected filter string or `order_by` entry.
///
/// `position` is a byte offset into the string that was parsed.
///
/// ```
/// use clew_model::filter::parse_filter;
///
/// let err = parse_filter("state = 'OK'").unwrap_err();
/// assert_eq!(err.position, 0);
/// assert_eq!(
///     err.to_string(),
///     "invalid filter at position 0: unknown attribute 'state' (did you mean 'status'?)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid filter at position {position}: {message}")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}
