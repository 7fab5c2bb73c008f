"""The tracing API with MLflow's names: ``trace``, ``start_span``, current-span helpers, reads.

The span engine, serialisation and export are in the Rust core (``clew._core``); this module
only adds what Python idiom needs: decorators, context managers, generator wrapping.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from typing import Any, Callable, Optional

from clew import _core, _runtime
from clew._runtime import CURRENT_SPAN, ENABLED
from clew.entities import Experiment, SpanEvent, SpanType, Trace

_logger = logging.getLogger("clew")

# ---------------------------------------------------------------------------------------------
# @trace


def _signature_params(fn: Callable) -> Optional[list]:
    """The signature as ``[(name, kind, has_default, default)]`` for the core's binder."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    empty = inspect.Parameter.empty
    return [
        (p.name, int(p.kind), p.default is not empty, None if p.default is empty else p.default)
        for p in sig.parameters.values()
    ]


def _function_name(fn: Callable) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _finish_wrapper(fn: Callable, wrapper: Callable) -> Callable:
    wrapped = functools.wraps(fn)(wrapper)
    try:
        wrapped.__signature__ = inspect.signature(fn)
    except (TypeError, ValueError):
        pass
    wrapped.__mlflow_traced__ = True
    wrapped.__clew_traced__ = True
    return wrapped


def _wrap_sync(fn: Callable, spec) -> Callable:
    enabled = ENABLED
    call = _core.call_traced

    def wrapper(*args, **kwargs):
        if enabled[0]:
            return call(spec, args, kwargs)
        return fn(*args, **kwargs)

    return _finish_wrapper(fn, wrapper)


def _wrap_async(fn: Callable, spec) -> Callable:
    enabled = ENABLED
    start = _core.start_function_call
    end = _core.end_function_call
    fail = _core.fail_function_call

    async def wrapper(*args, **kwargs):
        if not enabled[0]:
            return await fn(*args, **kwargs)
        try:
            started = start(spec, args, kwargs)
        except Exception as e:  # tracing never breaks the call
            _runtime.warn(f"clew could not start a span for {spec.name}: {e}")
            started = None
        if started is None:
            return await fn(*args, **kwargs)
        span, token = started
        try:
            result = await fn(*args, **kwargs)
        except BaseException as e:
            fail(span, token, e)
            raise
        end(span, token, result)
        return result

    return _finish_wrapper(fn, wrapper)


def _end_stream(span, outputs: list, output_reducer: Optional[Callable]) -> None:
    if output_reducer is not None:
        try:
            outputs = output_reducer(outputs)
        except Exception as e:
            _logger.debug("output_reducer failed for span %s: %s", span.name, e)
    span.end(outputs=outputs)


def _wrap_generator(fn: Callable, spec, output_reducer: Optional[Callable]) -> Callable:
    enabled = ENABLED
    start = _core.start_generator_span
    record_chunk = _core.record_chunk
    fail = _core.fail_span
    var = CURRENT_SPAN

    def wrapper(*args, **kwargs):
        if not enabled[0]:
            return (yield from fn(*args, **kwargs))
        span = start(spec, args, kwargs)
        generator = fn(*args, **kwargs)
        outputs: list = []
        index = 0
        while True:
            # The span is current only while the generator's own code runs (MLflow's rule),
            # so the consumer's code between items is not inside it.
            token = var.set(span)
            try:
                value = next(generator)
            except StopIteration:
                break
            except BaseException as e:
                fail(span, e)
                raise
            finally:
                var.reset(token)
            outputs.append(value)
            record_chunk(span, index, value)
            index += 1
            try:
                yield value
            except GeneratorExit:
                # The consumer stopped early (break, close(), garbage collection): close the
                # wrapped generator and end the span with what was produced.
                generator.close()
                _end_stream(span, outputs, output_reducer)
                raise
            except BaseException as e:
                fail(span, e)
                raise
        _end_stream(span, outputs, output_reducer)

    return _finish_wrapper(fn, wrapper)


def _wrap_async_generator(fn: Callable, spec, output_reducer: Optional[Callable]) -> Callable:
    enabled = ENABLED
    start = _core.start_generator_span
    record_chunk = _core.record_chunk
    fail = _core.fail_span
    var = CURRENT_SPAN

    async def wrapper(*args, **kwargs):
        if not enabled[0]:
            async for value in fn(*args, **kwargs):
                yield value
            return
        span = start(spec, args, kwargs)
        generator = fn(*args, **kwargs)
        outputs: list = []
        index = 0
        while True:
            token = var.set(span)
            try:
                value = await generator.__anext__()
            except StopAsyncIteration:
                break
            except BaseException as e:
                fail(span, e)
                raise
            finally:
                var.reset(token)
            outputs.append(value)
            record_chunk(span, index, value)
            index += 1
            try:
                yield value
            except GeneratorExit:
                await generator.aclose()
                _end_stream(span, outputs, output_reducer)
                raise
            except BaseException as e:
                fail(span, e)
                raise
        _end_stream(span, outputs, output_reducer)

    return _finish_wrapper(fn, wrapper)


def _decorate(fn, name, span_type, attributes, output_reducer):
    is_classmethod = isinstance(fn, classmethod)
    is_staticmethod = isinstance(fn, staticmethod)
    original = fn.__func__ if (is_classmethod or is_staticmethod) else fn
    if not callable(original):
        raise TypeError(f"@trace needs a function, got {type(original).__name__}")
    spec = _core.TracedSpec(
        original, name or _function_name(original), _function_name(original), span_type or SpanType.UNKNOWN,
        attributes, _signature_params(original),
    )
    if inspect.isgeneratorfunction(original):
        wrapped = _wrap_generator(original, spec, output_reducer)
    elif inspect.isasyncgenfunction(original):
        wrapped = _wrap_async_generator(original, spec, output_reducer)
    else:
        if output_reducer is not None:
            raise ValueError("The output_reducer argument is only supported for generator functions.")
        if inspect.iscoroutinefunction(original):
            wrapped = _wrap_async(original, spec)
        else:
            wrapped = _wrap_sync(original, spec)
    if is_classmethod:
        return classmethod(wrapped)
    if is_staticmethod:
        return staticmethod(wrapped)
    return wrapped


class _TraceSpec:
    """What ``trace(name=..., ...)`` returns: a decorator, and also a context manager
    (``with trace("name", SpanType.CHAIN) as span:``, as the MLflow tracing API reference
    shows it)."""

    __slots__ = ("_name", "_span_type", "_inputs", "_attributes", "_output_reducer", "_cm")

    def __init__(self, name, span_type, inputs, attributes, output_reducer):
        self._name = name
        self._span_type = span_type
        self._inputs = inputs
        self._attributes = attributes
        self._output_reducer = output_reducer
        self._cm = None

    def __call__(self, func):
        return _decorate(func, self._name, self._span_type, self._attributes, self._output_reducer)

    def __enter__(self):
        self._cm = start_span(self._name or "span", span_type=self._span_type or SpanType.UNKNOWN,
                              attributes=self._attributes, inputs=self._inputs)
        return self._cm.__enter__()

    def __exit__(self, exc_type, exc, tb):
        cm, self._cm = self._cm, None
        return cm.__exit__(exc_type, exc, tb) if cm is not None else False


_DECORATOR_ARGS = ("func", "name", "span_type", "attributes", "output_reducer", "trace_destination")
_CONTEXT_ARGS = ("name", "span_type", "inputs", "attributes")


def trace(*args: Any, **kwargs: Any):
    """Records each call of a function as a span (MLflow's ``@mlflow.trace``).

    ``trace(func=None, name=None, span_type="UNKNOWN", attributes=None, output_reducer=None)``:
    bare (``@trace``) or with arguments (``@trace(name=..., span_type=...)``); sync and async
    functions, generators and async generators (each item an ``mlflow.chunk.item.N`` event,
    outputs the list of items or ``output_reducer(items)``), methods, classmethods and
    staticmethods. Inputs are the bound arguments with defaults, without ``self``/``cls``;
    outputs the return value; an exception is recorded and re-raised.

    With a name first, ``trace(name, span_type=None, inputs=None, attributes=None)`` is also
    a context manager, as in the MLflow tracing API reference::

        with trace("user_query_processing", SpanType.CHAIN) as span:
            ...
    """
    names = _CONTEXT_ARGS if args and isinstance(args[0], str) else _DECORATOR_ARGS
    if len(args) > len(names):
        raise TypeError(f"trace() takes at most {len(names)} positional arguments ({len(args)} given)")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"trace() got multiple values for argument {key!r}")
        bound[key] = value
    func = bound.get("func")
    span_type = bound.get("span_type") or SpanType.UNKNOWN
    if func is not None:
        return _decorate(func, bound.get("name"), span_type, bound.get("attributes"), bound.get("output_reducer"))
    return _TraceSpec(bound.get("name"), span_type, bound.get("inputs"), bound.get("attributes"), bound.get("output_reducer"))


# ---------------------------------------------------------------------------------------------
# start_span


def start_span(
    name: str = "span",
    span_type: Optional[str] = SpanType.UNKNOWN,
    attributes: Optional[dict] = None,
    trace_destination: Any = None,
    *,
    inputs: Any = None,
    **_ignored: Any,
) -> _StartSpan:
    """A span around a block, current inside it; yields the ``LiveSpan``::

        with clew.start_span(name="my_span", span_type=SpanType.CHAIN) as span:
            span.set_inputs({"x": 1})
            span.set_outputs(2)

    Exceptions leaving the block are recorded (event ``exception``, status ERROR) and
    re-raised; otherwise the span ends with status OK.
    """
    return _StartSpan(name, span_type, attributes, inputs)


# The context manager itself is in the core: entering and leaving cost no Python frames.
_StartSpan = _core.StartSpan


def start_span_no_context(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent_span=None,
    inputs: Any = None,
    attributes: Optional[dict] = None,
    tags: Optional[dict] = None,
    metadata: Optional[dict] = None,
    experiment_id: Optional[str] = None,
    start_time_ns: Optional[int] = None,
    **_ignored: Any,
):
    """A span that is not made current; end it with ``span.end()``. Without ``parent_span`` it
    is a child of the current span when there is one (as in MLflow, whose OpenTelemetry tracer
    falls back to the active context), else the root of a new trace (``tags`` and ``metadata``
    then go on that trace)."""
    if parent_span is None:
        parent_span = get_current_active_span()
        new_trace = parent_span is None
    else:
        new_trace = False
    try:
        span = _core.start_detached(name, span_type, parent_span, inputs, attributes, start_time_ns)
    except Exception as e:
        _runtime.warn(f"clew could not start span {name!r}: {e}")
        return _core.noop_span()
    if new_trace and span.is_recording and (tags or metadata):
        _core.update_trace(span, tags=_str_items(tags), metadata=_str_items(metadata))
    return span


# ---------------------------------------------------------------------------------------------
# The current span and trace


def get_current_active_span():
    """The current ``LiveSpan``, or None outside any recorded span."""
    span = CURRENT_SPAN.get()
    if span is None or not span.is_recording:
        return None
    return span


def get_active_trace_id() -> Optional[str]:
    """The trace id (``tr-…``) of the current span, if any."""
    span = get_current_active_span()
    return span.trace_id if span is not None else None


def get_last_active_trace_id(thread_local: bool = False) -> Optional[str]:
    """The id of the last trace whose root span ended (in this process, or on this thread)."""
    return _core.get_last_active_trace_id(thread_local)


def _str_items(d: Optional[dict]) -> Optional[list]:
    if not d:
        return None
    return [(str(k), v if isinstance(v, str) else _core.dumps(v)) for k, v in d.items()]


def update_current_trace(
    tags: Optional[dict] = None,
    metadata: Optional[dict] = None,
    client_request_id: Optional[str] = None,
    request_preview: Optional[str] = None,
    response_preview: Optional[str] = None,
    state: Any = None,
    model_id: Optional[str] = None,
    **_ignored: Any,
) -> None:
    """Adds tags/metadata (and previews, client request id, state) to the current trace."""
    span = get_current_active_span()
    if span is None:
        _logger.warning("update_current_trace called with no active span; nothing was updated")
        return
    metadata = dict(metadata or {})
    if model_id is not None:
        metadata["mlflow.modelId"] = model_id
    if state is not None:
        state = str(getattr(state, "value", state))
    _core.update_trace(
        span, tags=_str_items(tags), metadata=_str_items(metadata), request_preview=request_preview,
        response_preview=response_preview, client_request_id=client_request_id, state=state,
    )


def set_trace_tag(trace_id: str, key: str, value: str) -> None:
    """Sets a tag on a trace (in memory while it runs here, else in the store)."""
    _core.set_trace_tag(trace_id, key, str(value), CURRENT_SPAN.get())


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Deletes a tag from a trace."""
    _core.delete_trace_tag(trace_id, key, CURRENT_SPAN.get())


# The module-level helpers of the MLflow tracing API reference: act on the current span.


def set_span_attribute(key: str, value: Any) -> None:
    span = get_current_active_span()
    if span is not None:
        span.set_attribute(key, value)


def set_span_attributes(attributes: dict) -> None:
    span = get_current_active_span()
    if span is not None:
        span.set_attributes(attributes)


def set_span_inputs(inputs: Any) -> None:
    span = get_current_active_span()
    if span is not None:
        span.set_inputs(inputs)


def set_span_output(output: Any) -> None:
    span = get_current_active_span()
    if span is not None:
        span.set_outputs(output)


set_span_outputs = set_span_output


def log_span_event(name: str, attributes: Optional[dict] = None, timestamp: Optional[int] = None) -> None:
    span = get_current_active_span()
    if span is not None:
        event = SpanEvent(name=name, attributes=dict(attributes or {}))
        if timestamp is not None:
            event.timestamp = int(timestamp)
        span.add_event(event)


def add_span_exception(exception: BaseException) -> None:
    """Records an exception on the current span (event ``exception``, status ERROR)."""
    span = get_current_active_span()
    if span is not None:
        span.record_exception(exception)


def set_span_chat_tools(*args: Any, **kwargs: Any) -> None:
    """Sets ``mlflow.chat.tools`` (a list of tool definitions).

    Both forms work: MLflow's ``set_span_chat_tools(span, tools)`` and the API reference's
    ``set_span_chat_tools(tools)`` (the current span).
    """
    span = kwargs.pop("span", None)
    tools = kwargs.pop("tools", None)
    if kwargs:
        raise TypeError(f"set_span_chat_tools() got unexpected arguments {sorted(kwargs)}")
    positional = list(args)
    if positional and isinstance(positional[0], _core.LiveSpan):
        span = positional.pop(0)
    if positional:
        if tools is not None or len(positional) > 1:
            raise TypeError("set_span_chat_tools() takes (span, tools) or (tools)")
        tools = positional[0]
    if tools is None:
        raise TypeError("set_span_chat_tools() needs the tools")
    target = span if span is not None else get_current_active_span()
    if target is not None:
        target.set_chat_tools(list(tools))


def end_span() -> None:
    """Ends the current span now (its ``with`` block still restores the context)."""
    span = get_current_active_span()
    if span is not None:
        span.end()


# ---------------------------------------------------------------------------------------------
# Reads


def flush_trace_async_logging(terminate: bool = False, timeout: float = 60.0) -> None:
    """Waits until every finished trace has been written to its destination."""
    _core.flush(timeout)


def get_trace(trace_id: str, silent: bool = False, **_ignored: Any) -> Optional[Trace]:
    """The trace with this id, or None. Pending exports are flushed first."""
    try:
        text = _core.get_trace_json(trace_id)
    except Exception as e:
        if not silent:
            _logger.warning("Failed to get trace %s: %s", trace_id, e)
        return None
    return Trace.from_json(text) if text is not None else None


def get_last_active_trace(thread_local: bool = False) -> Optional[Trace]:
    """The last trace whose root span ended, read back from the destination."""
    trace_id = get_last_active_trace_id(thread_local)
    return get_trace(trace_id) if trace_id else None


def _pandas_available() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def search_traces(
    experiment_ids: Optional[list] = None,
    filter_string: Optional[str] = None,
    max_results: Optional[int] = None,
    order_by: Optional[list] = None,
    extract_fields: Optional[list] = None,
    run_id: Optional[str] = None,
    return_type: Optional[str] = None,
    model_id: Optional[str] = None,
    include_spans: bool = True,
    locations: Optional[list] = None,
    **_ignored: Any,
):
    """Traces matching MLflow's filter grammar, newest first by default.

    ``return_type="pandas"`` (the default when pandas is installed) gives a DataFrame with
    MLflow's columns; ``"list"`` gives ``Trace`` objects.
    """
    if return_type is None:
        return_type = "pandas" if _pandas_available() else "list"
    if return_type not in ("pandas", "list"):
        raise ValueError(f"return_type must be 'pandas' or 'list', got {return_type!r}")
    ids = experiment_ids if experiment_ids is not None else locations
    if isinstance(ids, str):
        ids = [ids]
    clauses = [f"({filter_string})"] if filter_string and filter_string.strip() else []
    if run_id is not None:
        clauses.append(f"metadata.`mlflow.sourceRun` = '{run_id}'")
    if model_id is not None:
        clauses.append(f"metadata.`mlflow.modelId` = '{model_id}'")
    combined = " AND ".join(clauses) if clauses else None
    if combined is not None and len(clauses) == 1 and filter_string and not (run_id or model_id):
        combined = filter_string
    texts, _next = _core.search_traces_json(
        [str(i) for i in ids] if ids is not None else None, combined, max_results,
        list(order_by) if order_by else None, None, include_spans,
    )
    traces = [Trace.from_json(t) for t in texts]
    if return_type == "list":
        return traces
    import pandas as pd

    columns = Trace.pandas_dataframe_columns()
    rows = [t.to_pandas_dataframe_row() for t in traces]
    if extract_fields:
        for field in extract_fields:
            columns.append(field)
            for row, t in zip(rows, traces):
                row[field] = _extract_field(t, field)
    return pd.DataFrame.from_records(rows, columns=columns)


def _extract_field(trace: Trace, field: str):
    # "span_name.inputs.key" / "span_name.outputs"
    parts = field.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] in ("inputs", "outputs"):
            span_name, kind, key = ".".join(parts[:i]), parts[i], ".".join(parts[i + 1:]) or None
            for span in trace.data.spans:
                if span.name == span_name:
                    value = getattr(span, kind)
                    if key is None:
                        return value
                    return value.get(key) if isinstance(value, dict) else None
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Tracking URI and experiments

_TRACKING_URI: list = [None]


def set_tracking_uri(uri: Any) -> None:
    """Where traces go and are read from: ``sqlite:///path.db`` (the embedded store),
    ``http(s)://host:port`` (``clew server`` or an MLflow server), or ``memory:``. A plain
    path is a SQLite file."""
    text = str(uri)
    if "://" not in text and not text.startswith(("memory", "sqlite:")):
        text = "sqlite:///" + os.path.abspath(text)
    _TRACKING_URI[0] = text
    _core.set_destination_uri(text)


def get_tracking_uri() -> str:
    if _TRACKING_URI[0] is not None:
        return _TRACKING_URI[0]
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    return env or "sqlite:///clew.db"


def set_experiment(experiment_name: Optional[str] = None, experiment_id: Optional[str] = None) -> Experiment:
    """Makes an experiment active (by name, created if missing, or by id); new traces go there."""
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("set_experiment needs exactly one of experiment_name or experiment_id")
    if experiment_name is not None:
        d = _core.set_experiment(experiment_name)
    else:
        d = _core.set_experiment_by_id(str(experiment_id))
    return Experiment._from_core(d)


def get_experiment_by_name(name: str) -> Optional[Experiment]:
    d = _core.get_experiment_by_name(name)
    return Experiment._from_core(d) if d is not None else None
