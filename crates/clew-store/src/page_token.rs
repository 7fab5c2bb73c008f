//! Page tokens: base64 of `{"offset": N}`, exactly as MLflow makes them (clients treat them
//! as opaque, but tokens stay interchangeable with an MLflow server's).

use crate::{StoreError, StoreResult};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The token for the page starting at `offset`.
///
/// ```
/// assert_eq!(clew_store::page_token::encode(100), "eyJvZmZzZXQiOiAxMDB9");
/// assert_eq!(clew_store::page_token::decode(Some("eyJvZmZzZXQiOiAxMDB9")).unwrap(), 100);
/// ```
pub fn encode(offset: usize) -> String {
    // Python's json.dumps spacing, so the token is byte-identical to MLflow's.
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// The offset a token stands for; no token means the first page.
pub fn decode(token: Option<&str>) -> StoreResult<usize> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(0) };
    let invalid = || StoreError::InvalidArgument(format!("invalid page token {token:?}"));
    let bytes = clew_model::ids::decode_b64(token).ok_or_else(invalid)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let offset = value.get("offset").and_then(serde_json::Value::as_u64).ok_or_else(invalid)?;
    usize::try_from(offset).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        assert_eq!(super::decode(Some(&super::encode(7))).unwrap(), 7);
        assert_eq!(super::decode(None).unwrap(), 0);
        assert!(super::decode(Some("not base64!")).is_err());
        assert!(super::decode(Some("e30=")).is_err()); // {}
    }
}
