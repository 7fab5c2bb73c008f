//! Filling a [`TraceInfo`] from its spans, as MLflow does: on the client when the root span
//! ends (`BaseMlflowSpanProcessor._update_trace_info`, the previews of
//! `set_request_response_preview`, the size stats of the exporter and the limits of
//! `TraceInfo.to_proto`), and on the server when spans arrive over OTLP without a StartTraceV3
//! (`SqlAlchemyStore.log_spans`).

use super::preview::{request_preview, response_preview, truncate_like_python};
use super::size_stats::SizeStats;
use super::token_usage::aggregate_token_usage;
use crate::{keys, Span, SpanStatusCode, TraceInfo, TraceLocation, TraceState};
use serde_json::Value;

/// The OTel semconv span attribute holding the session id.
pub const SESSION_ID_ATTRIBUTE: &str = "session.id";
/// The GenAI semconv alternative to `session.id`.
pub const CONVERSATION_ID_ATTRIBUTE: &str = "gen_ai.conversation.id";
/// The OTel semconv span attribute holding the end user.
pub const USER_ID_ATTRIBUTE: &str = "user.id";
/// Root span attributes `mlflow.traceTag.<key>` carry trace tags over OTLP.
pub const TRACE_TAG_ATTRIBUTE_PREFIX: &str = "mlflow.traceTag.";

/// How [`finalize_trace_info`] fills the info.
///
/// ```
/// use clew_model::summary::finalize::FinalizeOptions;
/// let opts = FinalizeOptions::default();
/// assert_eq!(opts.max_preview_chars, 1000);
/// assert!(opts.explicit_state.is_none() && opts.apply_limits);
/// ```
#[derive(Clone, Copy)]
pub struct FinalizeOptions<'a> {
    /// A state the user set (`update_current_trace(state=...)`): OK or ERROR, kept as is.
    /// `None` (or `IN_PROGRESS`) takes the state from the root span, as MLflow does for a trace
    /// still `IN_PROGRESS`.
    pub explicit_state: Option<TraceState>,
    /// The user set the `mlflow.traceName` tag (`update_current_trace(tags=...)`), which MLflow
    /// lets win. Otherwise the root span's name is written, over any other value (e.g. one
    /// from `tracing.context(tags=...)`).
    pub explicit_trace_name: bool,
    /// Preview length: 1000 against OSS servers ([`keys::MAX_PREVIEW_CHARS`]), 10000 against
    /// Databricks.
    pub max_preview_chars: usize,
    /// Cut metadata and tags to MLflow's limits ([`apply_metadata_and_tag_limits`]), as the
    /// client's `to_proto` does before sending.
    pub apply_limits: bool,
    /// The UTF-8 byte length of the trace JSON without spans for the given info (see
    /// [`super::size_stats`] for exactly what). Called once, after everything else is filled.
    /// `None` writes no size stats.
    pub empty_trace_json_size: Option<&'a dyn Fn(&TraceInfo) -> usize>,
}

impl Default for FinalizeOptions<'_> {
    fn default() -> Self {
        FinalizeOptions {
            explicit_state: None,
            explicit_trace_name: false,
            max_preview_chars: keys::MAX_PREVIEW_CHARS,
            apply_limits: true,
            empty_trace_json_size: None,
        }
    }
}

impl std::fmt::Debug for FinalizeOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinalizeOptions")
            .field("explicit_state", &self.explicit_state)
            .field("explicit_trace_name", &self.explicit_trace_name)
            .field("max_preview_chars", &self.max_preview_chars)
            .field("apply_limits", &self.apply_limits)
            .field(
                "empty_trace_json_size",
                &self.empty_trace_json_size.is_some(),
            )
            .finish()
    }
}

/// Fills `info` as MLflow's client does once the root span has ended, in MLflow's order:
///
/// 1. `request_time` = root start (ms, floored) and `execution_duration` = root end − start;
/// 2. `state` from the root status (ERROR if the root is ERROR, else OK) unless
///    [`FinalizeOptions::explicit_state`] is set;
/// 3. metadata `mlflow.traceInputs` / `mlflow.traceOutputs`: the root's raw inputs/outputs JSON
///    text cut to 250 characters with `...` (empty string when absent);
/// 4. metadata `mlflow.trace.tokenUsage` when any span has usage (see
///    [`super::token_usage`]); metadata `mlflow.trace_schema.version` = `"3"` unless already set
///    (MLflow writes it when the trace starts, so user metadata can replace it);
/// 5. tag `mlflow.traceName` = the root name (unless [`FinalizeOptions::explicit_trace_name`]);
/// 6. previews, only where `info` has none yet (explicit previews are never overwritten) and
///    the root has inputs/outputs;
/// 7. the metadata and tag limits, when [`FinalizeOptions::apply_limits`];
/// 8. size stats over `span_json_sizes`, when [`FinalizeOptions::empty_trace_json_size`] is given.
///
/// Without a root span among `spans`, steps 1–3, 5 and 6 are skipped.
///
/// ```
/// use clew_model::{keys, Span, SpanId, SpanStatus, TraceId, TraceInfo, TraceState};
/// use clew_model::summary::finalize::{finalize_trace_info, FinalizeOptions};
/// let root = Span {
///     trace_id: TraceId::from_u128(7), span_id: SpanId::from_u64(1), parent_id: None,
///     name: "answer".into(), start_time_ns: 1_795_238_771_687_890_236,
///     end_time_ns: Some(1_795_238_771_745_461_080), status: SpanStatus::ok(), events: vec![], links: vec![],
///     attributes: [(keys::SPAN_INPUTS.to_string(), r#"{"question": "Why?"}"#.to_string())].into_iter().collect(),
/// };
/// let mut info = TraceInfo { state: TraceState::InProgress, ..Default::default() };
/// finalize_trace_info(&mut info, &[root], &[594], &FinalizeOptions::default());
/// assert_eq!(info.request_time, 1_795_238_771_687);
/// assert_eq!(info.execution_duration, Some(57));
/// assert_eq!(info.state, TraceState::Ok);
/// assert_eq!(info.request_preview.as_deref(), Some(r#"{"question": "Why?"}"#));
/// assert_eq!(info.response_preview, None);
/// assert_eq!(info.trace_metadata[keys::TRACE_OUTPUTS], "");
/// assert_eq!(info.tags[keys::TRACE_NAME], "answer");
/// ```
pub fn finalize_trace_info(
    info: &mut TraceInfo,
    spans: &[Span],
    span_json_sizes: &[usize],
    opts: &FinalizeOptions,
) {
    let root = spans.iter().find(|s| s.is_root());

    if let Some(root) = root {
        info.request_time = root.start_time_ns.div_euclid(1_000_000);
        info.execution_duration = root
            .end_time_ns
            .map(|end| (end - root.start_time_ns).div_euclid(1_000_000));
        info.state = match opts.explicit_state {
            Some(state) if state != TraceState::InProgress => state,
            _ => state_from_root(root),
        };
        let inputs = root.attributes.get(keys::SPAN_INPUTS);
        let outputs = root.attributes.get(keys::SPAN_OUTPUTS);
        info.trace_metadata
            .insert(keys::TRACE_INPUTS.to_string(), truncate_trace_io(inputs));
        info.trace_metadata
            .insert(keys::TRACE_OUTPUTS.to_string(), truncate_trace_io(outputs));
    }

    if let Some(usage) = aggregate_token_usage(spans) {
        info.trace_metadata
            .insert(keys::TOKEN_USAGE.to_string(), usage.to_json_text());
    }
    info.trace_metadata
        .entry(keys::TRACE_SCHEMA_VERSION.to_string())
        .or_insert_with(|| keys::CURRENT_TRACE_SCHEMA_VERSION.to_string());

    if let Some(root) = root {
        if !opts.explicit_trace_name || !info.tags.contains_key(keys::TRACE_NAME) {
            info.tags
                .insert(keys::TRACE_NAME.to_string(), root.name.clone());
        }
        set_previews(info, root, opts.max_preview_chars);
    }

    if opts.apply_limits {
        apply_metadata_and_tag_limits(info);
    }

    if let Some(measure) = opts.empty_trace_json_size {
        if let Some(stats) = SizeStats::compute(span_json_sizes, measure(info)) {
            stats.apply(info);
        }
    }
}

/// ERROR if the root span is ERROR, else OK (UNSET counts as OK, as in MLflow).
fn state_from_root(root: &Span) -> TraceState {
    match root.status.status_code {
        SpanStatusCode::Error => TraceState::Error,
        SpanStatusCode::Ok | SpanStatusCode::Unset => TraceState::Ok,
    }
}

/// MLflow's `_truncate_metadata`: empty for a missing or empty value, else cut to 250
/// characters ending in `...`.
fn truncate_trace_io(value: Option<&String>) -> String {
    match value {
        Some(v) if !v.is_empty() => truncate_like_python(v, keys::MAX_TRACE_IO_METADATA_CHARS),
        _ => String::new(),
    }
}

/// Sets the previews the info does not have yet from the root's raw inputs/outputs.
fn set_previews(info: &mut TraceInfo, root: &Span, max_chars: usize) {
    if info.request_preview.is_none() {
        if let Some(inputs) = root.attributes.get(keys::SPAN_INPUTS) {
            info.request_preview = Some(request_preview(inputs, max_chars));
        }
    }
    if info.response_preview.is_none() {
        if let Some(outputs) = root.attributes.get(keys::SPAN_OUTPUTS) {
            info.response_preview = Some(response_preview(outputs, max_chars));
        }
    }
}

/// Cuts metadata keys and values to 250 characters and tag keys to 250 and values to 4096, as
/// MLflow's `TraceInfo.to_proto` does: a plain cut, no `...`. Two keys that become equal keep
/// the first one's position and the last one's value (a Python dict comprehension).
///
/// ```
/// use clew_model::TraceInfo;
/// use clew_model::summary::finalize::apply_metadata_and_tag_limits;
/// let mut info = TraceInfo::default();
/// info.trace_metadata.insert("k".into(), "v".repeat(300));
/// info.tags.insert("t".repeat(260), "x".into());
/// apply_metadata_and_tag_limits(&mut info);
/// assert_eq!(info.trace_metadata["k"].len(), 250);
/// assert_eq!(info.tags.keys().next().unwrap().len(), 250);
/// ```
pub fn apply_metadata_and_tag_limits(info: &mut TraceInfo) {
    info.trace_metadata = cut_map(
        std::mem::take(&mut info.trace_metadata),
        keys::MAX_METADATA_KEY_CHARS,
        keys::MAX_METADATA_VALUE_CHARS,
    );
    info.tags = cut_map(
        std::mem::take(&mut info.tags),
        keys::MAX_TAG_KEY_CHARS,
        keys::MAX_TAG_VALUE_CHARS,
    );
}

fn cut_map(
    map: indexmap::IndexMap<String, String>,
    max_key: usize,
    max_value: usize,
) -> indexmap::IndexMap<String, String> {
    let mut out = indexmap::IndexMap::with_capacity(map.len());
    for (k, v) in map {
        out.insert(cut_chars(k, max_key), cut_chars(v, max_value));
    }
    out
}

/// `s[:max]` in characters.
fn cut_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((byte, _)) => s[..byte].to_string(),
        None => s,
    }
}

/// The trace info an MLflow server builds from OTLP spans alone (no StartTraceV3), as its
/// `log_spans` does:
///
/// - `trace_id` from the spans (`mlflow.traceRequestId`, else `tr-<otel trace id>`);
/// - `request_time` = the earliest span start (ms); `execution_duration` = latest end − that;
/// - `state` from the root span (ERROR if ERROR, else OK), `IN_PROGRESS` while no root is there;
/// - previews from the root's inputs/outputs (1000 characters), when not empty;
/// - metadata `mlflow.trace.session` from the first `session.id` (or `gen_ai.conversation.id`)
///   attribute, `mlflow.trace.user` from the first `user.id`, `mlflow.trace.tokenUsage` in the
///   server's stored form ([`super::token_usage::TokenUsage::to_stored_json_text`]);
/// - tags from the root's `mlflow.traceTag.<key>` attributes (the trace name among them) and
///   `mlflow.trace.spansLocation` = `TRACKING_STORE`.
///
/// Not filled: `mlflow.artifactLocation` (needs the experiment's artifact root), cost (needs a
/// price table), tags from OTLP resource attributes (not part of [`Span`]).
///
/// ```
/// use clew_model::{keys, Span, SpanId, SpanStatus, TraceId, TraceState};
/// use clew_model::summary::finalize::trace_info_from_spans;
/// let child = Span {
///     trace_id: TraceId::from_u128(7), span_id: SpanId::from_u64(2), parent_id: Some(SpanId::from_u64(1)),
///     name: "step".into(), start_time_ns: 2_000_000, end_time_ns: Some(5_000_000),
///     status: SpanStatus::ok(), events: vec![], links: vec![],
///     attributes: [("session.id".to_string(), "\"sess-1\"".to_string())].into_iter().collect(),
/// };
/// let info = trace_info_from_spans("1", &[child]);
/// assert_eq!(info.trace_id, "tr-00000000000000000000000000000007");
/// assert_eq!(info.state, TraceState::InProgress);
/// assert_eq!(info.execution_duration, Some(3));
/// assert_eq!(info.trace_metadata[keys::TRACE_SESSION], "sess-1");
/// ```
pub fn trace_info_from_spans(experiment_id: &str, spans: &[Span]) -> TraceInfo {
    let mut info = TraceInfo {
        trace_id: spans.first().map(Span::request_id).unwrap_or_default(),
        trace_location: TraceLocation::experiment(experiment_id),
        state: TraceState::InProgress,
        ..Default::default()
    };
    let Some(min_start_ns) = spans.iter().map(|s| s.start_time_ns).min() else {
        return info;
    };
    let min_start_ms = min_start_ns.div_euclid(1_000_000);
    info.request_time = min_start_ms;
    let max_end_ms = spans
        .iter()
        .filter_map(|s| s.end_time_ns)
        .max()
        .map(|e| e.div_euclid(1_000_000));
    // MLflow tests the end for truthiness, so an end at 0 ms reads as none.
    info.execution_duration = max_end_ms.filter(|&e| e != 0).map(|e| e - min_start_ms);

    let root = spans.iter().find(|s| s.is_root());
    if let Some(root) = root {
        info.state = state_from_root(root);
        let max = keys::MAX_PREVIEW_CHARS;
        info.request_preview = root
            .attributes
            .get(keys::SPAN_INPUTS)
            .filter(|t| !t.is_empty())
            .map(|t| request_preview(t, max));
        info.response_preview = root
            .attributes
            .get(keys::SPAN_OUTPUTS)
            .filter(|t| !t.is_empty())
            .map(|t| response_preview(t, max));
    }

    let first_attr = |names: &[&str]| {
        spans.iter().find_map(|s| {
            names
                .iter()
                .find_map(|n| s.attributes.get(*n).filter(|v| !v.is_empty()))
        })
    };
    if let Some(session) = first_attr(&[SESSION_ID_ATTRIBUTE, CONVERSATION_ID_ATTRIBUTE])
        .map(|v| json_string_or_raw(v))
    {
        // MLflow rejects a session id over 250 characters; clew leaves it out.
        if session.chars().count() <= keys::MAX_METADATA_VALUE_CHARS {
            info.trace_metadata
                .insert(keys::TRACE_SESSION.to_string(), session);
        }
    }
    if let Some(user) = first_attr(&[USER_ID_ATTRIBUTE]).map(|v| json_string_or_raw(v)) {
        info.trace_metadata
            .insert(keys::TRACE_USER.to_string(), user);
    }
    if let Some(usage) = aggregate_token_usage(spans).and_then(|u| u.to_stored_json_text()) {
        info.trace_metadata
            .insert(keys::TOKEN_USAGE.to_string(), usage);
    }

    if let Some(root) = root {
        for (key, value) in &root.attributes {
            let Some(tag_key) = key.strip_prefix(TRACE_TAG_ATTRIBUTE_PREFIX) else {
                continue;
            };
            if tag_key.is_empty() || tag_key.chars().count() > keys::MAX_TAG_KEY_CHARS {
                continue;
            }
            info.tags
                .insert(tag_key.to_string(), json_string_or_raw(value));
        }
    }
    info.tags.insert(
        keys::SPANS_LOCATION.to_string(),
        keys::SPANS_LOCATION_TRACKING_STORE.to_string(),
    );
    info
}

/// MLflow's `_try_parse_json_string`: the decoded string if the text is a JSON string, else
/// the text itself.
fn json_string_or_raw(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => s,
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, SpanStatus, TraceId};

    fn span(id: u64, parent: Option<u64>, attrs: &[(&str, &str)]) -> Span {
        Span {
            trace_id: TraceId::from_u128(0xabc),
            span_id: SpanId::from_u64(id),
            parent_id: parent.map(SpanId::from_u64),
            name: format!("s{id}"),
            start_time_ns: 1_000_000_000 + id as i64 * 1_000_000,
            end_time_ns: Some(2_000_000_000),
            status: SpanStatus::ok(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            events: vec![],
            links: vec![],
        }
    }

    #[test]
    fn explicit_state_and_previews_survive() {
        let mut root = span(
            1,
            None,
            &[
                (keys::SPAN_INPUTS, "{\"a\": 1}"),
                (keys::SPAN_OUTPUTS, "\"out\""),
            ],
        );
        root.status = SpanStatus::error("boom");
        let mut info = TraceInfo {
            request_preview: Some("mine".into()),
            ..Default::default()
        };
        let opts = FinalizeOptions {
            explicit_state: Some(TraceState::Ok),
            ..Default::default()
        };
        finalize_trace_info(&mut info, &[root.clone()], &[], &opts);
        assert_eq!(info.state, TraceState::Ok);
        assert_eq!(info.request_preview.as_deref(), Some("mine"));
        assert_eq!(info.response_preview.as_deref(), Some("\"out\""));

        let mut info = TraceInfo::default();
        finalize_trace_info(&mut info, &[root], &[], &FinalizeOptions::default());
        assert_eq!(info.state, TraceState::Error);
    }

    #[test]
    fn trace_name_wins_unless_user_set() {
        let root = span(1, None, &[]);
        let mut info = TraceInfo::default();
        info.tags
            .insert(keys::TRACE_NAME.into(), "from-context".into());
        finalize_trace_info(
            &mut info,
            std::slice::from_ref(&root),
            &[],
            &FinalizeOptions::default(),
        );
        assert_eq!(info.tags[keys::TRACE_NAME], "s1");

        let mut info = TraceInfo::default();
        info.tags.insert(keys::TRACE_NAME.into(), "custom".into());
        let opts = FinalizeOptions {
            explicit_trace_name: true,
            ..Default::default()
        };
        finalize_trace_info(&mut info, &[root], &[], &opts);
        assert_eq!(info.tags[keys::TRACE_NAME], "custom");
    }

    #[test]
    fn size_stats_measure_the_finished_info() {
        let root = span(1, None, &[]);
        let mut info = TraceInfo::default();
        let measure = |i: &TraceInfo| {
            assert_eq!(i.tags[keys::TRACE_NAME], "s1");
            assert!(!i.trace_metadata.contains_key(keys::SIZE_STATS));
            100
        };
        let opts = FinalizeOptions {
            empty_trace_json_size: Some(&measure),
            ..Default::default()
        };
        finalize_trace_info(&mut info, &[root], &[10, 20], &opts);
        assert_eq!(info.trace_metadata[keys::SIZE_BYTES], "132");
    }

    #[test]
    fn cut_keeps_first_position_and_last_value() {
        let mut info = TraceInfo::default();
        let long_a = format!("{}a", "k".repeat(250));
        let long_b = format!("{}b", "k".repeat(250));
        info.trace_metadata.insert(long_a, "1".into());
        info.trace_metadata.insert("other".into(), "2".into());
        info.trace_metadata.insert(long_b, "3".into());
        apply_metadata_and_tag_limits(&mut info);
        let entries: Vec<_> = info
            .trace_metadata
            .iter()
            .map(|(k, v)| (k.len(), v.as_str()))
            .collect();
        assert_eq!(entries, vec![(250, "3"), (5, "2")]);
    }

    #[test]
    fn otlp_only_trace_without_spans_is_in_progress() {
        let info = trace_info_from_spans("3", &[]);
        assert_eq!(info.state, TraceState::InProgress);
        assert_eq!(info.experiment_id(), Some("3"));
    }

    #[test]
    fn otlp_only_trace_reads_root_tags_and_user() {
        let root = span(
            1,
            None,
            &[
                ("mlflow.traceTag.env", "\"dev\""),
                ("user.id", "\"alice\""),
                (keys::SPAN_INPUTS, "{}"),
            ],
        );
        let info = trace_info_from_spans("1", &[root]);
        assert_eq!(info.state, TraceState::Ok);
        assert_eq!(info.tags["env"], "dev");
        assert_eq!(info.trace_metadata[keys::TRACE_USER], "alice");
        assert_eq!(info.request_preview.as_deref(), Some("{}"));
        assert_eq!(info.response_preview, None);
        assert_eq!(info.tags[keys::SPANS_LOCATION], "TRACKING_STORE");
    }
}
