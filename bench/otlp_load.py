"""A fixed OTLP load against a running server, for profiling the ingest path.

Posts `--requests` protobuf ExportTraceServiceRequests (the same generated bodies as
`server_vs_mlflow.py`: 100 traces x 5 spans each by default) over `--concurrency` keep-alive
connections to URL/v1/traces and prints spans/s acknowledged (2xx = committed), retries and
the client's own CPU. Bodies are built before the clock starts, so the client costs little.

    python bench/otlp_load.py http://127.0.0.1:5000 --requests 400 --concurrency 8
"""
import argparse
import http.client
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_vs_mlflow import Generator  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--first", type=int, default=0, help="first request number (distinct trace ids per run)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--traces-per-request", type=int, default=100)
    parser.add_argument("--spans-per-trace", type=int, default=5)
    parser.add_argument("--experiment-id", default="0")
    parser.add_argument("--server-pid", type=int, help="report the server's CPU per span, by thread")
    args = parser.parse_args()
    target = urlparse(args.url)
    t0_ms = int(time.time() * 1000) - 7 * 24 * 3600 * 1000
    gen = Generator(args.traces_per_request, args.spans_per_trace, t0_ms, 100)
    bodies = [gen.body(r) for r in range(args.first, args.first + args.requests)]
    lock = threading.Lock()
    state = {"next": 0, "acked": 0, "retries": 0, "errors": []}

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
        while True:
            with lock:
                i = state["next"]
                if i >= len(bodies):
                    return
                state["next"] += 1
            while True:
                conn.request("POST", "/v1/traces", body=bodies[i], headers={
                    "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": args.experiment_id})
                response = conn.getresponse()
                body = response.read()
                if 200 <= response.status < 300:
                    with lock:
                        state["acked"] += 1
                    break
                if response.status in (429, 503):
                    with lock:
                        state["retries"] += 1
                    time.sleep(float(response.headers.get("Retry-After", "0.2") or 0.2))
                    continue
                with lock:
                    state["errors"].append(f"HTTP {response.status}: {body[:200]!r}")
                break

    threads0 = thread_cpu(args.server_pid)
    cpu0, t0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    spans = state["acked"] * gen.tpr * gen.spt
    print(f"{spans} spans in {elapsed:.2f} s: {spans / elapsed:,.0f} spans/s; retries {state['retries']}, "
          f"errors {len(state['errors'])} {state['errors'][:2]}; client CPU {(time.process_time() - cpu0) / elapsed:.2f} cores; "
          f"loadavg {os.getloadavg()[0]:.2f}")
    if args.server_pid and spans:
        used = {name: cpu - threads0.get(name, 0.0) for name, cpu in thread_cpu(args.server_pid).items()}
        total = sum(used.values())
        parts = ", ".join(f"{name} {v / spans * 1e6:.1f}" for name, v in sorted(used.items(), key=lambda kv: -kv[1]) if v > 0)
        print(f"server CPU: {total / spans * 1e6:.1f} us/span ({total / elapsed:.2f} cores); by thread (us/span): {parts}")


def thread_cpu(pid):
    """CPU seconds (user + system) of each thread of `pid`, summed by thread name."""
    if not pid:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


if __name__ == "__main__":
    main()
