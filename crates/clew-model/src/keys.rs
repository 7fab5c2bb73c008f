//! Reserved attribute, metadata and tag keys (spec §3.4, §3.5).

// Span attributes.
pub const TRACE_REQUEST_ID: &str = "mlflow.traceRequestId";
pub const SPAN_TYPE: &str = "mlflow.spanType";
pub const SPAN_INPUTS: &str = "mlflow.spanInputs";
pub const SPAN_OUTPUTS: &str = "mlflow.spanOutputs";
pub const SPAN_FUNCTION_NAME: &str = "mlflow.spanFunctionName";
pub const EXPERIMENT_ID: &str = "mlflow.experimentId";
pub const SPAN_START_TIME_NS: &str = "mlflow.spanStartTimeNs";
pub const CHAT_TOOLS: &str = "mlflow.chat.tools";
pub const CHAT_TOKEN_USAGE: &str = "mlflow.chat.tokenUsage";
pub const CHAT_MESSAGES: &str = "mlflow.chat.messages";
pub const LLM_COST: &str = "mlflow.llm.cost";
pub const LLM_MODEL: &str = "mlflow.llm.model";
pub const LLM_PROVIDER: &str = "mlflow.llm.provider";
pub const MESSAGE_FORMAT: &str = "mlflow.message.format";
pub const SPAN_LOG_LEVEL: &str = "mlflow.spanLogLevel";
pub const INTERMEDIATE_OUTPUTS: &str = "mlflow.trace.intermediate_outputs";

// Events.
pub const EXCEPTION_EVENT: &str = "exception";
pub const EXCEPTION_MESSAGE: &str = "exception.message";
pub const EXCEPTION_TYPE: &str = "exception.type";
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
pub const CHUNK_EVENT_PREFIX: &str = "mlflow.chunk.item.";
pub const CHUNK_VALUE: &str = "mlflow.chunk.value";

// Trace metadata.
pub const TRACE_SCHEMA_VERSION: &str = "mlflow.trace_schema.version";
pub const TRACE_INPUTS: &str = "mlflow.traceInputs";
pub const TRACE_OUTPUTS: &str = "mlflow.traceOutputs";
pub const SOURCE_RUN: &str = "mlflow.sourceRun";
pub const MODEL_ID: &str = "mlflow.modelId";
pub const SIZE_STATS: &str = "mlflow.trace.sizeStats";
pub const SIZE_BYTES: &str = "mlflow.trace.sizeBytes";
pub const TOKEN_USAGE: &str = "mlflow.trace.tokenUsage";
pub const TRACE_COST: &str = "mlflow.trace.cost";
pub const TRACE_USER: &str = "mlflow.trace.user";
pub const TRACE_SESSION: &str = "mlflow.trace.session";
pub const INFO_FINALIZED: &str = "mlflow.trace.infoFinalized";
pub const MLFLOW_USER: &str = "mlflow.user";
pub const SOURCE_NAME: &str = "mlflow.source.name";
pub const SOURCE_TYPE: &str = "mlflow.source.type";

// Trace tags.
pub const TRACE_NAME: &str = "mlflow.traceName";
pub const ARTIFACT_LOCATION: &str = "mlflow.artifactLocation";
pub const SPANS_LOCATION: &str = "mlflow.trace.spansLocation";
pub const SPANS_LOCATION_TRACKING_STORE: &str = "TRACKING_STORE";

/// Tags a client may not change once set.
pub const IMMUTABLE_TAGS: [&str; 2] = [MLFLOW_USER, ARTIFACT_LOCATION];

/// The schema version clew writes into `mlflow.trace_schema.version`.
pub const CURRENT_TRACE_SCHEMA_VERSION: &str = "3";

// Limits (spec §3.6).
pub const MAX_PREVIEW_CHARS: usize = 1000;
pub const MAX_TRACE_IO_METADATA_CHARS: usize = 250;
pub const MAX_METADATA_KEY_CHARS: usize = 250;
pub const MAX_METADATA_VALUE_CHARS: usize = 250;
pub const MAX_TAG_KEY_CHARS: usize = 250;
pub const MAX_TAG_VALUE_CHARS: usize = 4096;

/// `content[:max-3] + "..."` counted in characters, as MLflow truncates.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncation_keeps_short_strings_and_marks_long_ones() {
        assert_eq!(super::truncate_chars("abc", 5), "abc");
        assert_eq!(super::truncate_chars("abcdefgh", 5), "ab...");
        assert_eq!(super::truncate_chars("ééééééé", 5).chars().count(), 5);
    }
}
