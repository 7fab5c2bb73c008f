#!/usr/bin/env bash
# Starts a real `mlflow server` (from PyPI, pinned by scripts/setup-python.sh) for the SDK's
# export tests, on a free local port with a SQLite backend and an artifact root in DIR.
#
#   scripts/mlflow-test-server.sh start DIR   # prints the server URL once GET /health answers
#   scripts/mlflow-test-server.sh stop DIR    # stops it (the whole process group)
#
# The venv is $CLEW_PYTHON_VENV when set, else the one scripts/setup-python.sh makes (it is
# created on first use: python3 -m venv + pip install mlflow==3.17.2).
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
case "$cmd" in
start)
    mkdir -p "$dir/artifacts"
    dir="$(cd "$dir" && pwd)"
    venv="${CLEW_PYTHON_VENV:-}"
    if [[ -z "$venv" || ! -x "$venv/bin/mlflow" ]]; then
        venv="$(bash "$here/setup-python.sh")"
    fi
    port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    # Its own session (setsid), so `stop` can end the server and its workers together.
    # Run from DIR so nothing (e.g. the artifact proxy's ./mlartifacts) lands in the caller's tree.
    (cd "$dir" && exec setsid "$venv/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
        --backend-store-uri "sqlite:///$dir/mlflow.db" --default-artifact-root "$dir/artifacts" \
        --artifacts-destination "$dir/proxied-artifacts" \
        >"$dir/server.log" 2>&1 < /dev/null) &
    echo $! > "$dir/server.pid"
    for _ in $(seq 1 600); do
        if "$venv/bin/python" - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1).read()
PY
            echo "http://127.0.0.1:$port"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
            echo "mlflow server exited early; its log:" >&2
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "mlflow server did not answer /health in time; its log:" >&2
    cat "$dir/server.log" >&2
    kill -TERM -- "-$(cat "$dir/server.pid")" 2>/dev/null || true
    exit 1
    ;;
stop)
    if [[ -f "$dir/server.pid" ]]; then
        pid="$(cat "$dir/server.pid")"
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$dir/server.pid"
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
