#!/usr/bin/env bash
# Runs clew's whole test suite: every crate's unit, integration and doc tests, the seed
# examples, the CLI end to end, and the compatibility tests with the real `mlflow` and
# OpenTelemetry Python packages, the Python package's pytest suite and the web UI's tests in
# headless Chromium. This is the command the README and CI use.
#
# Needs: a Rust toolchain, python3 (the Python packages are installed into ./.venv on first
# run), and PostgreSQL's server binaries (Debian: `apt-get install postgresql`) for the
# PostgreSQL store tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLEW_QUIET=1
if [[ -z "${CLEW_PYTHON_VENV:-}" ]]; then
    CLEW_PYTHON_VENV="$(bash scripts/setup-python.sh)"
    export CLEW_PYTHON_VENV
fi
cargo test --workspace --locked "$@"
bash scripts/test-python.sh
bash scripts/test-browser.sh
