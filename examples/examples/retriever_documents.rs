//! Seed "Span tracing with context managers", § RETRIEVER spans — and "Access retriever
//! outputs".
//!
//! ```python
//! @mlflow.trace(span_type=SpanType.RETRIEVER)
//! def retrieve_documents(query: str):
//!     span = mlflow.get_current_active_span()
//!     documents = [
//!         Document(page_content="The content of the document...",
//!                  metadata={"doc_uri": "path/to/document.md", "chunk_id": "chunk_001",
//!                            "relevance_score": 0.95, "source": "knowledge_base"},
//!                  id="doc_123"),
//!         Document(page_content="Another relevant section...",
//!                  metadata={"doc_uri": "path/to/other.md", "chunk_id": "chunk_042",
//!                            "relevance_score": 0.87}),
//!     ]
//!     span.set_outputs(documents)
//!     return [doc.to_dict() for doc in documents]
//!
//! retrieve_documents(query="What is ML?")
//!
//! last_trace_id = mlflow.get_last_active_trace_id()
//! trace = mlflow.get_trace(last_trace_id)
//! retriever_span = trace.search_spans(span_type=SpanType.RETRIEVER)[0]
//! if retriever_span.outputs:
//!     for doc in retriever_span.outputs:
//!         if isinstance(doc, dict):
//!             content = doc.get('page_content', '')
//!             uri = doc.get('metadata', {}).get('doc_uri', '')
//!             score = doc.get('metadata', {}).get('relevance_score', 0)
//!             print(f"Document from {uri} (score: {score})")
//! ```
//!
//! `@mlflow.trace` is `#[clew::trace]`. As in MLflow, the traced function's return value
//! becomes the span's outputs when it returns; here that is the same list of document dicts.

use clew::{Document, SpanType};
use serde_json::{json, Value};

#[clew::trace(span_type = SpanType::Retriever)]
fn retrieve_documents(query: &str) -> Vec<Value> {
    let span = clew::get_current_active_span().expect("the traced function's span is current");

    // Document objects (what RETRIEVER spans should output).
    let documents = vec![
        Document::new("The content of the document...")
            .with_metadata("doc_uri", "path/to/document.md")
            .with_metadata("chunk_id", "chunk_001")
            .with_metadata("relevance_score", 0.95)
            .with_metadata("source", "knowledge_base")
            .with_id("doc_123"),
        Document::new("Another relevant section...")
            .with_metadata("doc_uri", "path/to/other.md")
            .with_metadata("chunk_id", "chunk_042")
            .with_metadata("relevance_score", 0.87),
    ];

    // Outputs as Document objects, for the UI's document view.
    span.set_outputs(&documents);

    // Return in the preferred format.
    documents.iter().map(Document::to_dict).collect()
}

pub fn main() {
    let _store = clew_examples::use_temp_store();

    let returned = retrieve_documents("What is ML?");
    assert_eq!(returned.len(), 2);

    // Access retriever outputs.
    let last_trace_id = clew::get_last_active_trace_id().unwrap();
    let trace = clew::get_trace(&last_trace_id).unwrap();
    let retriever_spans = trace.search_spans(Some(&SpanType::Retriever), None, None);
    assert_eq!(retriever_spans.len(), 1);
    let retriever_span = retriever_spans[0];

    let mut seen = Vec::new();
    if let Some(Value::Array(outputs)) = retriever_span.outputs() {
        for doc in &outputs {
            if let Value::Object(doc) = doc {
                let content = doc.get("page_content").and_then(Value::as_str).unwrap_or("");
                let metadata = doc.get("metadata").cloned().unwrap_or(json!({}));
                let uri = metadata.get("doc_uri").and_then(Value::as_str).unwrap_or("");
                let score = metadata.get("relevance_score").and_then(Value::as_f64).unwrap_or(0.0);
                println!("Document from {uri} (score: {score})");
                seen.push((content.to_string(), uri.to_string(), score));
            }
        }
    }

    assert_eq!(
        seen,
        [
            (
                "The content of the document...".to_string(),
                "path/to/document.md".to_string(),
                0.95
            ),
            (
                "Another relevant section...".to_string(),
                "path/to/other.md".to_string(),
                0.87
            ),
        ]
    );
    assert_eq!(retriever_span.name, "retrieve_documents");
    assert_eq!(retriever_span.inputs(), Some(json!({"query": "What is ML?"})));
    let outputs = retriever_span.outputs().unwrap();
    assert_eq!(outputs[0]["id"], "doc_123");
    assert_eq!(outputs[0]["metadata"]["chunk_id"], "chunk_001");
    assert_eq!(outputs[0]["metadata"]["source"], "knowledge_base");
    assert_eq!(outputs[1]["id"], Value::Null);
    // search_spans by type finds nothing of another type.
    assert!(trace.search_spans(Some(&SpanType::Llm), None, None).is_empty());
}
