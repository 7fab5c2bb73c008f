//! Parser (to be written).
use super::ast::*;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid filter at position {position}: {message}")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

pub fn parse_filter(_s: &str) -> Result<Filter, FilterError> {
    Ok(Filter::default())
}

pub fn parse_order_by(_s: &str) -> Result<OrderBy, FilterError> {
    Ok(OrderBy { key: OrderKey::TimestampMs, ascending: false })
}
