#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment the tests use: the packages pinned in
# scripts/python-requirements.txt (the real `mlflow` client and server, the OpenTelemetry SDK,
# the LLM client libraries, pytest, maturin, Jupyter's kernel). Prints the environment's
# directory. Idempotent: a venv installed from the same requirements is reused.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${CLEW_PYTHON_VENV:-$ROOT/.venv}"
REQUIREMENTS="$ROOT/scripts/python-requirements.txt"
stamp="$VENV/.clew-requirements"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$VENV"
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
echo "$want" > "$stamp"
echo "$VENV"
