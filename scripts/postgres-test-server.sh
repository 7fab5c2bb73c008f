#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL cluster for clew's tests and prints its URL.
#
#   url=$(scripts/postgres-test-server.sh)          # postgresql://clew@127.0.0.1:<port>/postgres
#   scripts/postgres-test-server.sh --stop          # stops it and removes its directory
#
# The cluster lives in $CLEW_PG_DIR (default: $TMPDIR/clew-pg-test-<uid>), listens on 127.0.0.1
# on a free port, trusts local connections (user `clew`, superuser) and runs with fsync off:
# it is for tests only. A second call while it runs just prints the URL again (a lock makes
# concurrent calls safe). Running as root, the server runs as the `postgres` user (PostgreSQL
# refuses to run as root). Needs the PostgreSQL server binaries: on Debian/Ubuntu
# `apt-get install -y postgresql`; elsewhere put `initdb`/`pg_ctl` on PATH or set PG_BIN.
set -euo pipefail

dir="${CLEW_PG_DIR:-${TMPDIR:-/tmp}/clew-pg-test-$(id -u)}"
data="$dir/data"

find_bin() {
    if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then echo "$PG_BIN"; return; fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$newest" && -x "$newest/initdb" ]]; then echo "$newest"; return; fi
    if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir; return
    fi
    if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
    echo "postgres-test-server: PostgreSQL server binaries (initdb, pg_ctl) not found." >&2
    echo "  Debian/Ubuntu: apt-get install -y postgresql    (or set PG_BIN=/path/to/bin)" >&2
    exit 2
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() { echo "postgresql://clew@127.0.0.1:$(cat "$dir/port")/postgres"; }

running() { [[ -f "$dir/port" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + RANDOM % 40000 ))
        # A refused connection means nobody listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    echo "postgres-test-server: no free port found" >&2
    exit 1
}

bin=$(find_bin)
mkdir -p "$dir"
if [[ $(id -u) -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
    fi
    chown postgres: "$dir"
fi

exec 9>"$dir/.lock"
flock -w 120 9

if [[ "${1:-}" == "--stop" ]]; then
    if [[ -d "$data" ]]; then as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true; fi
    flock -u 9
    rm -rf "$dir"
    exit 0
fi

if running; then url; exit 0; fi

if [[ ! -f "$data/PG_VERSION" ]]; then
    rm -rf "$data"
    # C.UTF-8: byte-order collation with Unicode case folding (ILIKE on non-ASCII text).
    locale=C.UTF-8
    locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$' || locale=C
    as_owner "$bin/initdb" -D "$data" -U clew -A trust -E UTF8 --locale="$locale" --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
fi
port=$(free_port)
echo "$port" >"$dir/port"
chmod a+r "$dir/port"
as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 9>&- || { tail -n 30 "$data/server.log" >&2; exit 1; }
url
