//! Trace size statistics (`mlflow.trace.sizeStats`, `mlflow.trace.sizeBytes`), computed as
//! MLflow's `add_size_stats_to_trace_metadata` does just before StartTraceV3.
//!
//! **What the sizes are.** MLflow measures UTF-8 **bytes** of Python JSON text:
//! - each span: `len(json.dumps(span.to_dict()).encode("utf-8"))`, i.e. the MLflow span JSON
//!   (§3.1 of the spec: base64 ids, attribute values as JSON text) written with Python's default
//!   `json.dumps` settings: `", "` / `": "` separators and `ensure_ascii=True`, so every non-ASCII
//!   character counts as its `\uXXXX` escape (6 bytes, 12 for a surrogate pair);
//! - the trace without spans: `len(Trace(info, TraceData(spans=[])).to_json().encode("utf-8"))`,
//!   i.e. `{"info": <TraceInfo.to_dict()>, "data": {"spans": []}}` with the same settings, taken
//!   from the info as it is just before the size keys are added (metadata and tags already cut
//!   to their limits, as `to_dict` goes through `to_proto`).
//!
//! The total is the sum of the span sizes, plus the span-less trace, plus 2 bytes per `", "`
//! between spans. Percentiles interpolate linearly between the two nearest sorted sizes and are
//! truncated to integers.

use crate::{keys, TraceInfo};

/// The size statistics of one trace.
///
/// ```
/// use clew_model::summary::size_stats::SizeStats;
/// // Trace 1 of the wire capture: five spans and 878 bytes of span-less trace JSON.
/// let stats = SizeStats::compute(&[594, 921, 984, 920, 1716], 878).unwrap();
/// assert_eq!(
///     stats.to_json_text(),
///     r#"{"total_size_bytes": 6021, "num_spans": 5, "max": 1716, "p25": 920, "p50": 921, "p75": 984}"#
/// );
/// assert!(SizeStats::compute(&[], 100).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeStats {
    pub total_size_bytes: u64,
    pub num_spans: u64,
    pub max: u64,
    pub p25: u64,
    pub p50: u64,
    pub p75: u64,
}

impl SizeStats {
    /// Statistics from each span's JSON size and the size of the trace JSON without spans
    /// (see the module doc for exactly what to measure). `None` without spans: MLflow's
    /// `max([])` fails and it writes no size metadata.
    pub fn compute(span_json_sizes: &[usize], empty_trace_json_size: usize) -> Option<SizeStats> {
        let max = *span_json_sizes.iter().max()?;
        let mut sorted: Vec<u64> = span_json_sizes.iter().map(|&s| s as u64).collect();
        sorted.sort_unstable();
        let n = sorted.len() as u64;
        let spans_total: u64 = sorted.iter().sum();
        Some(SizeStats {
            total_size_bytes: spans_total + empty_trace_json_size as u64 + (n - 1) * 2,
            num_spans: n,
            max: max as u64,
            p25: percentile(&sorted, 0.25),
            p50: percentile(&sorted, 0.50),
            p75: percentile(&sorted, 0.75),
        })
    }

    /// `json.dumps(size_stats)`: the value of `mlflow.trace.sizeStats`.
    pub fn to_json_text(&self) -> String {
        format!(
            r#"{{"total_size_bytes": {}, "num_spans": {}, "max": {}, "p25": {}, "p50": {}, "p75": {}}}"#,
            self.total_size_bytes, self.num_spans, self.max, self.p25, self.p50, self.p75
        )
    }

    /// Writes `mlflow.trace.sizeStats` and `mlflow.trace.sizeBytes` into the trace metadata.
    pub fn apply(&self, info: &mut TraceInfo) {
        info.trace_metadata
            .insert(keys::SIZE_STATS.to_string(), self.to_json_text());
        info.trace_metadata.insert(
            keys::SIZE_BYTES.to_string(),
            self.total_size_bytes.to_string(),
        );
    }
}

/// MLflow's `_calculate_percentile` on sorted data, then `int()`: the same float operations,
/// so the same rounding.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let Some(&last) = sorted.last() else { return 0 };
    let n = sorted.len();
    let index = p * (n - 1) as f64;
    let lower = index as usize;
    let upper = lower + 1;
    if upper >= n {
        return last;
    }
    let weight = index - lower as f64;
    let value = sorted[lower] as f64 * (1.0 - weight) + sorted[upper] as f64 * weight;
    value as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_and_truncate() {
        let s = SizeStats::compute(&[1623, 498], 0).unwrap();
        assert_eq!((s.p25, s.p50, s.p75), (779, 1060, 1341));
        assert_eq!(s.total_size_bytes, 1623 + 498 + 2);
    }

    #[test]
    fn apply_writes_both_keys() {
        let mut info = TraceInfo::default();
        SizeStats::compute(&[10], 5).unwrap().apply(&mut info);
        assert_eq!(info.trace_metadata[keys::SIZE_BYTES], "15");
        assert!(info.trace_metadata[keys::SIZE_STATS]
            .starts_with(r#"{"total_size_bytes": 15, "num_spans": 1"#));
    }
}
