#!/usr/bin/env python3
"""Cost per span of a traced Python function: the `clew` package versus `mlflow` from PyPI.

Both libraries run the *same* code, written against MLflow's API names (`lib.trace`,
`lib.tracing.disable()`, `lib.flush_trace_async_logging()`), each in its own fresh
subprocess whose working directory is an empty temporary directory, so each uses its default
local store there and neither can disturb the other (imports, threads, caches):

* clew:   no tracking URI set -> its default embedded store `sqlite:///clew.db` (in the temp dir)
* mlflow: no tracking URI set -> its default `sqlite:///mlflow.db` (in the temp dir), with its
          default asynchronous trace logging (a background queue of 1,000 tasks, 10 workers)

Phases, per library (run `--help` for the sizes):

flat     N calls of `@trace def add(x, y): return x + y` -> N one-span traces.
nested   M calls of an `outer(x)` that calls a traced `inner(i)` 4 times -> 5 spans per trace.
disabled after `lib.tracing.disable()`: K calls of the same decorated `add`, against K calls of
         the undecorated function (the "overhead" column is the difference).
burst    10,000 one-span traces made as fast as possible, then flush, then count what landed.

For every enabled phase the time the application thread spends in the loop is measured
(`perf_counter`, wall clock, so it includes waiting for the GIL while export threads run; and
`thread_time`, the app thread's own CPU time), per span; `flush_trace_async_logging()` is timed
separately; afterwards the traces in the store are counted with plain SQL on the SQLite file (from a separate process: clew
links its own SQLite, and two SQLite copies in one process break each other's file locks).
Each timed phase is repeated `--repeats` times and the median is reported.

Prints a table and writes JSON to bench/results/python_span_cost-<timestamp>.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Which table holds one row per trace, per library (their own SQLite schemas).
TRACE_TABLES = {"clew": ("clew.db", "traces"), "mlflow": ("mlflow.db", "trace_info")}
SPAN_TABLES = {"clew": "spans", "mlflow": "spans"}


# --------------------------------------------------------------------------------------------
# worker: runs inside the per-library subprocess
# --------------------------------------------------------------------------------------------


_COUNT_SCRIPT = """
import json, sqlite3, sys
path, table, span_table = sys.argv[1:4]
con = sqlite3.connect(path, timeout=60)
traces = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
try:
    spans = con.execute(f"SELECT count(*) FROM {span_table}").fetchone()[0]
except sqlite3.Error:
    spans = None
print(json.dumps({"traces": traces, "spans": spans}))
"""


def _count(lib_name: str, workdir: str) -> dict:
    """Rows in the library's store, counted by a *separate process*.

    Not in-process: clew links its own SQLite, and two SQLite libraries in one process break
    each other's POSIX locks (closing one's file descriptor drops the other's locks), which
    can make a reader see a half-written database ("database disk image is malformed").
    """
    db_name, table = TRACE_TABLES[lib_name]
    path = os.path.join(workdir, db_name)
    if not os.path.exists(path):
        return {"traces": 0, "spans": 0, "note": f"{db_name} not created"}
    out = subprocess.run([sys.executable, "-c", _COUNT_SCRIPT, path, table, SPAN_TABLES[lib_name]],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"counting rows in {path} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def _worker(args) -> None:
    import importlib

    workdir = os.getcwd()
    t0 = time.perf_counter()
    lib = importlib.import_module(args.worker)
    import_s = time.perf_counter() - t0
    version = getattr(lib, "__version__", "?")

    def add(x, y):
        return x + y

    traced_add = lib.trace(add)

    @lib.trace
    def inner(i):
        return i * 2

    @lib.trace
    def outer(x):
        s = 0
        for i in range(4):
            s += inner(i)
        return s + x

    def flush() -> float:
        t = time.perf_counter()
        lib.flush_trace_async_logging()
        return time.perf_counter() - t

    def timed_loop(fn, n, *a):
        # The loop body is the same for every case; its own cost is measured by the
        # "plain" baseline of the disabled phase.
        wall0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns()
        for i in range(n):
            fn(i, *a)
        cpu1 = time.thread_time_ns()
        wall1 = time.perf_counter_ns()
        return wall1 - wall0, cpu1 - cpu0

    result = {"lib": args.worker, "version": version, "import_s": import_s, "python": sys.version,
              "module_file": getattr(lib, "__file__", None)}
    core = getattr(lib, "_core", None)
    if core is not None:
        # A debug build of the extension is ~10x slower; record which one ran.
        result["extension_file"] = getattr(core, "__file__", None)

    # Warm-up: first spans pay for lazy initialisation (store open, schema, worker threads).
    for i in range(200):
        traced_add(i, 2)
        outer(i)
    result["warmup_flush_s"] = flush()

    phases = {}

    def enabled_phase(name, fn, calls, spans_per_call, extra=()):
        reps = []
        for _ in range(args.repeats):
            before = _count(args.worker, workdir)["traces"]
            proc0 = time.process_time_ns()
            wall, cpu = timed_loop(fn, calls, *extra)
            flush_s = flush()
            # CPU of every thread of the process (app, export, store writer) from the first
            # span until everything is flushed: what a span costs the machine in all.
            proc_cpu = time.process_time_ns() - proc0
            after = _count(args.worker, workdir)["traces"]
            spans = calls * spans_per_call
            reps.append(
                {
                    "calls": calls,
                    "spans": spans,
                    "wall_us_per_span": wall / 1e3 / spans,
                    "cpu_us_per_span": cpu / 1e3 / spans,
                    "process_cpu_us_per_span": proc_cpu / 1e3 / spans,
                    "loop_s": wall / 1e9,
                    "flush_s": flush_s,
                    "traces_landed": after - before,
                }
            )
            print(f"  [{args.worker}] {name}: {reps[-1]}", file=sys.stderr, flush=True)
        phases[name] = {
            "reps": reps,
            "wall_us_per_span": statistics.median(r["wall_us_per_span"] for r in reps),
            "cpu_us_per_span": statistics.median(r["cpu_us_per_span"] for r in reps),
            "wall_us_per_span_min": min(r["wall_us_per_span"] for r in reps),
            "cpu_us_per_span_min": min(r["cpu_us_per_span"] for r in reps),
            "flush_s": statistics.median(r["flush_s"] for r in reps),
            "process_cpu_us_per_span": statistics.median(r["process_cpu_us_per_span"] for r in reps),
            "traces_expected": calls,
            "traces_landed_min": min(r["traces_landed"] for r in reps),
        }

    enabled_phase("flat", traced_add, args.calls, 1, (2,))
    enabled_phase("nested", lambda i: outer(i), args.nested_calls, 5)

    # Disabled: the decorated function against the plain one, same loop.
    lib.tracing.disable()
    try:
        reps = []
        for _ in range(args.repeats):
            plain_wall, plain_cpu = timed_loop(add, args.disabled_calls, 2)
            dis_wall, dis_cpu = timed_loop(traced_add, args.disabled_calls, 2)
            n = args.disabled_calls
            reps.append(
                {
                    "calls": n,
                    "plain_us_per_call": plain_wall / 1e3 / n,
                    "decorated_us_per_call": dis_wall / 1e3 / n,
                    "overhead_us_per_span": (dis_wall - plain_wall) / 1e3 / n,
                    "plain_cpu_us_per_call": plain_cpu / 1e3 / n,
                    "decorated_cpu_us_per_call": dis_cpu / 1e3 / n,
                }
            )
            print(f"  [{args.worker}] disabled: {reps[-1]}", file=sys.stderr, flush=True)
        before = _count(args.worker, workdir)["traces"]
        flush()
        leaked = _count(args.worker, workdir)["traces"] - before
        # Minimum over repeats: on a shared machine noise only ever adds time, and the
        # difference of two medians of noisy loops can even come out negative.
        plain = min(r["plain_us_per_call"] for r in reps)
        decorated = min(r["decorated_us_per_call"] for r in reps)
        phases["disabled"] = {
            "reps": reps,
            "plain_us_per_call": plain,
            "decorated_us_per_call": decorated,
            "overhead_us_per_span": decorated - plain,
            "overhead_cpu_us_per_span": min(r["decorated_cpu_us_per_call"] for r in reps)
            - min(r["plain_cpu_us_per_call"] for r in reps),
            "traces_written_while_disabled": leaked,
        }
    finally:
        lib.tracing.enable()

    # Burst: as fast as possible, then flush and count.
    before = _count(args.worker, workdir)["traces"]
    t = time.perf_counter()
    for i in range(args.burst):
        traced_add(i, 2)
    make_s = time.perf_counter() - t
    flush_s = flush()
    counts = _count(args.worker, workdir)
    landed = counts["traces"] - before
    # Recounted after a pause: tells "not yet written when flush returned" from "lost".
    time.sleep(3)
    landed_later = _count(args.worker, workdir)["traces"] - before
    stats_fn = getattr(getattr(lib, "_core", None), "export_stats", None)
    phases["burst"] = {
        "traces": args.burst,
        "make_s": make_s,
        "flush_s": flush_s,
        "landed_3s_after_flush": landed_later,
        "export_stats": dict(stats_fn()) if stats_fn else None,
        "landed": landed,
        "lost": args.burst - landed,
        "lost_pct": 100.0 * (args.burst - landed) / args.burst if args.burst else 0.0,
    }
    print(f"  [{args.worker}] burst: {phases['burst']}", file=sys.stderr, flush=True)

    result["phases"] = phases
    result["store"] = counts
    db = os.path.join(workdir, TRACE_TABLES[args.worker][0])
    result["store_bytes"] = sum(
        os.path.getsize(p) for p in (db, db + "-wal", db + "-shm") if os.path.exists(p)
    )
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------


def _machine() -> dict:
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception as e:  # noqa: BLE001 - informational only
            return f"({e})"

    lscpu = sh(["lscpu"])
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    return {
        "cpu_model": model,
        "nproc": sh(["nproc"]),
        "uptime": sh(["uptime"]),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def _run_lib(lib: str, args) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"pyspan-{lib}-") as tmp:
        env = dict(os.environ)
        # Each library's defaults: no tracking URI, no destination overrides.
        for k in list(env):
            if k.startswith(("MLFLOW_", "CLEW_")):
                env.pop(k)
        if lib == "clew" and args.clew_path:
            # e.g. an unpacked release wheel, ahead of an editable (debug) install.
            env["PYTHONPATH"] = os.pathsep.join(p for p in (args.clew_path, env.get("PYTHONPATH")) if p)
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--worker", lib,
            "--calls", str(args.calls), "--nested-calls", str(args.nested_calls),
            "--disabled-calls", str(args.disabled_calls), "--burst", str(args.burst),
            "--repeats", str(args.repeats),
        ]
        load_before = os.getloadavg()
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        log = Path(args.log_dir) / f"python_span_cost-{lib}.stderr.log"
        log.write_text(proc.stderr)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            tail = "\n".join(proc.stderr.splitlines()[-30:])
            raise SystemExit(f"{lib} worker failed (exit {proc.returncode}); stderr tail:\n{tail}")
        res = json.loads(line[len("RESULT "):])
        res["loadavg_before"] = load_before
        res["loadavg_after"] = os.getloadavg()
        res["elapsed_s"] = elapsed
        res["stderr_warnings"] = sum(1 for ln in proc.stderr.splitlines() if "WARNING" in ln)
        return res


def _table(results: dict) -> str:
    libs = list(results)
    rows = [("", *libs)]

    def f(v, nd=2):
        return "—" if v is None else f"{v:,.{nd}f}"

    def get(lib, *keys):
        cur = results[lib]
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        return cur

    rows.append(("version", *[str(get(l, "version")) for l in libs]))
    rows.append(("flat: µs/span app thread (wall)", *[f(get(l, "phases", "flat", "wall_us_per_span")) for l in libs]))
    rows.append(("flat: µs/span app thread (CPU)", *[f(get(l, "phases", "flat", "cpu_us_per_span")) for l in libs]))
    rows.append(("flat: µs/span all threads incl. export (CPU)", *[f(get(l, "phases", "flat", "process_cpu_us_per_span")) for l in libs]))
    rows.append(("flat: flush after N calls (s)", *[f(get(l, "phases", "flat", "flush_s"), 3) for l in libs]))
    rows.append(("flat: traces landed / expected", *[f"{get(l, 'phases', 'flat', 'traces_landed_min'):,} / {get(l, 'phases', 'flat', 'traces_expected'):,}" for l in libs]))
    rows.append(("nested (5 spans): µs/span (wall)", *[f(get(l, "phases", "nested", "wall_us_per_span")) for l in libs]))
    rows.append(("nested: µs/span (CPU)", *[f(get(l, "phases", "nested", "cpu_us_per_span")) for l in libs]))
    rows.append(("nested: µs/span all threads (CPU)", *[f(get(l, "phases", "nested", "process_cpu_us_per_span")) for l in libs]))
    rows.append(("nested: flush (s)", *[f(get(l, "phases", "nested", "flush_s"), 3) for l in libs]))
    rows.append(("nested: traces landed / expected", *[f"{get(l, 'phases', 'nested', 'traces_landed_min'):,} / {get(l, 'phases', 'nested', 'traces_expected'):,}" for l in libs]))
    rows.append(("disabled: µs/call decorated", *[f(get(l, "phases", "disabled", "decorated_us_per_call"), 3) for l in libs]))
    rows.append(("disabled: µs/call plain function", *[f(get(l, "phases", "disabled", "plain_us_per_call"), 3) for l in libs]))
    rows.append(("disabled: overhead µs/span", *[f(get(l, "phases", "disabled", "overhead_us_per_span"), 3) for l in libs]))
    rows.append(("disabled: overhead µs/span (CPU)", *[f(get(l, "phases", "disabled", "overhead_cpu_us_per_span"), 3) for l in libs]))
    rows.append(("burst: 10k traces made in (s)", *[f(get(l, "phases", "burst", "make_s"), 3) for l in libs]))
    rows.append(("burst: flush (s)", *[f(get(l, "phases", "burst", "flush_s"), 3) for l in libs]))
    rows.append(("burst: landed / lost", *[f"{get(l, 'phases', 'burst', 'landed'):,} / {get(l, 'phases', 'burst', 'lost'):,} ({get(l, 'phases', 'burst', 'lost_pct'):.1f}%)" for l in libs]))
    rows.append(("flat: µs/span wall, best repeat", *[f(get(l, "phases", "flat", "wall_us_per_span_min")) for l in libs]))
    rows.append(("import time (s)", *[f(get(l, "import_s"), 3) for l in libs]))
    rows.append(("load avg before run (1 min)", *[f(get(l, "loadavg_before")[0]) for l in libs]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, r in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
        if j == 0:
            out.append("| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--libs", default="clew,mlflow", help="comma-separated: clew, mlflow")
    p.add_argument("--calls", type=int, default=20_000, help="flat phase: one-span traces per repeat")
    p.add_argument("--nested-calls", type=int, default=4_000, help="nested phase: 5-span traces per repeat")
    p.add_argument("--disabled-calls", type=int, default=200_000)
    p.add_argument("--burst", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--clew-path", help="directory put first on PYTHONPATH for the clew worker "
                   "(an unpacked release wheel), so a debug editable install is not what is measured")
    p.add_argument("--out", help="JSON output (default bench/results/python_span_cost-<time>.json)")
    p.add_argument("--log-dir", default=str(HERE / "results"))
    args = p.parse_args()
    if args.worker:
        _worker(args)
        return

    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    machine = _machine()
    print(f"machine: {machine['cpu_model']}, nproc {machine['nproc']}; {machine['uptime']}", flush=True)
    results = {}
    for lib in [x.strip() for x in args.libs.split(",") if x.strip()]:
        print(f"running {lib} ...", flush=True)
        results[lib] = _run_lib(lib, args)
    print()
    print(_table(results))
    out = args.out or str(HERE / "results" / f"python_span_cost-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    Path(out).write_text(
        json.dumps(
            {"machine": machine, "machine_after": {"uptime": _machine()["uptime"]},
             "params": {k: v for k, v in vars(args).items() if k != "worker"}, "results": results},
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
