//! The retriever document shape (`Document` in MLflow).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A retrieved document. A RETRIEVER span's outputs should be a list of these.
///
/// ```
/// use clew_model::Document;
/// let d = Document::new("The content...").with_metadata("doc_uri", "path/to/document.md").with_id("doc_123");
/// assert_eq!(serde_json::to_value(&d).unwrap()["metadata"]["doc_uri"], "path/to/document.md");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Document {
    pub page_content: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub id: Option<String>,
}

impl Document {
    pub fn new(page_content: impl Into<String>) -> Self {
        Document { page_content: page_content.into(), metadata: Map::new(), id: None }
    }
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// The dict form (`dataclasses.asdict` in MLflow).
    pub fn to_dict(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
