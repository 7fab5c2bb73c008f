//! What a translator knows about one convention, and the behaviour every convention shares
//! (MLflow's `OtelSchemaTranslator` base class): a convention is mostly a table of keys.

use super::py::{self, loads, loads_or_str, truthy};
use crate::pyjson::PyValue;
use crate::{Attributes, SpanEvent};

/// Where an input or output may be found.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// This attribute.
    Exact(&'static str),
    /// The first attribute (in span order) whose key starts with the pattern (Python's
    /// `re.match`, anchored at the start only).
    Pattern(fn(&str) -> bool),
}

/// The keys of one convention; `None` / empty when the convention has no such key.
pub(crate) struct Schema {
    pub span_kind_key: Option<&'static str>,
    /// Span kind value → MLflow span type.
    pub span_kinds: &'static [(&'static str, &'static str)],
    pub input_tokens: Option<&'static str>,
    pub output_tokens: Option<&'static str>,
    pub total_tokens: Option<&'static str>,
    pub cache_read_tokens: Option<&'static str>,
    pub cache_creation_tokens: Option<&'static str>,
    pub inputs: &'static [Key],
    pub outputs: &'static [Key],
    pub model_names: &'static [&'static str],
    pub provider: Option<&'static str>,
    pub tool_definitions: &'static [&'static str],
}

impl Schema {
    pub const EMPTY: Schema = Schema {
        span_kind_key: None,
        span_kinds: &[],
        input_tokens: None,
        output_tokens: None,
        total_tokens: None,
        cache_read_tokens: None,
        cache_creation_tokens: None,
        inputs: &[],
        outputs: &[],
        model_names: &[],
        provider: None,
        tool_definitions: &[],
    };

    pub fn span_type_for(&self, kind: &str) -> Option<&'static str> {
        self.span_kinds.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
    }
}

/// Attribute lookups as the translators make them: dozens per span (every convention asks
/// for its keys), on maps of usually a handful of attributes, where comparing the keys in
/// order is cheaper than hashing the one asked for. Same answers as `IndexMap::get`.
pub(crate) trait Lookup {
    fn find(&self, key: &str) -> Option<&String>;
    fn has(&self, key: &str) -> bool {
        self.find(key).is_some()
    }
}

/// Up to this many attributes a scan beats hashing the key (SipHash) and probing.
const SCAN_UP_TO: usize = 16;

impl Lookup for Attributes {
    fn find(&self, key: &str) -> Option<&String> {
        if self.len() <= SCAN_UP_TO {
            self.iter().find_map(|(k, v)| (k == key).then_some(v))
        } else {
            self.get(key)
        }
    }
}

/// A token count as a translator found it: attribute text still to be parsed, or a number.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count<'a> {
    Text(&'a str),
    Int(i128),
}

/// Side effects a translator may ask for while it looks for inputs (Vercel AI marks its chat
/// spans with a message format there).
#[derive(Default)]
pub(crate) struct Found {
    pub message_format: Option<&'static str>,
}

/// One convention. The defaults are MLflow's base-class behaviour over [`Translator::schema`].
pub(crate) trait Translator: Sync {
    /// For tests and debugging: which convention this is.
    #[allow(dead_code)]
    fn name(&self) -> &'static str;
    fn schema(&self) -> &'static Schema;

    fn span_type(&self, attributes: &Attributes) -> Option<&'static str> {
        let schema = self.schema();
        let kind = attributes.find(schema.span_kind_key?).filter(|raw| !raw.is_empty())?;
        match loads_or_str(kind) {
            PyValue::Str(kind) => schema.span_type_for(&kind),
            _ => None,
        }
    }
    fn input_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        raw_count(attributes, self.schema().input_tokens)
    }
    fn output_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        raw_count(attributes, self.schema().output_tokens)
    }
    fn total_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        raw_count(attributes, self.schema().total_tokens)
    }
    fn cache_read_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        raw_count(attributes, self.schema().cache_read_tokens)
    }
    fn cache_creation_tokens<'a>(&self, attributes: &'a Attributes) -> Option<Count<'a>> {
        raw_count(attributes, self.schema().cache_creation_tokens)
    }
    fn model_name(&self, attributes: &Attributes) -> Option<PyValue> {
        first_exact(attributes, self.schema().model_names).map(loads_or_str)
    }
    fn model_provider(&self, attributes: &Attributes) -> Option<PyValue> {
        checked(attributes, self.schema().provider?).map(loads_or_str)
    }
    fn message_format(&self, _attributes: &Attributes) -> Option<&'static str> {
        None
    }
    /// Attribute text for `mlflow.spanInputs`.
    fn input_value(&self, attributes: &Attributes, _found: &mut Found) -> Option<String> {
        first_value(attributes, self.schema().inputs).map(str::to_string)
    }
    /// Attribute text for `mlflow.spanOutputs`.
    fn output_value(&self, attributes: &Attributes) -> Option<String> {
        first_value(attributes, self.schema().outputs).map(str::to_string)
    }
    fn tool_definitions(&self, attributes: &Attributes) -> Option<String> {
        first_exact(attributes, self.schema().tool_definitions).map(str::to_string)
    }
    fn input_from_events(&self, _events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        None
    }
    fn output_from_events(&self, _events: &[SpanEvent], _attributes: &Attributes) -> Option<String> {
        None
    }
}

fn raw_count<'a>(attributes: &'a Attributes, key: Option<&'static str>) -> Option<Count<'a>> {
    attributes.find(key?).map(|raw| Count::Text(raw.as_str()))
}

/// MLflow's `_get_and_check_attribute_value`: the attribute text, unless it is empty or
/// decodes to a falsy value (`null`, `""`, `0`, `[]`, `{}`, `false`). Text that is not JSON
/// counts as present.
pub(crate) fn checked<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a str> {
    let raw = attributes.find(key)?;
    if raw.is_empty() {
        return None;
    }
    match loads(raw) {
        Some(value) if !truthy(&value) => None,
        _ => Some(raw.as_str()),
    }
}

pub(crate) fn first_exact<'a>(attributes: &'a Attributes, keys: &[&'static str]) -> Option<&'a str> {
    keys.iter().find_map(|key| checked(attributes, key))
}

/// MLflow's `get_attribute_value` (with Traceloop's regex keys).
pub(crate) fn first_value<'a>(attributes: &'a Attributes, keys: &[Key]) -> Option<&'a str> {
    keys.iter().find_map(|key| match key {
        Key::Exact(key) => checked(attributes, key),
        Key::Pattern(matches) => {
            attributes.keys().filter(|k| matches(k)).find_map(|k| checked(attributes, k))
        }
    })
}

/// Python's `_parse_int_attribute`: an int from a number, a JSON string holding one, or
/// text `int()` accepts.
pub(crate) fn parse_count(count: Option<Count<'_>>) -> Option<i128> {
    let text = match count? {
        Count::Int(i) => return Some(i),
        Count::Text(text) => text,
    };
    match loads(text) {
        Some(PyValue::Int(i)) => return Some(i),
        // `isinstance(True, int)` holds in Python; a boolean count reads as 0 or 1.
        Some(PyValue::Bool(b)) => return Some(i128::from(b)),
        Some(PyValue::Str(s)) => return py::python_int(&s),
        _ => {}
    }
    py::python_int(text)
}
