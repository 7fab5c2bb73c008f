//! Span payloads as stored: MLflow's span JSON (the text `span.content` and `trace.text`
//! searches match against), LZ4-compressed when that pays off.
//!
//! The stored blob starts with one tag byte so the encoding can evolve without a migration:
//! `0` = raw UTF-8 JSON, `1` = LZ4 block with the uncompressed size prepended.

use crate::{StoreError, StoreResult};
use clew_model::Span;

const RAW: u8 = 0;
const LZ4: u8 = 1;
/// Below this size compression saves too little to be worth the CPU.
const COMPRESS_FROM_BYTES: usize = 256;

/// The span as MLflow's span JSON (`Span.to_dict`).
pub fn span_json(span: &Span) -> String {
    clew_model::json::span_dict::span_to_json(span)
}

/// Parses span JSON written by [`span_json`].
pub fn span_from_json(json: &str) -> StoreResult<Span> {
    clew_model::json::span_dict::span_from_json(json).map_err(|e| StoreError::Internal(format!("stored span is unreadable: {e}")))
}

/// Compresses span JSON for storage.
pub fn encode(json: &str) -> Vec<u8> {
    if json.len() < COMPRESS_FROM_BYTES {
        return raw(json);
    }
    // Tag, size and block written into one buffer (what `compress_prepend_size` writes after
    // the tag), instead of compressing into a second buffer and copying it: this runs for
    // every span stored.
    let bytes = json.as_bytes();
    let Ok(size) = u32::try_from(bytes.len()) else {
        return raw(json);
    };
    let mut out = vec![0u8; 5 + lz4_flex::block::get_maximum_output_size(bytes.len())];
    out[0] = LZ4;
    out[1..5].copy_from_slice(&size.to_le_bytes());
    match lz4_flex::block::compress_into(bytes, &mut out[5..]) {
        Ok(written) => {
            out.truncate(5 + written);
            out
        }
        // Cannot happen with a buffer of the maximum output size; stored uncompressed if it does.
        Err(_) => raw(json),
    }
}

fn raw(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 1);
    out.push(RAW);
    out.extend_from_slice(json.as_bytes());
    out
}

/// The span JSON text of a stored payload.
pub fn decode(blob: &[u8]) -> StoreResult<String> {
    let (tag, body) = blob.split_first().ok_or_else(|| StoreError::Internal("empty span payload".into()))?;
    let bytes = match *tag {
        RAW => body.to_vec(),
        LZ4 => decompress(body)?,
        other => return Err(StoreError::Internal(format!("unknown span payload encoding {other}"))),
    };
    String::from_utf8(bytes).map_err(|e| StoreError::Internal(format!("span payload is not UTF-8: {e}")))
}

/// Span JSON larger than this is not something clew wrote; refuse to allocate for it.
const MAX_DECODED_BYTES: usize = 512 * 1024 * 1024;

fn decompress(body: &[u8]) -> StoreResult<Vec<u8>> {
    let corrupt = |why: &str| StoreError::Internal(format!("corrupt span payload: {why}"));
    let (size, block) = body.split_at_checked(4).ok_or_else(|| corrupt("truncated size"))?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size > MAX_DECODED_BYTES {
        return Err(corrupt("implausible size"));
    }
    let bytes = lz4_flex::decompress(block, size).map_err(|e| corrupt(&e.to_string()))?;
    if bytes.len() != size {
        return Err(corrupt("size mismatch"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_payloads_round_trip() {
        let small = r#"{"name":"a"}"#;
        assert_eq!(encode(small)[0], RAW);
        assert_eq!(decode(&encode(small)).unwrap(), small);
        let large = format!(r#"{{"name":"{}"}}"#, "é".repeat(500));
        let blob = encode(&large);
        assert_eq!(blob[0], LZ4);
        assert!(blob.len() < large.len());
        assert_eq!(decode(&blob).unwrap(), large);
        // The layout stays what `compress_prepend_size` writes after the tag.
        assert_eq!(blob[1..], lz4_flex::compress_prepend_size(large.as_bytes())[..]);
    }

    #[test]
    fn corrupt_payloads_are_errors_not_panics() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[9, 1, 2]).is_err());
        assert!(decode(&[LZ4, 0xff, 0xff, 0xff, 0x7f, 1]).is_err());
    }
}
