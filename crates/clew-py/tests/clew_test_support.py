"""Helpers of the core tests (a module name of its own: tests/autolog has a conftest too)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def clew_binary() -> Path:
    """target/debug/clew (or $CLEW_BIN), built with cargo when missing."""
    explicit = os.environ.get("CLEW_BIN")
    if explicit:
        return Path(explicit)
    binary = REPO / "target" / "debug" / "clew"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-p", "clew-cli"], cwd=REPO, check=True)
    return binary


def swap_imports(source: str) -> str:
    """The seed documents' code with ``mlflow`` imports pointing at clew, nothing else changed."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped == "import mlflow":
            line = indent + "import clew as mlflow"
        elif stripped == "import mlflow.tracing":
            line = indent + "import clew as mlflow; import clew.tracing"
        elif stripped.startswith("from mlflow.") or stripped.startswith("from mlflow "):
            line = indent + "from clew" + stripped[len("from mlflow"):]
        lines.append(line)
    return "\n".join(lines) + "\n"


def run_example(source: str, namespace: dict | None = None) -> dict:
    """Runs a seed example (imports swapped) in ``namespace``; returns the namespace."""
    ns = namespace if namespace is not None else {"__name__": "__seed_example__"}
    exec(compile(swap_imports(source), "<seed example>", "exec"), ns)
    return ns


def sqlite_in_subprocess(path: str, sql: str, params: tuple = ()) -> list:
    """Runs one SQL statement on the store file in a separate Python process and returns its
    rows. Never open clew's store with Python's own ``sqlite3`` in the test process: two SQLite
    libraries in one process (Python's and the one bundled in clew) do not see each other's
    POSIX locks, and closing one's file handle drops the other's, which can corrupt the file."""
    import json
    import sys

    script = (
        "import json, sqlite3, sys\n"
        "path, sql, params = json.loads(sys.argv[1])\n"
        "db = sqlite3.connect(path, timeout=30)\n"
        "with db:\n"
        "    rows = db.execute(sql, params).fetchall()\n"
        "db.close()\n"
        "print(json.dumps(rows))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps([path, sql, list(params)])],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)
