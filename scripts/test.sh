#!/usr/bin/env bash
# Runs clew's whole test suite: every crate's unit, integration and doc tests, the seed
# examples, and the CLI end to end. This is the command the README and CI use.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLEW_QUIET=1
cargo test --workspace --locked "$@"
