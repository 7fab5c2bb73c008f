//! JSON text exactly as Python's `json.dumps` writes it.
