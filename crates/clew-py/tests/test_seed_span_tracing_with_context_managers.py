"""The examples of the seed document "Span tracing with context managers"
(shared/seeds/000_…), verbatim with only the ``mlflow`` import pointing at clew.

The document's text lost its indentation when it was extracted; it is restored here as the
code's block structure requires. Each test runs one example and checks what it recorded.
"""

from __future__ import annotations

import contextlib
import io

import clew
from clew.entities import SpanStatusCode
from clew_test_support import run_example

BASIC = '''
import mlflow

with mlflow.start_span(name="my_span") as span:
    x = 1
    y = 2
    span.set_inputs({"x":x, "y": y})
    z = x + y
    span.set_outputs(z)
'''

SPAN_EVENTS = '''
import mlflow
from mlflow.entities import SpanEvent, SpanType
import time

with mlflow.start_span(name="manual_span", span_type=SpanType.CHAIN) as span:
    # Create an event with current timestamp
    event = SpanEvent(
        name="validation_completed",
        attributes={
            "records_validated": 1000,
            "errors_found": 3,
            "validation_type": "schema"
        }
    )
    span.add_event(event)

    # Create an event with specific timestamp (nanoseconds)
    specific_time_event = SpanEvent(
        name="data_checkpoint",
        timestamp=int(time.time() * 1e9),
        attributes={"checkpoint_id": "ckpt_123"}
    )
    span.add_event(specific_time_event)

    # Create an event from an exception
    try:
        raise ValueError("Invalid input format")
    except Exception as e:
        error_event = SpanEvent.from_exception(e)
        # This creates an event with name="exception" and attributes containing:
        # - exception.message
        # - exception.type
        # - exception.stacktrace

        # Add to current span
        span = mlflow.get_current_active_span()
        span.add_event(error_event)
'''

SPAN_STATUS = '''
import mlflow
from mlflow.entities import SpanStatus, SpanStatusCode, SpanType

with mlflow.start_span(name="manual_span", span_type=SpanType.CHAIN) as span:

    # Create status objects
    success_status = SpanStatus(SpanStatusCode.OK)
    error_status = SpanStatus(
        SpanStatusCode.ERROR,
        description="Failed to connect to database"
    )

    # Set status on a live span
    span.set_status(success_status)

    # Or use string shortcuts
    span.set_status("OK")
    span.set_status("ERROR")

    # When the context manager exits successfully, the status is overwritten with status "OK"
'''

QUERY_STATUS = '''
last_trace_id = mlflow.get_last_active_trace_id()
trace = mlflow.get_trace(last_trace_id)

for span in trace.data.spans:
    print(span.status.status_code)
'''

RETRIEVER = '''
import mlflow
from mlflow.entities import Document, SpanType

@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve_documents(query: str):
    span = mlflow.get_current_active_span()

    # Create Document objects (required for RETRIEVER spans)
    documents = [
        Document(
            page_content="The content of the document...",
            metadata={
                "doc_uri": "path/to/document.md",
                "chunk_id": "chunk_001",
                "relevance_score": 0.95,
                "source": "knowledge_base"
            },
            id="doc_123" # Optional document ID
        ),
        Document(
            page_content="Another relevant section...",
            metadata={
                "doc_uri": "path/to/other.md",
                "chunk_id": "chunk_042",
                "relevance_score": 0.87
            }
        )
    ]

    # Set outputs as Document objects for proper UI rendering
    span.set_outputs(documents)

    # Return in your preferred format
    return [doc.to_dict() for doc in documents]

retrieve_documents(query="What is ML?")
'''

ACCESS_RETRIEVER = '''
last_trace_id = mlflow.get_last_active_trace_id()
trace = mlflow.get_trace(last_trace_id)

retriever_span = trace.search_spans(span_type=SpanType.RETRIEVER)[0]

if retriever_span.outputs:
    for doc in retriever_span.outputs:
        if isinstance(doc, dict):
            content = doc.get('page_content', '')
            uri = doc.get('metadata', {}).get('doc_uri', '')
            score = doc.get('metadata', {}).get('relevance_score', 0)
            print(f"Document from {uri} (score: {score})")
'''


def run_printing(source, ns=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ns = run_example(source, ns)
    return ns, out.getvalue()


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


def test_basic_span_records_inputs_and_outputs():
    run_example(BASIC)
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "my_span"
    assert span.inputs == {"x": 1, "y": 2}
    assert span.outputs == 3
    assert span.status.status_code == "OK"
    assert trace.info.state == "OK"


def test_span_events_with_now_explicit_timestamp_and_exception():
    ns = run_example(SPAN_EVENTS)
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.span_type == "CHAIN"
    names = [e.name for e in span.events]
    assert names == ["validation_completed", "data_checkpoint", "exception"]
    validation, checkpoint, exception = span.events
    assert validation.attributes == {"records_validated": 1000, "errors_found": 3, "validation_type": "schema"}
    assert checkpoint.timestamp == ns["specific_time_event"].timestamp
    assert checkpoint.attributes == {"checkpoint_id": "ckpt_123"}
    assert exception.attributes["exception.type"] == "ValueError"
    assert exception.attributes["exception.message"] == "Invalid input format"
    stacktrace = exception.attributes["exception.stacktrace"]
    assert stacktrace.startswith("Traceback (most recent call last):")
    assert stacktrace.endswith("ValueError: Invalid input format")
    # An exception event added by hand does not fail the span.
    assert span.status.status_code == "OK"


def test_span_status_is_overwritten_with_ok_on_exit():
    # The example's last call is set_status("ERROR"). The document says the context manager
    # overwrites the status with OK on exit; MLflow's LiveSpan.end() does so only for a status
    # that is not ERROR, and clew does the same, so the span ends ERROR.
    ns = run_example(SPAN_STATUS)
    assert ns["error_status"].status_code == "ERROR"
    assert ns["error_status"].description == "Failed to connect to database"
    _, printed = run_printing(QUERY_STATUS, ns)
    trace = last_trace()
    (span,) = trace.data.spans
    assert printed.strip() == str(span.status.status_code) == "ERROR"
    assert span.status.status_code == SpanStatusCode.ERROR


def test_retriever_span_outputs_documents_and_reads_back():
    ns = run_example(RETRIEVER)
    _, printed = run_printing(ACCESS_RETRIEVER, ns)
    assert printed.splitlines() == [
        "Document from path/to/document.md (score: 0.95)",
        "Document from path/to/other.md (score: 0.87)",
    ]
    span = last_trace().search_spans(span_type="RETRIEVER")[0]
    assert span.inputs == {"query": "What is ML?"}
    assert span.outputs[0] == {
        "page_content": "The content of the document...",
        "metadata": {"doc_uri": "path/to/document.md", "chunk_id": "chunk_001", "relevance_score": 0.95,
                     "source": "knowledge_base"},
        "id": "doc_123",
    }
    assert span.outputs[1]["id"] is None


ADVANCED = '''
from databricks.sdk import WorkspaceClient
import mlflow
from mlflow.entities import SpanEvent, SpanType
import openai
import time

# Enable auto-tracing for OpenAI
mlflow.openai.autolog()

# Create an OpenAI client that is connected to Databricks-hosted LLMs.
workspace = WorkspaceClient()
client = workspace.serving_endpoints.get_open_ai_client()

@mlflow.trace(span_type=SpanType.CHAIN)
def chat_iteration(messages, user_input):
    with mlflow.start_span(name="User", span_type=SpanType.CHAIN) as span:
        span.set_inputs({
            "messages": messages,
            "timestamp": time.time(),
        })

        # Set individual attribute
        span.set_attribute("messages_length", len(messages))

        # Set multiple attributes at once
        span.set_attributes({
            "environment": "production",
            "custom_metadata": {"key": "value"}
        })

        # Add events during execution
        span.add_event(SpanEvent(
            name="processing_started",
            attributes={
                "stage": "initialization",
                "memory_usage_mb": 256,
            }
        ))

        span.set_outputs(user_input)

    messages.append({"role": "user", "content": user_input})

    response = client.chat.completions.create(
        model="databricks-claude-sonnet-4-5",
        max_tokens=100,
        messages=messages,
    )
    answer = response.choices[0].message.content
    print(f"Assistant: {answer}")

    messages.append({"role": "assistant", "content": answer})


chat_iteration(
    messages = [{"role": "system", "content": "You are a friendly chat bot"}],
    user_input="What is your favorite color?",
)
'''


def test_advanced_example_with_openai_autolog(monkeypatch):
    """The document's advanced example. Its Databricks workspace is replaced by a stand-in
    ``databricks.sdk`` module whose OpenAI client talks to the local fake provider server of
    the autolog tests; the example's code itself runs unchanged."""
    import sys
    import types
    from pathlib import Path

    import pytest

    openai = pytest.importorskip("openai")
    sys.path.insert(0, str(Path(__file__).parent / "autolog"))
    try:
        from fake_providers import FakeProviderServer
    finally:
        sys.path.pop(0)

    with FakeProviderServer() as server:
        class ServingEndpoints:
            def get_open_ai_client(self):
                return openai.OpenAI(base_url=server.openai_base_url, api_key="test-key")

        class WorkspaceClient:
            def __init__(self):
                self.serving_endpoints = ServingEndpoints()

        sdk = types.ModuleType("databricks.sdk")
        sdk.WorkspaceClient = WorkspaceClient
        databricks = types.ModuleType("databricks")
        databricks.sdk = sdk
        monkeypatch.setitem(sys.modules, "databricks", databricks)
        monkeypatch.setitem(sys.modules, "databricks.sdk", sdk)
        try:
            _, printed = run_printing(ADVANCED)
        finally:
            clew.openai.autolog(disable=True)
    assert printed == "Assistant: Echo: What is your favorite color?\n"
    trace = last_trace()
    root = trace.search_spans(name="chat_iteration")[0]
    assert root.span_type == "CHAIN" and root.parent_id is None
    assert root.inputs["user_input"] == "What is your favorite color?"
    user = trace.search_spans(name="User")[0]
    assert user.parent_id == root.span_id
    assert user.inputs["messages"] == [{"role": "system", "content": "You are a friendly chat bot"}]
    assert isinstance(user.inputs["timestamp"], float)
    assert user.outputs == "What is your favorite color?"
    assert user.get_attribute("messages_length") == 1
    assert user.get_attribute("environment") == "production"
    assert user.get_attribute("custom_metadata") == {"key": "value"}
    (event,) = user.events
    assert event.name == "processing_started"
    assert event.attributes == {"stage": "initialization", "memory_usage_mb": 256}
    llm = [s for s in trace.data.spans if s.parent_id == root.span_id and s.name != "User"]
    assert len(llm) == 1 and llm[0].span_type == "CHAT_MODEL"
    assert llm[0].inputs["model"] == "databricks-claude-sonnet-4-5"
