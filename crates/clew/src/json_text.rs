//! Serialising user values to the JSON text MLflow stores in span attributes: the layout of
//! Python's `json.dumps(v, ensure_ascii=False)` (`", "` and `": "` separators, Python float
//! repr), written in one pass with serde so the hot path never builds a `serde_json::Value`.

use compact_str::CompactString;
use serde::Serialize;
use std::cell::RefCell;
use std::io;

/// A serde_json formatter with Python's separators and float repr.
#[derive(Clone, Copy, Debug, Default)]
pub struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(clew_model::pyjson::float_repr(value).as_bytes())
    }
    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, value as f64)
    }
}

thread_local! {
    /// Reused serialisation buffer: values are written here, then copied out at their size.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Like [`to_json_text`], into a `CompactString`: values up to 24 bytes (most span inputs,
/// outputs and attributes) are stored inline, with no heap allocation on the hot path.
pub fn to_json_compact<T: Serialize + ?Sized>(value: &T) -> CompactString {
    let reentrant = BUFFER.try_with(|cell| {
        let Ok(mut buffer) = cell.try_borrow_mut() else { return None };
        buffer.clear();
        let mut ser = serde_json::Serializer::with_formatter(&mut *buffer, PythonFormatter);
        if value.serialize(&mut ser).is_err() {
            return None;
        }
        // SAFETY: as in `to_json_text`, serde_json writes only valid UTF-8.
        Some(CompactString::from(unsafe { std::str::from_utf8_unchecked(&buffer) }))
    });
    // A `Serialize` impl that itself traces (re-entrancy) or fails takes the plain path.
    match reentrant {
        Ok(Some(text)) => text,
        _ => CompactString::from(to_json_text(value)),
    }
}

/// Serialises `value` as Python's `json.dumps(value, ensure_ascii=False)` would.
/// A value serde cannot serialise (a map with non-string keys, a failing `Serialize` impl)
/// becomes a JSON string describing the failure, so tracing never fails the caller.
pub fn to_json_text<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    match value.serialize(&mut ser) {
        // SAFETY: serde_json's serializer only writes valid UTF-8 (its own `to_string` relies
        // on this too), and the formatter above only adds ASCII; re-validating would cost a
        // pass over every value on the hot path.
        Ok(()) => unsafe { String::from_utf8_unchecked(out) },
        Err(e) => {
            let msg = format!("<unserializable value: {e}>");
            to_json_text(&msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_matches_python_json_dumps() {
        let v = json!({"x": 1, "y": [1, 2.0, "é"], "z": {"a": null, "b": true}});
        assert_eq!(to_json_text(&v), r#"{"x": 1, "y": [1, 2.0, "é"], "z": {"a": null, "b": true}}"#);
        assert_eq!(to_json_text("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn unserializable_values_become_a_string() {
        let mut m = std::collections::HashMap::new();
        m.insert((1, 2), 3);
        let text = to_json_text(&m);
        assert!(text.starts_with("\"<unserializable value:"), "{text}");
    }
}
