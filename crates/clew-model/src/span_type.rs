//! Span types: plain strings in MLflow; the predefined ones get variants, anything else is `Custom`.

use std::fmt;

/// The kind of work a span records. MLflow stores it as the `mlflow.spanType` attribute.
///
/// ```
/// use clew_model::SpanType;
/// assert_eq!(SpanType::from("RETRIEVER"), SpanType::Retriever);
/// assert_eq!(SpanType::from("MY_STEP").as_str(), "MY_STEP");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanType {
    Llm,
    Chain,
    Agent,
    Tool,
    ChatModel,
    Retriever,
    Parser,
    Embedding,
    Reranker,
    Memory,
    #[default]
    Unknown,
    Workflow,
    Task,
    Guardrail,
    Evaluator,
    Custom(String),
}

impl SpanType {
    /// Every predefined type, in the order of MLflow's `SpanType` class.
    pub const PREDEFINED: [SpanType; 15] = [
        SpanType::Llm,
        SpanType::Chain,
        SpanType::Agent,
        SpanType::Tool,
        SpanType::ChatModel,
        SpanType::Retriever,
        SpanType::Parser,
        SpanType::Embedding,
        SpanType::Reranker,
        SpanType::Memory,
        SpanType::Unknown,
        SpanType::Workflow,
        SpanType::Task,
        SpanType::Guardrail,
        SpanType::Evaluator,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            SpanType::Llm => "LLM",
            SpanType::Chain => "CHAIN",
            SpanType::Agent => "AGENT",
            SpanType::Tool => "TOOL",
            SpanType::ChatModel => "CHAT_MODEL",
            SpanType::Retriever => "RETRIEVER",
            SpanType::Parser => "PARSER",
            SpanType::Embedding => "EMBEDDING",
            SpanType::Reranker => "RERANKER",
            SpanType::Memory => "MEMORY",
            SpanType::Unknown => "UNKNOWN",
            SpanType::Workflow => "WORKFLOW",
            SpanType::Task => "TASK",
            SpanType::Guardrail => "GUARDRAIL",
            SpanType::Evaluator => "EVALUATOR",
            SpanType::Custom(s) => s,
        }
    }
}

impl From<&str> for SpanType {
    fn from(s: &str) -> Self {
        match s {
            "LLM" => SpanType::Llm,
            "CHAIN" => SpanType::Chain,
            "AGENT" => SpanType::Agent,
            "TOOL" => SpanType::Tool,
            "CHAT_MODEL" => SpanType::ChatModel,
            "RETRIEVER" => SpanType::Retriever,
            "PARSER" => SpanType::Parser,
            "EMBEDDING" => SpanType::Embedding,
            "RERANKER" => SpanType::Reranker,
            "MEMORY" => SpanType::Memory,
            "UNKNOWN" => SpanType::Unknown,
            "WORKFLOW" => SpanType::Workflow,
            "TASK" => SpanType::Task,
            "GUARDRAIL" => SpanType::Guardrail,
            "EVALUATOR" => SpanType::Evaluator,
            other => SpanType::Custom(other.to_string()),
        }
    }
}

impl From<String> for SpanType {
    fn from(s: String) -> Self {
        SpanType::from(s.as_str())
    }
}

impl fmt::Display for SpanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn predefined_types_round_trip_through_strings() {
        for t in SpanType::PREDEFINED.iter() {
            assert_eq!(&SpanType::from(t.as_str()), t);
        }
        assert_eq!(SpanType::from("custom_thing"), SpanType::Custom("custom_thing".into()));
    }
}
