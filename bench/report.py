#!/usr/bin/env python3
"""Markdown tables from a `server_vs_mlflow.py --out` JSON file (for docs/benchmarks.md)."""

import json
import sys

MIB = 2**20


def main(path):
    r = json.load(open(path))
    servers = [k for k in ("clew", "mlflow") if k in r]
    m = r["machine"]
    print(f"Run {r['started']} – {r['finished']}; {m['cpu']}, {m['cores']} cores, "
          f"{m['memory_bytes'] / 2**30:.0f} GiB; load average at start {m['loadavg_start'][0]:.1f}; "
          f"request {r['request_bytes']} bytes = {r['settings']['traces_per_request']} traces × "
          f"{r['settings']['spans_per_trace']} spans; {r['settings']['concurrency']} connections.\n")

    print("| OTLP ingest (durable ack) | " + " | ".join(servers) + " |")
    print("| --- |" + " --- |" * len(servers))
    steps = max(len(r[s]["fills"]) for s in servers)
    for i in range(steps):
        cells = []
        for s in servers:
            fills = r[s]["fills"]
            if i < len(fills):
                f = fills[i]
                cells.append(f"{f['from_traces']:,}→{f['to_traces']:,} traces: **{f['spans_per_s']:,.0f} spans/s** "
                             f"({f['seconds']} s, server {f['server_cpu_cores']} cores, client {f['client_cpu_cores']}, "
                             f"retries {f['retries']}{', TIMED OUT' if f['timed_out'] else ''})")
            else:
                cells.append("")
        print(f"| step {i + 1} | " + " | ".join(cells) + " |")

    print("\n| mlflow client burst (2,000 × 5 spans) | " + " | ".join(servers) + " |")
    print("| --- |" + " --- |" * len(servers))
    for key, label in (("mlflow_client_burst", "default client queue"), ("mlflow_client_burst_large_queue", "client queue 100,000")):
        cells = []
        for s in servers:
            b = r[s].get(key, {})
            if "error" in b:
                cells.append(f"error: {b['error']}")
            elif b:
                cells.append(f"{b['traces_complete']:,} landed complete ({b['fraction_complete']:.0%}), "
                             f"{b['traces_per_s_to_durable']} traces/s, client dropped {b.get('client_dropped_tasks', '?')} tasks")
            else:
                cells.append("")
        print(f"| {label} | " + " | ".join(cells) + " |")

    print("\n| search, p50 / p95 ms (results) | " + " | ".join(
        f"{s} {q['traces']:,}" for s in servers for q in r[s]["search"]) + " |")
    cols = [(s, q) for s in servers for q in r[s]["search"]]
    print("| --- |" + " --- |" * len(cols))
    labels = []
    for _, q in cols:
        for label in q["queries"]:
            if label not in labels:
                labels.append(label)
    for label in labels:
        cells = []
        for _, q in cols:
            v = q["queries"].get(label)
            if v is None:
                cells.append("")
            elif "error" in v:
                cells.append(v["error"][:60])
            else:
                n = v.get("results", v.get("spans"))
                cells.append(f"{v['p50_ms']:.1f} / {v['p95_ms']:.1f} ({n})")
        print(f"| `{label}` | " + " | ".join(cells) + " |")

    print("\n| memory and store | " + " | ".join(servers) + " |")
    print("| --- |" + " --- |" * len(servers))
    print("| processes | " + " | ".join(str(r[s]["processes"]) for s in servers) + " |")
    print("| RSS idle | " + " | ".join(f"{r[s]['idle_rss_bytes'] / MIB:,.0f} MiB" for s in servers) + " |")
    print("| RSS peak under OTLP load | " + " | ".join(
        f"{max(f['peak_rss_bytes'] for f in r[s]['fills']) / MIB:,.0f} MiB" for s in servers) + " |")
    print("| RSS after load | " + " | ".join((f"{r[s]['loaded_rss_bytes'] / MIB:,.0f} MiB" if 'loaded_rss_bytes' in r[s] else 'n/a') for s in servers) + " |")
    print("| store | " + " | ".join(
        (f"{r[s]['store_bytes'] / MIB:,.0f} MiB for {r[s]['store_spans']:,} spans = **{r[s]['store_bytes_per_span']:,.0f} B/span**"
         if r[s].get("store_bytes_per_span") else "n/a") for s in servers) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
