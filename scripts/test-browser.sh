#!/usr/bin/env bash
# The web UI's tests in real headless Chromium. Run by scripts/test.sh.
#
# What it does: installs the pinned playwright-core (tests/browser/package-lock.json; no browser
# download, it drives Debian's /usr/bin/chromium), builds the `clew` binary (debug; reuses the
# test suite's build), fills a temporary SQLite store with `clew demo --showcase` and a
# 5,000-span `clew demo --giant` trace, starts
# `clew server` on a free 127.0.0.1 port, runs tests/browser/tests/*.test.mjs with Node's test
# runner and always stops the server. Screenshots (light and dark, one per view) go to
# target/browser-artifacts/.
#
# Needs: Node.js >= 20 with npm, Chromium (Debian: `apt-get install chromium nodejs`).
# Environment: CLEW_CHROMIUM (default /usr/bin/chromium), CLEW_UI_TIMEOUT_MS (default 15000),
# CLEW_BROWSER_TESTS (test files to run instead of all, space-separated paths).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

die() {
    echo "browser tests: $*" >&2
    exit 1
}

chromium="${CLEW_CHROMIUM:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || die "Chromium not found at $chromium (Debian: apt-get install chromium; or set CLEW_CHROMIUM to a Chromium/Chrome binary)"
command -v node >/dev/null || die "node not found (Node.js >= 20 is needed; Debian: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm not found (it comes with Node.js; Debian: apt-get install npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node.js $(node --version) is too old: playwright-core needs >= 20"

echo "== browser tests: npm ci (playwright-core, pinned)"
(cd tests/browser && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null) ||
    die "npm ci failed in tests/browser (is the npm registry or the npm cache reachable?)"

echo "== browser tests: cargo build -p clew-cli"
cargo build -p clew-cli --locked --quiet
target_dir="${CARGO_TARGET_DIR:-$root/target}"
clew="$target_dir/debug/clew"
[[ -x "$clew" ]] || die "the build did not produce $clew"

artifacts="$target_dir/browser-artifacts"
rm -rf "$artifacts"
mkdir -p "$artifacts"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

store="$work/ui.db"
echo "== browser tests: clew demo --showcase into $store"
"$clew" --store "$store" --json demo --showcase >"$work/demo.json" || die "clew demo failed"
experiment_id="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).experiment_id' "$work/demo.json")"
# A big trace too, for the virtual tree (its own experiment).
"$clew" --store "$store" --json demo --giant 5000 --experiment-name giant >"$work/giant.json" || die "clew demo --giant failed"
giant_experiment_id="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).experiment_id' "$work/giant.json")"
giant_trace_id="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).trace_ids[0]' "$work/giant.json")"

# A port nobody listens on now (the kernel picks it); the server binds it right after.
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
"$clew" --store "$store" server --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
node -e '
const url = process.argv[1] + "/health";
const deadline = Date.now() + 30000;
(async () => {
  while (Date.now() < deadline) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error("no answer from " + url + " within 30 s");
  process.exit(1);
})();' "$base" || {
    cat "$work/server.log" >&2
    die "clew server did not start"
}
echo "== browser tests: clew server at $base (experiment $experiment_id), Chromium $("$chromium" --version 2>/dev/null | head -1)"

if [[ -n "${CLEW_BROWSER_TESTS:-}" ]]; then
    read -r -a files <<<"$CLEW_BROWSER_TESTS"
else
    files=(tests/browser/tests/*.test.mjs)
fi
status=0
CLEW_URL="$base" CLEW_EXPERIMENT_ID="$experiment_id" CLEW_ARTIFACTS="$artifacts" CLEW_CHROMIUM="$chromium" \
    CLEW_GIANT_EXPERIMENT_ID="$giant_experiment_id" CLEW_GIANT_TRACE_ID="$giant_trace_id" \
    node --test --test-concurrency=1 "${files[@]}" || status=$?
echo "== browser tests: screenshots in $artifacts"
if ((status != 0)); then
    echo "== browser tests: FAILED; the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
