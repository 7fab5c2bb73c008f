//! JSON text exactly as Python's `json` module writes and reads it.
//!
//! MLflow stores every span attribute as `json.dumps(value, ensure_ascii=False)` text, and
//! `Trace.to_json()` is `json.dumps(..)` with the default `ensure_ascii=True`. To be
//! byte-compatible clew must write the same text: separators `", "` and `": "`, Python's float
//! `repr` (`1e-06`, `1e+16`, `1.0`), `NaN`/`Infinity` for non-finite floats, keys in insertion
//! order, and (for `ensure_ascii`) `\uXXXX` escapes with surrogate pairs.
//!
//! [`dumps`] / [`dumps_ascii`] take a `serde_json::Value` (which cannot hold NaN or infinities).
//! [`PyValue`] models what Python's `json.loads` can produce (non-finite floats, integers wider
//! than 64 bits) and is used where MLflow decodes attribute text, e.g. for OTLP conversion.
//!
//! ```
//! use clew_model::pyjson::{dumps, dumps_ascii};
//! use serde_json::json;
//! assert_eq!(dumps(&json!({"a": [1, 1.0, 1e-6, 1e16], "é": null})),
//!            r#"{"a": [1, 1.0, 1e-06, 1e+16], "é": null}"#);
//! assert_eq!(dumps_ascii(&json!("é😀")), r#""\u00e9\ud83d\ude00""#);
//! ```

use crate::ModelError;
use indexmap::IndexMap;
use serde_json::Value;

/// How to write JSON: the arguments of Python's `json.dumps` that MLflow varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpOptions {
    /// Escape every non-ASCII character as `\uXXXX` (Python's default is `true`).
    pub ensure_ascii: bool,
    /// Between items; Python uses `", "` without indent and `","` with one.
    pub item_separator: &'static str,
    /// Between a key and its value.
    pub key_separator: &'static str,
    /// Pretty-print with this many spaces per level (`indent=` in Python).
    pub indent: Option<usize>,
}

impl DumpOptions {
    /// `json.dumps(v, ensure_ascii=False)`: MLflow's span attribute values and `spans.content`.
    pub const PYTHON_UNICODE: DumpOptions = DumpOptions {
        ensure_ascii: false,
        item_separator: ", ",
        key_separator: ": ",
        indent: None,
    };
    /// `json.dumps(v)`: `Trace.to_json()`, metadata values MLflow computes itself.
    pub const PYTHON_ASCII: DumpOptions = DumpOptions {
        ensure_ascii: true,
        item_separator: ", ",
        key_separator: ": ",
        indent: None,
    };
    /// `json.dumps(v, separators=(",", ":"))`: MLflow's compact REST (`message_to_json(pretty=False)`).
    pub const COMPACT_ASCII: DumpOptions = DumpOptions {
        ensure_ascii: true,
        item_separator: ",",
        key_separator: ":",
        indent: None,
    };
    /// `json.dumps(v, indent=2)`: `Trace.to_json(pretty=True)`.
    pub const PRETTY_ASCII: DumpOptions = DumpOptions {
        ensure_ascii: true,
        item_separator: ",",
        key_separator: ": ",
        indent: Some(2),
    };
}

/// `json.dumps(v, ensure_ascii=False)`.
///
/// ```
/// assert_eq!(clew_model::pyjson::dumps(&serde_json::json!({"x": 1, "y": [true, "ü"]})),
///            r#"{"x": 1, "y": [true, "ü"]}"#);
/// ```
pub fn dumps(v: &Value) -> String {
    dumps_with(v, &DumpOptions::PYTHON_UNICODE)
}

/// `json.dumps(v)` (`ensure_ascii=True`).
///
/// ```
/// assert_eq!(clew_model::pyjson::dumps_ascii(&serde_json::json!(["ü"])), r#"["\u00fc"]"#);
/// ```
pub fn dumps_ascii(v: &Value) -> String {
    dumps_with(v, &DumpOptions::PYTHON_ASCII)
}

/// `json.dumps` with explicit options.
///
/// ```
/// use clew_model::pyjson::{dumps_with, DumpOptions};
/// assert_eq!(dumps_with(&serde_json::json!({"a": [1]}), &DumpOptions::COMPACT_ASCII), r#"{"a":[1]}"#);
/// ```
pub fn dumps_with(v: &Value, opts: &DumpOptions) -> String {
    let mut out = String::new();
    write_node(&mut out, v, opts, 0);
    out
}

/// Python's `repr(float)` as `json.dumps` writes it (`NaN`, `Infinity`, `-Infinity` for
/// non-finite values, as with the default `allow_nan=True`).
///
/// ```
/// use clew_model::pyjson::float_repr;
/// assert_eq!(float_repr(0.1), "0.1");
/// assert_eq!(float_repr(1e-5), "1e-05");
/// assert_eq!(float_repr(1e15), "1000000000000000.0");
/// assert_eq!(float_repr(f64::NAN), "NaN");
/// ```
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".to_string()
        } else {
            "-Infinity".to_string()
        };
    }
    let mut buf = ryu::Buffer::new();
    let shortest = buf.format_finite(f);
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exp10) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // `digits` with the decimal point after `decpt` digits (dtoa's convention).
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut decpt = int_part.len() as i32 + exp10;
    let leading_zeros = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading_zeros);
    decpt -= leading_zeros as i32;
    let trimmed_len = digits.trim_end_matches('0').len();
    digits.truncate(trimmed_len);

    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if digits.is_empty() {
        out.push_str("0.0");
        return out;
    }
    let n = digits.len() as i32;
    if decpt > 16 || decpt <= -4 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exp = decpt - 1;
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(&digits);
    } else if decpt >= n {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
    out
}

/// Bytes `json.dumps(ensure_ascii=False)` escapes: controls, `"` and `\` (a table, so the
/// scan over long attribute text tests each byte once).
static ESCAPES_UNICODE: [bool; 256] = escape_table(false);
/// Bytes `json.dumps` escapes by default: those, DEL and every byte of a non-ASCII character.
static ESCAPES_ASCII: [bool; 256] = escape_table(true);

const fn escape_table(ensure_ascii: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize || (ensure_ascii && b >= 0x7f);
        b += 1;
    }
    table
}

/// Appends `s` as a JSON string literal, escaped as Python's `json` escapes it.
///
/// ```
/// let mut out = String::new();
/// clew_model::pyjson::write_string(&mut out, "a\"\n\u{1}é", false);
/// assert_eq!(out, r#""a\"\n\u0001é""#);
/// ```
pub fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let escapes = if ensure_ascii { &ESCAPES_ASCII } else { &ESCAPES_UNICODE };
    // Copy runs of bytes that need no escape in one go; only escapes are written one by one.
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !escapes[usize::from(b)] {
            i += 1;
            continue;
        }
        out.push_str(&s[run_start..i]);
        if b < 0x80 {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                _ => push_u_escape(out, u32::from(b)),
            }
            i += 1;
        } else {
            // ensure_ascii and a non-ASCII character: escape it as UTF-16 units.
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_u_escape(out, u32::from(*unit));
            }
            i += c.len_utf8();
        }
        run_start = i;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// The length of `s` written by [`write_string`] (quotes included), without writing it.
pub fn escaped_len(s: &str, ensure_ascii: bool) -> usize {
    let mut len = 2;
    for b in s.bytes() {
        len += match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            0x7f if ensure_ascii => 6,
            0x80.. if ensure_ascii => {
                // Count each character once, at its first byte: 6 per UTF-16 unit.
                if b & 0xc0 == 0x80 {
                    0
                } else if b >= 0xf0 {
                    12
                } else {
                    6
                }
            }
            _ => 1,
        };
    }
    len
}

fn push_u_escape(out: &mut String, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xf) as usize] as char);
    }
}

/// The value shapes the writer needs, borrowed from either value type.
enum Node<'a, T> {
    Null,
    Bool(bool),
    /// Already formatted integer or float text.
    Number(String),
    Str(&'a str),
    List(&'a [T]),
    Dict(Box<dyn Iterator<Item = (&'a String, &'a T)> + 'a>, usize),
}

trait JsonNode: Sized {
    fn node(&self) -> Node<'_, Self>;
}

impl JsonNode for Value {
    fn node(&self) -> Node<'_, Self> {
        match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(number_text(n)),
            Value::String(s) => Node::Str(s),
            Value::Array(items) => Node::List(items),
            Value::Object(map) => Node::Dict(Box::new(map.iter()), map.len()),
        }
    }
}

fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        float_repr(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn write_node<T: JsonNode>(out: &mut String, v: &T, opts: &DumpOptions, depth: usize) {
    match v.node() {
        Node::Null => out.push_str("null"),
        Node::Bool(true) => out.push_str("true"),
        Node::Bool(false) => out.push_str("false"),
        Node::Number(text) => out.push_str(&text),
        Node::Str(s) => write_string(out, s, opts.ensure_ascii),
        Node::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(opts.item_separator);
                }
                newline_indent(out, opts, depth + 1);
                write_node(out, item, opts, depth + 1);
            }
            newline_indent(out, opts, depth);
            out.push(']');
        }
        Node::Dict(entries, len) => {
            if len == 0 {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, value)) in entries.enumerate() {
                if i > 0 {
                    out.push_str(opts.item_separator);
                }
                newline_indent(out, opts, depth + 1);
                write_string(out, key, opts.ensure_ascii);
                out.push_str(opts.key_separator);
                write_node(out, value, opts, depth + 1);
            }
            newline_indent(out, opts, depth);
            out.push('}');
        }
    }
}

fn newline_indent(out: &mut String, opts: &DumpOptions, depth: usize) {
    if let Some(width) = opts.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * depth));
    }
}

/// A value as Python's `json.loads` returns it: unlike `serde_json::Value` it holds `NaN`,
/// `±Infinity` and integers beyond 64 bits, and keeps floats and ints apart (`1.0` vs `1`).
#[derive(Clone, Debug, PartialEq)]
pub enum PyValue {
    /// `None`.
    Null,
    /// `True` / `False`.
    Bool(bool),
    /// Python `int`. Literals beyond `i128` are read as floats (Python would keep them exact).
    Int(i128),
    /// Python `float`, including `NaN` and `±Infinity`.
    Float(f64),
    /// Python `str`.
    Str(String),
    /// Python `list`.
    List(Vec<PyValue>),
    /// Insertion order kept; a repeated key keeps its first position and its last value, as
    /// a Python dict does.
    Dict(IndexMap<String, PyValue>),
}

impl JsonNode for PyValue {
    fn node(&self) -> Node<'_, Self> {
        match self {
            PyValue::Null => Node::Null,
            PyValue::Bool(b) => Node::Bool(*b),
            PyValue::Int(i) => Node::Number(i.to_string()),
            PyValue::Float(f) => Node::Number(float_repr(*f)),
            PyValue::Str(s) => Node::Str(s),
            PyValue::List(items) => Node::List(items),
            PyValue::Dict(map) => Node::Dict(Box::new(map.iter()), map.len()),
        }
    }
}

impl PyValue {
    /// `json.dumps(self, ensure_ascii=False)`.
    ///
    /// ```
    /// use clew_model::pyjson::PyValue;
    /// assert_eq!(PyValue::Float(f64::INFINITY).dumps(), "Infinity");
    /// ```
    pub fn dumps(&self) -> String {
        self.dumps_with(&DumpOptions::PYTHON_UNICODE)
    }
    /// `json.dumps` with explicit options.
    pub fn dumps_with(&self, opts: &DumpOptions) -> String {
        let mut out = String::new();
        write_node(&mut out, self, opts, 0);
        out
    }
    /// The nearest `serde_json::Value`: non-finite floats become strings (`"NaN"`), integers
    /// outside `i64`/`u64` become floats.
    pub fn to_value(&self) -> Value {
        match self {
            PyValue::Null => Value::Null,
            PyValue::Bool(b) => Value::Bool(*b),
            PyValue::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    float_to_value(*i as f64)
                }
            }
            PyValue::Float(f) => float_to_value(*f),
            PyValue::Str(s) => Value::String(s.clone()),
            PyValue::List(items) => Value::Array(items.iter().map(PyValue::to_value).collect()),
            PyValue::Dict(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }
    /// From a `serde_json::Value` (integers stay integers, floats stay floats).
    pub fn from_value(v: &Value) -> PyValue {
        match v {
            Value::Null => PyValue::Null,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    PyValue::Int(i128::from(i))
                } else if let Some(u) = n.as_u64() {
                    PyValue::Int(i128::from(u))
                } else {
                    PyValue::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from_value).collect()),
            Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), PyValue::from_value(v)))
                    .collect(),
            ),
        }
    }
}

fn float_to_value(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(float_repr(f)))
}

/// `json.loads(text)`: Python's parser, which also accepts `NaN`, `Infinity` and `-Infinity`.
///
/// ```
/// use clew_model::pyjson::{loads, PyValue};
/// assert_eq!(loads("[1, 1.0, NaN]").unwrap().dumps(), "[1, 1.0, NaN]");
/// assert!(loads("{\"a\": }").is_err());
/// ```
pub fn loads(text: &str) -> Result<PyValue, ModelError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
    };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error("extra data after the value"));
    }
    Ok(value)
}

/// Whether `json.loads(text)` succeeds and gives a string, list or dict — answered without
/// building the value (no allocation), for checks on large JSON texts on the ingest path.
///
/// ```
/// use clew_model::pyjson::loads_to_str_list_or_dict;
/// assert!(loads_to_str_list_or_dict(r#" {"a": [1, 2.5e3, NaN, "\u00e9"]} "#));
/// assert!(!loads_to_str_list_or_dict("12"));
/// assert!(!loads_to_str_list_or_dict(r#"{"a": }"#));
/// ```
pub fn loads_to_str_list_or_dict(text: &str) -> bool {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, depth: 0 };
    parser.skip_ws();
    if !matches!(parser.bytes.get(parser.pos), Some(b'"' | b'[' | b'{')) {
        return false;
    }
    if parser.skip_value().is_err() {
        return false;
    }
    parser.skip_ws();
    parser.pos == parser.bytes.len()
}

/// Python's default recursion guard makes deeper nesting fail there too.
const MAX_DEPTH: usize = 1000;

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> ModelError {
        ModelError::InvalidJson {
            what: "JSON text",
            reason: format!("{reason} at byte {}", self.pos),
        }
    }
    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn eat_literal(&mut self, literal: &str) -> bool {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> Result<PyValue, ModelError> {
        match self.bytes.get(self.pos) {
            None => Err(self.error("expected a value")),
            Some(b'{') => self.nested(Self::dict),
            Some(b'[') => self.nested(Self::list),
            Some(b'"') => self.string().map(PyValue::Str),
            _ if self.eat_literal("null") => Ok(PyValue::Null),
            _ if self.eat_literal("true") => Ok(PyValue::Bool(true)),
            _ if self.eat_literal("false") => Ok(PyValue::Bool(false)),
            _ if self.eat_literal("NaN") => Ok(PyValue::Float(f64::NAN)),
            _ if self.eat_literal("Infinity") => Ok(PyValue::Float(f64::INFINITY)),
            _ if self.eat_literal("-Infinity") => Ok(PyValue::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
        }
    }
    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<PyValue, ModelError>,
    ) -> Result<PyValue, ModelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let result = parse(self);
        self.depth -= 1;
        result
    }
    fn dict(&mut self) -> Result<PyValue, ModelError> {
        self.pos += 1; // '{'
        let mut map = IndexMap::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(PyValue::Dict(map));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            map.insert(key, value);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(PyValue::Dict(map));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
    fn list(&mut self) -> Result<PyValue, ModelError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(PyValue::List(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(PyValue::List(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }
    fn number(&mut self) -> Result<PyValue, ModelError> {
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.pos == int_start {
            return Err(self.error("expected a digit"));
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.')
            && self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            is_float = true;
            self.pos += 1;
            self.skip_digits();
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                is_float = true;
                self.skip_digits();
            } else {
                // Python's scanner stops before a dangling exponent; the caller then reports
                // extra data.
                self.pos = save;
            }
        }
        let literal = &self.text[start..self.pos];
        if !is_float {
            if let Ok(i) = literal.parse::<i128>() {
                return Ok(PyValue::Int(i));
            }
        }
        literal
            .parse::<f64>()
            .map(PyValue::Float)
            .map_err(|_| self.error("invalid number"))
    }
    fn skip_digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }
    fn hex4(&mut self) -> Result<u32, ModelError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("truncated \\u escape"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("invalid \\u escape"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))
    }
    fn string(&mut self) -> Result<String, ModelError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = *self
                        .bytes
                        .get(self.pos)
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{08}'),
                        b'f' => out.push('\u{0c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            out.push(self.unicode_escape(unit)?);
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("invalid control character in string")),
            }
        }
    }
    /// [`Parser::value`] without building the value: the same grammar, the same failures.
    fn skip_value(&mut self) -> Result<(), ModelError> {
        match self.bytes.get(self.pos) {
            None => Err(self.error("expected a value")),
            Some(b'{') | Some(b'[') => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error("nesting too deep"));
                }
                let result = self.skip_container();
                self.depth -= 1;
                result
            }
            Some(b'"') => self.skip_string(),
            _ if self.eat_literal("null")
                || self.eat_literal("true")
                || self.eat_literal("false")
                || self.eat_literal("NaN")
                || self.eat_literal("Infinity")
                || self.eat_literal("-Infinity") =>
            {
                Ok(())
            }
            // Numbers are rare in the texts this checks; the full parser decides them.
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(_) => Err(self.error("expected a value")),
        }
    }
    /// [`Parser::dict`] / [`Parser::list`] without building them.
    fn skip_container(&mut self) -> Result<(), ModelError> {
        let is_dict = self.bytes.get(self.pos) == Some(&b'{');
        let close = if is_dict { b'}' } else { b']' };
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if is_dict {
                if self.bytes.get(self.pos) != Some(&b'"') {
                    return Err(self.error("expected a string key"));
                }
                self.skip_string()?;
                self.skip_ws();
                if self.bytes.get(self.pos) != Some(&b':') {
                    return Err(self.error("expected ':'"));
                }
                self.pos += 1;
                self.skip_ws();
            }
            self.skip_value()?;
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(&b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected a separator or the closing bracket")),
            }
        }
    }
    /// [`Parser::string`] without building the string.
    fn skip_string(&mut self) -> Result<(), ModelError> {
        self.pos += 1; // opening quote
        loop {
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = *self.bytes.get(self.pos).ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    match escape {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let unit = self.hex4()?;
                            self.unicode_escape(unit)?;
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("invalid control character in string")),
            }
        }
    }
    /// Combines a surrogate pair; a lone surrogate (legal in Python, not in Rust) becomes U+FFFD.
    fn unicode_escape(&mut self, unit: u32) -> Result<char, ModelError> {
        if (0xd800..0xdc00).contains(&unit) && self.text[self.pos..].starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xdc00..0xe000).contains(&low) {
                let combined = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                return Ok(char::from_u32(combined).unwrap_or('\u{fffd}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(unit).unwrap_or('\u{fffd}'))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn escaped_len_counts_what_write_string_writes() {
        let cases = ["", "plain", "q\"b\\", "\n\r\t\u{8}\u{c}\u{1}\u{1f}", "del\u{7f}", "é中", "emoji 😀 and 𝄞", "mixed é\n😀\u{7f}\"x"];
        for s in cases {
            for ascii in [true, false] {
                let mut out = String::new();
                write_string(&mut out, s, ascii);
                assert_eq!(escaped_len(s, ascii), out.len(), "{s:?} ascii={ascii}");
            }
        }
    }

    use super::*;

    #[test]
    fn escape_tables_hold_pythons_escaped_bytes() {
        for b in 0..=255u8 {
            let plain = b < 0x20 || b == b'"' || b == b'\\';
            assert_eq!(ESCAPES_UNICODE[usize::from(b)], plain, "{b:#x}");
            assert_eq!(ESCAPES_ASCII[usize::from(b)], plain || b >= 0x7f, "{b:#x}");
        }
        let mut out = String::new();
        write_string(&mut out, "\u{7f}é\u{1F600}\"", true);
        assert_eq!(out, r#""\u007f\u00e9\ud83d\ude00\"""#);
    }
    use serde_json::json;

    #[test]
    fn the_cheap_check_agrees_with_loads() {
        let cases = [
            r#""x""#, r#"  "a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"  "#, "[]", "{}", " [ ] ", "[1, 2]",
            r#"{"a": {"b": [null, true, false, NaN, Infinity, -Infinity, -0, 1.5e-3, 2E+7, 0.5]}}"#,
            "12", "null", "true", "\"unterminated", "[1,]", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "{1: 2}",
            "\"bad \\x escape\"", "\"ctrl \u{1} char\"", "\"\\u12\"", "\"\\u12zz\"", "[01]", "[-]", "[1.]", "[1e]",
            "[Infinit]", "[nul]", "{\"a\": 1} x", "[1] [2]", "", "   ", "[", "{", "{\"a\"", "{\"a\":", "[\"x\",",
            "\t{\"k\": \"v\"}\n", "[1e5, -1E-5, 12345678901234567890123456789012345678901234567890]",
        ];
        for text in cases {
            let expected = matches!(loads(text), Ok(PyValue::Str(_) | PyValue::List(_) | PyValue::Dict(_)));
            assert_eq!(loads_to_str_list_or_dict(text), expected, "{text:?}");
        }
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(loads_to_str_list_or_dict(&deep_ok), loads(&deep_ok).is_ok());
        assert_eq!(loads_to_str_list_or_dict(&too_deep), loads(&too_deep).is_ok());
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456.789, "123456.789"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-2.5, "-2.5"),
            (3.45e-06, "3.45e-06"),
        ];
        for (f, expected) in cases {
            assert_eq!(float_repr(f), expected, "repr of {f:e}");
        }
    }

    #[test]
    fn strings_escape_like_python() {
        assert_eq!(
            dumps(&json!("tab\there \u{7f} \u{2028}")),
            "\"tab\\there \u{7f} \u{2028}\""
        );
        assert_eq!(dumps_ascii(&json!("\u{7f}\u{2028}")), "\"\\u007f\\u2028\"");
        assert_eq!(dumps_ascii(&json!("\u{1f600}")), "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn containers_use_python_separators_and_keep_order() {
        let v: Value =
            serde_json::from_str(r#"{"z": 1, "a": {}, "m": [], "k": [1, {"x": null}]}"#).unwrap();
        assert_eq!(
            dumps(&v),
            r#"{"z": 1, "a": {}, "m": [], "k": [1, {"x": null}]}"#
        );
        assert_eq!(dumps_with(&v, &DumpOptions::PRETTY_ASCII), "{\n  \"z\": 1,\n  \"a\": {},\n  \"m\": [],\n  \"k\": [\n    1,\n    {\n      \"x\": null\n    }\n  ]\n}");
    }

    #[test]
    fn loads_reads_what_python_reads() {
        let v = loads(r#" {"a": [NaN, -Infinity, 12345678901234567890123, 1E2, -0], "a": "\ud83d\ude00\u00e9"} "#).unwrap();
        assert_eq!(v.dumps(), r#"{"a": "😀é"}"#);
        let v = loads("[NaN, -Infinity, 12345678901234567890123, 1E2, -0, 1.5]").unwrap();
        assert_eq!(
            v.dumps(),
            "[NaN, -Infinity, 12345678901234567890123, 100.0, 0, 1.5]"
        );
        for bad in [
            "",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "\"\u{1}\"",
            "[1] x",
            "tru",
            "\"\\x\"",
        ] {
            assert!(loads(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
