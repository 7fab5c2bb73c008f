//! The conventions MLflow 3.17 understands, in its order (`_TRANSLATORS` in
//! `mlflow/tracing/otel/translation/__init__.py`).

use super::py::{decode_typed, dump_ascii, dump_attribute, loads, loads_or_str, truthy, truthy_value};
use super::schema::{checked, Count, Found, Key, Lookup, Schema, Translator};
use crate::pyjson::PyValue;
use crate::{Attributes, SpanEvent};
use indexmap::IndexMap;

/// Attribute-based translators, in the order MLflow tries them.
pub(crate) static TRANSLATORS: [&dyn Translator; 12] = [
    &OpenInference,
    &GeminiCli,
    &ClaudeCode,
    &GenAi,
    &SpringAi,
    &Traceloop,
    &GoogleAdk,
    &VercelAi,
    &VoltAgent,
    &LiveKit,
    &Laminar,
    &Langfuse,
];

/// Translators that also read span events, in MLflow's order (`_EVENT_TRANSLATORS`).
pub(crate) static EVENT_TRANSLATORS: [&dyn Translator; 3] = [&SpringAi, &LiveKit, &ClaudeCode];

// ---------------------------------------------------------------------------------------
// OpenInference (Arize Phoenix and its instrumentations)

pub(crate) struct OpenInference;

const OPEN_INFERENCE: Schema = Schema {
    span_kind_key: Some("openinference.span.kind"),
    span_kinds: &[
        ("TOOL", "TOOL"),
        ("CHAIN", "CHAIN"),
        ("LLM", "LLM"),
        ("RETRIEVER", "RETRIEVER"),
        ("EMBEDDING", "EMBEDDING"),
        ("AGENT", "AGENT"),
        ("RERANKER", "RERANKER"),
        ("UNKNOWN", "UNKNOWN"),
        ("GUARDRAIL", "GUARDRAIL"),
        ("EVALUATOR", "EVALUATOR"),
    ],
    input_tokens: Some("llm.token_count.prompt"),
    output_tokens: Some("llm.token_count.completion"),
    total_tokens: Some("llm.token_count.total"),
    cache_read_tokens: Some("llm.token_count.prompt_details.cache_read"),
    cache_creation_tokens: Some("llm.token_count.prompt_details.cache_write"),
    inputs: &[Key::Exact("input.value")],
    outputs: &[Key::Exact("output.value")],
    model_names: &["llm.response.model_name", "llm.model_name", "llm.request.model_name", "embedding.model_name"],
    provider: Some("llm.provider"),
    tool_definitions: &[],
};

impl Translator for OpenInference {
    fn name(&self) -> &'static str {
        "OpenInference"
    }
    fn schema(&self) -> &'static Schema {
        &OPEN_INFERENCE
    }
}

// ---------------------------------------------------------------------------------------
// OpenTelemetry GenAI semantic conventions

pub(crate) struct GenAi;

const GENAI_KINDS: &[(&str, &str)] = &[
    ("chat", "CHAT_MODEL"),
    ("create_agent", "AGENT"),
    ("embeddings", "EMBEDDING"),
    ("execute_tool", "TOOL"),
    ("generate_content", "LLM"),
    ("invoke_agent", "AGENT"),
    ("text_completion", "LLM"),
    ("response", "LLM"),
];

const GENAI: Schema = Schema {
    span_kind_key: Some("gen_ai.operation.name"),
    span_kinds: GENAI_KINDS,
    input_tokens: Some("gen_ai.usage.input_tokens"),
    output_tokens: Some("gen_ai.usage.output_tokens"),
    total_tokens: None,
    cache_read_tokens: Some("gen_ai.usage.cache_read.input_tokens"),
    cache_creation_tokens: Some("gen_ai.usage.cache_write.input_tokens"),
    inputs: &[Key::Exact("gen_ai.input.messages"), Key::Exact("gen_ai.tool.call.arguments")],
    outputs: &[Key::Exact("gen_ai.output.messages"), Key::Exact("gen_ai.tool.call.result")],
    model_names: &["gen_ai.response.model", "gen_ai.request.model"],
    provider: Some("gen_ai.provider.name"),
    tool_definitions: &["gen_ai.tool.definitions"],
};

/// The previous registry's name for cache-creation tokens, read when the current key is absent.
const GENAI_LEGACY_CACHE_CREATION: &str = "gen_ai.usage.cache_creation.input_tokens";

fn genai_cache_creation<'a>(schema: &Schema, attributes: &'a Attributes) -> Option<Count<'a>> {
    schema
        .cache_creation_tokens
        .and_then(|key| attributes.find(key))
        .or_else(|| attributes.find(GENAI_LEGACY_CACHE_CREATION))
        .map(|raw| Count::Text(raw.as_str()))
}

/// `gen_ai.{system,user,assistant}.message` events → `[{"role", "content"}]`.
fn genai_input_from_events(events: &[SpanEvent]) -> Option<String> {
    let messages: Vec<PyValue> = events
        .iter()
        .filter_map(|event| {
            let role = match event.name.as_str() {
                "gen_ai.system.message" => "system",
                "gen_ai.user.message" => "user",
                "gen_ai.assistant.message" => "assistant",
                _ => return None,
            };
            let content = event.attributes.get("content").filter(|c| truthy_value(c))?;
            Some(message(PyValue::Str(role.to_string()), decode_typed(content)))
        })
        .collect();
    (!messages.is_empty()).then(|| dump_ascii(&PyValue::List(messages)))
}

/// `gen_ai.choice` events → `[{"role", "content"}]`.
fn genai_output_from_events(events: &[SpanEvent]) -> Option<String> {
    let messages: Vec<PyValue> = events
        .iter()
        .filter(|event| event.name == "gen_ai.choice")
        .filter_map(|event| {
            let content = event.attributes.get("content").filter(|c| truthy_value(c))?;
            let role = event
                .attributes
                .get("role")
                .map_or_else(|| PyValue::Str("assistant".to_string()), decode_typed);
            Some(message(role, decode_typed(content)))
        })
        .collect();
    (!messages.is_empty()).then(|| dump_ascii(&PyValue::List(messages)))
}

fn message(role: PyValue, content: PyValue) -> PyValue {
    let mut map = IndexMap::new();
    map.insert("role".to_string(), role);
    map.insert("content".to_string(), content);
    PyValue::Dict(map)
}

impl Translator for GenAi {
    fn name(&self) -> &'static str {
        "GenAI"
    }
    fn schema(&self) -> &'static Schema {
        &GENAI
    }
    fn cache_creation_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        genai_cache_creation(self.schema(), attributes)
    }
    fn input_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        genai_input_from_events(events)
    }
    fn output_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        genai_output_from_events(events)
    }
}

// ---------------------------------------------------------------------------------------
// Gemini CLI: GenAI keys with its own operation names, scoped to `gen_ai.agent.name ==
// "gemini-cli"`, messages wrapped in the Gemini SDK shape for the UI's Gemini renderer.

pub(crate) struct GeminiCli;

const GEMINI_CLI: Schema = Schema {
    span_kinds: &[("llm_call", "LLM"), ("tool_call", "TOOL"), ("agent_call", "AGENT")],
    ..GENAI
};

impl GeminiCli {
    fn is_gemini_cli(attributes: &Attributes) -> bool {
        attributes
            .get("gen_ai.agent.name")
            .is_some_and(|raw| matches!(loads_or_str(raw), PyValue::Str(s) if s == "gemini-cli"))
    }

    fn wrap_input(value: &str, operation: Option<&str>) -> String {
        let decoded = loads_or_str(value);
        if let PyValue::Dict(map) = &decoded {
            if map.contains_key("contents") {
                return value.to_string();
            }
        }
        // MLflow compares the raw attribute text with "system_prompt", which JSON text (always
        // quoted) never equals; kept as MLflow behaves.
        let decoded = match decoded {
            PyValue::List(items) if operation == Some("system_prompt") => PyValue::List(
                items
                    .into_iter()
                    .map(|item| match item {
                        PyValue::Dict(mut map)
                            if matches!(map.get("role"), Some(PyValue::Str(r)) if r == "user") =>
                        {
                            map.insert("role".to_string(), PyValue::Str("system".to_string()));
                            PyValue::Dict(map)
                        }
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        };
        match decoded {
            PyValue::List(_) | PyValue::Str(_) => {
                let mut map = IndexMap::new();
                map.insert("contents".to_string(), decoded);
                dump_ascii(&PyValue::Dict(map))
            }
            _ => value.to_string(),
        }
    }

    fn wrap_output(value: &str) -> String {
        match loads_or_str(value) {
            PyValue::Dict(map) if map.contains_key("candidates") => value.to_string(),
            PyValue::List(items) => {
                let parts: Vec<PyValue> = items
                    .into_iter()
                    .filter_map(|item| match item {
                        PyValue::Dict(mut map) => match map.shift_remove("parts") {
                            Some(PyValue::List(parts)) => Some(parts),
                            _ => None,
                        },
                        _ => None,
                    })
                    .flatten()
                    .collect();
                if parts.is_empty() {
                    return value.to_string();
                }
                let mut content = IndexMap::new();
                content.insert("role".to_string(), PyValue::Str("model".to_string()));
                content.insert("parts".to_string(), PyValue::List(parts));
                let mut candidate = IndexMap::new();
                candidate.insert("content".to_string(), PyValue::Dict(content));
                let mut top = IndexMap::new();
                top.insert("candidates".to_string(), PyValue::List(vec![PyValue::Dict(candidate)]));
                dump_ascii(&PyValue::Dict(top))
            }
            _ => value.to_string(),
        }
    }
}

impl Translator for GeminiCli {
    fn name(&self) -> &'static str {
        "GeminiCli"
    }
    fn schema(&self) -> &'static Schema {
        &GEMINI_CLI
    }
    fn span_type(&self, attributes: &Attributes) -> Option<&'static str> {
        if !Self::is_gemini_cli(attributes) {
            return None;
        }
        let kind = attributes.find("gen_ai.operation.name").filter(|raw| !raw.is_empty())?;
        match loads_or_str(kind) {
            PyValue::Str(kind) => self.schema().span_type_for(&kind),
            _ => None,
        }
    }
    fn cache_creation_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        genai_cache_creation(self.schema(), attributes)
    }
    fn message_format(&self, attributes: &Attributes) -> Option<&'static str> {
        Self::is_gemini_cli(attributes).then_some("gemini")
    }
    fn input_value(&self, attributes: &Attributes, _found: &mut Found) -> Option<String> {
        if !Self::is_gemini_cli(attributes) {
            return None;
        }
        let value = super::schema::first_value(attributes, self.schema().inputs)?;
        let operation = attributes.find("gen_ai.operation.name").map(String::as_str);
        Some(Self::wrap_input(value, operation))
    }
    fn output_value(&self, attributes: &Attributes) -> Option<String> {
        if !Self::is_gemini_cli(attributes) {
            return None;
        }
        let value = super::schema::first_value(attributes, self.schema().outputs)?;
        Some(Self::wrap_output(value))
    }
}

// ---------------------------------------------------------------------------------------
// Claude Code (and the Claude Agent SDK): `span.type` = `claude_code.{interaction,
// llm_request,tool}`, bare token keys, `<REDACTED>` content unless the user opts in.

pub(crate) struct ClaudeCode;

const CLAUDE_CODE: Schema = Schema {
    span_kind_key: Some("span.type"),
    span_kinds: &[
        ("claude_code.interaction", "AGENT"),
        ("claude_code.llm_request", "LLM"),
        ("claude_code.tool", "TOOL"),
    ],
    input_tokens: Some("input_tokens"),
    output_tokens: Some("output_tokens"),
    cache_read_tokens: Some("cache_read_tokens"),
    cache_creation_tokens: Some("cache_creation_tokens"),
    ..Schema::EMPTY
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClaudeSpan {
    Interaction,
    LlmRequest,
    Tool,
}

const REDACTED: &str = "<REDACTED>";

impl ClaudeCode {
    fn kind(attributes: &Attributes) -> Option<ClaudeSpan> {
        let PyValue::Str(kind) = loads_or_str(attributes.find("span.type")?) else {
            return None;
        };
        let bare = kind.strip_prefix("claude_code.").unwrap_or(&kind);
        // A prefixed value must be a known one; older/newer versions send bare values.
        match bare {
            "interaction" => Some(ClaudeSpan::Interaction),
            "llm_request" => Some(ClaudeSpan::LlmRequest),
            "tool" => Some(ClaudeSpan::Tool),
            _ => None,
        }
    }

    fn content<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a str> {
        let value = checked(attributes, key)?;
        match loads_or_str(value) {
            PyValue::Str(s) if s == REDACTED => None,
            _ => Some(value),
        }
    }

    /// `int(try_json_loads(value))`.
    fn int(attributes: &Attributes, key: &str) -> Option<i128> {
        match loads_or_str(attributes.find(key)?) {
            PyValue::Int(i) => Some(i),
            PyValue::Bool(b) => Some(i128::from(b)),
            PyValue::Float(f) if f.is_finite() => Some(f.trunc() as i128),
            PyValue::Str(s) => super::py::python_int(&s),
            _ => None,
        }
    }

    fn llm_int(attributes: &Attributes, key: &str) -> Option<i128> {
        (Self::kind(attributes) == Some(ClaudeSpan::LlmRequest)).then(|| Self::int(attributes, key)).flatten()
    }
}

impl Translator for ClaudeCode {
    fn name(&self) -> &'static str {
        "ClaudeCode"
    }
    fn schema(&self) -> &'static Schema {
        &CLAUDE_CODE
    }
    fn span_type(&self, attributes: &Attributes) -> Option<&'static str> {
        Some(match Self::kind(attributes)? {
            ClaudeSpan::Interaction => "AGENT",
            ClaudeSpan::LlmRequest => "LLM",
            ClaudeSpan::Tool => "TOOL",
        })
    }
    fn input_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        // Claude reports input tokens without the cached ones; MLflow adds them back.
        let input = Self::llm_int(attributes, "input_tokens")?;
        let cache_read = Self::llm_int(attributes, "cache_read_tokens").unwrap_or(0);
        let cache_creation = Self::llm_int(attributes, "cache_creation_tokens").unwrap_or(0);
        Some(Count::Int(input + cache_read + cache_creation))
    }
    fn output_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::llm_int(attributes, "output_tokens").map(Count::Int)
    }
    fn total_tokens<'a>(&self, _attributes: &'a Attributes) -> Option<Count<'a>> {
        None
    }
    fn cache_read_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::llm_int(attributes, "cache_read_tokens").map(Count::Int)
    }
    fn cache_creation_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::llm_int(attributes, "cache_creation_tokens").map(Count::Int)
    }
    fn input_value(&self, attributes: &Attributes, _found: &mut Found) -> Option<String> {
        match Self::kind(attributes)? {
            ClaudeSpan::Interaction => {
                Self::content(attributes, "user_prompt").or_else(|| Self::content(attributes, "new_context")).map(str::to_string)
            }
            ClaudeSpan::LlmRequest => Self::content(attributes, "new_context").map(str::to_string),
            ClaudeSpan::Tool => {
                if let Some(tool_input) = Self::content(attributes, "tool_input") {
                    return Some(tool_input.to_string());
                }
                let details: IndexMap<String, PyValue> = ["full_command", "file_path", "skill_name", "subagent_type"]
                    .iter()
                    .filter_map(|key| Some((key.to_string(), loads_or_str(Self::content(attributes, key)?))))
                    .collect();
                (!details.is_empty()).then(|| dump_ascii(&PyValue::Dict(details)))
            }
        }
    }
    fn output_value(&self, attributes: &Attributes) -> Option<String> {
        match Self::kind(attributes)? {
            ClaudeSpan::LlmRequest => Self::content(attributes, "response.model_output").map(str::to_string),
            ClaudeSpan::Tool => Self::content(attributes, "new_context").map(str::to_string),
            ClaudeSpan::Interaction => None,
        }
    }
    fn output_from_events(&self, events: &[SpanEvent], attributes: &Attributes) -> Option<String> {
        if Self::kind(attributes)? != ClaudeSpan::Tool {
            return None;
        }
        events.iter().filter(|e| e.name == "tool.output").find_map(|event| {
            ["output", "content", "diff"].iter().find_map(|key| {
                let value = decode_typed(event.attributes.get(*key)?);
                let redacted = matches!(&value, PyValue::Str(s) if s == REDACTED);
                (truthy(&value) && !redacted).then(|| dump_attribute(&value))
            })
        })
    }
    fn tool_definitions(&self, _attributes: &Attributes) -> Option<String> {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Spring AI: GenAI keys, prompt and completion in `gen_ai.content.{prompt,completion}` events.

pub(crate) struct SpringAi;

const SPRING_AI: Schema = Schema {
    span_kind_key: Some("gen_ai.operation.name"),
    span_kinds: &[("chat", "CHAT_MODEL"), ("embeddings", "EMBEDDING")],
    input_tokens: Some("gen_ai.usage.input_tokens"),
    output_tokens: Some("gen_ai.usage.output_tokens"),
    ..Schema::EMPTY
};

/// The first event called `event_name` with a truthy `key`: its value, stored as MLflow
/// stores it (a string as is, not JSON-encoded; anything else as JSON).
fn event_value(events: &[SpanEvent], event_name: &str, key: &str) -> Option<String> {
    events.iter().filter(|e| e.name == event_name).find_map(|event| {
        let value = event.attributes.get(key).filter(|v| truthy_value(v))?;
        Some(match value {
            serde_json::Value::String(s) => s.clone(),
            other => dump_attribute(&PyValue::from_value(other)),
        })
    })
}

impl Translator for SpringAi {
    fn name(&self) -> &'static str {
        "SpringAI"
    }
    fn schema(&self) -> &'static Schema {
        &SPRING_AI
    }
    fn input_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        event_value(events, "gen_ai.content.prompt", "gen_ai.prompt")
    }
    fn output_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        event_value(events, "gen_ai.content.completion", "gen_ai.completion")
    }
}

// ---------------------------------------------------------------------------------------
// Traceloop / OpenLLMetry

pub(crate) struct Traceloop;

/// `prefix` + one or more digits + `suffix` at the start of `key`.
fn numbered<'a>(key: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let rest = key.strip_prefix(prefix)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    rest[digits..].strip_prefix(suffix)
}

fn prompt_content(key: &str) -> bool {
    numbered(key, "gen_ai.prompt.", ".content").is_some()
}

fn completion_content(key: &str) -> bool {
    numbered(key, "gen_ai.completion.", ".content").is_some()
}

fn completion_tool_arguments(key: &str) -> bool {
    numbered(key, "gen_ai.completion.", ".tool_calls.").is_some_and(|rest| numbered(rest, "", ".arguments").is_some())
}

const TRACELOOP: Schema = Schema {
    span_kind_key: Some("traceloop.span.kind"),
    span_kinds: &[
        ("workflow", "WORKFLOW"),
        ("task", "TASK"),
        ("agent", "AGENT"),
        ("tool", "TOOL"),
        ("unknown", "UNKNOWN"),
    ],
    input_tokens: Some("gen_ai.usage.prompt_tokens"),
    output_tokens: Some("gen_ai.usage.completion_tokens"),
    total_tokens: Some("llm.usage.total_tokens"),
    inputs: &[
        Key::Exact("traceloop.entity.input"),
        Key::Pattern(prompt_content),
        Key::Pattern(completion_tool_arguments),
    ],
    outputs: &[Key::Exact("traceloop.entity.output"), Key::Pattern(completion_content)],
    provider: Some("gen_ai.system"),
    ..Schema::EMPTY
};

impl Translator for Traceloop {
    fn name(&self) -> &'static str {
        "Traceloop"
    }
    fn schema(&self) -> &'static Schema {
        &TRACELOOP
    }
}

// ---------------------------------------------------------------------------------------
// Google ADK

pub(crate) struct GoogleAdk;

const GOOGLE_ADK: Schema = Schema {
    inputs: &[Key::Exact("gcp.vertex.agent.llm_request"), Key::Exact("gcp.vertex.agent.tool_call_args")],
    outputs: &[Key::Exact("gcp.vertex.agent.llm_response"), Key::Exact("gcp.vertex.agent.tool_response")],
    ..Schema::EMPTY
};

impl Translator for GoogleAdk {
    fn name(&self) -> &'static str {
        "GoogleADK"
    }
    fn schema(&self) -> &'static Schema {
        &GOOGLE_ADK
    }
}

// ---------------------------------------------------------------------------------------
// Vercel AI SDK

pub(crate) struct VercelAi;

const VERCEL_AI: Schema = Schema {
    span_kind_key: Some("ai.operationId"),
    span_kinds: &[
        ("ai.generateText", "LLM"),
        ("ai.generateText.doGenerate", "LLM"),
        ("ai.toolCall", "TOOL"),
        ("ai.streamText", "LLM"),
        ("ai.streamText.doStream", "LLM"),
        ("ai.generateObject", "LLM"),
        ("ai.generateObject.doGenerate", "LLM"),
        ("ai.streamObject", "LLM"),
        ("ai.streamObject.doStream", "LLM"),
        ("ai.embed", "EMBEDDING"),
        ("ai.embed.doEmbed", "EMBEDDING"),
        ("ai.embedMany", "EMBEDDING"),
    ],
    inputs: &[Key::Exact("ai.prompt"), Key::Exact("ai.toolCall.args"), Key::Exact("ai.value"), Key::Exact("ai.values")],
    outputs: &[
        Key::Exact("ai.response.text"),
        Key::Exact("ai.toolCall.result"),
        Key::Exact("ai.response.object"),
        Key::Exact("ai.embedding"),
        Key::Exact("ai.embeddings"),
    ],
    ..Schema::EMPTY
};

impl VercelAi {
    /// `_safe_load_json(value, max_depth=2)`: up to three rounds of JSON decoding while the
    /// value is still a string.
    fn safe_load(value: PyValue) -> PyValue {
        let mut value = value;
        for _ in 0..3 {
            let PyValue::Str(text) = &value else { break };
            match loads(text) {
                Some(decoded) => value = decoded,
                None => break,
            }
        }
        value
    }

    fn is_chat_span(attributes: &Attributes) -> bool {
        let Some(raw) = attributes.find("ai.operationId") else { return false };
        matches!(Self::safe_load(PyValue::Str(raw.clone())),
                 PyValue::Str(op) if op == "ai.generateText.doGenerate" || op == "ai.streamText.doStream")
    }

    fn unpack(attributes: &Attributes, prefix: &str) -> IndexMap<String, PyValue> {
        attributes
            .iter()
            .filter_map(|(key, value)| {
                let suffix = key.strip_prefix(prefix)?;
                Some((suffix.to_string(), Self::safe_load(PyValue::Str(value.clone()))))
            })
            .collect()
    }
}

impl Translator for VercelAi {
    fn name(&self) -> &'static str {
        "VercelAI"
    }
    fn schema(&self) -> &'static Schema {
        &VERCEL_AI
    }
    fn input_value(&self, attributes: &Attributes, found: &mut Found) -> Option<String> {
        if !Self::is_chat_span(attributes) {
            return super::schema::first_value(attributes, self.schema().inputs).map(str::to_string);
        }
        let mut inputs = Self::unpack(attributes, "ai.prompt.");
        // MLflow iterates whatever `tools` holds; a list is the only shape that makes sense.
        if let Some(PyValue::List(items)) = inputs.get_mut("tools") {
            for item in items.iter_mut() {
                *item = Self::safe_load(std::mem::replace(item, PyValue::Null));
            }
        }
        found.message_format = Some("vercel_ai");
        (!inputs.is_empty()).then(|| dump_ascii(&PyValue::Dict(inputs)))
    }
    fn output_value(&self, attributes: &Attributes) -> Option<String> {
        if !Self::is_chat_span(attributes) {
            return super::schema::first_value(attributes, self.schema().outputs).map(str::to_string);
        }
        let outputs = Self::unpack(attributes, "ai.response.");
        (!outputs.is_empty()).then(|| dump_ascii(&PyValue::Dict(outputs)))
    }
}

// ---------------------------------------------------------------------------------------
// VoltAgent

pub(crate) struct VoltAgent;

const VOLT_AGENT: Schema = Schema {
    span_kinds: &[("agent", "AGENT"), ("llm", "LLM"), ("tool", "TOOL"), ("memory", "MEMORY")],
    inputs: &[Key::Exact("agent.messages"), Key::Exact("llm.messages"), Key::Exact("input")],
    outputs: &[Key::Exact("output")],
    ..Schema::EMPTY
};

impl VoltAgent {
    /// `attributes.get(a) or attributes.get(b)`.
    fn either<'a>(attributes: &'a Attributes, a: &str, b: &str) -> Option<Count<'a>> {
        attributes
            .get(a)
            .filter(|v| !v.is_empty())
            .or_else(|| attributes.find(b))
            .map(|raw| Count::Text(raw.as_str()))
    }
}

impl Translator for VoltAgent {
    fn name(&self) -> &'static str {
        "VoltAgent"
    }
    fn schema(&self) -> &'static Schema {
        &VOLT_AGENT
    }
    fn span_type(&self, attributes: &Attributes) -> Option<&'static str> {
        // `span.type` first: child spans inherit `entity.type` from their agent.
        ["span.type", "entity.type"].iter().find_map(|key| match loads_or_str(attributes.find(key)?) {
            PyValue::Str(kind) => self.schema().span_type_for(&kind),
            _ => None,
        })
    }
    fn message_format(&self, attributes: &Attributes) -> Option<&'static str> {
        ["voltagent.operation_id", "voltagent.conversation_id"]
            .iter()
            .any(|k| attributes.has(k))
            .then_some("voltagent")
    }
    fn input_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::either(attributes, "usage.prompt_tokens", "llm.usage.prompt_tokens")
    }
    fn output_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::either(attributes, "usage.completion_tokens", "llm.usage.completion_tokens")
    }
    fn total_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        Self::either(attributes, "usage.total_tokens", "llm.usage.total_tokens")
    }
}

// ---------------------------------------------------------------------------------------
// LiveKit Agents: GenAI conventions plus `lk.*` keys.

pub(crate) struct LiveKit;

const LIVEKIT: Schema = Schema {
    inputs: &[
        Key::Exact("lk.user_input"),
        Key::Exact("lk.user_transcript"),
        Key::Exact("lk.chat_ctx"),
        Key::Exact("lk.input_text"),
    ],
    outputs: &[Key::Exact("lk.response.text"), Key::Exact("lk.response.function_calls")],
    ..GENAI
};

impl Translator for LiveKit {
    fn name(&self) -> &'static str {
        "LiveKit"
    }
    fn schema(&self) -> &'static Schema {
        &LIVEKIT
    }
    fn span_type(&self, attributes: &Attributes) -> Option<&'static str> {
        if attributes.has("gen_ai.request.model") {
            return Some("LLM");
        }
        if let Some(op) = attributes.find("gen_ai.operation.name").filter(|raw| !raw.is_empty()) {
            if let PyValue::Str(op) = loads_or_str(op) {
                if let Some(t) = self.schema().span_type_for(&op.to_lowercase()) {
                    return Some(t);
                }
            }
        }
        attributes.keys().find_map(|key| match key.as_str() {
            "lk.retry_count" => Some("LLM"),
            k if k.starts_with("lk.function_tool") => Some("TOOL"),
            "lk.agent_name" | "lk.instructions" | "lk.generation_id" => Some("AGENT"),
            k if k.starts_with("lk.tts") || k == "lk.input_text" => Some("UNKNOWN"),
            "lk.user_transcript" | "lk.transcript_confidence" | "lk.transcription_delay" => Some("UNKNOWN"),
            _ => None,
        })
    }
    fn cache_creation_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        genai_cache_creation(self.schema(), attributes)
    }
    fn message_format(&self, attributes: &Attributes) -> Option<&'static str> {
        attributes.keys().any(|k| k.starts_with("lk.")).then_some("livekit")
    }
    fn input_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        genai_input_from_events(events)
    }
    fn output_from_events(&self, events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        genai_output_from_events(events)
    }
}

// ---------------------------------------------------------------------------------------
// Laminar

pub(crate) struct Laminar;

const LAMINAR: Schema = Schema {
    span_kind_key: Some("lmnr.span.type"),
    span_kinds: &[
        ("LLM", "LLM"),
        ("TOOL", "TOOL"),
        ("DEFAULT", "CHAIN"),
        ("PIPELINE", "CHAIN"),
        ("EXECUTOR", "AGENT"),
        ("EVALUATOR", "EVALUATOR"),
        ("HUMAN_EVALUATOR", "EVALUATOR"),
        ("EVALUATION", "EVALUATOR"),
        ("CACHED", "LLM"),
    ],
    inputs: &[Key::Exact("lmnr.span.input")],
    outputs: &[Key::Exact("lmnr.span.output")],
    input_tokens: Some("gen_ai.usage.input_tokens"),
    output_tokens: Some("gen_ai.usage.output_tokens"),
    model_names: &["gen_ai.response.model", "gen_ai.request.model"],
    provider: Some("gen_ai.system"),
    ..Schema::EMPTY
};

impl Translator for Laminar {
    fn name(&self) -> &'static str {
        "Laminar"
    }
    fn schema(&self) -> &'static Schema {
        &LAMINAR
    }
    fn message_format(&self, attributes: &Attributes) -> Option<&'static str> {
        attributes.has("lmnr.span.type").then_some("openai")
    }
}

// ---------------------------------------------------------------------------------------
// Langfuse

pub(crate) struct Langfuse;

const LANGFUSE: Schema = Schema {
    span_kind_key: Some("langfuse.observation.type"),
    span_kinds: &[
        ("generation", "LLM"),
        ("embedding", "EMBEDDING"),
        ("tool", "TOOL"),
        ("retriever", "RETRIEVER"),
        ("agent", "AGENT"),
        ("chain", "CHAIN"),
        ("evaluator", "EVALUATOR"),
        ("guardrail", "GUARDRAIL"),
        ("span", "UNKNOWN"),
    ],
    inputs: &[Key::Exact("langfuse.observation.input")],
    outputs: &[Key::Exact("langfuse.observation.output")],
    ..Schema::EMPTY
};

impl Translator for Langfuse {
    fn name(&self) -> &'static str {
        "Langfuse"
    }
    fn schema(&self) -> &'static Schema {
        &LANGFUSE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceloop_patterns_match_at_the_start_like_re_match() {
        assert!(prompt_content("gen_ai.prompt.0.content"));
        assert!(prompt_content("gen_ai.prompt.12.content_extra"));
        assert!(!prompt_content("gen_ai.prompt.x.content"));
        assert!(!prompt_content("gen_ai.prompt..content"));
        assert!(completion_tool_arguments("gen_ai.completion.0.tool_calls.3.arguments"));
        assert!(!completion_tool_arguments("gen_ai.completion.0.tool_calls.arguments"));
        assert!(completion_content("gen_ai.completion.1.content"));
    }

    #[test]
    fn first_match_keeps_mlflow_order() {
        let names: Vec<_> = TRANSLATORS.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            [
                "OpenInference", "GeminiCli", "ClaudeCode", "GenAI", "SpringAI", "Traceloop", "GoogleADK", "VercelAI",
                "VoltAgent", "LiveKit", "Laminar", "Langfuse"
            ]
        );
    }
}
