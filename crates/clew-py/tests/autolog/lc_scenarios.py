"""LangChain runs shared by the clew tests and the MLflow oracle run.

Built from langchain-core's own parts only (fake chat models, RunnableLambda,
prompt templates, a ``@tool``, a ``BaseRetriever`` subclass), so no provider
or network is involved. Each scenario returns what the user code got.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool


class ToolFakeChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts ``bind_tools`` (passing them as call kwargs)."""

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def _ai(text: str, **kw) -> AIMessage:
    return AIMessage(
        content=text,
        id="run-fake-1",
        usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
        **kw,
    )


def chat_model(*answers: AIMessage | str) -> GenericFakeChatModel:
    return ToolFakeChatModel(messages=iter([_ai(a) if isinstance(a, str) else a for a in answers]))


PROMPT = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "Tell me about {topic}")])


class KeywordRetriever(BaseRetriever):
    """Returns the stored documents that contain the query's first word."""

    docs: list = []

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        word = query.split()[0].lower()
        return [d for d in self.docs if word in d.page_content.lower()]


RETRIEVER = KeywordRetriever(
    docs=[
        Document(page_content="clew traces LLM apps", metadata={"source": "a.md"}, id="doc-1"),
        Document(page_content="mlflow is a platform", metadata={"source": "b.md"}, id="doc-2"),
    ]
)


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


@tool
def failing_tool(text: str) -> int:
    """Always fails."""
    raise ValueError(f"cannot handle {text!r}")


def lc_chain_invoke(_server=None) -> Any:
    chain = PROMPT | chat_model("clew is a tracer") | StrOutputParser()
    return chain.invoke({"topic": "clew"})


def lc_chain_stream(_server=None) -> Any:
    chain = PROMPT | chat_model("clew is a tracer") | StrOutputParser()
    return list(chain.stream({"topic": "clew"}))


def lc_chain_ainvoke(_server=None) -> Any:
    chain = PROMPT | chat_model("async answer") | StrOutputParser()
    return asyncio.run(chain.ainvoke({"topic": "asyncio"}))


def lc_rag(_server=None) -> Any:
    def fmt(docs):
        return "\n".join(d.page_content for d in docs)

    chain = (
        {"context": RETRIEVER | RunnableLambda(fmt), "question": RunnableLambda(lambda q: q)}
        | ChatPromptTemplate.from_template("Context: {context}\nQuestion: {question}")
        | chat_model("clew traces LLM apps")
        | StrOutputParser()
    )
    return chain.invoke("clew what is it")


def lc_tool_call(_server=None) -> Any:
    answer = AIMessage(
        content="",
        id="run-fake-2",
        tool_calls=[{"name": "word_count", "args": {"text": "a b c"}, "id": "call_1", "type": "tool_call"}],
        usage_metadata={"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
    )
    model = chat_model(answer).bind_tools([word_count])
    message = model.invoke("count the words in 'a b c'")
    return word_count.invoke(message.tool_calls[0]["args"])


def lc_tool_error(_server=None) -> Any:
    return failing_tool.invoke({"text": "boom"})


def lc_lambda_error(_server=None) -> Any:
    def explode(x):
        raise RuntimeError(f"bad input {x}")

    chain = RunnableLambda(lambda x: x + 1) | RunnableLambda(explode)
    return chain.invoke(1)


def lc_batch(_server=None) -> Any:
    chain = RunnableLambda(lambda x: x * 2) | RunnableLambda(lambda x: x + 1)
    return chain.batch([1, 2, 3])


LC_SCENARIOS = {name: fn for name, fn in list(globals().items()) if name.startswith("lc_") and callable(fn)}

# All LangChain scenarios are compared with MLflow except batch, whose three
# traces a last-trace lookup cannot pick apart (it is tested on its own).
LC_ORACLE_SCENARIOS = [n for n in LC_SCENARIOS if n != "lc_batch"]


def _chat_openai(server, **kwargs):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model="gpt-4o-mini", base_url=server.openai_base_url, api_key="test-key", max_retries=0, temperature=0.0, **kwargs
    )


def lc_openai_chat(server) -> Any:
    """ChatOpenAI in a chain against the fake OpenAI server (LangChain + OpenAI autolog nest)."""
    chain = PROMPT | _chat_openai(server) | StrOutputParser()
    return chain.invoke({"topic": "clew"})


def lc_openai_tools(server) -> Any:
    return _chat_openai(server).bind_tools([word_count]).invoke("count the words in 'a b c'")


def lc_openai_stream(server) -> Any:
    return "".join(chunk.content for chunk in _chat_openai(server).stream("What is clew?"))


try:  # optional: langchain-openai
    import langchain_openai  # noqa: F401

    LC_OPENAI_SCENARIOS = ["lc_openai_chat", "lc_openai_tools", "lc_openai_stream"]
except ImportError:
    LC_OPENAI_SCENARIOS = []
LC_SCENARIOS.update({n: globals()[n] for n in ("lc_openai_chat", "lc_openai_tools", "lc_openai_stream")})
LC_ORACLE_SCENARIOS += LC_OPENAI_SCENARIOS
