#!/usr/bin/env bash
# Giant traces in the web UI: builds the release `clew`, installs the pinned playwright-core
# (tests/browser) and runs bench/ui_first_rows.mjs (arguments are passed on, e.g.
# `--sizes 1000,10000 --runs 3`). Needs Node.js >= 20 and Chromium (/usr/bin/chromium or
# CLEW_CHROMIUM). Results: a table on stdout, JSON in bench/results/ui_first_rows-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x "${CLEW_CHROMIUM:-/usr/bin/chromium}" ]] || { echo "Chromium not found (apt-get install chromium, or set CLEW_CHROMIUM)" >&2; exit 1; }
command -v node >/dev/null || { echo "node not found (Node.js >= 20)" >&2; exit 1; }
cargo build --release -p clew-cli --locked
(cd tests/browser && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
exec node bench/ui_first_rows.mjs --clew "${CARGO_TARGET_DIR:-$PWD/target}/release/clew" "$@"
