// The experiments list, the traces table and its search box, sessions, tag editing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  useBrowser,
  screenshots,
  url,
  tid,
  attrs,
  eventually,
  searchTraces,
  EXPERIMENT_ID,
  BASE_URL,
} from "../lib/harness.mjs";
import { randomBytes } from "node:crypto";

/** Runs `body` with a fresh page; fails when the page logged errors or requests failed. */
const withPage = useBrowser();

const rowIds = (page) => attrs(page, tid("trace-row"), "data-trace-id");

/**
 * The user's question in a demo trace's request preview: MLflow's preview is the last user
 * message of a chat request already, or the inputs' JSON ({"question": ...}).
 */
function questionOf(info) {
  let request;
  try {
    request = JSON.parse(info.request_preview);
  } catch {
    return info.request_preview;
  }
  if (typeof request.question === "string") return request.question;
  const users = (request.messages || []).filter((m) => m.role === "user");
  assert.ok(users.length, `a user message in ${info.request_preview}`);
  return users.at(-1).content;
}

test("experiments list shows each experiment with its trace count", async () => {
  const all = await searchTraces("", 500);
  assert.ok(all.length >= 17, `the demo store holds the showcase traces (found ${all.length})`);
  await withPage(async (page) => {
    await page.goto(url("/experiments"));
    const demo = page.locator(`${tid("experiment-row")}[data-experiment-id="${EXPERIMENT_ID}"]`);
    await demo.waitFor();
    assert.match(await demo.innerText(), /clew-demo/);
    const count = (await demo.locator(tid("experiment-trace-count")).innerText()).replace(/[^0-9]/g, "");
    assert.equal(Number(count), all.length, "the count shown is the number of traces in the experiment");
    // The Default experiment is listed too, with no traces.
    const defaultRow = page.locator(`${tid("experiment-row")}[data-experiment-id="0"]`);
    assert.equal((await defaultRow.locator(tid("experiment-trace-count")).innerText()).replace(/[^0-9]/g, ""), "0");
    await screenshots(page, "01-experiments");
    // A click opens the experiment's traces.
    await demo.click();
    await page.locator(tid("trace-row")).first().waitFor();
    assert.match(page.url(), new RegExp(`#/experiments/${EXPERIMENT_ID}/traces`));
  });
});

test("traces table lists the experiment's traces newest first with their columns", async () => {
  const all = await searchTraces("", 500);
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("traces-table")).waitFor();
    await page.locator(tid("trace-row")).first().waitFor();
    const ids = await rowIds(page);
    assert.ok(ids.length >= 10, `a first page of rows (got ${ids.length})`);
    assert.deepEqual(ids, all.slice(0, ids.length).map((t) => t.trace_id), "newest first, as the API orders them");
    // The agent row shows its name, request preview, state and user.
    const agent = all.find((t) => t.tags["demo.scenario"] === "agent");
    const row = page.locator(`${tid("trace-row")}[data-trace-id="${agent.trace_id}"]`);
    const text = await row.innerText();
    assert.match(text, /travel_agent/);
    assert.ok(text.includes(questionOf(agent)), `the request's text in ${JSON.stringify(text)}`);
    assert.match(text, /I'm flying to (Lisbon|Kyoto|Montreal) next Friday/);
    assert.match(text, /OK/);
    assert.match(text, /carol|alice|bob/);
    // The error traces say so.
    const failing = all.find((t) => t.state === "ERROR");
    assert.match(await page.locator(`${tid("trace-row")}[data-trace-id="${failing.trace_id}"]`).innerText(), /ERROR/i);
    await screenshots(page, "02-traces-table");
  });
});

test("search box: a filter string narrows the rows", async () => {
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    const before = (await rowIds(page)).length;
    await page.locator(tid("search-input")).fill("trace.status = 'ERROR'");
    await page.locator(tid("search-input")).press("Enter");
    const expected = (await searchTraces("trace.status = 'ERROR'")).map((t) => t.trace_id);
    assert.equal(expected.length, 2);
    await eventually(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(expected), "only the ERROR traces are listed");
    assert.ok(expected.length < before);
    for (const text of await page.locator(tid("trace-row")).allInnerTexts()) assert.match(text, /sql_agent/);
    await screenshots(page, "03-search-filter");
  });
});

test("search box: free text searches span content", async () => {
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    const before = (await rowIds(page)).length;
    // "Kyoto" is only in the second round's travel agent (request, tool inputs, answer).
    await page.locator(tid("search-input")).fill("Kyoto");
    await page.locator(tid("search-input")).press("Enter");
    await eventually(async () => {
      const ids = await rowIds(page);
      return ids.length > 0 && ids.length < before;
    }, "the rows narrow to the traces mentioning Kyoto");
    const texts = await page.locator(tid("trace-row")).allInnerTexts();
    for (const text of texts) assert.match(text, /Kyoto/, "every row left mentions Kyoto");
    assert.equal(await page.locator(tid("search-error") + ":visible").count(), 0, "free text is not a syntax error");
  });
});

test("search box: a filter that does not parse shows search-error", async () => {
  await withPage(async (page, session) => {
    // The server answers the bad filter with 400 INVALID_PARAMETER_VALUE: expected here.
    session.expectHttpError(/traces\/search|ajax-api\/clew/);
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    await page.locator(tid("search-input")).fill("trace.status = 'OK' AND");
    await page.locator(tid("search-input")).press("Enter");
    const error = page.locator(tid("search-error"));
    await error.waitFor({ state: "visible" });
    const message = await error.innerText();
    assert.ok(message.trim().length > 10, `an explanation, not just a red box: ${JSON.stringify(message)}`);
    await screenshots(page, "04-search-error");
    // Fixing the filter clears the error.
    await page.locator(tid("search-input")).fill("trace.status = 'OK'");
    await page.locator(tid("search-input")).press("Enter");
    await error.waitFor({ state: "hidden" });
  });
});

test("quick filters by state and by span type list only those traces", async () => {
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    await page.locator(tid("quick-filter-state")).selectOption("ERROR");
    const expected = (await searchTraces("trace.status = 'ERROR'")).map((t) => t.trace_id);
    await eventually(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(expected), "only ERROR traces");
    // Back to any state, then by span type: the traces with a RETRIEVER span (RAG, async, in progress).
    await page.locator(tid("quick-filter-state")).selectOption("");
    await page.locator(tid("quick-filter-span-type")).selectOption("RETRIEVER");
    const retrievers = await searchTraces("span.type = 'RETRIEVER'");
    assert.deepEqual(retrievers.map((t) => t.tags["demo.scenario"]).sort(), ["async", "async", "in_progress", "rag", "rag"]);
    await eventually(
      async () => JSON.stringify(await rowIds(page)) === JSON.stringify(retrievers.map((t) => t.trace_id)),
      "only traces with a RETRIEVER span",
    );
  });
});

test("sessions tab groups a session's traces as a conversation", async () => {
  const inSession = await searchTraces("metadata.`mlflow.trace.session` = 'demo-session-001'");
  assert.equal(inSession.length, 3, "the demo's first session has a RAG, chat and streamed trace");
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("sessions-tab")).click();
    const group = page.locator(`${tid("session-group")}[data-session-id="demo-session-001"]`);
    await group.waitFor();
    const text = await group.innerText();
    // The conversation shows the user's questions of that session (demo.rs, round 1).
    const questions = inSession.map(questionOf).sort();
    assert.deepEqual(questions, [
      "How do I enable tracing for my LangChain app?",
      "Write a haiku about tracing.",
      "Summarise our refund policy in one sentence.",
    ].sort());
    for (const question of questions) {
      assert.ok(text.includes(question), `session shows ${JSON.stringify(question)}:\n${text}`);
    }
    await screenshots(page, "05-sessions");
  });
});

test("tag editor adds a tag to a trace", async () => {
  const [target] = await searchTraces("tags.`demo.scenario` = 'chat'", 1);
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    const row = page.locator(`${tid("trace-row")}[data-trace-id="${target.trace_id}"]`);
    await row.waitFor();
    await row.locator(tid("tag-editor")).click();
    await page.locator(tid("tag-add")).click();
    await page.locator(tid("tag-key")).fill("reviewed_by");
    await page.locator(tid("tag-value")).fill("browser-test");
    await page.locator(tid("tag-save")).click();
    await eventually(async () => {
      const [info] = await searchTraces("tags.reviewed_by = 'browser-test'");
      return info?.trace_id === target.trace_id;
    }, "the tag reached the server");
    await eventually(async () => /browser-test/.test(await row.innerText()), "the row shows the new tag");
  });
});

test("sorting by duration follows the API's order", async () => {
  const byDuration = (await searchTraces("", 500)).filter((t) => t.execution_duration);
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    const header = page.locator(tid("sort-duration"));
    await header.click();
    // One click sorts one way, a second the other; check whichever order is shown.
    let previous = null;
    for (let clicks = 0; clicks < 2; clicks++) {
      const th = page.locator("th", { has: header });
      // After the second click, wait for the header to change its direction first.
      const direction = await eventually(async () => {
        const sort = await th.getAttribute("aria-sort");
        return (sort === "ascending" || sort === "descending") && sort !== previous ? sort : null;
      }, "the header says how it sorts");
      previous = direction;
      const durations = (list) => list.map((t) => parseFloat(t.execution_duration));
      const expected = [...byDuration].sort((a, b) =>
        direction === "ascending" ? durations([a])[0] - durations([b])[0] : durations([b])[0] - durations([a])[0],
      );
      await eventually(async () => {
        const ids = (await rowIds(page)).filter((id) => byDuration.some((t) => t.trace_id === id));
        const shown = ids.map((id) => parseFloat(byDuration.find((t) => t.trace_id === id).execution_duration));
        const sorted = [...shown].sort((a, b) => (direction === "ascending" ? a - b : b - a));
        return ids.length === expected.length && JSON.stringify(shown) === JSON.stringify(sorted);
      }, async () => {
        const shown = (await rowIds(page)).map((id) => byDuration.find((t) => t.trace_id === id)?.execution_duration ?? null);
        return `rows sorted by duration, ${direction}; shown: ${JSON.stringify(shown)}`;
      });
      await header.click();
    }
  });
});

/** Logs a finished trace without spans through the MLflow REST API (StartTraceV3). */
async function logTrace(traceId, preview) {
  const response = await fetch(`${BASE_URL}/ajax-api/3.0/mlflow/traces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      trace: {
        trace_info: {
          trace_id: traceId,
          trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: EXPERIMENT_ID } },
          request_time: new Date().toISOString(),
          execution_duration: "0.250s",
          state: "OK",
          request_preview: preview,
          tags: { "demo.scenario": "browser-test-live" },
        },
      },
    }),
  });
  assert.equal(response.status, 200, await response.text());
}

test("live: a new trace appears without a reload; delete-selected removes it", async () => {
  const traceId = `tr-${randomBytes(16).toString("hex")}`;
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(tid("trace-row")).first().waitFor();
    await logTrace(traceId, "a trace logged while the page is open");
    const row = page.locator(`${tid("trace-row")}[data-trace-id="${traceId}"]`);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.innerText(), /a trace logged while the page is open/);

    await row.locator(tid("row-select")).check();
    await page.locator(tid("delete-selected")).click();
    await page.locator(tid("confirm-delete")).click();
    await row.waitFor({ state: "detached" });
    const left = await searchTraces("tags.`demo.scenario` = 'browser-test-live'");
    assert.deepEqual(left, [], "the trace is gone from the server");
  });
});
