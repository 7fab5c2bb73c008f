//! `#[clew::trace]`: what a traced function records (name, type, attributes, inputs,
//! outputs, errors, panics), nesting for sync and async code, and the disabled path.

use clew::{MemoryDestination, Span, SpanStatusCode, SpanType, Trace};
use serde::Serialize;
use serde_json::json;
use std::sync::Mutex;

// The SDK's configuration is process-global: tests that change it run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with a fresh in-memory destination and returns the traces it produced.
fn record(f: impl FnOnce()) -> Vec<Trace> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    clew::reset();
    let memory = MemoryDestination::new();
    clew::set_destination(memory.clone());
    f();
    clew::flush();
    let traces = memory.traces();
    clew::reset();
    traces
}

fn only_trace(traces: &[Trace]) -> &Trace {
    assert_eq!(traces.len(), 1, "expected one trace, got {}", traces.len());
    &traces[0]
}

fn span<'a>(trace: &'a Trace, name: &str) -> &'a Span {
    trace.data.spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

fn raw<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.get(key).map(String::as_str)
}

// ---------------------------------------------------------------------------------------------
// Sync functions

#[clew::trace]
fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[clew::trace]
fn outer(x: i32) -> i32 {
    add(x, 1) * 2
}

#[test]
fn sync_fn_records_name_function_name_inputs_and_outputs() {
    let traces = record(|| assert_eq!(add(2, 3), 5));
    let trace = only_trace(&traces);
    let s = span(trace, "add");
    assert_eq!(raw(s, "mlflow.spanInputs"), Some(r#"{"a": 2, "b": 3}"#));
    assert_eq!(raw(s, "mlflow.spanOutputs"), Some("5"));
    assert_eq!(raw(s, "mlflow.spanFunctionName"), Some("\"add\""));
    assert_eq!(s.span_type(), Some(SpanType::Unknown));
    assert_eq!(s.status.status_code, SpanStatusCode::Ok);
}

#[test]
fn traced_fn_calling_traced_fn_is_parent_and_child() {
    let traces = record(|| assert_eq!(outer(4), 10));
    let trace = only_trace(&traces);
    assert_eq!(trace.data.spans.len(), 2);
    let parent = span(trace, "outer");
    let child = span(trace, "add");
    assert_eq!(parent.parent_id, None);
    assert_eq!(child.parent_id, Some(parent.span_id));
    assert_eq!(child.inputs(), Some(json!({"a": 4, "b": 1})));
}

#[test]
fn traced_fn_inside_a_manual_span_is_its_child() {
    let traces = record(|| {
        let _root = clew::start_span("root");
        add(1, 1);
    });
    let trace = only_trace(&traces);
    assert_eq!(span(trace, "add").parent_id, Some(span(trace, "root").span_id));
}

#[derive(Debug)]
struct DebugOnly {
    #[allow(dead_code)]
    id: u32,
}

struct Opaque;

#[derive(Serialize)]
struct Query {
    text: String,
    top_k: usize,
}

#[clew::trace(skip(secret))]
fn many_args(query: &Query, debug: DebugOnly, opaque: &Opaque, secret: &str, score: f64) -> usize {
    let _ = (debug, opaque, secret);
    query.top_k + score as usize
}

#[test]
fn inputs_use_serialize_then_debug_then_a_placeholder_and_honour_skip() {
    let traces = record(|| {
        let q = Query { text: "What is MLflow?".into(), top_k: 3 };
        many_args(&q, DebugOnly { id: 7 }, &Opaque, "hunter2", 1.0);
    });
    let s = span(only_trace(&traces), "many_args");
    let inputs = s.inputs().unwrap();
    assert_eq!(inputs["query"], json!({"text": "What is MLflow?", "top_k": 3}));
    assert_eq!(inputs["debug"], json!("DebugOnly { id: 7 }"));
    let opaque = inputs["opaque"].as_str().unwrap();
    assert!(opaque.starts_with("<unserializable: ") && opaque.contains("Opaque"), "{opaque}");
    assert!(inputs.get("secret").is_none());
    assert_eq!(inputs["score"], json!(1.0));
    // Key order is argument order, with Python's separators and float repr.
    let text = raw(s, "mlflow.spanInputs").unwrap();
    assert!(text.starts_with(r#"{"query": {"text": "What is MLflow?", "top_k": 3}, "debug": "#), "{text}");
    assert!(text.ends_with(r#""score": 1.0}"#), "{text}");
}

#[clew::trace]
fn patterns((a, b): (i32, i32), Query { text, .. }: Query, _: u8) -> String {
    format!("{a}{b}{text}")
}

#[clew::trace(skip_all)]
fn nothing_recorded(password: &str) -> usize {
    password.len()
}

#[clew::trace]
fn no_args() {}

#[test]
fn pattern_args_record_their_bindings_and_unit_returns_null() {
    let traces = record(|| {
        patterns((1, 2), Query { text: "q".into(), top_k: 1 }, 0);
    });
    let s = span(only_trace(&traces), "patterns");
    assert_eq!(raw(s, "mlflow.spanInputs"), Some(r#"{"a": 1, "b": 2, "text": "q"}"#));
    assert_eq!(s.outputs(), Some(json!("12q")));

    let traces = record(|| {
        nothing_recorded("pw");
    });
    let s = span(only_trace(&traces), "nothing_recorded");
    assert_eq!(raw(s, "mlflow.spanInputs"), None);
    assert_eq!(raw(s, "mlflow.spanOutputs"), Some("2"));

    let traces = record(no_args);
    let s = span(only_trace(&traces), "no_args");
    assert_eq!(raw(s, "mlflow.spanInputs"), Some("{}"));
    assert_eq!(raw(s, "mlflow.spanOutputs"), Some("null"));
}

#[clew::trace]
fn maybe(x: i32) -> Option<DebugOnly> {
    if x > 0 {
        return Some(DebugOnly { id: x as u32 });
    }
    None
}

#[test]
fn option_outputs_none_as_null_and_some_as_the_value() {
    let traces = record(|| {
        maybe(0);
        maybe(5);
    });
    assert_eq!(traces.len(), 2);
    assert_eq!(raw(&traces[0].data.spans[0], "mlflow.spanOutputs"), Some("null"));
    assert_eq!(traces[1].data.spans[0].outputs(), Some(json!("DebugOnly { id: 5 }")));
}

// ---------------------------------------------------------------------------------------------
// Errors and panics

#[derive(Debug)]
struct ParseFailure {
    input: String,
    source: std::num::ParseIntError,
}

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot parse {:?}", self.input)
    }
}

impl std::error::Error for ParseFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[clew::trace]
fn parse(text: &str) -> Result<i64, ParseFailure> {
    // `?` and early `return` inside the body are still captured.
    if text.is_empty() {
        return Ok(0);
    }
    let n = text.parse::<i64>().map_err(|source| ParseFailure { input: text.into(), source })?;
    Ok(n * 10)
}

#[clew::trace]
fn read_config(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[clew::trace]
fn boxed_error(fail: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        Err("plain message".into())
    } else {
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum DebugError {
    Nope,
}

#[clew::trace]
fn debug_error() -> Result<u8, DebugError> {
    Err(DebugError::Nope)
}

fn exception(span: &Span) -> &clew::SpanEvent {
    let events: Vec<_> = span.events.iter().filter(|e| e.name == "exception").collect();
    assert_eq!(events.len(), 1, "one exception event expected: {:?}", span.events);
    events[0]
}

fn attr(event: &clew::SpanEvent, key: &str) -> String {
    event.attributes.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

#[test]
fn ok_is_the_output_err_is_recorded_as_an_exception_and_returned_unchanged() {
    let traces = record(|| {
        assert_eq!(parse("4").unwrap(), 40);
        assert_eq!(parse("").unwrap(), 0);
        let err = parse("x").unwrap_err();
        assert_eq!(err.input, "x");
    });
    assert_eq!(traces.len(), 3);
    assert_eq!(raw(&traces[0].data.spans[0], "mlflow.spanOutputs"), Some("40"));
    assert_eq!(raw(&traces[1].data.spans[0], "mlflow.spanOutputs"), Some("0"));

    let failed = &traces[2].data.spans[0];
    assert_eq!(failed.status.status_code, SpanStatusCode::Error);
    assert_eq!(failed.status.description, "ParseFailure: cannot parse \"x\"");
    assert_eq!(raw(failed, "mlflow.spanOutputs"), None, "outputs are not set on error");
    let event = exception(failed);
    assert_eq!(attr(event, "exception.type"), "ParseFailure");
    assert_eq!(attr(event, "exception.message"), "cannot parse \"x\"");
    let stack = attr(event, "exception.stacktrace");
    assert!(stack.contains("Caused by: invalid digit found in string"), "{stack}");
}

#[test]
fn result_aliases_boxed_errors_and_debug_only_errors_are_recorded() {
    let traces = record(|| {
        assert!(read_config("/definitely/not/here.toml").is_err());
        assert!(boxed_error(true).is_err());
        assert!(boxed_error(false).is_ok());
        assert_eq!(debug_error(), Err(DebugError::Nope));
    });
    assert_eq!(traces.len(), 4);
    let io = exception(&traces[0].data.spans[0]);
    assert_eq!(attr(io, "exception.type"), "Error");
    assert!(attr(io, "exception.message").contains("No such file"), "{io:?}");

    let boxed = &traces[1].data.spans[0];
    assert_eq!(attr(exception(boxed), "exception.message"), "plain message");
    assert_eq!(boxed.status.description, "Error: plain message");
    assert_eq!(raw(&traces[2].data.spans[0], "mlflow.spanOutputs"), Some("null"));

    let debug = &traces[3].data.spans[0];
    assert_eq!(debug.status.description, "DebugError: Nope");
}

#[clew::trace]
fn explode(n: u32) -> u32 {
    if n > 1 {
        panic!("boom at {n}");
    }
    n
}

#[clew::trace]
fn calls_explode() -> u32 {
    explode(2)
}

#[test]
fn a_panic_is_recorded_with_its_message_and_resumes() {
    let traces = record(|| {
        let caught = std::panic::catch_unwind(calls_explode);
        assert!(caught.is_err());
    });
    let trace = only_trace(&traces);
    let inner = span(trace, "explode");
    assert_eq!(inner.status.status_code, SpanStatusCode::Error);
    let event = exception(inner);
    assert_eq!(attr(event, "exception.type"), "panic");
    assert_eq!(attr(event, "exception.message"), "boom at 2");
    let outer = span(trace, "calls_explode");
    assert_eq!(outer.status.status_code, SpanStatusCode::Error);
    assert_eq!(exception(outer).name, "exception");
    assert_eq!(inner.parent_id, Some(outer.span_id));
}

// ---------------------------------------------------------------------------------------------
// Options

#[clew::trace(name = "custom", span_type = "RETRIEVER", attributes(top_k = k, "index.name" = "docs", model.name = "m1"))]
fn options_fn(k: usize) -> usize {
    k
}

#[clew::trace(span_type = SpanType::Llm)]
fn typed_by_path() {}

#[clew::trace(span_type = clew::SpanType::Custom("MY_STEP".to_string()))]
fn typed_custom() {}

#[test]
fn name_span_type_and_attributes_options() {
    let traces = record(|| {
        options_fn(5);
        typed_by_path();
        typed_custom();
    });
    assert_eq!(traces.len(), 3);
    let s = &traces[0].data.spans[0];
    assert_eq!(s.name, "custom");
    assert_eq!(raw(s, "mlflow.spanFunctionName"), Some("\"options_fn\""));
    assert_eq!(s.span_type(), Some(SpanType::Retriever));
    assert_eq!(s.get_attribute("top_k"), Some(json!(5)));
    assert_eq!(s.get_attribute("index.name"), Some(json!("docs")));
    assert_eq!(s.get_attribute("model.name"), Some(json!("m1")));
    assert_eq!(traces[1].data.spans[0].span_type(), Some(SpanType::Llm));
    assert_eq!(traces[2].data.spans[0].span_type(), Some(SpanType::from("MY_STEP")));
}

/// The seed's retriever: sets Document outputs through the current span.
#[clew::trace(span_type = "RETRIEVER")]
fn retrieve_documents(query: &str) -> Vec<clew::Document> {
    let span = clew::get_current_active_span().expect("inside a traced fn");
    let documents = vec![
        clew::Document::new("The content of the document...")
            .with_metadata("doc_uri", "path/to/document.md")
            .with_metadata("relevance_score", 0.95),
        clew::Document::new(format!("Another section about {query}")),
    ];
    span.set_outputs(&documents);
    documents
}

#[test]
fn retriever_fn_sets_document_outputs_through_the_current_span() {
    let traces = record(|| {
        retrieve_documents("ML");
    });
    let s = span(only_trace(&traces), "retrieve_documents");
    assert_eq!(s.span_type(), Some(SpanType::Retriever));
    let outputs = s.outputs().unwrap();
    assert_eq!(outputs[0]["page_content"], json!("The content of the document..."));
    assert_eq!(outputs[0]["metadata"]["doc_uri"], json!("path/to/document.md"));
    assert_eq!(outputs[1]["page_content"], json!("Another section about ML"));
}

// ---------------------------------------------------------------------------------------------
// Methods, generics, impl Trait, trait impls

struct Counter {
    count: u64,
    label: String,
}

impl Counter {
    #[clew::trace]
    fn get(&self) -> u64 {
        self.count
    }

    /// Doc comments and attributes stay on the method.
    #[clew::trace]
    #[must_use]
    pub fn bump(&mut self, by: u64) -> u64 {
        self.count += by;
        self.count
    }

    /// Returns a borrow of `self`: the body closure must be `FnOnce`.
    #[clew::trace]
    fn label_mut(&mut self) -> &mut String {
        &mut self.label
    }

    #[clew::trace]
    fn label(&self) -> &str {
        &self.label
    }

    #[clew::trace]
    fn into_label(self) -> String {
        self.label
    }

    #[clew::trace]
    fn make(count: u64) -> Self {
        Counter { count, label: String::new() }
    }
}

#[test]
fn methods_leave_self_out_of_the_inputs() {
    let traces = record(|| {
        let mut c = Counter::make(1);
        assert_eq!(c.bump(2), 3);
        assert_eq!(c.get(), 3);
        c.label_mut().push_str("hi");
        assert_eq!(c.label(), "hi");
        assert_eq!(c.into_label(), "hi");
    });
    assert_eq!(traces.len(), 6);
    let names: Vec<_> = traces.iter().map(|t| t.data.spans[0].name.as_str()).collect();
    assert_eq!(names, ["make", "bump", "get", "label_mut", "label", "into_label"]);
    assert_eq!(raw(&traces[1].data.spans[0], "mlflow.spanInputs"), Some(r#"{"by": 2}"#));
    assert_eq!(raw(&traces[2].data.spans[0], "mlflow.spanInputs"), Some("{}"));
    assert_eq!(raw(&traces[4].data.spans[0], "mlflow.spanOutputs"), Some("\"hi\""));
    // Self without Serialize or Debug: a placeholder naming the type.
    let made = traces[0].data.spans[0].outputs().unwrap();
    assert!(made.as_str().unwrap().contains("Counter"), "{made}");
}

#[clew::trace]
fn generic_serialize<T: Serialize + Clone>(value: &T) -> Vec<T> {
    vec![value.clone(), value.clone()]
}

#[clew::trace]
fn generic_unbounded<T>(value: T) -> T {
    value
}

#[clew::trace]
fn with_impl_args(items: impl IntoIterator<Item = u32>, show: impl std::fmt::Debug) -> impl Iterator<Item = u32> {
    let _ = show;
    items.into_iter().filter(|x| x % 2 == 0)
}

#[test]
fn generic_and_impl_trait_functions() {
    let traces = record(|| {
        assert_eq!(generic_serialize(&"a"), vec!["a", "a"]);
        assert_eq!(generic_unbounded(3u8), 3);
        assert_eq!(with_impl_args(vec![1, 2, 3, 4], [9]).collect::<Vec<_>>(), vec![2, 4]);
    });
    assert_eq!(traces.len(), 3);
    assert_eq!(traces[0].data.spans[0].outputs(), Some(json!(["a", "a"])));
    // No `Serialize` bound on T: the placeholder names the concrete type.
    assert_eq!(traces[1].data.spans[0].inputs(), Some(json!({"value": "<unserializable: u8>"})));
    let inputs = traces[2].data.spans[0].inputs().unwrap();
    assert_eq!(inputs["show"], json!("[9]"));
    assert!(inputs["items"].as_str().unwrap().starts_with("<unserializable: alloc::vec::Vec<u32>"));
}

trait Tool {
    fn call(&self, input: &str) -> String;
    #[clew::trace]
    fn describe(&self) -> String {
        "a tool".to_string()
    }
}

struct Echo;

impl Tool for Echo {
    #[clew::trace(span_type = "TOOL")]
    fn call(&self, input: &str) -> String {
        input.to_uppercase()
    }
}

#[test]
fn trait_impl_methods_and_default_methods() {
    let traces = record(|| {
        let tool: &dyn Tool = &Echo;
        assert_eq!(tool.call("hi"), "HI");
        assert_eq!(tool.describe(), "a tool");
    });
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0].data.spans[0].span_type(), Some(SpanType::Tool));
    assert_eq!(traces[0].data.spans[0].inputs(), Some(json!({"input": "hi"})));
    assert_eq!(traces[1].data.spans[0].name, "describe");
}

// ---------------------------------------------------------------------------------------------
// Disabled tracing

#[test]
fn disabled_tracing_records_nothing_and_the_function_still_runs() {
    let traces = record(|| {
        clew::disable();
        assert_eq!(outer(1), 4);
        assert!(parse("y").is_err());
        let mut c = Counter::make(0);
        assert_eq!(c.bump(1), 1);
        clew::enable(None);
    });
    assert!(traces.is_empty(), "{} traces recorded while disabled", traces.len());
}

// ---------------------------------------------------------------------------------------------
// Signatures that must keep compiling unchanged

#[clew::trace]
fn with_lifetimes<'a, 'b: 'a>(first: &'a str, _second: &'b str) -> &'a str {
    first
}

#[clew::trace]
fn with_where_clause<T>(items: &[T]) -> usize
where
    T: std::fmt::Debug + PartialEq,
{
    items.len()
}

#[clew::trace]
fn converts_errors_with_question_mark(path: &str) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let n: i32 = text.trim().parse()?;
    Ok(format!("{n}"))
}

#[clew::trace]
#[allow(clippy::needless_return, clippy::mixed_attributes_style)]
fn early_returns(n: i32) -> &'static str {
    #![allow(unused_variables)]
    let unused = 1;
    if n < 0 {
        return "negative";
    }
    for i in 0.. {
        if i == n {
            return "found";
        }
    }
    unreachable!()
}

#[clew::trace]
#[allow(clippy::not_unsafe_ptr_arg_deref)]
unsafe fn read_raw(ptr: *const u32) -> u32 {
    *ptr
}

#[clew::trace]
extern "C" fn c_abi(x: u32) -> u32 {
    x + 1
}

#[clew::trace]
fn mut_and_raw_idents(mut r#type: String, r#fn: u8) -> String {
    r#type.push(char::from(b'a' + r#fn));
    r#type
}

#[clew::trace]
fn never_returns(message: &str) -> ! {
    panic!("{message}")
}

#[clew::trace]
fn takes_closure<F: Fn(u32) -> u32>(f: F, x: u32) -> u32 {
    f(x)
}

#[clew::trace]
fn uses_self_type_in_body(counter: Counter) -> Counter {
    Counter { count: counter.count + 1, ..counter }
}

mod visibility {
    #[clew::trace]
    pub(crate) fn crate_visible() -> u8 {
        1
    }
}

#[test]
fn unusual_signatures_compile_and_record() {
    let traces = record(|| {
        assert_eq!(with_lifetimes("a", "b"), "a");
        assert_eq!(with_where_clause(&[1, 2]), 2);
        assert!(converts_errors_with_question_mark("/no/such/file").is_err());
        assert_eq!(early_returns(-1), "negative");
        assert_eq!(early_returns(3), "found");
        assert_eq!(unsafe { read_raw(&7) }, 7);
        assert_eq!(c_abi(1), 2);
        assert_eq!(mut_and_raw_idents("x".into(), 1), "xb");
        assert!(std::panic::catch_unwind(|| never_returns("never")).is_err());
        assert_eq!(takes_closure(|x| x * 2, 4), 8);
        assert_eq!(uses_self_type_in_body(Counter { count: 1, label: "l".into() }).count, 2);
        assert_eq!(visibility::crate_visible(), 1);
    });
    let names: Vec<_> = traces.iter().map(|t| t.data.spans[0].name.as_str()).collect();
    assert_eq!(
        names,
        [
            "with_lifetimes",
            "with_where_clause",
            "converts_errors_with_question_mark",
            "early_returns",
            "early_returns",
            "read_raw",
            "c_abi",
            "mut_and_raw_idents",
            "never_returns",
            "takes_closure",
            "uses_self_type_in_body",
            "crate_visible"
        ]
    );
    let by_name = |i: usize| &traces[i].data.spans[0];
    assert_eq!(by_name(3).outputs(), Some(json!("negative")));
    assert_eq!(by_name(4).outputs(), Some(json!("found")));
    // Raw identifiers are recorded without `r#`.
    assert_eq!(raw(by_name(7), "mlflow.spanInputs"), Some(r#"{"type": "x", "fn": 1}"#));
    assert_eq!(by_name(8).status.status_code, SpanStatusCode::Error);
    assert_eq!(by_name(2).status.status_code, SpanStatusCode::Error);
}

struct Celsius(f64);

impl std::fmt::Display for Celsius {
    #[clew::trace]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}°C", self.0)
    }
}

#[test]
fn fmt_result_without_arguments_is_a_result() {
    let traces = record(|| assert_eq!(Celsius(21.5).to_string(), "21.5°C"));
    let s = span(only_trace(&traces), "fmt");
    assert_eq!(raw(s, "mlflow.spanOutputs"), Some("null"));
    assert_eq!(s.status.status_code, SpanStatusCode::Ok);
    // A Formatter is not Serialize: it is recorded by its Debug text.
    assert!(s.inputs().unwrap().get("f").is_some());
}
