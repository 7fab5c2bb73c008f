// Shared plumbing for the browser tests: the Chromium launch, a page that records console
// errors and failed requests, screenshots in light and dark, and lookups of the demo traces
// through the server's MLflow REST API.
//
// scripts/test-browser.sh sets the environment: CLEW_URL (a running `clew server` over a store
// `clew demo --showcase` filled), CLEW_EXPERIMENT_ID, CLEW_ARTIFACTS (screenshot folder) and
// optionally CLEW_CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { before, after } from "node:test";
import { CHROMIUM_ARGS } from "./chromium.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";

export const BASE_URL = requireEnv("CLEW_URL");
export const EXPERIMENT_ID = requireEnv("CLEW_EXPERIMENT_ID");
export const ARTIFACTS = process.env.CLEW_ARTIFACTS || path.resolve("browser-artifacts");
const CHROMIUM = process.env.CLEW_CHROMIUM || "/usr/bin/chromium";

/** How long a UI element may take to appear (debug server, shared 2-core machine). */
export const TIMEOUT_MS = Number(process.env.CLEW_UI_TIMEOUT_MS || 15000);

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests through scripts/test-browser.sh`);
  }
  return value;
}

export { CHROMIUM_ARGS };

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * The per-file setup every test file shares: one Chromium for the file (launched in
 * `before`, closed in `after`) and `withPage(body, options)`, which runs `body(page, session)`
 * on a fresh page and fails when the page logged errors or requests failed.
 */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  return async function withPage(body, options) {
    const session = await openPage(browser, options);
    try {
      await body(session.page, session);
      session.assertClean();
    } finally {
      await session.close();
    }
  };
}

/**
 * A page in a fresh context that records problems: console errors, uncaught exceptions,
 * requests that failed and HTTP answers >= 400. `expectHttpError(pattern)` allows one kind of
 * error answer (a bad filter's 400); `problems()` lists the rest.
 */
export async function openPage(browser, { colorScheme = "light", viewport = { width: 1440, height: 900 } } = {}) {
  const context = await browser.newContext({ colorScheme, viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const problems = [];
  const allowed = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      const text = msg.text();
      // Chromium logs the error answers themselves as console errors; those are judged below.
      if (/Failed to load resource: the server responded with a status of/.test(text)) return;
      problems.push(`console error: ${text}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText || "failed";
    // Navigations away from a page cancel its requests in flight; not a defect.
    if (failure === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${request.method()} ${request.url()} (${failure})`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    const line = `HTTP ${response.status()}: ${response.request().method()} ${response.url()}`;
    if (allowed.some((pattern) => pattern.test(response.url()))) return;
    problems.push(line);
  });
  return {
    page,
    context,
    expectHttpError(pattern) {
      allowed.push(pattern);
    },
    problems: () => problems.slice(),
    /** Fails the test if the page logged errors or requests failed. */
    assertClean() {
      assert.deepEqual(problems, [], `the page reported problems:\n${problems.join("\n")}`);
    },
    close: () => context.close(),
  };
}

/** Saves `<name>-light.png` and `<name>-dark.png` of the page as it is now. */
export async function screenshots(page, name, { fullPage = false } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const saved = [];
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    // Let the theme's transition (if any) settle.
    await page.waitForTimeout(100);
    const file = path.join(ARTIFACTS, `${name}-${scheme}.png`);
    await page.screenshot({ path: file, fullPage });
    saved.push(file);
  }
  await page.emulateMedia({ colorScheme: "light" });
  return saved;
}

export const url = (hash = "") => `${BASE_URL}/${hash ? "#" + hash.replace(/^#/, "") : ""}`;

// ---------------------------------------------------------------------------------------------
// The demo data, found through the REST API (not through the UI under test)

async function api(method, apiPath, body) {
  const response = await fetch(`${BASE_URL}${apiPath}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${apiPath}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Trace infos matching an MLflow filter string in the demo experiment, newest first. */
export async function searchTraces(filter, maxResults = 100) {
  const page = await api("POST", "/ajax-api/3.0/mlflow/traces/search", {
    locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: EXPERIMENT_ID } }],
    filter,
    max_results: maxResults,
    order_by: ["timestamp_ms DESC"],
  });
  return page.traces || [];
}

/**
 * The newest demo trace of a scenario (`tags.demo.scenario`): `{ info, spans }` with the
 * spans in MLflow's trace JSON form (attributes as JSON text).
 */
export async function demoTrace(scenario) {
  const infos = await searchTraces(`tags.\`demo.scenario\` = '${scenario}'`, 1);
  assert.ok(infos.length > 0, `no demo trace with demo.scenario = ${scenario}: was the store filled by clew demo --showcase?`);
  return { info: infos[0], spans: await getSpans(infos[0].trace_id) };
}

/** A trace's spans in MLflow's trace JSON form (the V2 trace-artifact endpoint). */
export async function getSpans(traceId) {
  const answer = await api("GET", `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${encodeURIComponent(traceId)}`);
  return answer.spans;
}

/** The span of a trace (from `demoTrace`) with this name; fails when there is none. */
export function spanNamed(trace, name, nth = 0) {
  const spans = trace.spans.filter((s) => s.name === name);
  assert.ok(spans.length > nth, `no span ${name} #${nth} in ${trace.info.trace_id}`);
  return spans[nth];
}

/** A span's id as the UI uses it: 16 hex digits (the trace JSON has it in base64). */
export function spanIdHex(span) {
  const id = span.span_id;
  if (/^[0-9a-f]{16}$/.test(id)) return id;
  return Buffer.from(id, "base64").toString("hex");
}

/** A span attribute decoded from its JSON text. */
export function attribute(span, key) {
  const raw = span.attributes?.[key];
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The CSS selector of a data-testid hook (the names the UI promises to keep stable). */
export const tid = (id) => `[data-testid="${id}"]`;

/** Attribute values of every element matching `selector`, in document order. */
export async function attrs(page, selector, name) {
  return page.locator(selector).evaluateAll((els, n) => els.map((el) => el.getAttribute(n)), name);
}

/**
 * Waits until `fn()` (async) returns a truthy value; fails with `message` (a string, or a
 * function called at the failure for the state then) after the timeout.
 */
export async function eventually(fn, message, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = typeof message === "function" ? await message() : message;
  assert.fail(`${text} (still ${JSON.stringify(last)} after ${timeoutMs} ms)`);
}
