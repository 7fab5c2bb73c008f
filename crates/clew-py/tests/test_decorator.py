"""@trace on every kind of callable: inputs from the bound signature, outputs, exceptions,
generators (chunk events, output_reducer, early stop), methods, class- and staticmethods."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import math

import pytest

import clew
from clew.entities import SpanType


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


def only_span():
    (span,) = last_trace().data.spans
    return span


def test_bare_decorator_records_inputs_with_defaults_and_output():
    @clew.trace
    def f(a, b=2, *args, c=3, **kwargs):
        return a + b + c

    assert f(1) == 6
    span = only_span()
    assert span.name == "f"
    assert span.inputs == {"a": 1, "b": 2, "args": [], "c": 3, "kwargs": {}}
    assert span.outputs == 6
    assert span.get_attribute("mlflow.spanFunctionName") == "f"
    assert span.span_type == "UNKNOWN"

    assert f(1, 5, 7, 8, c=0, extra="x") == 6
    assert only_span().inputs == {"a": 1, "b": 5, "args": [7, 8], "c": 0, "kwargs": {"extra": "x"}}


def test_decorator_with_arguments():
    @clew.trace(name="custom", span_type=SpanType.TOOL, attributes={"k": "v", "n": [1, 2]})
    def g(x):
        return {"doubled": x * 2}

    assert g(x=4) == {"doubled": 8}
    span = only_span()
    assert (span.name, span.span_type) == ("custom", "TOOL")
    assert span.get_attribute("k") == "v" and span.get_attribute("n") == [1, 2]
    assert span.inputs == {"x": 4} and span.outputs == {"doubled": 8}


def test_wrapping_a_library_function_directly():
    assert clew.trace(math.factorial)(5) == 120
    span = only_span()
    assert span.name == "factorial" and span.outputs == 120


def test_wrapper_keeps_the_function_identity():
    def h(x: int, y: str = "a") -> str:
        """doc"""
        return y * x

    traced = clew.trace(h)
    assert traced.__name__ == "h" and traced.__doc__ == "doc" and traced.__wrapped__ is h
    assert inspect.signature(traced) == inspect.signature(h)


def test_exception_is_recorded_and_reraised_unchanged():
    class Boom(Exception):
        pass

    @clew.trace
    def fails(x):
        raise Boom(f"bad {x}")

    with pytest.raises(Boom, match="bad 1") as info:
        fails(1)
    assert info.type is Boom
    trace = last_trace()
    assert trace.info.state == "ERROR"
    span = trace.data.spans[0]
    assert span.status.status_code == "ERROR"
    assert span.status.description == "Boom: bad 1"
    (event,) = span.events
    assert event.attributes["exception.type"] == "Boom"
    assert 'raise Boom(f"bad {x}")' in event.attributes["exception.stacktrace"]
    assert span.outputs is None and span.inputs == {"x": 1}


def test_explicit_set_outputs_inside_the_function_wins():
    @clew.trace
    def f():
        clew.get_current_active_span().set_outputs("explicit")
        return "returned"

    assert f() == "returned"
    assert only_span().outputs == "explicit"


def test_nested_calls_make_a_tree():
    @clew.trace
    def leaf(i):
        return i

    @clew.trace(span_type="CHAIN")
    def root():
        return [leaf(i) for i in range(3)]

    assert root() == [0, 1, 2]
    trace = last_trace()
    spans = trace.data.spans
    assert len(spans) == 4
    root_span = trace.search_spans(name="root")[0]
    leaves = trace.search_spans(name="leaf")
    assert [s.inputs for s in leaves] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert all(s.parent_id == root_span.span_id for s in leaves)
    assert all(s.trace_id == trace.info.trace_id for s in spans)


class Agent:
    def __init__(self, name):
        self.name = name

    @clew.trace
    def answer(self, question, style="short"):
        return f"{self.name}: {question} ({style})"

    @clew.trace
    @classmethod
    def build(cls, name):
        return cls(name)

    @clew.trace(span_type="TOOL")
    @staticmethod
    def tool(x):
        return x + 1

    @clew.trace
    async def answer_async(self, q):
        await asyncio.sleep(0)
        return q.upper()


def test_method_inputs_leave_out_self():
    agent = Agent("bot")
    assert agent.answer("hi") == "bot: hi (short)"
    assert only_span().inputs == {"question": "hi", "style": "short"}


def test_classmethod_inputs_leave_out_cls():
    agent = Agent.build("x")
    assert isinstance(agent, Agent) and agent.name == "x"
    span = only_span()
    assert span.name == "build" and span.inputs == {"name": "x"}
    assert isinstance(Agent.__dict__["build"], classmethod)


def test_staticmethod():
    assert Agent.tool(1) == 2 and Agent("a").tool(5) == 6
    span = only_span()
    assert span.inputs == {"x": 5} and span.span_type == "TOOL"
    assert isinstance(Agent.__dict__["tool"], staticmethod)


async def test_async_function_and_async_method():
    @clew.trace
    async def inner(x):
        await asyncio.sleep(0.01)
        return x * 2

    @clew.trace(name="outer_async")
    async def outer(x):
        return await inner(x)

    assert await outer(3) == 6
    trace = last_trace()
    root = trace.search_spans(name="outer_async")[0]
    (child,) = trace.search_spans(name="inner")
    assert child.parent_id == root.span_id
    assert child.inputs == {"x": 3} and child.outputs == 6
    assert child.end_time_ns - child.start_time_ns >= 9_000_000  # slept 10 ms (loop clock granularity)

    assert await Agent("a").answer_async("q") == "Q"
    span = only_span()
    assert span.inputs == {"q": "q"} and span.outputs == "Q"


async def test_async_exception_is_recorded():
    @clew.trace
    async def fails():
        await asyncio.sleep(0)
        raise KeyError("missing")

    with pytest.raises(KeyError):
        await fails()
    span = only_span()
    assert span.status.status_code == "ERROR"
    assert span.events[0].attributes["exception.type"] == "KeyError"


def test_generator_records_chunks_and_outputs():
    @clew.trace
    def stream(n):
        for i in range(n):
            yield {"i": i}

    assert list(stream(3)) == [{"i": 0}, {"i": 1}, {"i": 2}]
    span = only_span()
    assert span.inputs == {"n": 3}
    assert span.outputs == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert [e.name for e in span.events] == ["mlflow.chunk.item.0", "mlflow.chunk.item.1", "mlflow.chunk.item.2"]
    # The chunk value is the chunk's JSON text, a string attribute (as MLflow writes it).
    assert span.events[1].attributes == {"mlflow.chunk.value": '{"i": 1}'}


def test_generator_output_reducer_and_children_inside_the_stream():
    @clew.trace
    def tokenize(word):
        return list(word)

    @clew.trace(output_reducer=lambda chunks: "".join(chunks))
    def stream(words):
        for w in words:
            for ch in tokenize(w):
                yield ch

    assert "".join(stream(["ab", "c"])) == "abc"
    trace = last_trace()
    root = trace.search_spans(name="stream")[0]
    assert root.outputs == "abc"
    children = trace.search_spans(name="tokenize")
    assert len(children) == 2 and all(c.parent_id == root.span_id for c in children)


def test_generator_stopped_early_ends_its_span():
    @clew.trace
    def numbers():
        i = 0
        while True:
            yield i
            i += 1

    with clew.start_span("consumer"):
        for n in numbers():
            if n == 2:
                break
    trace = last_trace()
    gen = trace.search_spans(name="numbers")[0]
    assert gen.outputs == [0, 1, 2]
    assert gen.status.status_code == "OK"
    assert gen.parent_id == trace.search_spans(name="consumer")[0].span_id
    # The consumer's code between items did not run inside the generator's span.
    assert clew.get_current_active_span() is None


def test_generator_exception_is_recorded():
    @clew.trace
    def broken():
        yield 1
        raise RuntimeError("stream broke")

    it = broken()
    assert next(it) == 1
    with pytest.raises(RuntimeError, match="stream broke"):
        next(it)
    span = only_span()
    assert span.status.status_code == "ERROR"
    assert span.status.description == "RuntimeError: stream broke"


async def test_async_generator():
    @clew.trace(output_reducer=sum)
    async def agen(n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    assert [x async for x in agen(4)] == [0, 1, 2, 3]
    span = only_span()
    assert span.outputs == 6
    assert len(span.events) == 4 and span.events[3].attributes == {"mlflow.chunk.value": "3"}


def test_output_reducer_on_a_plain_function_is_an_error():
    with pytest.raises(ValueError, match="only supported for generator"):
        clew.trace(output_reducer=list)(lambda: 1)


def test_values_are_serialised_as_mlflow_does():
    import mlflow.tracing.utils as mlflow_utils
    from pydantic import BaseModel

    class Model(BaseModel):
        a: int
        b: list

    @dataclasses.dataclass
    class Point:
        x: float
        y: float

    class Opaque:
        def __str__(self):
            return "<opaque>"

    values = [
        None, True, 0, -7, 2**70, 1.5, 1e16, 1e-7, float("nan"), float("inf"), "é\n\"",
        [1, (2, 3)], {"k": {1: 2, None: 3, 2.5: 4, True: 5}}, Model(a=1, b=[{"c": None}]),
        Point(1.0, 2.5), Opaque(), {1, 2} if False else "set-free", SpanType.LLM,
    ]

    @clew.trace
    def echo(v):
        return v

    for value in values:
        echo(value)
        span = only_span()
        expected = mlflow_utils.dump_span_attribute_value(value)
        raw = span._attributes_raw["mlflow.spanOutputs"]
        assert raw == expected, (value, raw, expected)


def test_disabled_tracing_calls_through_and_records_nothing():
    calls = []

    @clew.trace
    def f(x):
        calls.append(x)
        return x

    clew.tracing.disable()
    try:
        before = clew.get_last_active_trace_id()
        assert f(1) == 1
        with clew.start_span("nothing") as span:
            span.set_inputs({"a": 1})
            assert span.is_recording is False
            assert clew.get_current_active_span() is None
        assert list(clew.trace(lambda: (yield 5))()) == [5]
        assert clew.get_last_active_trace_id() == before
    finally:
        clew.tracing.enable()
    assert calls == [1]
    f(2)
    assert only_span().inputs == {"x": 2}
