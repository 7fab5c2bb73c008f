#!/usr/bin/env bash
# The Python package's tests (crates/clew-py). Run by scripts/test.sh; needs CLEW_PYTHON_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "python package tests: not written yet"
