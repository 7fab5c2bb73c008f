"""The examples of the seed document "MLflow tracing API" (shared/seeds/001_…), verbatim
with only the ``mlflow`` imports pointing at clew.

The document's text lost its indentation when it was extracted; it is restored here as the
code's block structure requires. The examples are run in order in one namespace, as a reader
runs a document top to bottom (the third example uses ``SpanType`` imported by the second).
The LangChain example needs the ``langchain`` package and an OpenAI key and is exercised by
the autolog tests instead.
"""

from __future__ import annotations

import contextlib
import io

import pytest

import clew
from clew_test_support import run_example, sqlite_in_subprocess

CONFIGURE = '''
import mlflow
import mlflow.tracing
# Configure tracing
mlflow.tracing.configure(
    disable_propagation=False,
    sampling_rate=1.0 # Trace all requests
)
# Enable tracing with specific experiment
mlflow.tracing.enable(experiment_id="123")
# Enable notebook display for interactive development
mlflow.tracing.enable_notebook_display()
# Simple function tracing
@mlflow.tracing.trace
def process_text(text):
    # Simulate text processing
    processed = text.upper().strip()
    return processed
# Use traced function
result = process_text("hello world")
print(f"Processed: {result}")
# Disable tracing when done
mlflow.tracing.disable()
'''

MANUAL_SPANS = '''
import mlflow.tracing
from mlflow.tracing import SpanType, SpanStatus
# Start experiment and enable tracing
mlflow.set_experiment("llm-application")
mlflow.tracing.enable()
# Create manual spans with hierarchy
with mlflow.tracing.trace("user_query_processing", SpanType.CHAIN) as parent_span:
    # Set input data
    mlflow.tracing.set_span_inputs({"query": "What is machine learning?"})
    # Child span for retrieval
    with mlflow.tracing.trace("document_retrieval", SpanType.RETRIEVER) as retrieval_span:
        # Simulate document retrieval
        documents = ["Doc1", "Doc2", "Doc3"]
        mlflow.tracing.set_span_output({"retrieved_docs": documents})
        mlflow.tracing.set_span_attribute("num_documents", len(documents))
    # Child span for LLM processing
    with mlflow.tracing.trace("llm_generation", SpanType.LLM) as llm_span:
        mlflow.tracing.set_span_inputs({
            "prompt": "Answer based on context",
            "context": documents
        })
        # Simulate LLM call
        response = "Machine learning is a subset of AI..."
        mlflow.tracing.set_span_output({"response": response})
        mlflow.tracing.set_span_attribute("model_name", "gpt-4")
        mlflow.tracing.set_span_attribute("tokens_used", 150)
    # Set final output
    mlflow.tracing.set_span_output({"final_answer": response})
'''

DECORATORS = '''
import mlflow.tracing
from mlflow.tracing import mlflow_trace
# Decorate functions for automatic tracing
@mlflow_trace(span_type=SpanType.EMBEDDING)
def get_embeddings(texts):
    """Get embeddings for list of texts."""
    # Simulate embedding generation
    embeddings = [[0.1, 0.2, 0.3] for _ in texts]
    return embeddings
@mlflow_trace(span_type=SpanType.RETRIEVER)
def retrieve_documents(query_embedding, top_k=5):
    """Retrieve relevant documents."""
    # Simulate document retrieval
    documents = [f"Document {i}" for i in range(top_k)]
    return documents
@mlflow_trace(span_type=SpanType.LLM)
def generate_response(query, context_docs):
    """Generate response using LLM."""
    # Simulate LLM generation
    response = f"Based on {len(context_docs)} documents: Answer here"
    return response
# Enable tracing
mlflow.tracing.enable()
# Use instrumented functions - traces created automatically
query = "What is MLflow?"
query_embedding = get_embeddings([query])
relevant_docs = retrieve_documents(query_embedding[0])
response = generate_response(query, relevant_docs)
print(f"Response: {response}")
'''

ERRORS = '''
import mlflow.tracing
from mlflow.tracing import SpanStatus
mlflow.tracing.enable()
def risky_operation(data):
    """Function that might fail."""
    if len(data) == 0:
        raise ValueError("Empty data provided")
    return sum(data)
# Handle errors in traces
with mlflow.tracing.trace("data_processing") as span:
    try:
        mlflow.tracing.set_span_inputs({"data": [1, 2, 3]})
        result = risky_operation([1, 2, 3])
        mlflow.tracing.set_span_output({"result": result})
        # Span automatically gets OK status
    except Exception as e:
        # Record exception in span
        mlflow.tracing.add_span_exception(e)
        # Span automatically gets ERROR status
        raise
# Example with empty data (will fail)
try:
    with mlflow.tracing.trace("failing_operation") as span:
        mlflow.tracing.set_span_inputs({"data": []})
        result = risky_operation([])
except ValueError as e:
    print(f"Operation failed: {e}")
'''

CHAT_TOOLS = '''
import mlflow.tracing
from mlflow.tracing import SpanType
mlflow.tracing.enable()
# Simulate chat model with tools
def chat_with_tools(messages, tools=None):
    """Simulate chat model with tool calling capability."""
    with mlflow.tracing.trace("chat_completion", SpanType.CHAT_MODEL) as span:
        # Set chat tools if provided
        if tools:
            mlflow.tracing.set_span_chat_tools(tools)
        # Set input messages
        mlflow.tracing.set_span_inputs({
            "messages": messages,
            "tools": tools or []
        })
        # Set model attributes
        mlflow.tracing.set_span_attributes({
            "model_name": "gpt-4-turbo",
            "temperature": 0.7,
            "max_tokens": 1000
        })
        # Simulate tool calling
        if tools and "calculator" in [t["name"] for t in tools]:
            with mlflow.tracing.trace("tool_call", SpanType.TOOL) as tool_span:
                mlflow.tracing.set_span_inputs({
                    "tool_name": "calculator",
                    "arguments": {"expression": "2 + 2"}
                })
                tool_result = 4
                mlflow.tracing.set_span_output({"result": tool_result})
        # Generate final response
        response = {
            "role": "assistant",
            "content": "The calculation result is 4."
        }
        mlflow.tracing.set_span_output({"response": response})
        return response
# Define available tools
tools = [
    {
        "name": "calculator",
        "description": "Perform mathematical calculations",
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {"type": "string"}
            }
        }
    }
]
# Use chat model with tools
messages = [{"role": "user", "content": "What is 2 + 2?"}]
response = chat_with_tools(messages, tools=tools)
'''

ANALYSIS = '''
import mlflow
import mlflow.tracing
# Set up experiment
mlflow.set_experiment("trace_analysis")
mlflow.tracing.enable()
# Generate some traces
for i in range(5):
    with mlflow.tracing.trace(f"operation_{i}") as span:
        mlflow.tracing.set_span_inputs({"iteration": i})
        # Simulate varying execution times
        import time
        time.sleep(0.1 * i)
        mlflow.tracing.set_span_output({"processed": True})
# Retrieve and analyze traces
experiment = mlflow.get_experiment_by_name("trace_analysis")
traces = mlflow.tracing.search_traces(
    experiment_ids=[experiment.experiment_id],
    max_results=10
)
print(f"Found {len(traces)} traces")
for trace in traces:
    print(f"Trace ID: {trace.request_id}")
    print(f" Start time: {trace.timestamp_ms}")
    print(f" Duration: {trace.execution_time_ms}ms")
    print(f" Status: {trace.status}")
    # Analyze spans
    for span in trace.spans:
        print(f" Span: {span.name} ({span.span_type})")
        print(f" Duration: {span.end_time_ns - span.start_time_ns}ns")
        if span.inputs:
            print(f" Inputs: {span.inputs}")
        if span.outputs:
            print(f" Outputs: {span.outputs}")
# Get specific trace
if traces:
    last_trace = mlflow.tracing.get_trace(traces[0].request_id)
    print(f"\\nDetailed trace: {last_trace.request_id}")
    print(f"Execution time: {last_trace.execution_time_ms}ms")
'''

TYPES = '''
from mlflow.entities import Trace, Span, SpanEvent
from mlflow.tracing.provider import SpanType, SpanStatus, SpanStatusCode
'''


def run_printing(source, ns):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_example(source, ns)
    return out.getvalue()


@pytest.fixture
def ns():
    return {"__name__": "__seed_example__"}


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


def create_experiment_with_id(store_uri: str, experiment_id: int, name: str) -> None:
    """The document logs to experiment "123", which it assumes exists; ids are assigned by
    the store, so the row is put in the store file directly (the schema is MLflow's)."""
    import time

    clew.get_experiment_by_name("Default")  # opens (and migrates) the store file
    path = store_uri[len("sqlite:///"):]
    now = int(time.time() * 1000)
    sqlite_in_subprocess(
        path,
        "INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, last_update_time)"
        " VALUES (?, ?, '', ?, ?)",
        (experiment_id, name, now, now),
    )


def test_configure_enable_trace_disable(ns, store):
    create_experiment_with_id(store, 123, "seed-experiment-123")
    printed = run_printing(CONFIGURE, ns)
    assert printed == "Processed: HELLO WORLD\n"
    trace = last_trace()
    assert trace.info.experiment_id == "123"
    (span,) = trace.data.spans
    assert span.name == "process_text"
    assert span.inputs == {"text": "hello world"} and span.outputs == "HELLO WORLD"
    # mlflow.tracing.disable() at the end: nothing is recorded afterwards.
    before = clew.get_last_active_trace_id()
    ns["process_text"]("again")
    assert clew.get_last_active_trace_id() == before


def test_manual_span_hierarchy_with_module_level_helpers(ns):
    run_example(MANUAL_SPANS, ns)
    trace = last_trace()
    exp = clew.get_experiment_by_name("llm-application")
    assert trace.info.experiment_id == exp.experiment_id
    by_name = {s.name: s for s in trace.data.spans}
    root = by_name["user_query_processing"]
    assert root.parent_id is None and root.span_type == "CHAIN"
    assert root.inputs == {"query": "What is machine learning?"}
    assert root.outputs == {"final_answer": "Machine learning is a subset of AI..."}
    retrieval = by_name["document_retrieval"]
    assert retrieval.parent_id == root.span_id and retrieval.span_type == "RETRIEVER"
    assert retrieval.outputs == {"retrieved_docs": ["Doc1", "Doc2", "Doc3"]}
    assert retrieval.get_attribute("num_documents") == 3
    llm = by_name["llm_generation"]
    assert llm.parent_id == root.span_id and llm.span_type == "LLM"
    assert llm.inputs == {"prompt": "Answer based on context", "context": ["Doc1", "Doc2", "Doc3"]}
    assert llm.get_attribute("model_name") == "gpt-4" and llm.get_attribute("tokens_used") == 150
    assert ns["parent_span"].span_id == root.span_id


def test_decorated_functions_each_make_a_trace(ns):
    run_example(TYPES, ns)  # SpanType, as the document imported it earlier
    printed = run_printing(DECORATORS, ns)
    assert printed == "Response: Based on 5 documents: Answer here\n"
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "generate_response" and span.span_type == "LLM"
    assert span.inputs == {"query": "What is MLflow?", "context_docs": [f"Document {i}" for i in range(5)]}
    traces = clew.search_traces(return_type="list", max_results=10)
    spans = {t.data.spans[0].name: t.data.spans[0] for t in traces}
    assert spans["get_embeddings"].span_type == "EMBEDDING"
    assert spans["get_embeddings"].outputs == [[0.1, 0.2, 0.3]]
    assert spans["retrieve_documents"].inputs == {"query_embedding": [0.1, 0.2, 0.3], "top_k": 5}


def test_errors_are_recorded_and_reraised(ns):
    printed = run_printing(ERRORS, ns)
    assert printed == "Operation failed: Empty data provided\n"
    traces = clew.search_traces(return_type="list", max_results=10)
    by_name = {t.data.spans[0].name: t for t in traces}
    ok = by_name["data_processing"]
    assert ok.info.state == "OK"
    assert ok.data.spans[0].outputs == {"result": 6}
    failed = by_name["failing_operation"]
    assert failed.info.state == "ERROR"
    span = failed.data.spans[0]
    assert span.status.status_code == "ERROR"
    assert span.status.description == "ValueError: Empty data provided"
    (event,) = span.events
    assert event.name == "exception" and event.attributes["exception.type"] == "ValueError"


def test_chat_model_with_tools(ns):
    run_example(CHAT_TOOLS, ns)
    assert ns["response"] == {"role": "assistant", "content": "The calculation result is 4."}
    trace = last_trace()
    chat = trace.search_spans(name="chat_completion")[0]
    assert chat.span_type == "CHAT_MODEL"
    assert chat.get_attribute("mlflow.chat.tools") == ns["tools"]
    assert chat.get_attribute("temperature") == 0.7 and chat.get_attribute("max_tokens") == 1000
    assert chat.outputs == {"response": ns["response"]}
    tool = trace.search_spans(span_type="TOOL")[0]
    assert tool.parent_id == chat.span_id
    assert tool.outputs == {"result": 4}


def test_trace_analysis_searches_and_reads(ns):
    printed = run_printing(ANALYSIS, ns)
    lines = printed.splitlines()
    assert lines[0] == "Found 5 traces"
    traces = ns["traces"]
    assert len(traces) == 5
    # Newest first, as MLflow orders search results (operation_0 and _1 may start in the
    # same millisecond, so only the order of the times is pinned).
    stamps = [t.timestamp_ms for t in traces]
    assert stamps == sorted(stamps, reverse=True)
    assert [t.spans[0].name for t in traces][:3] == ["operation_4", "operation_3", "operation_2"]
    assert {t.spans[0].name for t in traces} == {f"operation_{i}" for i in range(5)}
    assert traces[0].execution_time_ms >= 400
    assert all(t.status == "OK" for t in traces)
    assert f"Detailed trace: {traces[0].request_id}" in lines
    assert " Inputs: {'iteration': 4}" in lines
    assert " Outputs: {'processed': True}" in lines


def test_type_names_import(ns):
    run_example(TYPES, ns)
    assert ns["SpanType"].CHAT_MODEL == "CHAT_MODEL"
    assert ns["SpanStatus"].CANCELLED == "CANCELLED"
    assert ns["SpanStatusCode"].UNSET == "UNSET"
    assert ns["Trace"] is clew.entities.Trace and ns["Span"] is clew.entities.Span
