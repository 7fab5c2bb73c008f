#!/usr/bin/env bash
# The Python package's tests (crates/clew-py). Run by scripts/test.sh after `cargo test`;
# needs CLEW_PYTHON_VENV (scripts/setup-python.sh creates one and prints its path).
#
# Builds the package into the venv with maturin (`maturin develop`: an editable install of
# python/clew plus the compiled clew._core), then runs pytest over crates/clew-py/tests: the
# core API and seed examples, the autolog tests (tests/autolog) and the notebook tests.
#
# CLEW_PY_PROFILE=release builds optimised (what `pip install ./crates/clew-py` gives and what
# the benchmarks use); the default is the debug profile, which reuses what `cargo test` just
# compiled, so CI spends seconds, not minutes, on the build. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CLEW_PYTHON_VENV:?set CLEW_PYTHON_VENV to a venv with scripts/python-requirements.txt (bash scripts/setup-python.sh prints one)}"
PY="$CLEW_PYTHON_VENV/bin/python"
profile="${CLEW_PY_PROFILE:-dev}"
build_args=()
if [[ "$profile" == "release" ]]; then
    build_args+=(--release)
fi

echo "== python: building the clew package ($profile profile) into $CLEW_PYTHON_VENV"
start=$SECONDS
(cd crates/clew-py && VIRTUAL_ENV="$CLEW_PYTHON_VENV" "$CLEW_PYTHON_VENV/bin/maturin" develop --quiet "${build_args[@]}")
echo "   built in $((SECONDS - start)) s"

# The server tests start the real `clew` binary; cargo test has usually built it already.
[[ -x target/debug/clew ]] || cargo build --quiet -p clew-cli

echo "== python: pytest crates/clew-py/tests"
status=0
"$PY" -m pytest crates/clew-py/tests -q -rfEs --tb=short "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "python package tests FAILED (pytest exit status $status); the failures are listed above" >&2
fi
exit $status
