//! `order_by` entries: `"<key> [ASC|DESC]"` (spec §5).

use super::ast::OrderBy;
use super::error::FilterError;
use super::field::resolve_order_key;
use super::lexer::{tokenize, TokenKind};

/// Parses one `order_by` entry. The direction is case-insensitive and defaults to ascending.
///
/// ```
/// use clew_model::filter::*;
///
/// let order = parse_order_by("timestamp DESC").unwrap();
/// assert_eq!(order, OrderBy { key: OrderKey::TimestampMs, ascending: false });
/// assert_eq!(parse_order_by("tag.`team name`").unwrap().key, OrderKey::Tag("team name".into()));
/// ```
pub fn parse_order_by(s: &str) -> Result<OrderBy, FilterError> {
    let tokens = tokenize(s)?;
    let mut tokens = tokens.iter();
    let Some(key_token) = tokens.next() else {
        return Err(FilterError::new(
            0,
            "expected a key to order by, e.g. 'timestamp_ms DESC'",
        ));
    };
    let TokenKind::Path(segments) = &key_token.kind else {
        return Err(FilterError::new(
            key_token.start,
            format!(
                "expected a key to order by, found '{}'",
                key_token.source(s)
            ),
        ));
    };
    let key = resolve_order_key(segments)?;
    let ascending = match tokens.next() {
        None => true,
        Some(token) if token.is_keyword("ASC") => true,
        Some(token) if token.is_keyword("DESC") => false,
        Some(token) => {
            return Err(FilterError::new(
                token.start,
                format!("expected ASC or DESC, found '{}'", token.source(s)),
            ))
        }
    };
    if let Some(extra) = tokens.next() {
        return Err(FilterError::new(
            extra.start,
            format!("unexpected '{}' after the sort direction", extra.source(s)),
        ));
    }
    Ok(OrderBy { key, ascending })
}

/// Parses a request's `order_by` list, rejecting a key that appears twice (also through an alias,
/// e.g. `timestamp` and `timestamp_ms`). Positions in errors are offsets into the offending entry,
/// whose index the message names.
///
/// ```
/// use clew_model::filter::*;
///
/// let entries = vec!["status".to_string(), "timestamp_ms DESC".to_string()];
/// assert_eq!(parse_order_by_list(&entries).unwrap().len(), 2);
///
/// let entries = vec!["timestamp".to_string(), "timestamp_ms DESC".to_string()];
/// assert!(parse_order_by_list(&entries).unwrap_err().message.contains("duplicate"));
/// ```
pub fn parse_order_by_list(entries: &[String]) -> Result<Vec<OrderBy>, FilterError> {
    let mut parsed: Vec<OrderBy> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let order = parse_order_by(entry).map_err(|e| {
            FilterError::new(
                e.position,
                format!("order_by entry {index} ('{entry}'): {}", e.message),
            )
        })?;
        if let Some(first) = parsed.iter().position(|earlier| earlier.key == order.key) {
            return Err(FilterError::new(
                0,
                format!(
                    "order_by entry {index} ('{entry}') repeats the key of entry {first} ('{}'); \
                     duplicate keys are not allowed",
                    entries[first]
                ),
            ));
        }
        parsed.push(order);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_defaults_to_ascending() {
        assert!(parse_order_by("status").unwrap().ascending);
        assert!(parse_order_by("status asc").unwrap().ascending);
        assert!(!parse_order_by("status Desc").unwrap().ascending);
    }

    #[test]
    fn rejects_extra_words() {
        assert_eq!(parse_order_by("status DOWN").unwrap_err().position, 7);
        assert_eq!(parse_order_by("status DESC ASC").unwrap_err().position, 12);
        assert_eq!(parse_order_by("").unwrap_err().position, 0);
    }
}
