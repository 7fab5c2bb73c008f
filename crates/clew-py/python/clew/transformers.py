"""Tracing of Hugging Face ``transformers`` pipelines: ``clew.transformers.autolog()``.

MLflow has no trace autologging for transformers (its ``mlflow.transformers.autolog``
only manages training runs), so this records what the other integrations do,
for each call of a ``transformers.Pipeline`` (``pipe(...)``):

- name: the pipeline class (``TextGenerationPipeline``, ...); type from the
  task: ``LLM`` for text generation, summarisation, translation and
  text2text; ``CHAT_MODEL`` when the input is a list of chat messages;
  ``EMBEDDING`` for feature extraction; ``UNKNOWN`` otherwise;
- inputs: ``{"inputs": <first argument>, **keyword arguments}``; attributes:
  each keyword argument (``max_new_tokens``, ...), ``task``,
  ``mlflow.llm.model`` (the model's ``name_or_path``) and
  ``mlflow.llm.provider = "huggingface"``;
- outputs: the pipeline's result (arrays and tensors as nested lists); a
  result that is an iterator (pipelines fed a generator or a dataset) is
  passed through, each item an ``mlflow.chunk.item.N`` event, and the output is
  the list of items;
- errors: ``exception`` event, status ``ERROR``, re-raised.

Only the outermost pipeline call of a nested chain of ``__call__`` s (a
subclass calling ``super().__call__``) makes a span.

If ``transformers`` is not installed, ``autolog()`` logs a warning and does
nothing. (This package's tests exercise the patch with stand-in pipeline
classes: the real library needs PyTorch and models from the Hugging Face hub,
neither of which the test machines have.)
"""

from __future__ import annotations

import contextvars
from typing import Any

from clew import _autolog as al

INTEGRATION = "transformers"

_GENERATION_TASKS = {"text-generation", "text2text-generation", "summarization", "translation", "image-text-to-text"}
_EMBEDDING_TASKS = {"feature-extraction", "sentence-similarity"}

# Set while a pipeline call is being traced, so a subclass's __call__ that calls
# super().__call__ gives one span, not two.
_in_pipeline_call = contextvars.ContextVar("clew_transformers_in_call", default=False)


def autolog(disable: bool = False, log_traces: bool = True, silent: bool = False, **_ignored: Any) -> None:
    """Trace every ``transformers`` pipeline call (``disable=True`` removes the patches)."""
    al.set_integration(INTEGRATION, disable, log_traces, silent, _install)


def instrument_transformers() -> None:
    """Seed name for ``autolog()``: enable automatic tracing of transformers pipelines."""
    autolog()


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def span_type_for(task: Any, inputs: Any) -> str:
    """The span type of a pipeline call from its task and its input."""
    from clew.entities import SpanType

    task = str(task or "")
    if task.startswith("translation"):
        task = "translation"
    if task in _GENERATION_TASKS:
        return SpanType.CHAT_MODEL if _is_chat(inputs) else SpanType.LLM
    if task in _EMBEDDING_TASKS:
        return SpanType.EMBEDDING
    return SpanType.UNKNOWN


def _model_name(pipeline: Any) -> Any:
    model = getattr(pipeline, "model", None)
    name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
    return name if isinstance(name, str) and name else None


def plain(value: Any) -> Any:
    """numpy arrays and tensors as nested lists, recursively; everything else unchanged."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    to_list = getattr(value, "tolist", None)
    if callable(to_list) and type(value).__module__.split(".")[0] in ("numpy", "torch"):
        try:
            return to_list()
        except Exception:
            return value
    return value


class _PipelineTracer(al.CallTracer):
    def start(self, instance, original, args, kwargs):
        if _in_pipeline_call.get():
            return None
        first = args[0] if args else kwargs.get("inputs", kwargs.get("text_inputs"))
        inputs = {"inputs": first} if args else {}
        if len(args) > 1:
            inputs["args"] = list(args[1:])
        inputs.update(kwargs)
        task = getattr(instance, "task", None)
        attributes = {k: v for k, v in kwargs.items() if k not in ("inputs", "text_inputs")}
        if task:
            attributes["task"] = task
        model = _model_name(instance)
        if model:
            attributes[al.MODEL] = model
        attributes[al.MODEL_PROVIDER] = "huggingface"
        span = al.start_span(type(instance).__name__, span_type_for(task, first), inputs=plain(inputs), attributes=attributes)
        if span is None:
            return None
        return (span, _in_pipeline_call.set(True))

    def on_result(self, state, result):
        span, token = state
        _in_pipeline_call.reset(token)
        if isinstance(result, (list, dict, str)) or not hasattr(result, "__next__"):
            span.end(outputs=plain(result))
            return result
        # A lazy iterator of results: record them as they are consumed.
        return al.wrap_iterator(
            result,
            lambda index, item: al.add_chunk_event(span, index, plain(item)),
            lambda items: span.end(outputs=plain(items)),
            lambda exc: al.end_span_with_error(span, exc),
        )

    def on_error(self, state, exc):
        span, token = state
        _in_pipeline_call.reset(token)
        al.end_span_with_error(span, exc)


def _pipeline_classes(transformers_module: Any) -> list[type]:
    """``Pipeline`` and every pipeline class the package exports."""
    base = transformers_module.Pipeline
    found = [base]
    for module in (transformers_module, getattr(transformers_module, "pipelines", None)):
        if module is None:
            continue
        for name in dir(module):
            if not name.endswith("Pipeline"):
                continue
            try:
                obj = getattr(module, name)
            except Exception:
                continue  # lazily imported names whose backend is missing
            if isinstance(obj, type) and issubclass(obj, base) and obj not in found:
                found.append(obj)
    return found


def _install() -> None:
    import transformers

    tracer = _PipelineTracer()
    for cls in _pipeline_classes(transformers):
        if "__call__" in cls.__dict__:
            al.patch_method(INTEGRATION, cls, "__call__", tracer, is_async=False)
