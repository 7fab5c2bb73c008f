"""clew.transformers.autolog() on the real ``transformers.Pipeline.__call__``.

A real pipeline needs PyTorch and a model from the Hugging Face hub; neither is
available to these tests (no hub access, and PyTorch is gigabytes). So the
pipelines here are subclasses of the real ``transformers.Pipeline`` whose
model steps (``preprocess``/``forward``/``postprocess``) are plain Python:
the library's own ``__call__`` (argument handling, chat detection,
``run_single``) runs unchanged, and that is what autolog patches.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")

import clew  # noqa: E402
from autolog_helpers import all_traces, last_spans  # noqa: E402


class EchoPipeline(transformers.Pipeline):
    """Answers with the first ``max_new_tokens`` characters of the prompt (or the last chat message)."""

    def __init__(self, task: str, model_name: str):
        # Pipeline.__init__ places a torch model on a device; set only what __call__ reads.
        self.task = task
        self.model = type("TinyModel", (), {"name_or_path": model_name})()
        self._num_workers = None
        self._batch_size = None
        self._preprocess_params = {}
        self._forward_params = {}
        self._postprocess_params = {}
        self.call_count = 0
        self.device = type("Device", (), {"type": "cpu"})()

    def _sanitize_parameters(self, max_new_tokens=None, **kwargs):
        return {}, ({"max_new_tokens": max_new_tokens} if max_new_tokens else {}), {}

    def preprocess(self, inputs):
        if hasattr(inputs, "messages"):  # a transformers Chat
            return {"text": inputs.messages[-1]["content"], "chat": list(inputs.messages)}
        if inputs == "fail":
            raise ValueError("the model cannot take this")
        return {"text": inputs}

    def forward(self, model_inputs, **forward_params):  # the base class's needs torch
        return self._forward(model_inputs, **forward_params)

    def _forward(self, model_inputs, max_new_tokens=5):
        return dict(model_inputs, out=model_inputs["text"][:max_new_tokens])

    def postprocess(self, model_outputs):
        if "chat" in model_outputs:
            return {"generated_text": model_outputs["chat"] + [{"role": "assistant", "content": model_outputs["out"]}]}
        return [{"generated_text": model_outputs["out"]}]


class WrappingPipeline(EchoPipeline):
    """Overrides __call__ and calls super(), as TextGenerationPipeline does."""

    def __call__(self, text_inputs, **kwargs):
        return super().__call__(text_inputs, **kwargs)


class EmbedPipeline(EchoPipeline):
    def _forward(self, model_inputs, **_):
        import numpy as np

        return {"vector": np.array([[float(len(model_inputs["text"])), 0.5]])}

    def postprocess(self, model_outputs):
        return model_outputs["vector"]


@pytest.fixture(autouse=True)
def enabled():
    clew.transformers.autolog()
    yield


def test_text_generation_call():
    pipe = EchoPipeline("text-generation", "tiny-echo")
    assert pipe("hello world", max_new_tokens=3) == [{"generated_text": "hel"}]
    (span,) = last_spans()
    assert span["name"] == "EchoPipeline"
    assert span["span_type"] == "LLM"
    assert span["inputs"] == {"inputs": "hello world", "max_new_tokens": 3}
    assert span["outputs"] == [{"generated_text": "hel"}]
    assert span["attributes"] == {
        "max_new_tokens": 3,
        "task": "text-generation",
        "mlflow.llm.model": "tiny-echo",
        "mlflow.llm.provider": "huggingface",
    }
    assert span["status"] == "OK"


def test_chat_input_is_a_chat_model_span():
    pipe = EchoPipeline("text-generation", "tiny-echo")
    messages = [{"role": "user", "content": "hi there"}]
    result = pipe(messages)
    assert result["generated_text"][-1] == {"role": "assistant", "content": "hi th"}
    (span,) = last_spans()
    assert span["span_type"] == "CHAT_MODEL"
    assert span["inputs"] == {"inputs": messages}
    assert span["outputs"] == result


def test_subclass_calling_super_gives_one_span():
    pipe = WrappingPipeline("summarization", "tiny-echo")
    pipe("a long text")
    spans = last_spans()
    assert [(s["name"], s["span_type"]) for s in spans] == [("WrappingPipeline", "LLM")]
    assert spans[0]["inputs"] == {"inputs": "a long text"}


def test_embedding_arrays_become_lists():
    pipe = EmbedPipeline("feature-extraction", "tiny-embed")
    pipe("four")
    (span,) = last_spans()
    assert span["span_type"] == "EMBEDDING"
    assert span["outputs"] == [[4.0, 0.5]]


def test_error_is_recorded_and_reraised():
    pipe = EchoPipeline("text-generation", "tiny-echo")
    with pytest.raises(ValueError, match="cannot take this"):
        pipe("fail")
    (span,) = last_spans()
    assert span["status"] == "ERROR"
    assert span["events"][0]["attributes"]["exception.type"] == "ValueError"


def test_nested_in_user_span_and_disable():
    pipe = EchoPipeline("text-generation", "tiny-echo")
    with clew.start_span("app"):
        pipe("abc")
    assert [(s["name"], s["parent"]) for s in last_spans()] == [("app", None), ("EchoPipeline", "app")]
    clew.transformers.autolog(disable=True)
    assert not hasattr(transformers.Pipeline.__call__, "__clew_autolog__")
    pipe("abc")
    assert len(all_traces()) == 1


def test_patches_reach_the_library_pipelines_and_seed_name():
    clew.transformers.autolog(disable=True)
    clew.tracing.instrument_transformers()
    # TextGenerationPipeline defines its own __call__; it is patched too (one span per call).
    assert getattr(transformers.TextGenerationPipeline.__call__, "__clew_autolog__", None) == "transformers"
    assert getattr(transformers.Pipeline.__call__, "__clew_autolog__", None) == "transformers"


def test_span_type_for_tasks():
    from clew.transformers import span_type_for

    assert span_type_for("translation_en_to_fr", "x") == "LLM"
    assert span_type_for("text2text-generation", "x") == "LLM"
    assert span_type_for("feature-extraction", "x") == "EMBEDDING"
    assert span_type_for("text-classification", "x") == "UNKNOWN"
