#!/usr/bin/env python3
"""clew server vs the real `mlflow server`: ingest, search latency, memory, store size.

Runs each server alone (never both at once, so they do not compete for the 2 cores), with a
SQLite store in a scratch directory, and drives both with the same generated traces:

1. idle RSS after start;
2. the mlflow-client path: `tests/compat/mlflow_client_burst.py` logs a burst of five-span traces
   with the unmodified mlflow client (default async export) and counts what landed;
3. OTLP ingest: `ExportTraceServiceRequest`s (protobuf) of `--traces-per-request` traces of
   `--spans-per-trace` spans, posted by `--concurrency` keep-alive connections, every request
   acknowledged 2xx (clew: 2xx = committed); 429/503 are retried after Retry-After. The store is
   filled step by step to each size of `--sizes` (the fill rate is the ingest number);
4. at each size: p50/p95 latency of SearchTracesV3 (no filter, a tag filter, a time range,
   `trace.text ILIKE`) and GetTrace, each request on a fresh connection (this sidesteps MLflow's
   ~40 ms keep-alive stall, mlflow-wire-observed.md §2.3, so the comparison is of the servers);
5. RSS (the whole process tree) sampled during the fills, store bytes per span at the end.

Requests are built from pre-serialised protobuf templates whose ids and timestamps are patched
with bytes.replace, so the Python client spends little CPU per span; the client's own CPU use is
reported so a client bottleneck shows. Every phase is bounded in time (`--fill-seconds`,
`--mlflow-fill-seconds`); a size that cannot be reached in time is reported as the size reached.

Usage (from the repository root, with the venv that has mlflow and opentelemetry-proto):
    cargo build --release -p clew-cli
    $VENV/bin/python bench/server_vs_mlflow.py --out bench/results/run.json
    $VENV/bin/python bench/server_vs_mlflow.py --sizes 1000 --mlflow-sizes 200 --quick   # smoke test
"""

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

REPO = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT_S = 120  # one search/get request; longer counts as no answer (--request-timeout)
MIN_FREE_BYTES = 4 * 2**30  # a fill stops before the disk gets this full (--min-free-gb)
PYTHON = sys.executable

# ---- process helpers ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid):
    """pid and all its descendants (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_rss_bytes(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def tree_cpu_seconds(pid):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def self_cpu_seconds():
    t = os.times()
    return t.user + t.system


class RssSampler:
    """Samples a process tree's RSS every 0.5 s in a thread; keeps the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def dir_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


class Server:
    """One server process (its own process group), its URL and scratch directory."""

    def __init__(self, kind, workdir, clew_bin):
        self.kind, self.workdir = kind, Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.workdir / "server.log", "w")
        if kind == "clew":
            self.store_files = [self.workdir / "clew.db", self.workdir / "clew.db-wal",
                                self.workdir / "clew.db-fts", self.workdir / "clew.db-fts-wal"]  # + the text index
            cmd = [clew_bin, "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--store", f"sqlite:///{self.workdir / 'clew.db'}"]
        else:
            self.store_files = [self.workdir / "mlflow.db", self.workdir / "artifacts"]
            cmd = [str(Path(PYTHON).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
                   "--default-artifact-root", str(self.workdir / "artifacts")]
        env = dict(os.environ, CLEW_QUIET="1")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.time() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited: {(self.workdir / 'server.log').read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{kind} server not healthy in 120 s")
            time.sleep(0.3)

    def rss(self):
        return tree_rss_bytes(self.proc.pid)

    def cpu(self):
        return tree_cpu_seconds(self.proc.pid)

    def processes(self):
        return len(process_tree(self.proc.pid))

    def store_bytes(self):
        total = 0
        for f in self.store_files:
            if f.is_dir():
                total += dir_bytes(f)
            elif f.exists():
                total += f.stat().st_size
        return total

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# ---- trace generation --------------------------------------------------------------------------

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
RARE_WORD = "zephyrine"  # only in template 0, trace slot 0: 1 trace in templates*traces_per_request
N_TEMPLATES = 8
ID_MARKER = bytes.fromhex("c1e5d00dfeedbeef")      # low 8 bytes of every trace id -> request counter
SPAN_MARKER = bytes.fromhex("9e3779b9")            # high 4 bytes of every span id -> request counter
TIME_BASE = 0x7E7E_0000_0000_0000                  # placeholder start/end times (fixed64 LE)
ERROR_SLOT = 7                                     # this trace slot of every request has an ERROR root


def kv(key, value):
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


class Generator:
    """Request bodies: traces_per_request traces of spans_per_trace spans (a CHAIN root, then
    RETRIEVER, LLM (with an event and token usage), TOOL, ... children), ~300-400 bytes of
    JSON inputs/outputs per span. Request r gets trace ids `slot || r`, timestamps
    `t0 + r * request_spacing_ms`."""

    def __init__(self, traces_per_request, spans_per_trace, t0_ms, request_spacing_ms):
        self.tpr, self.spt = traces_per_request, spans_per_trace
        self.t0_ns, self.spacing_ns = t0_ms * 1_000_000, request_spacing_ms * 1_000_000
        self.templates = [self._template(k) for k in range(N_TEMPLATES)]

    def _time_marker(self, position, end):
        return TIME_BASE + position * 2 + (1 if end else 0)

    def _span_times(self, position):
        """(start offset ns, end offset ns) of a span position within its trace."""
        if position == 0:
            return 0, 40_000_000 + 10_000_000 * self.spt
        return 5_000_000 + 10_000_000 * (position - 1), 12_000_000 + 10_000_000 * (position - 1)

    def _template(self, k):
        rng = random.Random(k)
        kinds = ["RETRIEVER", "LLM", "TOOL", "CHAT_MODEL", "EMBEDDING", "PARSER"]
        spans = []
        for slot in range(self.tpr):
            trace_id = struct.pack(">HH", 0x5C1E, slot) + b"\x00\x00\x00\x01" + ID_MARKER
            for position in range(self.spt):
                span_id = SPAN_MARKER + struct.pack(">HBB", slot, position, 1)
                span = Span(trace_id=trace_id, span_id=span_id, name="answer" if position == 0 else f"step_{position}",
                            start_time_unix_nano=self._time_marker(position, False),
                            end_time_unix_nano=self._time_marker(position, True))
                if position > 0:
                    span.parent_span_id = SPAN_MARKER + struct.pack(">HBB", slot, 0, 1)
                kind = "CHAIN" if position == 0 else kinds[(position - 1) % len(kinds)]
                text = sentence(rng, 24)
                if k == 0 and slot == 0 and position == self.spt - 1:
                    text += " " + RARE_WORD
                inputs = {"query": sentence(rng, 12), "k": position, "options": {"temperature": 0.2}}
                outputs = {"text": text, "score": round(rng.random(), 4)}
                span.attributes.extend([
                    kv("mlflow.spanType", kind),
                    kv("mlflow.spanInputs", json.dumps(inputs)),
                    kv("mlflow.spanOutputs", json.dumps(outputs)),
                    kv("bench.template", k),
                    kv("bench.flag", position % 2 == 0),
                ])
                if kind == "LLM":
                    span.attributes.extend([
                        kv("mlflow.llm.model", "gpt-4o-mini"),
                        kv("gen_ai.usage.input_tokens", 120 + slot),
                        kv("gen_ai.usage.output_tokens", 40 + position),
                    ])
                    ev = span.events.add(name="first_token", time_unix_nano=self._time_marker(position, False))
                    ev.attributes.extend([kv("token.index", 0)])
                error = position == 0 and slot == ERROR_SLOT
                span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK,
                                            message="ValueError: bench failure" if error else ""))
                spans.append(span)
        request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])
        request.resource_spans[0].resource.attributes.extend([kv("service.name", "clew-bench")])
        body = request.SerializeToString()
        assert body.count(ID_MARKER) == self.tpr * self.spt, "id marker collides with content"
        return body

    def request_time_ms(self, r):
        return (self.t0_ns + r * self.spacing_ns) // 1_000_000

    def body(self, r):
        body = self.templates[r % N_TEMPLATES].replace(ID_MARKER, struct.pack(">Q", r + 1))
        body = body.replace(SPAN_MARKER, struct.pack(">I", (r + 1) & 0xFFFFFFFF))
        base = self.t0_ns + r * self.spacing_ns
        for position in range(self.spt):
            start, end = self._span_times(position)
            for is_end, offset in ((False, start), (True, end)):
                body = body.replace(struct.pack("<Q", self._time_marker(position, is_end)), struct.pack("<Q", base + offset))
        return body

    def trace_id(self, r, slot):
        return "tr-" + (struct.pack(">HH", 0x5C1E, slot) + b"\x00\x00\x00\x01" + struct.pack(">Q", r + 1)).hex()


# ---- load --------------------------------------------------------------------------------------


def post_otlp(session, url, experiment_id, body, stats):
    """POST until acknowledged 2xx; 429/503 wait Retry-After. Returns False on a hard failure."""
    for _attempt in range(200):
        try:
            response = session.post(url + "/v1/traces", data=body, timeout=300, headers={
                "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id})
        except requests.RequestException as error:
            stats["errors"].append(str(error)[:200])
            time.sleep(0.5)
            continue
        if 200 <= response.status_code < 300:
            return True
        if response.status_code in (429, 503):
            stats["retries"] += 1
            time.sleep(min(float(response.headers.get("Retry-After", "0.2") or 0.2), 2.0))
            continue
        stats["errors"].append(f"HTTP {response.status_code}: {response.text[:200]}")
        return False
    return False


def fill(server, gen, experiment_id, first_request, last_request, concurrency, deadline_s):
    """Posts requests [first, last) with `concurrency` connections; stops at the deadline.
    Returns (requests acknowledged, stats)."""
    stats = {"retries": 0, "errors": [], "acked": 0}
    lock = threading.Lock()
    next_request = [first_request]
    stop_at = time.time() + deadline_s
    acked_requests = []

    disk_low = [False]

    def worker():
        session = requests.Session()
        while time.time() < stop_at and not disk_low[0]:
            if shutil.disk_usage(server.workdir).free < MIN_FREE_BYTES:
                disk_low[0] = True
                return
            with lock:
                r = next_request[0]
                if r >= last_request:
                    return
                next_request[0] += 1
            if post_otlp(session, server.url, experiment_id, gen.body(r), stats):
                with lock:
                    acked_requests.append(r)
            elif len(stats["errors"]) > 20:
                return

    cpu_server0, cpu_client0, t0 = server.cpu(), self_cpu_seconds(), time.perf_counter()
    with RssSampler(server.proc.pid) as rss:
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.perf_counter() - t0
    acked_requests.sort()
    # The contiguous prefix of acknowledged requests is what later phases may rely on.
    contiguous = first_request
    for r in acked_requests:
        if r != contiguous:
            break
        contiguous += 1
    spans = len(acked_requests) * gen.tpr * gen.spt
    stats.update({
        "requests_acked": len(acked_requests),
        "spans_acked": spans,
        "seconds": round(elapsed, 2),
        "spans_per_s": round(spans / elapsed, 1) if elapsed else 0,
        "traces_per_s": round(spans / gen.spt / elapsed, 1) if elapsed else 0,
        "server_cpu_cores": round((server.cpu() - cpu_server0) / elapsed, 2) if elapsed else 0,
        "client_cpu_cores": round((self_cpu_seconds() - cpu_client0) / elapsed, 2) if elapsed else 0,
        "peak_rss_bytes": rss.peak,
        "timed_out": time.time() >= stop_at,
        "stopped_disk_low": disk_low[0],
        "errors": stats["errors"][:5],
    })
    return contiguous, stats


def rest(server, method, path, body=None, timeout=300):
    """One request on a fresh connection: (status, json or text, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    payload = json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    t0 = time.perf_counter()
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = data.decode(errors="replace")
    return response.status, parsed, elapsed


def tag_traces(server, gen, first_request, last_request, every, concurrency):
    """tags.env = 'canary' on every `every`-th trace of the given requests (PATCH set-tag)."""
    ids = [gen.trace_id(r, slot) for r in range(first_request, last_request) for slot in range(gen.tpr)
           if (r * gen.tpr + slot) % every == 0]

    def tag(trace_id):
        status, body, _ = rest(server, "PATCH", f"/api/2.0/mlflow/traces/{trace_id}/tags", {"key": "env", "value": "canary"})
        return status

    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(tag, ids))
    return len(ids), sum(1 for s in statuses if s != 200)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def text_index_lag(server):
    """clew's `clew_text_index_lag_spans` gauge (None if not reported)."""
    try:
        status, text, _ = rest(server, "GET", "/metrics", None, 30)
    except OSError:
        return None
    for line in str(text).splitlines():
        if line.startswith("clew_text_index_lag_spans "):
            return int(float(line.split()[1]))
    return None


def wait_for_text_index(server, limit_s):
    """Seconds until the text index lag is 0 (None if not within `limit_s`)."""
    t0 = time.time()
    while time.time() - t0 < limit_s:
        if text_index_lag(server) == 0:
            return round(time.time() - t0, 1)
        time.sleep(0.5)
    return None


def search_suite(server, gen, experiment_id, requests_loaded, samples, time_limit_s, only=None, label_suffix=""):
    """p50/p95 of each query over `samples` fresh-connection requests (bounded in time); with
    `only`, just that filter and no get_trace."""
    n_traces = requests_loaded * gen.tpr
    # The traces of the requests in [45%, 55%) of the load (at least one request).
    r_lo = requests_loaded * 45 // 100
    r_hi = max(r_lo + 1, requests_loaded * 55 // 100)
    window_lo, window_hi = gen.request_time_ms(r_lo), gen.request_time_ms(r_hi)
    location = [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}]
    queries = {
        "no filter": None,
        "tag filter (tags.env = 'canary', 1%)": "tags.env = 'canary'",
        "time range (10% window)": f"trace.timestamp_ms >= {window_lo} AND trace.timestamp_ms < {window_hi}",
        "status (trace.status = 'ERROR', 1%)": "trace.status = 'ERROR'",
        f"trace.text ILIKE '%{RARE_WORD}%'": f"trace.text ILIKE '%{RARE_WORD}%'",
    }
    if only:
        queries = {label + label_suffix: f for label, f in queries.items() if f == only}
    rng = random.Random(42)
    results = {}
    for label, filter_string in queries.items():
        body = {"locations": location, "max_results": 100, "order_by": ["timestamp_ms DESC"]}
        if filter_string:
            body["filter"] = filter_string
        latencies, statuses, count = [], set(), None
        stop_at = time.time() + time_limit_s
        for i in range(samples):
            try:
                status, parsed, elapsed = rest(server, "POST", "/api/3.0/mlflow/traces/search", body, REQUEST_TIMEOUT_S)
            except OSError as error:  # socket timeout included
                results[label] = {"error": f"no answer within {REQUEST_TIMEOUT_S} s ({type(error).__name__})"}
                break
            statuses.add(status)
            if count is None:
                count = len(parsed.get("traces", [])) if isinstance(parsed, dict) else None
                if status != 200:
                    results[label] = {"error": f"HTTP {status}: {str(parsed)[:300]}"}
                    break
            latencies.append(elapsed)
            if time.time() > stop_at and len(latencies) >= 3:
                break
        if latencies and label not in results:
            results[label] = summary(latencies, statuses, count)
        print(f"   {n_traces:>8} traces  {label:<42} {results.get(label)}", flush=True)
    if only:
        return {"traces": n_traces, "queries": results}
    latencies, statuses, spans = [], set(), None
    stop_at = time.time() + time_limit_s
    for i in range(samples):
        r, slot = rng.randrange(requests_loaded), rng.randrange(gen.tpr)
        trace_id = gen.trace_id(r, slot)
        try:
            status, parsed, elapsed = rest(server, "GET", f"/api/3.0/mlflow/traces/get?trace_id={trace_id}&allow_partial=False",
                                           None, REQUEST_TIMEOUT_S)
        except OSError as error:
            results["get_trace"] = {"error": f"no answer within {REQUEST_TIMEOUT_S} s ({type(error).__name__})"}
            break
        statuses.add(status)
        if spans is None:
            spans = len(parsed.get("trace", {}).get("spans", [])) if isinstance(parsed, dict) else None
            if status != 200:
                results["get_trace"] = {"error": f"HTTP {status}: {str(parsed)[:300]}"}
                break
        latencies.append(elapsed)
        if time.time() > stop_at and len(latencies) >= 3:
            break
    if latencies and "get_trace" not in results:
        results["get_trace"] = summary(latencies, statuses, spans, "spans")
    return {"traces": n_traces, "queries": results}


def summary(latencies, statuses, count, what="results"):
    return {"p50_ms": round(percentile(latencies, 50) * 1000, 2), "p95_ms": round(percentile(latencies, 95) * 1000, 2),
            "samples": len(latencies), "statuses": sorted(statuses), what: count}


def mlflow_client_burst(server, traces, time_limit_s, client_queue=None):
    """tests/compat/mlflow_client_burst.py against the server; its BURST_RESULT line."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=server.url, PYTHONUNBUFFERED="1")
    for k in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(k, None)
    cmd = [PYTHON, str(REPO / "tests/compat/mlflow_client_burst.py"), "--traces", str(traces), "--report-only",
           "--count-timeout", "30"] + (["--client-queue", str(client_queue)] if client_queue else [])
    with RssSampler(server.proc.pid) as rss:
        try:
            out = subprocess.run(cmd, cwd=server.workdir, env=env, capture_output=True, text=True, timeout=time_limit_s)
        except subprocess.TimeoutExpired as error:
            return {"error": f"timed out after {time_limit_s} s", "peak_rss_bytes": rss.peak,
                    "tail": (error.stdout or b"")[-500:] if isinstance(error.stdout, str) else ""}
    for line in out.stdout.splitlines():
        if line.startswith("BURST_RESULT "):
            result = json.loads(line[len("BURST_RESULT "):])
            result["peak_rss_bytes"] = rss.peak
            return result
    return {"error": f"exit {out.returncode}", "tail": (out.stdout + out.stderr)[-1500:]}


def create_experiment(server, name):
    status, body, _ = rest(server, "POST", "/api/2.0/mlflow/experiments/create", {"name": name})
    if status != 200:
        raise RuntimeError(f"create experiment: HTTP {status}: {body}")
    return body["experiment_id"]


# ---- the run -----------------------------------------------------------------------------------


def bench_server(kind, args, gen, save, out):
    workdir = Path(args.workdir) / kind
    if workdir.exists():
        subprocess.run(["rm", "-rf", str(workdir)], check=True)
    print(f"== {kind}: starting", flush=True)
    server = Server(kind, workdir, args.clew_bin)
    try:
        time.sleep(3)
        out["idle_rss_bytes"] = server.rss()
        out["processes"] = server.processes()
        print(f"   idle RSS {out['idle_rss_bytes'] / 2**20:.0f} MiB in {out['processes']} processes", flush=True)

        if args.burst_traces:
            print(f"   mlflow client burst of {args.burst_traces} traces (default client queue)", flush=True)
            out["mlflow_client_burst"] = mlflow_client_burst(server, args.burst_traces, args.burst_seconds)
            print(f"   {out['mlflow_client_burst']}", flush=True)
            print(f"   mlflow client burst of {args.burst_traces} traces (client queue 100000)", flush=True)
            out["mlflow_client_burst_large_queue"] = mlflow_client_burst(server, args.burst_traces, args.burst_seconds, 100000)
            print(f"   {out['mlflow_client_burst_large_queue']}", flush=True)

        experiment_id = create_experiment(server, "bench-otlp")
        sizes = args.sizes if kind == "clew" else args.mlflow_sizes
        fill_seconds = args.fill_seconds if kind == "clew" else args.mlflow_fill_seconds
        loaded, out["fills"], out["search"] = 0, [], []
        for size in sizes:
            target_requests = max(1, size // gen.tpr)
            if target_requests > loaded:
                print(f"   fill to {target_requests * gen.tpr} traces ({args.concurrency} connections)", flush=True)
                reached, stats = fill(server, gen, experiment_id, loaded, target_requests, args.concurrency, fill_seconds)
                stats["from_traces"], stats["to_traces"] = loaded * gen.tpr, reached * gen.tpr
                out["fills"].append(stats)
                print(f"   {json.dumps(stats)}", flush=True)
                tagged, tag_failures = tag_traces(server, gen, loaded, reached, 100, args.concurrency)
                print(f"   tagged {tagged} traces env=canary ({tag_failures} failed)", flush=True)
                loaded = reached
                if reached < target_requests:
                    print(f"   size {size} not reached (time bound {fill_seconds} s or disk): "
                          f"stopping at {reached * gen.tpr} traces", flush=True)
            if loaded == 0:
                break
            result = {"text_index_lag_spans_before": text_index_lag(server)} if kind == "clew" else {}
            result.update(search_suite(server, gen, experiment_id, loaded, args.samples, args.query_seconds))
            if kind == "clew":
                # The suite ran right after the fill, with the text index possibly trailing (its
                # unindexed spans are scanned). Once it has caught up, the text query again.
                waited = wait_for_text_index(server, 300)
                result["text_index_caught_up_after_s"] = waited
                caught_up = search_suite(server, gen, experiment_id, loaded, args.samples, args.query_seconds,
                                         only=f"trace.text ILIKE '%{RARE_WORD}%'", label_suffix=" (index caught up)")
                result["queries"].update(caught_up["queries"])
            result["rss_bytes"] = server.rss()
            out["search"].append(result)
            save()
            print(f"   {result['traces']:>8} traces  get_trace {result['queries'].get('get_trace')}", flush=True)
            if loaded < target_requests:
                break
        out["traces_loaded_otlp"] = loaded * gen.tpr
        out["loaded_rss_bytes"] = server.rss()
    finally:
        server.stop()
    out["store_bytes"] = server.store_bytes()
    spans_total = out.get("traces_loaded_otlp", 0) * gen.spt
    for key in ("mlflow_client_burst", "mlflow_client_burst_large_queue"):
        spans_total += out.get(key, {}).get("traces_found", 0) * 5
    out["store_spans"] = spans_total
    out["store_bytes_per_span"] = round(out["store_bytes"] / spans_total, 1) if spans_total else None
    print(f"   store {out['store_bytes'] / 2**20:.1f} MiB, {out['store_bytes_per_span']} B/span", flush=True)
    return out


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clew-bin", default=str(REPO / "target/release/clew"))
    parser.add_argument("--only", choices=["clew", "mlflow"])
    parser.add_argument("--sizes", default="1000,100000,1000000", help="clew store sizes (traces)")
    parser.add_argument("--mlflow-sizes", default="1000", help="MLflow store sizes (traces)")
    parser.add_argument("--spans-per-trace", type=int, default=5)
    parser.add_argument("--traces-per-request", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--fill-seconds", type=float, default=600, help="time bound of each clew fill step")
    parser.add_argument("--mlflow-fill-seconds", type=float, default=300, help="time bound of each MLflow fill step")
    parser.add_argument("--samples", type=int, default=30, help="requests per query")
    parser.add_argument("--query-seconds", type=float, default=60, help="time bound per query")
    parser.add_argument("--burst-traces", type=int, default=2000, help="mlflow-client burst size (0: skip)")
    parser.add_argument("--burst-seconds", type=float, default=600)
    parser.add_argument("--workdir", default="/tmp/clew-bench")
    parser.add_argument("--out", help="write the results as JSON here (rewritten after every phase)")
    parser.add_argument("--request-timeout", type=float, default=120, help="seconds one search/get may take")
    parser.add_argument("--min-free-gb", type=float, default=4.0, help="stop filling when the disk has less free")
    args = parser.parse_args()
    global MIN_FREE_BYTES, REQUEST_TIMEOUT_S
    MIN_FREE_BYTES = int(args.min_free_gb * 2**30)
    REQUEST_TIMEOUT_S = args.request_timeout
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.mlflow_sizes = [int(s) for s in args.mlflow_sizes.split(",") if s]

    # Virtual time: request r starts at t0 + r * 100 ms, i.e. ~1,000 traces per second of history.
    t0_ms = int(time.time() * 1000) - 7 * 24 * 3600 * 1000
    gen = Generator(args.traces_per_request, args.spans_per_trace, t0_ms, 100)
    result = {"machine": machine(), "settings": {k: v for k, v in vars(args).items()},
              "request_bytes": len(gen.body(0)), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"request body: {result['request_bytes']} bytes for {gen.tpr * gen.spt} spans", flush=True)
    t0 = time.perf_counter()
    for _ in range(50):
        gen.body(12345)
    print(f"client cost of building one request: {(time.perf_counter() - t0) / 50 * 1000:.2f} ms", flush=True)

    def save():
        result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, indent=2))

    for kind in ("clew", "mlflow"):
        if args.only and args.only != kind:
            continue
        result[kind] = {"server": kind}
        bench_server(kind, args, gen, save, result[kind])
        result[kind]["loadavg_after"] = os.getloadavg()
        save()
    if args.out:
        print(f"results written to {args.out}", flush=True)


if __name__ == "__main__":
    main()
