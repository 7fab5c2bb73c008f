//! Python objects to the JSON text MLflow stores in span attributes.
//!
//! MLflow serialises inputs, outputs and attributes with
//! `json.dumps(value, cls=TraceJSONEncoder, ensure_ascii=False)`. This walks the Python object
//! in Rust and writes the same text in one pass, without building an intermediate value:
//! `dict`/`list`/`tuple`/`str`/`int`/`float`/`bool`/`None` (and their subclasses, as
//! `json.dumps` treats them) directly; then the encoder's fallbacks in its order: a pydantic
//! model's `model_dump()`, a dataclass's fields, and `str(obj)` for anything else.
//! Serialising never fails: a value that cannot be written becomes a descriptive string.

use clew_model::pyjson::{float_repr, write_string};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// Deeper nesting than this is written as `str(obj)` (json.dumps would raise on a cycle;
/// MLflow then falls back to a repr, which this approximates without failing).
const MAX_DEPTH: usize = 64;

/// Serialises `obj` to JSON text (never fails).
pub fn to_json(obj: &Bound<'_, PyAny>) -> String {
    let mut out = String::with_capacity(32);
    write_value(&mut out, obj, 0);
    out
}

/// Appends the JSON text of `obj` to `out`.
pub fn write_value(out: &mut String, obj: &Bound<'_, PyAny>, depth: usize) {
    if obj.is_none() {
        out.push_str("null");
        return;
    }
    // Exact-type checks first: the common cases cost one pointer comparison each.
    if let Ok(s) = obj.cast_exact::<PyString>() {
        write_py_str(out, s);
        return;
    }
    if let Ok(b) = obj.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
        return;
    }
    if obj.is_exact_instance_of::<PyInt>() {
        write_int(out, obj);
        return;
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        out.push_str(&float_repr(f.value()));
        return;
    }
    if depth >= MAX_DEPTH {
        write_str_fallback(out, obj);
        return;
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        write_dict(out, d, depth);
        return;
    }
    if let Ok(l) = obj.cast::<PyList>() {
        out.push('[');
        for (i, item) in l.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_value(out, &item, depth + 1);
        }
        out.push(']');
        return;
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        out.push('[');
        for (i, item) in t.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_value(out, &item, depth + 1);
        }
        out.push(']');
        return;
    }
    // Subclasses of the scalar types (IntEnum, str enums, numpy-free float subclasses):
    // json.dumps writes them as their base type.
    if let Ok(s) = obj.cast::<PyString>() {
        write_py_str(out, s);
        return;
    }
    if obj.is_instance_of::<PyBool>() {
        out.push_str(if obj.is_truthy().unwrap_or(false) { "true" } else { "false" });
        return;
    }
    if obj.is_instance_of::<PyInt>() {
        write_int(out, obj);
        return;
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        out.push_str(&float_repr(f.value()));
        return;
    }
    write_fallback(out, obj, depth);
}

#[cfg(unix)]
unsafe extern "C" {
    // In every CPython 3 (in the limited API from 3.10). The abi3-py39 build may not name it
    // through pyo3-ffi, but on Unix the interpreter exports it to extensions on every
    // version, and it avoids the temporary bytes object that the 3.9-compatible path makes
    // for each string (for ASCII strings it is the string's own buffer).
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const std::os::raw::c_char;
}

/// Runs `f` on the UTF-8 text of a Python str without copying it where possible.
/// Strings that are not valid UTF-8 (lone surrogates) are read lossily.
pub fn with_str<R>(s: &Bound<'_, PyString>, f: impl FnOnce(&str) -> R) -> R {
    #[cfg(unix)]
    {
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a live str (the GIL is held); the returned buffer belongs to the
        // string object, which outlives this call, and CPython guarantees it is UTF-8.
        unsafe {
            let ptr = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size);
            if !ptr.is_null() {
                let bytes = std::slice::from_raw_parts(ptr as *const u8, size as usize);
                return f(std::str::from_utf8_unchecked(bytes));
            }
            pyo3::ffi::PyErr_Clear();
        }
    }
    match s.to_cow() {
        Ok(text) => f(&text),
        Err(_) => f(&s.to_string_lossy()),
    }
}

fn write_py_str(out: &mut String, s: &Bound<'_, PyString>) {
    with_str(s, |text| write_string(out, text, false));
}

/// Decimal text of an integer (`itoa`: no formatting machinery on the hot path).
pub fn push_i64(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

fn write_int(out: &mut String, obj: &Bound<'_, PyAny>) {
    match obj.extract::<i64>() {
        Ok(v) => push_i64(out, v),
        // Big integers: Python's own decimal text (int.__repr__, as json.dumps uses).
        Err(_) => match obj.py().get_type::<PyInt>().call_method1("__repr__", (obj,)) {
            Ok(text) => out.push_str(&text.to_string()),
            Err(_) => out.push('0'),
        },
    }
}

fn write_dict(out: &mut String, d: &Bound<'_, PyDict>, depth: usize) {
    out.push('{');
    for (i, (key, value)) in d.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_key(out, &key);
        out.push_str(": ");
        write_value(out, &value, depth + 1);
    }
    out.push('}');
}

/// Dict keys as json.dumps converts them: strings as is, numbers by their repr,
/// `True`/`False`/`None` as `true`/`false`/`null`; other keys (a TypeError in json.dumps) by
/// `str(key)` so a trace is still recorded.
fn write_key(out: &mut String, key: &Bound<'_, PyAny>) {
    if let Ok(s) = key.cast::<PyString>() {
        write_py_str(out, s);
        return;
    }
    let text = if key.is_none() {
        "null".to_string()
    } else if key.is_instance_of::<PyBool>() {
        if key.is_truthy().unwrap_or(false) { "true" } else { "false" }.to_string()
    } else if key.is_instance_of::<PyInt>() {
        let mut s = String::new();
        write_int(&mut s, key);
        s
    } else if let Ok(f) = key.cast::<PyFloat>() {
        float_repr(f.value())
    } else {
        key.str().map(|s| s.to_string()).unwrap_or_else(|_| "<unprintable key>".to_string())
    };
    write_string(out, &text, false);
}

static PYDANTIC_BASE_MODEL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATACLASS_FIELDS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `pydantic.BaseModel` if pydantic is already imported (never imports it).
fn pydantic_base_model(py: Python<'_>) -> Option<&Bound<'_, PyType>> {
    if let Some(t) = PYDANTIC_BASE_MODEL.get(py) {
        return Some(t.bind(py));
    }
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let pydantic = modules.get_item("pydantic").ok()?;
    let base = pydantic.getattr("BaseModel").ok()?.cast_into::<PyType>().ok()?;
    let _ = PYDANTIC_BASE_MODEL.set(py, base.unbind());
    PYDANTIC_BASE_MODEL.get(py).map(|t| t.bind(py))
}

fn write_fallback(out: &mut String, obj: &Bound<'_, PyAny>, depth: usize) {
    let py = obj.py();
    // pydantic models: model_dump(), then serialised like any dict.
    if let Some(base) = pydantic_base_model(py) {
        if obj.is_instance(base).unwrap_or(false) {
            if let Ok(dumped) = obj.call_method0("model_dump") {
                write_value(out, &dumped, depth + 1);
                return;
            }
        }
    }
    // Dataclass instances (not classes): their fields, shallowly, like MLflow's encoder.
    if !obj.is_instance_of::<PyType>() && obj.hasattr("__dataclass_fields__").unwrap_or(false) {
        let fields = DATACLASS_FIELDS
            .get_or_try_init(py, || py.import("dataclasses").and_then(|m| m.getattr("fields")).map(Bound::unbind));
        if let Ok(fields) = fields {
            if let Ok(list) = fields.bind(py).call1((obj,)) {
                if let Ok(iter) = list.try_iter() {
                    out.push('{');
                    let mut first = true;
                    for field in iter.flatten() {
                        let Ok(name) = field.getattr("name") else { continue };
                        let Ok(name) = name.cast_into::<PyString>() else { continue };
                        let Ok(value) = obj.getattr(&name) else { continue };
                        if !first {
                            out.push_str(", ");
                        }
                        first = false;
                        write_py_str(out, &name);
                        out.push_str(": ");
                        write_value(out, &value, depth + 1);
                    }
                    out.push('}');
                    return;
                }
            }
        }
    }
    write_str_fallback(out, obj);
}

/// `str(obj)` as a JSON string (MLflow's last resort), or a placeholder if `str` raises.
fn write_str_fallback(out: &mut String, obj: &Bound<'_, PyAny>) {
    match obj.str() {
        Ok(s) => write_py_str(out, &s),
        Err(_) => {
            let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
            write_string(out, &format!("<unserializable {type_name}>"), false);
        }
    }
}
