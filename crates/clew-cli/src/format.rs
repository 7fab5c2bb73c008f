//! Turning traces into text for people: times, durations, previews, tables.

use chrono::{Local, TimeZone};
use clew_model::{keys, TraceInfo};
use comfy_table::{presets, ContentArrangement, Table};

/// Tables and trees for people, or JSON for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
}

/// Prints a JSON value, indented.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A table with the house style.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(header.iter().copied());
    table
}

/// Milliseconds since the epoch as local time, `2026-11-21 07:05:09`.
pub fn local_time_ms(epoch_ms: i64) -> String {
    match Local.timestamp_millis_opt(epoch_ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => format!("{epoch_ms} ms"),
    }
}

/// A duration in milliseconds, readable: `850 ms`, `1.24 s`, `2m 05s`.
pub fn duration_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// A duration in nanoseconds, readable down to microseconds.
pub fn duration_ns(ns: i64) -> String {
    if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1000.0)
    } else if ns < 1_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1_000_000.0)
    } else {
        duration_ms(ns / 1_000_000)
    }
}

/// The first `max` characters of one line of `text`, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The trace name (`mlflow.traceName` tag).
pub fn trace_name(info: &TraceInfo) -> &str {
    info.tags.get(keys::TRACE_NAME).map(String::as_str).unwrap_or("")
}

/// The number of spans, from the `mlflow.trace.sizeStats` metadata.
pub fn span_count(info: &TraceInfo) -> Option<u64> {
    let stats: serde_json::Value = serde_json::from_str(info.trace_metadata.get(keys::SIZE_STATS)?).ok()?;
    stats.get("num_spans")?.as_u64()
}

/// Total tokens from the `mlflow.trace.tokenUsage` metadata.
pub fn total_tokens(info: &TraceInfo) -> Option<i64> {
    info.token_usage()?.get("total_tokens")?.as_i64()
}

/// `in / out` tokens for detail views.
pub fn token_breakdown(info: &TraceInfo) -> Option<String> {
    let usage = info.token_usage()?;
    let get = |k: &str| usage.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    Some(format!(
        "{} total ({} input, {} output)",
        get("total_tokens"),
        get("input_tokens"),
        get("output_tokens")
    ))
}

/// An optional value for a table cell.
pub fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(1240), "1.24 s");
        assert_eq!(duration_ms(125_000), "2m 05s");
        assert_eq!(duration_ns(1_500), "1.5 µs");
        assert_eq!(duration_ns(2_500_000), "2.5 ms");
        assert_eq!(duration_ns(3_000_000_000), "3.00 s");
    }

    #[test]
    fn truncation_cuts_by_characters_and_flattens_lines() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééééé", 4), "ééé…");
        assert_eq!(truncate("a\nb", 10), "a b");
    }
}
