"""The current span follows contextvars: threads see it only with a copied context (as in
MLflow), asyncio tasks inherit it, and each task keeps its own."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import clew


def last_trace():
    return clew.get_trace(clew.get_last_active_trace_id())


@clew.trace
def work(i):
    return i * i


def test_thread_with_copied_context_joins_the_trace():
    with clew.start_span("parent") as parent:
        ctx = contextvars.copy_context()
        t = threading.Thread(target=ctx.run, args=(work, 3))
        t.start()
        t.join()
    trace = clew.get_trace(parent.trace_id)
    child = trace.search_spans(name="work")[0]
    assert child.parent_id == parent.span_id
    assert child.outputs == 9


def test_thread_pool_with_copied_context_per_task():
    with clew.start_span("fan_out") as parent:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, work, i) for i in range(8)]
            assert [f.result() for f in futures] == [i * i for i in range(8)]
    trace = clew.get_trace(parent.trace_id)
    children = trace.search_spans(name="work")
    assert len(children) == 8
    assert {c.parent_id for c in children} == {parent.span_id}
    assert sorted(c.inputs["i"] for c in children) == list(range(8))


def test_thread_without_copied_context_starts_its_own_trace():
    seen = {}

    def run():
        seen["current_before"] = clew.get_current_active_span()
        work(2)
        seen["trace_id"] = clew.get_last_active_trace_id(thread_local=True)

    with clew.start_span("parent") as parent:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    assert seen["current_before"] is None
    assert seen["trace_id"] != parent.trace_id
    own = clew.get_trace(seen["trace_id"])
    (span,) = own.data.spans
    assert span.name == "work" and span.parent_id is None
    assert len(clew.get_trace(parent.trace_id).data.spans) == 1


def test_concurrent_threads_keep_separate_traces():
    barrier = threading.Barrier(4)
    ids = []
    lock = threading.Lock()

    def run(n):
        with clew.start_span(f"root_{n}") as root:
            barrier.wait()
            for i in range(5):
                work(i)
            with lock:
                ids.append((n, root.trace_id))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({tid for _, tid in ids}) == 4
    for n, tid in ids:
        trace = clew.get_trace(tid)
        assert len(trace.data.spans) == 6
        root = trace.search_spans(name=f"root_{n}")[0]
        assert all(s.parent_id == root.span_id for s in trace.search_spans(name="work"))


async def test_asyncio_tasks_inherit_the_current_span():
    @clew.trace
    async def step(i):
        await asyncio.sleep(0.01 * (3 - i))
        inner = clew.get_current_active_span()
        return inner.name

    @clew.trace
    async def pipeline():
        return await asyncio.gather(*(asyncio.create_task(step(i)) for i in range(3)))

    assert await pipeline() == ["step", "step", "step"]
    trace = last_trace()
    root = trace.search_spans(name="pipeline")[0]
    steps = trace.search_spans(name="step")
    assert len(steps) == 3 and {s.parent_id for s in steps} == {root.span_id}
    assert root.outputs == ["step", "step", "step"]


async def test_interleaved_tasks_do_not_mix_their_spans():
    async def session(name):
        with clew.start_span(name) as root:
            for _ in range(3):
                await asyncio.sleep(0)
                with clew.start_span("turn") as turn:
                    assert clew.get_current_active_span() == turn
                    await asyncio.sleep(0)
                assert clew.get_current_active_span() == root
            return root.trace_id

    a, b = await asyncio.gather(session("a"), session("b"))
    assert a != b
    for tid, name in ((a, "a"), (b, "b")):
        trace = clew.get_trace(tid)
        root = trace.search_spans(name=name)[0]
        turns = trace.search_spans(name="turn")
        assert len(turns) == 3 and all(t.parent_id == root.span_id for t in turns)


def test_current_span_helpers_and_active_trace_id():
    assert clew.get_current_active_span() is None and clew.get_active_trace_id() is None
    with clew.start_span("outer") as outer:
        assert clew.get_current_active_span() == outer
        assert clew.get_active_trace_id() == outer.trace_id
        with clew.start_span("inner") as inner:
            assert clew.get_current_active_span() == inner
            assert inner.parent_id == outer.span_id
        assert clew.get_current_active_span() == outer
    assert clew.get_current_active_span() is None
    assert clew.get_last_active_trace_id() == outer.trace_id


def test_start_span_no_context_with_explicit_parents():
    root = clew.start_span_no_context("root", inputs={"q": 1}, tags={"env": "test"}, metadata={"m": "v"})
    assert clew.get_current_active_span() is None
    child = clew.start_span_no_context("child", span_type="TOOL", parent_span=root, attributes={"a": 1})
    child.end(outputs="done")
    root.end(outputs={"answer": 42})
    trace = clew.get_trace(root.trace_id)
    assert trace.info.tags["env"] == "test" and trace.info.trace_metadata["m"] == "v"
    c = trace.search_spans(name="child")[0]
    assert c.parent_id == root.span_id and c.outputs == "done" and c.get_attribute("a") == 1
    assert trace.search_spans(name="root")[0].outputs == {"answer": 42}


def test_start_span_no_context_without_parent_nests_under_the_current_span():
    # MLflow 3.17.2 does the same: its OpenTelemetry tracer takes the active context as parent.
    with clew.start_span("outer") as outer:
        detached = clew.start_span_no_context("detached")
        assert clew.get_current_active_span() == outer
        detached.end()
    assert detached.trace_id == outer.trace_id
    trace = clew.get_trace(outer.trace_id)
    assert trace.search_spans(name="detached")[0].parent_id == outer.span_id
    # Outside any span it is the root of a new trace.
    root = clew.start_span_no_context("alone")
    root.end()
    assert root.trace_id != outer.trace_id and clew.get_trace(root.trace_id).data.spans[0].parent_id is None


def test_live_span_reads_back_what_was_set():
    with clew.start_span("s", span_type="LLM", attributes={"model": "m"}) as span:
        span.set_inputs({"p": "hi"})
        span.set_outputs(["o"])
        span.set_attribute("temperature", 0.5)
        span.set_span_type("CHAT_MODEL")
        assert span.inputs == {"p": "hi"} and span.outputs == ["o"]
        assert span.span_type == "CHAT_MODEL"
        assert span.get_attribute("temperature") == 0.5
        assert span.attributes["model"] == "m"
        assert span.attributes["mlflow.spanType"] == "CHAT_MODEL"
        assert span.status.status_code == "UNSET"
        assert span.end_time_ns is None and span.start_time_ns > 0
        assert span.trace_id.startswith("tr-") and len(span.span_id) == 16
    # After the block the span still answers its final status and end time ...
    assert span.status.status_code == "OK" and span.end_time_ns >= span.start_time_ns
    # ... and the recorded span is read back from the store.
    recorded = clew.get_trace(span.trace_id).data.spans[0]
    assert recorded.status.status_code == "OK" and recorded.end_time_ns >= recorded.start_time_ns
    assert recorded.inputs == {"p": "hi"} and recorded.span_type == "CHAT_MODEL"
