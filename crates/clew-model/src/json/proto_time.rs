//! `google.protobuf.Timestamp` and `Duration` in their JSON forms, as Python protobuf's
//! `ToJsonString` / `FromJsonString` write and read them (millisecond precision is all
//! MLflow's TraceInfo keeps).

use crate::ModelError;
use chrono::{DateTime, Utc};

/// RFC 3339 in UTC with 0 or 3 fractional digits, e.g. `"2026-11-21T05:26:11.687Z"`
/// (`Timestamp.FromMilliseconds(ms).ToJsonString()`).
///
/// ```
/// use clew_model::json::proto_time::timestamp_from_ms;
/// assert_eq!(timestamp_from_ms(1795238771687), "2026-11-21T05:26:11.687Z");
/// assert_eq!(timestamp_from_ms(0), "1970-01-01T00:00:00Z");
/// ```
pub fn timestamp_from_ms(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let base = DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|dt| dt.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00".to_string());
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

/// Milliseconds since the epoch from an RFC 3339 timestamp (any offset, 0–9 fractional
/// digits), rounded down as `Timestamp.ToMilliseconds()` does.
///
/// ```
/// use clew_model::json::proto_time::ms_from_timestamp;
/// assert_eq!(ms_from_timestamp("2026-11-21T05:26:11.687999Z", "t").unwrap(), 1795238771687);
/// assert!(ms_from_timestamp("yesterday", "t").is_err());
/// ```
pub fn ms_from_timestamp(text: &str, field: &'static str) -> Result<i64, ModelError> {
    let dt = DateTime::parse_from_rfc3339(text.trim()).map_err(|e| ModelError::InvalidValue {
        field,
        reason: format!("{text:?} is not an RFC 3339 timestamp: {e}"),
    })?;
    Ok(dt.timestamp().saturating_mul(1000) + i64::from(dt.timestamp_subsec_millis()))
}

/// A protobuf Duration string from milliseconds: `"0.057s"`, `"5s"`, `"-1.500s"`
/// (`Duration.FromMilliseconds(ms).ToJsonString()`).
///
/// ```
/// use clew_model::json::proto_time::duration_from_ms;
/// assert_eq!(duration_from_ms(57), "0.057s");
/// assert_eq!(duration_from_ms(5000), "5s");
/// assert_eq!(duration_from_ms(1500), "1.500s");
/// ```
pub fn duration_from_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (seconds, millis) = (abs / 1000, abs % 1000);
    if millis == 0 {
        format!("{sign}{seconds}s")
    } else {
        format!("{sign}{seconds}.{millis:03}s")
    }
}

/// Milliseconds from a protobuf Duration string (`"0.057s"`, `"5s"`, up to 9 fractional
/// digits; sub-millisecond parts are dropped).
///
/// ```
/// use clew_model::json::proto_time::ms_from_duration;
/// assert_eq!(ms_from_duration("0.057s", "d").unwrap(), 57);
/// assert_eq!(ms_from_duration("-1.5s", "d").unwrap(), -1500);
/// assert!(ms_from_duration("57ms", "d").is_err());
/// ```
pub fn ms_from_duration(text: &str, field: &'static str) -> Result<i64, ModelError> {
    let bad = || ModelError::InvalidValue {
        field,
        reason: format!("{text:?} is not a protobuf Duration like \"0.057s\""),
    };
    let body = text.trim().strip_suffix('s').ok_or_else(bad)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let seconds: i64 = whole.parse().map_err(|_| bad())?;
    let millis: i64 = format!("{frac:0<3}")[..3].parse().map_err(|_| bad())?;
    let total = seconds
        .checked_mul(1000)
        .and_then(|s| s.checked_add(millis))
        .ok_or_else(bad)?;
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_millisecond_precision() {
        for ms in [0, 1, 999, 1000, 1795238771687, 1795238771000] {
            assert_eq!(ms_from_timestamp(&timestamp_from_ms(ms), "t").unwrap(), ms);
        }
        assert_eq!(
            ms_from_timestamp("2026-11-21T06:26:11.687+01:00", "t").unwrap(),
            1795238771687
        );
    }

    #[test]
    fn durations_round_trip() {
        for ms in [0, 1, 57, 999, 1000, 1001, 123456789, -57] {
            assert_eq!(
                ms_from_duration(&duration_from_ms(ms), "d").unwrap(),
                ms,
                "{ms}"
            );
        }
        assert_eq!(duration_from_ms(0), "0s");
        assert_eq!(ms_from_duration("1.000000001s", "d").unwrap(), 1000);
        assert!(ms_from_duration("s", "d").is_err());
        assert!(ms_from_duration("1.0000000001s", "d").is_err());
    }
}
