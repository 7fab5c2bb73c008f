//! Seed "MLflow tracing API", usage example "Decorate functions for automatic tracing".
//!
//! ```python
//! @mlflow_trace(span_type=SpanType.EMBEDDING)
//! def get_embeddings(texts):
//!     embeddings = [[0.1, 0.2, 0.3] for _ in texts]
//!     return embeddings
//!
//! @mlflow_trace(span_type=SpanType.RETRIEVER)
//! def retrieve_documents(query_embedding, top_k=5):
//!     documents = [f"Document {i}" for i in range(top_k)]
//!     return documents
//!
//! @mlflow_trace(span_type=SpanType.LLM)
//! def generate_response(query, context_docs):
//!     response = f"Based on {len(context_docs)} documents: Answer here"
//!     return response
//!
//! mlflow.tracing.enable()
//! query = "What is MLflow?"
//! query_embedding = get_embeddings([query])
//! relevant_docs = retrieve_documents(query_embedding[0])
//! response = generate_response(query, relevant_docs)
//! print(f"Response: {response}")
//! ```
//!
//! `@mlflow_trace(span_type=...)` is `#[clew::trace(span_type = ...)]`. Rust has no default
//! arguments, so the call passes `top_k = 5` explicitly. Each call is made outside any span,
//! so each is a trace of its own, as in Python.

use clew::SpanType;
use serde_json::json;

/// Get embeddings for a list of texts.
#[clew::trace(span_type = SpanType::Embedding)]
fn get_embeddings(texts: &[&str]) -> Vec<Vec<f64>> {
    // Simulate embedding generation.
    texts.iter().map(|_| vec![0.1, 0.2, 0.3]).collect()
}

/// Retrieve relevant documents.
#[clew::trace(span_type = SpanType::Retriever)]
fn retrieve_documents(query_embedding: &[f64], top_k: usize) -> Vec<String> {
    // Simulate document retrieval.
    (0..top_k).map(|i| format!("Document {i}")).collect()
}

/// Generate a response using an LLM.
#[clew::trace(span_type = SpanType::Llm)]
fn generate_response(query: &str, context_docs: &[String]) -> String {
    // Simulate LLM generation.
    format!("Based on {} documents: Answer here", context_docs.len())
}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    clew::enable(None);

    let query = "What is MLflow?";
    let query_embedding = get_embeddings(&[query]);
    let embedding_trace = clew::get_last_active_trace_id().unwrap();
    let relevant_docs = retrieve_documents(&query_embedding[0], 5);
    let retrieval_trace = clew::get_last_active_trace_id().unwrap();
    let response = generate_response(query, &relevant_docs);
    let generation_trace = clew::get_last_active_trace_id().unwrap();
    println!("Response: {response}");
    assert_eq!(response, "Based on 5 documents: Answer here");

    // Three calls outside any span: three traces of one span each.
    let ids = [&embedding_trace, &retrieval_trace, &generation_trace];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    let span_of = |id: &str| {
        let trace = clew::get_trace(id).unwrap();
        assert_eq!(trace.data.spans.len(), 1);
        trace.data.spans[0].clone()
    };

    let embedding = span_of(&embedding_trace);
    assert_eq!(
        (embedding.name.as_str(), embedding.span_type()),
        ("get_embeddings", Some(SpanType::Embedding))
    );
    assert_eq!(embedding.inputs(), Some(json!({"texts": ["What is MLflow?"]})));
    assert_eq!(embedding.outputs(), Some(json!([[0.1, 0.2, 0.3]])));

    let retrieval = span_of(&retrieval_trace);
    assert_eq!(
        (retrieval.name.as_str(), retrieval.span_type()),
        ("retrieve_documents", Some(SpanType::Retriever))
    );
    assert_eq!(
        retrieval.inputs(),
        Some(json!({"query_embedding": [0.1, 0.2, 0.3], "top_k": 5}))
    );
    assert_eq!(retrieval.outputs().unwrap().as_array().unwrap().len(), 5);
    assert_eq!(retrieval.outputs().unwrap()[4], "Document 4");

    let generation = span_of(&generation_trace);
    assert_eq!(
        (generation.name.as_str(), generation.span_type()),
        ("generate_response", Some(SpanType::Llm))
    );
    assert_eq!(generation.inputs().unwrap()["query"], "What is MLflow?");
    assert_eq!(
        generation.inputs().unwrap()["context_docs"].as_array().unwrap().len(),
        5
    );
    assert_eq!(generation.outputs(), Some(json!("Based on 5 documents: Answer here")));
}
