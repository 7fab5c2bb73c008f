#!/usr/bin/env bash
# Regenerates tests/golden/{mlflow,pyjson} with the real mlflow package.
#
# Uses the virtualenv at $CLEW_GOLDEN_VENV (default: ~/.cache/clew/golden-venv) and creates it
# from scratch with `pip install mlflow==3.17.2` when it is missing or holds another version.
#   CLEW_GOLDEN_VENV=/work/venv scripts/gen_golden.sh     # reuse an existing venv
set -euo pipefail

MLFLOW_VERSION="3.17.2"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CLEW_GOLDEN_VENV:-$HOME/.cache/clew/golden-venv}"
PYTHON="${PYTHON:-python3}"

has_mlflow() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c "import sys, mlflow; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null
}

if ! has_mlflow; then
    echo "creating $VENV with mlflow==$MLFLOW_VERSION" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "mlflow==$MLFLOW_VERSION"
fi

cd "$REPO"
"$VENV/bin/python" scripts/gen_golden.py
