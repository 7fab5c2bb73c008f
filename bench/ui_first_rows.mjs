#!/usr/bin/env node
// Giant traces in the web UI (issue 4 §3): for traces of 1k, 10k and 100k spans written by
// `clew demo --giant N`, measures in headless Chromium
//   - first rows: time from navigation start to the first rendered `span-row` (in-page
//     performance.now() from a MutationObserver installed before the page's scripts run, so it
//     includes HTML, JS modules, the skeleton fetch and parse, and the first paint of the tree),
//     and the wall-clock time Playwright saw for the same;
//   - the skeleton endpoint `GET /ajax-api/clew/traces/{id}/skeleton`: latency (fresh
//     connection per request) and response size raw and gzip-compressed;
//   - scrolling: time until the rows of the middle of the trace are rendered after jumping
//     scrollTop there, and frame times while scrolling continuously (wheel-like steps per frame);
//   - the page's JS heap after load;
//   - with --mlflow PATH: the same traces' sizes logged to a real `mlflow server` with the
//     mlflow client (bench/ui_mlflow_giant.py) and opened in MLflow's own UI; both UIs are
//     timed by one criterion, navigation until the row of span `step_1` is visible.
// Each browser measurement runs in a fresh browser context (cold HTTP cache) and the median
// of --runs is reported. Results: a table on stdout and JSON in bench/results/.
//
// Run (from the repository root):
//   bash bench/ui_first_rows.sh                         # builds release clew, npm ci, runs this
//   node bench/ui_first_rows.mjs --sizes 1000,10000 --runs 3 --clew target/release/clew
//   bash bench/ui_first_rows.sh --mlflow "$CLEW_PYTHON_VENV/bin/mlflow" --mlflow-sizes 1000,10000,33000
import { createRequire } from "node:module";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import path from "node:path";
import http from "node:http";
import net from "node:net";
import zlib from "node:zlib";
import { CHROMIUM_ARGS } from "../tests/browser/lib/chromium.mjs";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const require = createRequire(path.join(repo, "tests/browser/package.json"));
const { chromium } = require("playwright-core");

const args = parseArgs(process.argv.slice(2), {
  sizes: "1000,10000,100000",
  runs: "5",
  clew: path.join(repo, "target/release/clew"),
  chromium: process.env.CLEW_CHROMIUM || "/usr/bin/chromium",
  "skeleton-requests": "10",
  out: path.join(repo, "bench/results"),
  store: "",
  // The peer: MLflow's own UI on the same sizes (path to the `mlflow` executable of a venv
  // with mlflow installed; empty = skip). Its traces are logged with the mlflow client.
  mlflow: "",
  "mlflow-sizes": "1000,10000",
  "mlflow-timeout": "120",
});
const sizes = args.sizes.split(",").map(Number);
const runs = Number(args.runs);

function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in defaults)) throw new Error(`unknown option --${key}; options: ${Object.keys(defaults).join(", ")}`);
    out[key] = argv[++i];
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET on a fresh connection: status, body bytes as sent, elapsed ms. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }),
      );
    });
    req.on("error", reject);
  });
}

async function waitHealthy(base, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`clew server exited with ${child.exitCode}`);
    try {
      if ((await get(`${base}/health`)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${base}/health within 30 s`);
}

// Installed before any page script: records when the first span row enters the DOM.
const OBSERVER = `
  window.__firstRowAt = null;
  new MutationObserver((_, observer) => {
    if (window.__firstRowAt === null && document.querySelector('[data-testid="span-row"]')) {
      window.__firstRowAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

/** Finds the tree's scrolling element and measures a jump to the middle and a continuous scroll. */
async function measureScroll(page) {
  return page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
    const row = document.querySelector('[data-testid="span-row"]');
    let scroller = row?.parentElement;
    while (scroller && !(scroller.scrollHeight > scroller.clientHeight + 10 && /(auto|scroll)/.test(getComputedStyle(scroller).overflowY))) {
      scroller = scroller.parentElement;
    }
    if (!scroller) return { error: "no scrolling container around the span rows" };
    const visibleIds = () =>
      [...document.querySelectorAll('[data-testid="span-row"]')]
        .filter((el) => el.offsetParent !== null)
        .map((el) => el.getAttribute("data-span-id"));
    const before = visibleIds().join(",");
    // Jump to the middle: time until the frame after the rows changed.
    await frame();
    const t0 = performance.now();
    scroller.scrollTop = scroller.scrollHeight / 2;
    let jumpMs = null;
    for (let i = 0; i < 120; i++) {
      const t = await frame();
      if (visibleIds().join(",") !== before) {
        jumpMs = t - t0;
        break;
      }
    }
    // Continuous scroll: 240 px per frame for 120 frames; frame-to-frame intervals.
    const intervals = [];
    let last = await frame();
    for (let i = 0; i < 120; i++) {
      scroller.scrollTop += 240;
      const t = await frame();
      intervals.push(t - last);
      last = t;
    }
    intervals.sort((a, b) => a - b);
    return {
      jumpMs,
      frameP50: intervals[Math.floor(intervals.length / 2)],
      frameP95: intervals[Math.floor(intervals.length * 0.95)],
      frameMax: intervals[intervals.length - 1],
      longFrames: intervals.filter((x) => x > 50).length,
      scrollHeight: scroller.scrollHeight,
      rowsInDom: document.querySelectorAll('[data-testid="span-row"]').length,
    };
  });
}

async function main() {
  const work = args.store ? path.dirname(path.resolve(args.store)) : mkdtempSync(path.join(tmpdir(), "clew-ui-bench-"));
  const store = args.store ? path.resolve(args.store) : path.join(work, "giant.db");
  const traces = [];
  for (const n of sizes) {
    const started = performance.now();
    const out = execFileSync(args.clew, ["--store", store, "--json", "demo", "--giant", String(n), "--experiment-name", `giant-${n}`], {
      encoding: "utf8",
    });
    const written = JSON.parse(out);
    traces.push({ spans: n, traceId: written.trace_ids[0], experimentId: written.experiment_id, writeSeconds: (performance.now() - started) / 1000 });
    console.error(`wrote ${n} spans as ${written.trace_ids[0]} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(args.clew, ["--store", store, "server", "--host", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let serverLog = "";
  server.stderr.on("data", (d) => (serverLog += d));
  const browser = await chromium.launch({
    executablePath: args.chromium,
    args: [...CHROMIUM_ARGS, "--enable-precise-memory-info"],
  });
  const results = [];
  let mlflowResults = null;
  try {
    await waitHealthy(base, server);
    for (const trace of traces) {
      // ---- the skeleton endpoint ----
      const skeletonUrl = `${base}/ajax-api/clew/traces/${trace.traceId}/skeleton`;
      const plain = [];
      const gzip = [];
      let rawBytes = 0;
      let gzipBytes = 0;
      for (let i = 0; i < Number(args["skeleton-requests"]); i++) {
        const a = await get(skeletonUrl);
        if (a.status !== 200) throw new Error(`skeleton: HTTP ${a.status}: ${a.body.toString().slice(0, 300)}`);
        plain.push(a.ms);
        rawBytes = a.body.length;
        const b = await get(skeletonUrl, { "accept-encoding": "gzip" });
        gzip.push(b.ms);
        gzipBytes = b.body.length;
        if (b.headers["content-encoding"] !== "gzip") {
          gzipBytes = zlib.gzipSync(b.body, { level: 1 }).length; // what gzip would make of it
        }
      }
      const skeleton = JSON.parse((await get(skeletonUrl)).body.toString());
      const spansInSkeleton = skeleton.skeleton?.count ?? null;
      if (spansInSkeleton !== trace.spans) throw new Error(`the skeleton has ${spansInSkeleton} spans, expected ${trace.spans}`);

      // ---- the page ----
      const loads = [];
      for (let run = 0; run < runs; run++) {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        await context.addInitScript(OBSERVER);
        const page = await context.newPage();
        const errors = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        const wallStart = performance.now();
        await page.goto(`${base}/#/experiments/${trace.experimentId}/traces/${trace.traceId}`);
        await page.locator('[data-testid="span-row"]').first().waitFor({ timeout: 120_000 });
        const wallMs = performance.now() - wallStart;
        // The criterion used for MLflow's UI too: the first step's row is on screen.
        await page.getByText("step_1", { exact: true }).first().waitFor({ timeout: 120_000 });
        const stepWallMs = performance.now() - wallStart;
        const firstRowAt = await page.evaluate(() => window.__firstRowAt);
        const nav = await page.evaluate(() => {
          const [n] = performance.getEntriesByType("navigation");
          return { domContentLoaded: n?.domContentLoadedEventEnd ?? null };
        });
        const skeletonTiming = await page.evaluate(() =>
          performance
            .getEntriesByType("resource")
            .filter((e) => e.name.includes("/skeleton"))
            .map((e) => ({ start: e.startTime, end: e.responseEnd, transfer: e.transferSize, decoded: e.decodedBodySize })),
        );
        const scroll = await measureScroll(page);
        const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
        loads.push({ firstRowMs: firstRowAt, wallMs, stepWallMs, ...nav, skeleton: skeletonTiming[0] ?? null, scroll, heap, errors });
        await context.close();
      }
      const result = {
        spans: trace.spans,
        traceId: trace.traceId,
        writeSeconds: trace.writeSeconds,
        spansInSkeleton,
        skeleton: {
          rawBytes,
          gzipBytes,
          bytesPerSpan: rawBytes / trace.spans,
          plainMsMedian: median(plain),
          plainMsP95: pct(plain, 95),
          gzipMsMedian: median(gzip),
        },
        page: {
          runs,
          firstRowMsMedian: median(loads.map((l) => l.firstRowMs)),
          firstRowMsMin: Math.min(...loads.map((l) => l.firstRowMs)),
          firstRowMsMax: Math.max(...loads.map((l) => l.firstRowMs)),
          wallMsMedian: median(loads.map((l) => l.wallMs)),
          stepWallMsMedian: median(loads.map((l) => l.stepWallMs)),
          skeletonDoneMsMedian: median(loads.map((l) => l.skeleton?.end ?? NaN)),
          jumpToMiddleMsMedian: median(loads.map((l) => l.scroll.jumpMs ?? NaN)),
          frameP50Median: median(loads.map((l) => l.scroll.frameP50 ?? NaN)),
          frameP95Median: median(loads.map((l) => l.scroll.frameP95 ?? NaN)),
          frameMaxMax: Math.max(...loads.map((l) => l.scroll.frameMax ?? NaN)),
          longFramesTotal: loads.reduce((a, l) => a + (l.scroll.longFrames ?? 0), 0),
          rowsInDom: loads[0].scroll.rowsInDom,
          heapMBMedian: median(loads.map((l) => (l.heap ?? NaN) / 1e6)),
          errors: [...new Set(loads.flatMap((l) => l.errors))],
        },
        loads,
      };
      results.push(result);
      console.error(
        `${trace.spans} spans: first rows ${result.page.firstRowMsMedian.toFixed(0)} ms (median of ${runs}), ` +
          `skeleton ${result.skeleton.plainMsMedian.toFixed(0)} ms, ${(rawBytes / 1e6).toFixed(2)} MB raw / ${(gzipBytes / 1e6).toFixed(2)} MB gzip`,
      );
    }
    server.kill("SIGTERM");
    if (args.mlflow) mlflowResults = await measureMlflow(browser);
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    if (!args.store) rmSync(work, { recursive: true, force: true });
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    chromium: browser.version(),
    node: process.version,
    clew: args.clew,
    date: new Date().toISOString(),
    // The 1/5/15-minute load averages at the end: other work on the machine inflates times.
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  };
  mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, `ui_first_rows-${machine.date.slice(0, 16).replace("T", "-").replace(":", "")}.json`);
  writeFileSync(file, JSON.stringify({ machine, results, mlflow: mlflowResults }, null, 2));

  console.log(`\n${machine.cpus} × ${machine.cpuModel}; Chromium ${machine.chromium}; ${runs} runs each; load average ${machine.loadavg.join(" / ")}\n`);
  console.log("| spans | first rows (median, min–max) | skeleton in page at | skeleton GET plain / gzip (median) | p95 plain | skeleton raw | gzip | bytes/span | jump to middle | scroll frame p50 / p95 / max | JS heap |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const p = r.page;
    const s = r.skeleton;
    console.log(
      `| ${r.spans.toLocaleString("en")} | ${p.firstRowMsMedian.toFixed(0)} ms (${p.firstRowMsMin.toFixed(0)}–${p.firstRowMsMax.toFixed(0)}) | ` +
        `${p.skeletonDoneMsMedian.toFixed(0)} ms | ${s.plainMsMedian.toFixed(0)} / ${s.gzipMsMedian.toFixed(0)} ms | ${s.plainMsP95.toFixed(0)} ms | ${fmtBytes(s.rawBytes)} | ${fmtBytes(s.gzipBytes)} | ${s.bytesPerSpan.toFixed(0)} | ` +
        `${p.jumpToMiddleMsMedian.toFixed(0)} ms | ${p.frameP50Median.toFixed(1)} / ${p.frameP95Median.toFixed(1)} / ${p.frameMaxMax.toFixed(0)} ms | ${p.heapMBMedian.toFixed(0)} MB |`,
    );
  }
  console.log("\nSame criterion for both UIs — wall time from navigation until the row of span `step_1` is visible (median):\n");
  console.log("| spans | clew | MLflow UI |");
  console.log("| ---: | ---: | ---: |");
  const allSizes = [...new Set([...results.map((r) => r.spans), ...(mlflowResults || []).map((m) => m.spans)])].sort((a, b) => a - b);
  for (const n of allSizes) {
    const r = results.find((x) => x.spans === n);
    const m = mlflowResults?.find((x) => x.spans === n);
    console.log(`| ${n.toLocaleString("en")} | ${r ? `${r.page.stepWallMsMedian.toFixed(0)} ms` : "not measured"} | ${m ? m.summary : "not measured"} |`);
  }
  const errors = results.flatMap((r) => r.page.errors);
  if (errors.length) console.log(`\npage errors: ${errors.join("; ")}`);
  console.log(`\nresults: ${file}`);
  void serverLog;
}

/** Starts `mlflow server`, logs a giant trace per size with the mlflow client, times its UI. */
async function measureMlflow(browser) {
  const work = mkdtempSync(path.join(tmpdir(), "clew-ui-bench-mlflow-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const python = path.join(path.dirname(args.mlflow), "python");
  const server = spawn(
    args.mlflow,
    ["server", "--host", "127.0.0.1", "--port", String(port), "--backend-store-uri", `sqlite:///${work}/mlflow.db`,
      "--default-artifact-root", `${work}/artifacts`],
    { stdio: ["ignore", "ignore", "ignore"], detached: true },
  );
  const out = [];
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        if ((await get(`${base}/health`)).status === 200) break;
      } catch {}
      if (Date.now() > deadline) throw new Error("mlflow server did not answer /health within 180 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const n of args["mlflow-sizes"].split(",").map(Number)) {
      const logged = JSON.parse(execFileSync(python, [path.join(repo, "bench/ui_mlflow_giant.py"), base, String(n)], { encoding: "utf8" }).trim().split("\n").pop());
      console.error(`mlflow: logged ${logged.spans} spans as ${logged.trace_id} in ${logged.seconds} s`);
      const loads = [];
      for (let run = 0; run < Math.min(runs, 3); run++) {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await context.newPage();
        const problems = [];
        page.on("crash", () => problems.push("page crashed"));
        page.on("pageerror", (e) => problems.push(e.message.slice(0, 200)));
        const started = performance.now();
        let ms = null;
        try {
          await page.goto(`${base}/#/experiments/${logged.experiment_id}/traces?selectedEvaluationId=${logged.trace_id}`);
          await page.getByText("step_1", { exact: true }).first().waitFor({ timeout: Number(args["mlflow-timeout"]) * 1000 });
          ms = performance.now() - started;
        } catch (error) {
          problems.push(String(error.message).split("\n")[0]);
        }
        // A page still busy (or crashed) may never answer: bound every further step.
        const within = (promise, ms) => Promise.race([promise.catch(() => null), new Promise((r) => setTimeout(() => r(null), ms))]);
        const heap = await within(page.evaluate(() => performance.memory?.usedJSHeapSize ?? null), 10_000);
        loads.push({ ms, heap, problems });
        await within(context.close(), 30_000);
      }
      const times = loads.map((l) => l.ms).filter((x) => x !== null);
      const summary = times.length === loads.length
        ? `${median(times).toFixed(0)} ms`
        : `no rows in ${args["mlflow-timeout"]} s in ${loads.length - times.length} of ${loads.length} runs (${[...new Set(loads.flatMap((l) => l.problems))].join("; ")})`;
      out.push({ spans: n, logged, loads, summary });
      console.error(`mlflow UI, ${n} spans: ${summary}`);
    }
  } finally {
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {}
    await new Promise((r) => setTimeout(r, 2000));
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

function fmtBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} KB`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
