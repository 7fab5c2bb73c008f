"""Fixtures of the autolog tests: the fake provider server, a fresh trace store per
test, integrations switched off after each test, and the MLflow oracle run.

The oracle (``mlflow_oracle.py``: the same scenarios under ``mlflow``'s own
autolog, in a subprocess) takes about a minute, so it is started when the
session starts and only waited for by the tests that compare with it. Set
``CLEW_AUTOLOG_ORACLE=0`` to skip those tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

clew = pytest.importorskip("clew", reason="the clew package is not installed in this venv")

from fake_providers import FakeProviderServer  # noqa: E402

_oracle: dict = {}


def _oracle_wanted(config) -> bool:
    if os.environ.get("CLEW_AUTOLOG_ORACLE", "1") == "0":
        return False
    # Only when a collected test will use it (keeps `-k openai_chat_sync` quick).
    return True


def pytest_collection_finish(session):
    if not any("oracle" in item.nodeid for item in session.items) or not _oracle_wanted(session.config):
        return
    tmp = tempfile.mkdtemp(prefix="clew-autolog-oracle-")
    out = os.path.join(tmp, "oracle.json")
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp}/mlflow.db")
    log = open(os.path.join(tmp, "oracle.log"), "w")
    # cwd: MLflow puts its artifact folder (./mlruns) in the working directory.
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "mlflow_oracle.py"), out], env=env, cwd=tmp, stdout=log, stderr=log
    )
    _oracle.update(proc=proc, out=out, log=log.name)


def pytest_sessionfinish(session):
    proc = _oracle.get("proc")
    if proc is not None and proc.poll() is None:
        proc.kill()


@pytest.fixture(scope="session")
def mlflow_oracle() -> dict:
    """``{scenario: [span summary, ...]}`` as recorded by MLflow 3.17.2's own autolog."""
    if "proc" not in _oracle:
        pytest.skip("MLflow oracle disabled (CLEW_AUTOLOG_ORACLE=0)")
    if "result" not in _oracle:
        code = _oracle["proc"].wait(timeout=600)
        if code != 0:
            with open(_oracle["log"]) as f:
                pytest.fail(f"mlflow oracle run failed ({code}):\n{f.read()[-4000:]}")
        with open(_oracle["out"]) as f:
            _oracle["result"] = json.load(f)
    return _oracle["result"]


@pytest.fixture(scope="session")
def server():
    with FakeProviderServer() as s:
        yield s


@pytest.fixture(autouse=True)
def fresh_store(tmp_path):
    """Each test writes to its own trace store, and leaves every integration off."""
    clew.set_tracking_uri(f"sqlite:///{tmp_path / 'clew.db'}")
    yield
    for name in ("openai", "anthropic", "langchain", "transformers"):
        try:
            getattr(clew, name).autolog(disable=True)
        except Exception:
            pass
