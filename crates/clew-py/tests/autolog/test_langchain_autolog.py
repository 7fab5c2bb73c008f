"""clew.langchain.autolog() with real langchain-core runnables, fake chat models, a tool and a retriever."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("langchain_core")

import clew  # noqa: E402
import lc_scenarios as lc  # noqa: E402
from autolog_helpers import all_traces, last_spans  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402
from span_summary import summarize_trace  # noqa: E402


@pytest.fixture(autouse=True)
def enabled():
    clew.langchain.autolog()
    yield


def by_name(spans: list[dict]) -> dict:
    return {s["name"]: s for s in spans}


def test_chain_invoke_makes_nested_spans():
    assert lc.lc_chain_invoke() == "clew is a tracer"
    spans = last_spans()
    tree = [(s["name"], s["span_type"], s["parent"]) for s in spans]
    assert tree == [
        ("RunnableSequence", "CHAIN", None),
        ("ChatPromptTemplate", "CHAIN", "RunnableSequence"),
        ("StrOutputParser", "CHAIN", "RunnableSequence"),
        ("ToolFakeChatModel", "CHAT_MODEL", "RunnableSequence"),
    ]
    root, prompt, parser, model = spans
    assert root["inputs"] == {"topic": "clew"}
    assert root["outputs"] == "clew is a tracer"
    assert prompt["outputs"]["messages"][1]["content"] == "Tell me about clew"
    assert model["inputs"] == {
        "messages": [
            {"role": "system", "content": "You are terse.", "tool_calls": None, "refusal": None, "tool_call_id": None},
            {"role": "user", "content": "Tell me about clew", "tool_calls": None, "refusal": None, "tool_call_id": None},
        ]
    }
    assert model["outputs"] == {
        "choices": [
            {
                "message": {"role": "assistant", "content": "clew is a tracer", "tool_calls": None, "refusal": None, "tool_call_id": None},
                "finish_reason": None,
            }
        ]
    }
    attrs = model["attributes"]
    assert attrs["mlflow.message.format"] == "langchain"
    assert attrs["mlflow.chat.tokenUsage"] == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
    assert attrs["invocation_params"]["_type"] == "generic-fake-chat-model"
    assert attrs["mlflow.llm.provider"] == attrs["metadata"]["ls_provider"]
    assert parser["inputs"]["content"] == "clew is a tracer"
    assert all(s["status"] == "OK" for s in spans)


def test_stream_records_tokens_as_events():
    assert "".join(lc.lc_chain_stream()) == "clew is a tracer"
    spans = last_spans()
    # Streamed steps run interleaved; each is still a child of the sequence (MLflow puts
    # the parser under the chat model here, the step still open when the parser starts).
    assert {s["name"]: s["parent"] for s in spans} == {
        "RunnableSequence": None,
        "ChatPromptTemplate": "RunnableSequence",
        "ToolFakeChatModel": "RunnableSequence",
        "StrOutputParser": "RunnableSequence",
    }
    model = by_name(spans)["ToolFakeChatModel"]
    tokens = [e["attributes"]["token"] for e in model["events"] if e["name"] == "new_token"]
    assert "".join(tokens) == "clew is a tracer"
    assert model["outputs"]["choices"][0]["message"]["content"] == "clew is a tracer"


def test_ainvoke():
    assert lc.lc_chain_ainvoke() == "async answer"
    spans = last_spans()
    assert spans[0]["name"] == "RunnableSequence"
    assert by_name(spans)["ToolFakeChatModel"]["parent"] == "RunnableSequence"


def test_retriever_and_parallel_branches():
    assert lc.lc_rag() == "clew traces LLM apps"
    spans = by_name(last_spans())
    retriever = spans["KeywordRetriever"]
    assert retriever["span_type"] == "RETRIEVER"
    assert retriever["inputs"] == "clew what is it"
    assert retriever["outputs"] == [{"page_content": "clew traces LLM apps", "metadata": {"source": "a.md"}, "id": "doc-1"}]
    assert retriever["parent"] == "RunnableSequence"
    assert spans["fmt"]["parent"] == "RunnableSequence"
    assert spans["RunnableParallel<context,question>"]["outputs"] == {
        "context": "clew traces LLM apps",
        "question": "clew what is it",
    }


def test_tool_calls_and_tools():
    assert lc.lc_tool_call() == 3
    traces = all_traces()
    assert len(traces) == 2  # the model call and the tool call are separate runs
    # Both may start in the same millisecond: tell them apart by what they hold.
    by_type = {summarize_trace(t)[0]["span_type"]: t for t in traces}
    model_trace, tool_trace = by_type["CHAT_MODEL"], by_type["TOOL"]
    (model,) = summarize_trace(model_trace)
    assert model["span_type"] == "CHAT_MODEL"
    assert model["attributes"]["mlflow.chat.tools"] == [
        {
            "type": "function",
            "function": {
                "name": "word_count",
                "description": "Count the words in a text.",
                "parameters": {"properties": {"text": {"type": "string"}}, "required": ["text"], "type": "object"},
            },
        }
    ]
    assert model["outputs"]["choices"][0]["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "word_count", "arguments": '{"text": "a b c"}'}}
    ]
    (tool,) = summarize_trace(tool_trace)
    assert (tool["name"], tool["span_type"]) == ("word_count", "TOOL")
    assert tool["inputs"] == {"text": "a b c"}
    assert tool["outputs"] == 3


def test_tool_error_is_recorded_and_reraised():
    with pytest.raises(ValueError, match="cannot handle 'boom'"):
        lc.lc_tool_error()
    (span,) = last_spans()
    assert span["status"] == "ERROR"
    assert span["events"] == [{"name": "exception", "attributes": {"exception.message": "cannot handle 'boom'", "exception.type": "ValueError"}}]


def test_error_in_a_chain_marks_the_failing_runs():
    with pytest.raises(RuntimeError, match="bad input 2"):
        lc.lc_lambda_error()
    spans = last_spans()
    status = {(s["name"], s["parent"]): s["status"] for s in spans}
    assert status[("RunnableSequence", None)] == "ERROR"
    assert status[("explode", "RunnableSequence")] == "ERROR"
    assert status[("RunnableLambda", "RunnableSequence")] == "OK"


def test_user_spans_inside_runnables_nest_under_them():
    def step(x):
        with clew.start_span("inner work") as span:
            span.set_inputs({"x": x})
            return x * 10

    chain = RunnableLambda(lambda x: x + 1) | RunnableLambda(step)
    with clew.start_span("app"):
        assert chain.invoke(1) == 20
    tree = [(s["name"], s["parent"]) for s in last_spans()]
    assert tree == [
        ("app", None),
        ("RunnableSequence", "app"),
        ("RunnableLambda", "RunnableSequence"),
        ("step", "RunnableSequence"),
        ("inner work", "step"),
    ]


def test_user_spans_inside_async_runnables_nest_under_them():
    async def step(x):
        with clew.start_span("inner async"):
            return x

    chain = RunnableLambda(lambda x: x) | RunnableLambda(step)
    asyncio.run(chain.ainvoke(5))
    tree = {s["name"]: s["parent"] for s in last_spans()}
    assert tree["inner async"] == "step"


def test_batch_gives_one_trace_per_input():
    assert lc.lc_batch() == [3, 5, 7]
    traces = all_traces()
    assert len(traces) == 3
    for trace in traces:
        spans = summarize_trace(trace)
        assert [(s["name"], s["parent"]) for s in spans] == [
            ("RunnableSequence", None),
            ("RunnableLambda", "RunnableSequence"),
            ("RunnableLambda", "RunnableSequence"),
        ]
        root = spans[0]
        assert root["outputs"] == root["inputs"] * 2 + 1


def test_disable_stops_recording():
    clew.langchain.autolog(disable=True)
    assert lc.lc_chain_invoke() == "clew is a tracer"
    assert all_traces() == []


def test_seed_name():
    clew.langchain.autolog(disable=True)
    clew.tracing.instrument_langchain()
    lc.lc_chain_invoke()
    assert last_spans()[0]["name"] == "RunnableSequence"


def test_tracing_failure_does_not_break_the_chain(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("tracing is broken")

    monkeypatch.setattr(clew, "start_span_no_context", broken)
    assert lc.lc_chain_invoke() == "clew is a tracer"
    assert "".join(lc.lc_chain_stream()) == "clew is a tracer"
    with pytest.raises(RuntimeError, match="bad input"):
        lc.lc_lambda_error()


def test_chat_openai_with_openai_autolog_nests_the_client_call(server):
    pytest.importorskip("langchain_openai")
    clew.openai.autolog()
    assert lc.lc_openai_chat(server) == "Echo: Tell me about clew"
    spans = by_name(last_spans())
    model, client = spans["ChatOpenAI"], spans["Completions"]
    assert (model["span_type"], model["parent"]) == ("CHAT_MODEL", "RunnableSequence")
    assert (client["span_type"], client["parent"]) == ("CHAT_MODEL", "ChatOpenAI")
    assert model["attributes"]["mlflow.llm.provider"] == "openai"
    assert model["attributes"]["mlflow.llm.model"] == "gpt-4o-mini"
    assert model["attributes"]["mlflow.chat.tokenUsage"] == client["attributes"]["mlflow.chat.tokenUsage"] == {
        "input_tokens": 7,
        "output_tokens": 5,
        "total_tokens": 12,
    }
    assert client["outputs"]["choices"][0]["message"]["content"] == "Echo: Tell me about clew"


def test_runnable_inside_a_user_span_inside_a_runnable():
    inner = RunnableLambda(lambda x: x * 3).with_config(run_name="inner")

    def outer(x):
        with clew.start_span("user step"):
            # LangChain names the outer run as this run's parent; the user span is the
            # closer one, and is the parent recorded.
            return inner.invoke(x)

    chain = RunnableLambda(outer).with_config(run_name="outer")
    assert chain.invoke(2) == 6
    tree = [(s["name"], s["parent"]) for s in last_spans()]
    assert tree == [("outer", None), ("user step", "outer"), ("inner", "user step")]


def test_astream_and_abatch():
    async def run():
        chain = lc.PROMPT | lc.chat_model("streamed async answer", "second", "third") | lc.StrOutputParser()
        pieces = [p async for p in chain.astream({"topic": "a"})]
        batch = await (RunnableLambda(lambda x: x * 2) | RunnableLambda(lambda x: x + 1)).abatch([1, 2])
        return "".join(pieces), batch

    text, batch = asyncio.run(run())
    assert text == "streamed async answer"
    assert batch == [3, 5]
    traces = all_traces()
    assert len(traces) == 3
    shapes = sorted(tuple(s["name"] for s in summarize_trace(t)) for t in traces)
    assert shapes == [
        ("RunnableSequence", "ChatPromptTemplate", "StrOutputParser", "ToolFakeChatModel"),
        ("RunnableSequence", "RunnableLambda", "RunnableLambda"),
        ("RunnableSequence", "RunnableLambda", "RunnableLambda"),
    ]
    for trace in traces:
        spans = summarize_trace(trace)
        assert all(s["parent"] == "RunnableSequence" for s in spans[1:])
        assert all(s["status"] == "OK" for s in spans)


def test_async_stream_leaves_no_span_current():
    async def run():
        chain = lc.PROMPT | lc.chat_model("x y") | lc.StrOutputParser()
        async for _ in chain.astream({"topic": "a"}):
            pass
        return clew.get_current_active_span()

    assert asyncio.run(run()) is None
