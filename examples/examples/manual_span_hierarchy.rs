//! Seed "MLflow tracing API", usage example "Create manual spans with hierarchy".
//!
//! ```python
//! mlflow.set_experiment("llm-application")
//! mlflow.tracing.enable()
//!
//! with mlflow.tracing.trace("user_query_processing", SpanType.CHAIN) as parent_span:
//!     mlflow.tracing.set_span_inputs({"query": "What is machine learning?"})
//!
//!     with mlflow.tracing.trace("document_retrieval", SpanType.RETRIEVER) as retrieval_span:
//!         documents = ["Doc1", "Doc2", "Doc3"]
//!         mlflow.tracing.set_span_output({"retrieved_docs": documents})
//!         mlflow.tracing.set_span_attribute("num_documents", len(documents))
//!
//!     with mlflow.tracing.trace("llm_generation", SpanType.LLM) as llm_span:
//!         mlflow.tracing.set_span_inputs({"prompt": "Answer based on context", "context": documents})
//!         response = "Machine learning is a subset of AI..."
//!         mlflow.tracing.set_span_output({"response": response})
//!         mlflow.tracing.set_span_attribute("model_name", "gpt-4")
//!         mlflow.tracing.set_span_attribute("tokens_used", 150)
//!
//!     mlflow.tracing.set_span_output({"final_answer": response})
//! ```
//!
//! The `trace(name, span_type)` context manager is `SpanBuilder::new(name).span_type(t).start()`:
//! a guard that is the current span until the end of its block, so the `set_span_*` helpers
//! act on the innermost open block, as in Python.

use clew::{SpanBuilder, SpanType};
use serde_json::json;

pub fn main() {
    let _store = clew_examples::use_temp_store();

    // Start the experiment and enable tracing.
    let experiment = clew::set_experiment("llm-application").expect("create the experiment");
    clew::enable(None);

    let documents;
    let response;
    {
        let _parent_span = SpanBuilder::new("user_query_processing")
            .span_type(SpanType::Chain)
            .start();
        clew::set_span_inputs(json!({"query": "What is machine learning?"}));

        // Child span for retrieval.
        {
            let _retrieval_span = SpanBuilder::new("document_retrieval")
                .span_type(SpanType::Retriever)
                .start();
            documents = vec!["Doc1", "Doc2", "Doc3"];
            clew::set_span_output(json!({"retrieved_docs": documents}));
            clew::set_span_attribute("num_documents", documents.len());
        }

        // Child span for LLM processing.
        {
            let _llm_span = SpanBuilder::new("llm_generation").span_type(SpanType::Llm).start();
            clew::set_span_inputs(json!({"prompt": "Answer based on context", "context": documents}));
            response = "Machine learning is a subset of AI...";
            clew::set_span_output(json!({"response": response}));
            clew::set_span_attribute("model_name", "gpt-4");
            clew::set_span_attribute("tokens_used", 150);
        }

        // Final output, on the parent again.
        clew::set_span_output(json!({"final_answer": response}));
    }

    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    assert_eq!(trace.info.experiment_id(), Some(experiment.experiment_id.as_str()));
    let names: Vec<(&str, Option<SpanType>)> = trace
        .data
        .spans
        .iter()
        .map(|s| (s.name.as_str(), s.span_type()))
        .collect();
    assert_eq!(
        names,
        [
            ("user_query_processing", Some(SpanType::Chain)),
            ("document_retrieval", Some(SpanType::Retriever)),
            ("llm_generation", Some(SpanType::Llm)),
        ]
    );
    let parent = &trace.data.spans[0];
    let (retrieval, llm) = (&trace.data.spans[1], &trace.data.spans[2]);
    assert!(parent.is_root());
    assert_eq!(retrieval.parent_id, Some(parent.span_id));
    assert_eq!(llm.parent_id, Some(parent.span_id));
    assert!(
        retrieval.end_time_ns.unwrap() <= llm.start_time_ns,
        "the children ran one after the other"
    );

    assert_eq!(parent.inputs(), Some(json!({"query": "What is machine learning?"})));
    assert_eq!(
        parent.outputs(),
        Some(json!({"final_answer": "Machine learning is a subset of AI..."}))
    );
    assert_eq!(
        retrieval.outputs(),
        Some(json!({"retrieved_docs": ["Doc1", "Doc2", "Doc3"]}))
    );
    assert_eq!(retrieval.get_attribute("num_documents"), Some(json!(3)));
    assert_eq!(
        llm.inputs(),
        Some(json!({"prompt": "Answer based on context", "context": ["Doc1", "Doc2", "Doc3"]}))
    );
    assert_eq!(
        llm.outputs(),
        Some(json!({"response": "Machine learning is a subset of AI..."}))
    );
    assert_eq!(llm.get_attribute("model_name"), Some(json!("gpt-4")));
    assert_eq!(llm.get_attribute("tokens_used"), Some(json!(150)));
    // The trace's request and response previews come from the root span.
    assert_eq!(
        trace.info.request_preview.as_deref(),
        Some(r#"{"query": "What is machine learning?"}"#)
    );
}
