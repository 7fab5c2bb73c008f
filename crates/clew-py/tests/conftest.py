"""Shared fixtures of the clew Python package tests.

Every test gets its own SQLite store file (a real file in tmp_path) as its tracking URI and
tracing back at its defaults afterwards. ``clew_server`` starts the real ``clew server``
binary on a free 127.0.0.1 port (built with cargo if it is missing).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """A fresh local store for each test; returns its sqlite URI."""
    import clew

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'clew.db'}"
    clew.tracing.reset()
    clew.set_tracking_uri(uri)
    yield uri
    clew.tracing.reset()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def clew_server(tmp_path_factory):
    """A running ``clew server`` on 127.0.0.1; yields (url, store path)."""
    workdir = tmp_path_factory.mktemp("server")
    db = workdir / "server.db"
    port = _free_port()
    log = open(workdir / "server.log", "wb")
    proc = subprocess.Popen(
        [str(clew_binary()), "server", "--host", "127.0.0.1", "--port", str(port), "--store", str(db)],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"clew server exited: {(workdir / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError("clew server did not become healthy in 60 s")
        time.sleep(0.1)
    yield url, db
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


sys.path.insert(0, str(Path(__file__).parent))
from clew_test_support import clew_binary  # noqa: E402
