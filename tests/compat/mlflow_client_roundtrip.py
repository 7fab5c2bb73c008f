"""The unmodified `mlflow` client against a tracking server (MLFLOW_TRACKING_URI).

Logs traces with the public API (set_experiment, @mlflow.trace, start_span, span events, an
exception, RETRIEVER documents, update_current_trace), flushes the async export, and checks that
everything reads back as logged: get_trace, search_traces with filters, order_by and paging,
trace tags, and trace deletion. Exits 1 listing every mismatch.

Run against the real `mlflow server` too: the script is meant to pass there as well.
"""

import os
import time
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Document, SpanEvent, SpanStatusCode, SpanType

from compat_check import check, equal, finish, section

mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
client = MlflowClient()

EXPERIMENT = f"compat-roundtrip-{uuid.uuid4().hex[:8]}"
DOCS = [
    Document(page_content="MLflow tracing records spans.", metadata={"source": "a.md", "score": 0.9}, id="doc-1"),
    Document(page_content="Traces are trees of spans.", metadata={"source": "b.md", "score": 0.7}, id="doc-2"),
]
QUESTION = {"question": "What is MLflow tracing?"}
ANSWER = {"answer": "It records spans.", "n_docs": 2}
EVENT_ATTRIBUTES = {"n": 1, "text": "It", "ratio": 0.5, "flag": True}


def wait_ms():
    """Lets the millisecond clock move so trace timestamps are distinct."""
    time.sleep(0.02)


# ---- logging -----------------------------------------------------------------------------------

@mlflow.trace(span_type=SpanType.EMBEDDING)
def embed(text):
    return [0.1, 0.2, 0.3]


@mlflow.trace(name="generate", span_type=SpanType.LLM, attributes={"temperature": 0.1, "top_k": 3})
def generate(question, docs):
    span = mlflow.get_current_active_span()
    span.add_event(SpanEvent("first_token", attributes=EVENT_ATTRIBUTES))
    return ANSWER


@mlflow.trace(name="answer", span_type=SpanType.CHAIN)
def answer(question):
    with mlflow.start_span("retrieve_docs", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": question["question"], "k": 2})
        embed(question["question"])
        span.set_outputs(DOCS)
    mlflow.update_current_trace(
        tags={"env": "dev", "user": "alice"},
        metadata={"compat.key": "compat-value"},
    )
    return generate(question, [d.page_content for d in DOCS])


@mlflow.trace(name="fails", span_type=SpanType.TOOL)
def fails(n):
    mlflow.update_current_trace(tags={"env": "prod"})
    raise ValueError(f"tool failed on {n}")


@mlflow.trace(name="simple")
def simple(i, batch):
    mlflow.update_current_trace(tags={"batch": batch, "env": "prod"})
    return {"i": i}


with section("set_experiment"):
    experiment = mlflow.set_experiment(EXPERIMENT)
    exp_id = experiment.experiment_id
    equal(experiment.name, EXPERIMENT, "experiment name")
    equal(experiment.lifecycle_stage, "active", "experiment lifecycle_stage")
    again = client.get_experiment_by_name(EXPERIMENT)
    equal(again.experiment_id if again else None, exp_id, "get_experiment_by_name id")
    equal(client.get_experiment_by_name(EXPERIMENT + "-missing"), None, "missing experiment is None")

t_start = int(time.time() * 1000)
wait_ms()
answer(QUESTION)
id_answer = mlflow.get_last_active_trace_id()
wait_ms()
try:
    fails(7)
except ValueError:
    pass
id_fails = mlflow.get_last_active_trace_id()
wait_ms()
# Three "early" traces, a cut, then four "late" ones: for time ranges, order_by and paging.
early = []
for i in range(3):
    simple(i, "paging")
    early.append(mlflow.get_last_active_trace_id())
    wait_ms()
cut_ms = int(time.time() * 1000)
wait_ms()
late = []
for i in range(3, 7):
    simple(i, "paging")
    late.append(mlflow.get_last_active_trace_id())
    wait_ms()
t_end = int(time.time() * 1000)
all_ids = {id_answer, id_fails, *early, *late}
check(len(all_ids) == 9 and None not in all_ids, "nine distinct trace ids", all_ids)

mlflow.flush_trace_async_logging()


# ---- get_trace ---------------------------------------------------------------------------------

def spans_by_name(trace):
    return {s.name: s for s in trace.data.spans}


with section("get_trace: nested trace"):
    trace = mlflow.get_trace(id_answer)
    check(trace is not None, "get_trace finds the trace")
    info = trace.info
    equal(info.trace_id, id_answer, "trace_id")
    equal(str(info.experiment_id), exp_id, "experiment id")
    equal(info.state.value if hasattr(info.state, "value") else str(info.state), "OK", "state")
    equal(info.tags.get("env"), "dev", "tag env")
    equal(info.tags.get("user"), "alice", "tag user")
    equal(info.tags.get("mlflow.traceName"), "answer", "tag mlflow.traceName")
    equal(info.trace_metadata.get("compat.key"), "compat-value", "metadata compat.key")
    equal(info.trace_metadata.get("mlflow.trace_schema.version"), "3", "metadata trace_schema.version")
    check(t_start <= info.request_time <= t_end, "request_time within the logging window", info.request_time)
    check(info.execution_duration is not None and info.execution_duration >= 0, "execution_duration", info.execution_duration)
    check(info.request_preview and "What is MLflow tracing?" in info.request_preview, "request_preview", info.request_preview)
    check(info.response_preview and "It records spans." in info.response_preview, "response_preview", info.response_preview)

    spans = spans_by_name(trace)
    equal(sorted(spans), ["answer", "embed", "generate", "retrieve_docs"], "span names")
    root, retrieve, emb, gen = spans["answer"], spans["retrieve_docs"], spans["embed"], spans["generate"]
    equal(root.parent_id, None, "root has no parent")
    equal(retrieve.parent_id, root.span_id, "retrieve_docs is a child of answer")
    equal(emb.parent_id, retrieve.span_id, "embed is a child of retrieve_docs")
    equal(gen.parent_id, root.span_id, "generate is a child of answer")
    check(all(s.trace_id == id_answer for s in trace.data.spans), "every span carries the trace id")
    equal(root.span_type, SpanType.CHAIN, "answer span type")
    equal(retrieve.span_type, SpanType.RETRIEVER, "retrieve_docs span type")
    equal(emb.span_type, SpanType.EMBEDDING, "embed span type")
    equal(gen.span_type, SpanType.LLM, "generate span type")
    equal(root.inputs, {"question": QUESTION}, "answer inputs")
    equal(root.outputs, ANSWER, "answer outputs")
    equal(retrieve.inputs, {"query": QUESTION["question"], "k": 2}, "retrieve_docs inputs")
    equal(retrieve.outputs, [d.to_dict() for d in DOCS], "retrieve_docs outputs (Documents)")
    equal(emb.inputs, {"text": QUESTION["question"]}, "embed inputs")
    equal(emb.outputs, [0.1, 0.2, 0.3], "embed outputs")
    equal(gen.inputs, {"question": QUESTION, "docs": [d.page_content for d in DOCS]}, "generate inputs")
    equal(gen.outputs, ANSWER, "generate outputs")
    equal(gen.get_attribute("temperature"), 0.1, "generate attribute temperature")
    equal(gen.get_attribute("top_k"), 3, "generate attribute top_k")
    equal(gen.get_attribute("mlflow.spanFunctionName"), "generate", "generate spanFunctionName")
    events = [(e.name, e.attributes) for e in gen.events]
    equal(events, [("first_token", EVENT_ATTRIBUTES)], "generate events")
    check(root.start_time_ns <= gen.start_time_ns <= gen.end_time_ns <= root.end_time_ns, "child inside root in time")
    for s in trace.data.spans:
        equal(s.status.status_code, SpanStatusCode.OK, f"{s.name} status")
    equal(info.request_time, root.start_time_ns // 1_000_000, "request_time is the root start (ms)")

with section("get_trace: exception"):
    trace = mlflow.get_trace(id_fails)
    check(trace is not None, "get_trace finds the failed trace")
    equal(trace.info.state.value, "ERROR", "state")
    equal(trace.info.tags.get("env"), "prod", "tag env")
    (span,) = trace.data.spans
    equal(span.name, "fails", "span name")
    equal(span.span_type, SpanType.TOOL, "span type")
    equal(span.inputs, {"n": 7}, "inputs")
    equal(span.outputs, None, "no outputs")
    equal(span.status.status_code, SpanStatusCode.ERROR, "span status")
    check("tool failed on 7" in (span.status.description or ""), "status description has the message", span.status.description)
    exception_events = [e for e in span.events if e.name == "exception"]
    check(len(exception_events) == 1, "one exception event", [e.name for e in span.events])
    if exception_events:
        attributes = exception_events[0].attributes
        equal(attributes.get("exception.type"), "ValueError", "exception.type")
        equal(attributes.get("exception.message"), "tool failed on 7", "exception.message")
        check("Traceback" in str(attributes.get("exception.stacktrace", "")), "exception.stacktrace", attributes.get("exception.stacktrace"))

with section("get_trace: unknown id"):
    equal(mlflow.get_trace("tr-" + "0" * 32), None, "unknown trace id reads as None")


# ---- search ------------------------------------------------------------------------------------

def search_ids(filter_string=None, order_by=None, **kw):
    traces = mlflow.search_traces(
        locations=[exp_id], filter_string=filter_string, order_by=order_by, return_type="list", **kw
    )
    return [t.info.trace_id for t in traces]


with section("search_traces: all, ordered"):
    newest_first = search_ids()
    equal(set(newest_first), all_ids, "no filter finds every trace")
    equal(len(newest_first), len(all_ids), "no duplicates")
    oldest_first = search_ids(order_by=["timestamp_ms ASC"])
    equal(oldest_first, [id_answer, id_fails, *early, *late], "timestamp_ms ASC is logging order")
    equal(search_ids(order_by=["timestamp_ms DESC"]), oldest_first[::-1], "timestamp_ms DESC is the reverse")
    equal(newest_first, oldest_first[::-1], "default order is newest first")

with section("search_traces: filters"):
    equal(search_ids("trace.status = 'ERROR'"), [id_fails], "trace.status = 'ERROR'")
    equal(set(search_ids("trace.status = 'OK'")), all_ids - {id_fails}, "trace.status = 'OK'")
    equal(search_ids("tags.env = 'dev'"), [id_answer], "tags.env = 'dev'")
    equal(search_ids("tags.env = 'dev' AND trace.status = 'OK'"), [id_answer], "tag AND status")
    equal(set(search_ids("tags.env = 'prod'")), {id_fails, *early, *late}, "tags.env = 'prod'")
    equal(search_ids("tags.env = 'prod' AND trace.status = 'ERROR'"), [id_fails], "prod AND ERROR")
    equal(search_ids("span.name = 'retrieve_docs'"), [id_answer], "span.name = 'retrieve_docs'")
    equal(search_ids("span.type = 'RETRIEVER'"), [id_answer], "span.type = 'RETRIEVER'")
    equal(search_ids("span.name = 'nothing-like-this'"), [], "span.name matching nothing")
    equal(set(search_ids(f"trace.timestamp_ms > {cut_ms}")), set(late), "trace.timestamp_ms > cut")
    equal(
        set(search_ids(f"trace.timestamp_ms >= {t_start} AND trace.timestamp_ms < {cut_ms}")),
        {id_answer, id_fails, *early},
        "trace.timestamp_ms range",
    )
    equal(
        search_ids(f"trace.timestamp_ms > {cut_ms} AND tags.batch = 'paging'", order_by=["timestamp_ms ASC"]),
        late,
        "time range AND tag, ascending",
    )
    equal(search_ids("trace.name = 'answer'"), [id_answer], "trace.name = 'answer'")
    equal(search_ids("trace.text ILIKE '%records spans%'"), [id_answer], "trace.text ILIKE")
    equal(search_ids("metadata.`compat.key` = 'compat-value'"), [id_answer], "metadata.`compat.key`")

with section("search_traces: spans included and not"):
    traces = mlflow.search_traces(
        locations=[exp_id], filter_string="tags.env = 'dev'", return_type="list"
    )
    equal(len(traces), 1, "one trace")
    direct = mlflow.get_trace(id_answer)
    if traces:
        found = traces[0]
        equal(
            sorted((s.to_dict()["name"], s.to_dict()["span_id"]) for s in found.data.spans),
            sorted((s.to_dict()["name"], s.to_dict()["span_id"]) for s in direct.data.spans),
            "search spans (batchGet) are the get_trace spans",
        )
        equal(
            {s.name: s.to_dict() for s in found.data.spans},
            {s.name: s.to_dict() for s in direct.data.spans},
            "search span dicts equal get_trace span dicts",
        )
    no_spans = mlflow.search_traces(
        locations=[exp_id], filter_string="tags.env = 'dev'", return_type="list", include_spans=False
    )
    equal([t.info.trace_id for t in no_spans], [id_answer], "include_spans=False finds the trace")
    equal([len(t.data.spans) for t in no_spans], [0], "include_spans=False has no spans")

with section("MlflowClient.search_traces paging"):
    pages, token, seen = [], None, []
    for _ in range(10):  # bounded: 7 traces in pages of 3
        page = client.search_traces(
            locations=[exp_id],
            filter_string="tags.batch = 'paging'",
            max_results=3,
            order_by=["timestamp_ms ASC"],
            page_token=token,
        )
        pages.append(len(page))
        seen.extend(t.info.trace_id for t in page)
        token = page.token
        if not token:
            break
    equal(seen, early + late, "pages in order, no duplicates, none missing")
    check(pages[:3] == [3, 3, 1], "page sizes 3, 3, 1 (an empty last page is allowed)", pages)
    check(token is None or token == "", "paging ends with no token", token)

with section("trace tags"):
    client.set_trace_tag(id_answer, "reviewed", "yes")
    mlflow.set_trace_tag(id_answer, "stage", "two")
    mlflow.delete_trace_tag(id_answer, "user")
    tags = mlflow.get_trace(id_answer).info.tags
    equal(tags.get("reviewed"), "yes", "set_trace_tag (client)")
    equal(tags.get("stage"), "two", "set_trace_tag (fluent)")
    check("user" not in tags, "delete_trace_tag removed 'user'", tags)
    equal(tags.get("env"), "dev", "other tags kept")
    equal(search_ids("tags.reviewed = 'yes'"), [id_answer], "search finds the new tag")
    equal(search_ids("tags.user = 'alice'"), [], "search no longer finds the deleted tag")
    client.delete_trace_tag(id_answer, "stage")
    check("stage" not in mlflow.get_trace(id_answer).info.tags, "delete_trace_tag (client)")

with section("delete_traces by ids"):
    deleted = client.delete_traces(exp_id, trace_ids=[id_fails])
    equal(deleted, 1, "traces_deleted")
    equal(mlflow.get_trace(id_fails), None, "a deleted trace reads as None")
    equal(search_ids("trace.status = 'ERROR'"), [], "a deleted trace is not found")

with section("delete_traces by max timestamp"):
    # Everything before the cut except id_fails (already deleted): answer + early.
    deleted = client.delete_traces(exp_id, max_timestamp_millis=cut_ms, max_traces=100)
    equal(deleted, 1 + len(early), "traces_deleted up to the cut")
    equal(set(search_ids()), set(late), "only the late traces remain")
    deleted = client.delete_traces(exp_id, max_timestamp_millis=t_end + 1000, max_traces=2)
    equal(deleted, 2, "max_traces bounds the deletion")
    equal(search_ids(order_by=["timestamp_ms ASC"]), late[2:], "the oldest were deleted first")

finish()
