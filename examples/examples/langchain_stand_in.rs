//! Seed "MLflow tracing API", usage example "Enable automatic LangChain instrumentation".
//!
//! ```python
//! mlflow.tracing.instrument_langchain()
//! mlflow.tracing.enable()
//!
//! from langchain.llms import OpenAI
//! from langchain.chains import LLMChain
//! from langchain.prompts import PromptTemplate
//!
//! prompt_template = PromptTemplate(input_variables=["topic"],
//!                                  template="Write a short summary about {topic}")
//! llm = OpenAI(temperature=0.7)
//! chain = LLMChain(llm=llm, prompt=prompt_template)
//!
//! with mlflow.tracing.trace("langchain_summary_generation"):
//!     result = chain.run(topic="machine learning")
//!     print(f"Summary: {result}")
//! # Traces will show LangChain component hierarchy
//! ```
//!
//! LangChain is a Python library, and `instrument_langchain()` patches it at import time; there
//! is nothing to instrument in Rust (the Python package will provide it). This port keeps the
//! shape of the sample with a small stand-in chain whose components are traced the way the
//! LangChain integration traces them: the chain as a CHAIN span, prompt formatting, and the
//! model call as an LLM span, all under the user's `langchain_summary_generation` span.

use clew::{SpanBuilder, SpanType};
use serde_json::json;

/// Stand-in for `langchain.prompts.PromptTemplate`.
struct PromptTemplate {
    input_variables: Vec<&'static str>,
    template: &'static str,
}

impl PromptTemplate {
    #[clew::trace(name = "PromptTemplate", span_type = SpanType::Chain, skip(self))]
    fn format(&self, topic: &str) -> String {
        assert_eq!(self.input_variables, ["topic"]);
        self.template.replace("{topic}", topic)
    }
}

/// Stand-in for `langchain.llms.OpenAI`: a canned completion instead of an API call.
struct OpenAi {
    temperature: f64,
}

impl OpenAi {
    #[clew::trace(name = "OpenAI", span_type = SpanType::Llm, skip(self), attributes(temperature = self.temperature))]
    fn invoke(&self, prompt: &str) -> String {
        let topic = prompt.rsplit("about ").next().unwrap_or(prompt);
        format!("{topic} is a field of AI in which systems learn patterns from data instead of explicit rules.")
    }
}

/// Stand-in for `langchain.chains.LLMChain`.
struct LlmChain {
    llm: OpenAi,
    prompt: PromptTemplate,
}

impl LlmChain {
    #[clew::trace(name = "LLMChain", span_type = SpanType::Chain, skip(self))]
    fn run(&self, topic: &str) -> String {
        let prompt = self.prompt.format(topic);
        self.llm.invoke(&prompt)
    }
}

pub fn main() {
    let _store = clew_examples::use_temp_store();
    // mlflow.tracing.instrument_langchain(): nothing to patch in Rust (see above).
    clew::enable(None);

    let prompt_template = PromptTemplate {
        input_variables: vec!["topic"],
        template: "Write a short summary about {topic}",
    };
    let llm = OpenAi { temperature: 0.7 };
    let chain = LlmChain {
        llm,
        prompt: prompt_template,
    };

    let result = SpanBuilder::new("langchain_summary_generation").run(|_span| chain.run("machine learning"));
    println!("Summary: {result}");

    // The trace shows the component hierarchy under the user's span.
    let trace = clew::get_trace(&clew::get_last_active_trace_id().unwrap()).unwrap();
    let tree: Vec<(&str, String, Option<&str>)> = trace
        .data
        .spans
        .iter()
        .map(|s| {
            let parent = s
                .parent_id
                .and_then(|p| trace.data.spans.iter().find(|x| x.span_id == p))
                .map(|p| p.name.as_str());
            (s.name.as_str(), s.span_type().unwrap().to_string(), parent)
        })
        .collect();
    assert_eq!(
        tree,
        [
            ("langchain_summary_generation", "UNKNOWN".to_string(), None),
            ("LLMChain", "CHAIN".to_string(), Some("langchain_summary_generation")),
            ("PromptTemplate", "CHAIN".to_string(), Some("LLMChain")),
            ("OpenAI", "LLM".to_string(), Some("LLMChain")),
        ]
    );
    let llm_span = &trace.search_spans(None, Some(&"OpenAI".into()), None)[0].clone();
    assert_eq!(
        llm_span.inputs(),
        Some(json!({"prompt": "Write a short summary about machine learning"}))
    );
    assert_eq!(llm_span.get_attribute("temperature"), Some(json!(0.7)));
    assert_eq!(llm_span.outputs(), Some(json!(result)));
    let chain_span = &trace.search_spans(None, Some(&"LLMChain".into()), None)[0].clone();
    assert_eq!(chain_span.inputs(), Some(json!({"topic": "machine learning"})));
    assert!(result.starts_with("machine learning is a field of AI"));
}
