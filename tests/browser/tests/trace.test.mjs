// The trace view: header, span tree, expand/collapse, span detail with chat messages, tool
// calls, retriever documents, exceptions, the message formats of the showcase traces, huge
// payloads, deep links and MLflow's link form.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  useBrowser,
  screenshots,
  url,
  tid,
  attrs,
  eventually,
  demoTrace,
  spanNamed,
  spanIdHex,
  attribute,
  EXPERIMENT_ID,
} from "../lib/harness.mjs";

/** Runs `body` with a fresh page; fails when the page logged errors or requests failed. */
const withPage = useBrowser();

const traceHash = (trace, spanId) =>
  `/experiments/${EXPERIMENT_ID}/traces/${trace.info.trace_id}` + (spanId ? `/spans/${spanId}` : "");

/** The tree's rendered rows (the virtual list keeps spare row elements hidden). */
const ROWS = `${tid("span-row")}:visible`;

const spanRow = (page, span) => page.locator(`${tid("span-row")}[data-span-id="${spanIdHex(span)}"]`);

/** Opens a tab of the span detail (`io`, `attributes`, `events`, `chat`) when it has tabs. */
async function showTab(detail, name) {
  const tab = detail.locator(tid(`tab-${name}`));
  // The detail re-renders once the span's payload has loaded; click until the tab stays open.
  await eventually(async () => {
    if (!(await tab.count())) return true;
    if (/active/.test((await tab.getAttribute("class")) || "")) return true;
    await tab.click().catch(() => {});
    return false;
  }, `the ${name} tab opens`);
}

/** Opens a trace, expands every span and selects `span`; returns the detail panel. */
async function openSpan(page, trace, span) {
  await page.goto(url(traceHash(trace)));
  await page.locator(tid("trace-view")).waitFor();
  await page.locator(tid("span-row")).first().waitFor();
  await page.locator(tid("expand-all")).click();
  await spanRow(page, span).click();
  const detail = page.locator(tid("span-detail"));
  await eventually(async () => (await detail.innerText()).includes(span.name), `the detail shows span ${span.name}`);
  return detail;
}

test("a trace opens from the table: header and span tree", async () => {
  const trace = await demoTrace("agent");
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(`${tid("trace-row")}[data-trace-id="${trace.info.trace_id}"]`).click();
    await page.locator(tid("trace-view")).waitFor();
    assert.match(page.url(), new RegExp(`#/experiments/${EXPERIMENT_ID}/traces/${trace.info.trace_id}`));
    const header = await page.locator(tid("trace-header")).innerText();
    assert.ok(header.includes(trace.info.trace_id), `the header shows the trace id:\n${header}`);
    assert.match(header, /OK/);
    assert.match(header, /615/, "total tokens of the agent trace (182+64 + 341+28)");
    await page.locator(tid("span-row")).first().waitFor();
    await page.locator(tid("expand-all")).click();
    await eventually(async () => (await page.locator(ROWS).count()) === trace.spans.length, "one row per span");
    // Rows in tree order with their types and depth.
    const ids = await attrs(page, ROWS, "data-span-id");
    assert.equal(ids[0], spanIdHex(spanNamed(trace, "travel_agent")));
    const types = await attrs(page, ROWS, "data-span-type");
    assert.deepEqual(types, ["AGENT", "CHAT_MODEL", "TOOL", "TOOL", "CHAT_MODEL"]);
    const depths = await attrs(page, ROWS, "data-depth");
    assert.deepEqual(depths.map(Number), [0, 1, 1, 1, 1]);
    await screenshots(page, "10-trace-agent");
  });
});

test("collapse and expand spans", async () => {
  const trace = await demoTrace("rag");
  await withPage(async (page) => {
    await page.goto(url(traceHash(trace)));
    await page.locator(tid("span-row")).first().waitFor();
    await page.locator(tid("expand-all")).click();
    await eventually(async () => (await page.locator(ROWS).count()) === 4, "4 rows expanded");
    await page.locator(tid("collapse-all")).click();
    await eventually(async () => (await page.locator(ROWS).count()) === 1, "only the root when collapsed");
    // The root's own toggle opens it again.
    await page.locator(`${ROWS} ${tid("span-toggle")}`).first().click();
    await eventually(async () => (await page.locator(ROWS).count()) === 4, "the root's children are back");
    await page.locator(`${ROWS} ${tid("span-toggle")}`).first().click();
    await eventually(async () => (await page.locator(ROWS).count()) === 1, "the toggle collapses again");
  });
});

test("chat messages with their roles, tool calls and tool definitions (OpenAI chat)", async () => {
  const trace = await demoTrace("agent");
  const plan = spanNamed(trace, "chat_completion", 0);
  const final = spanNamed(trace, "chat_completion", 1);
  await withPage(async (page) => {
    let detail = await openSpan(page, trace, plan);
    await detail.locator(tid("chat-view")).waitFor();
    const roles = await attrs(page, `${tid("span-detail")} ${tid("chat-message")}`, "data-role");
    assert.deepEqual(roles.slice(0, 2), ["system", "user"]);
    assert.equal(roles.at(-1), "assistant", "the model's answer is the last message");
    const calls = await detail.locator(tid("tool-call")).allInnerTexts();
    assert.equal(calls.length, 2);
    assert.match(calls[0], /get_weather/);
    assert.match(calls[1], /search_flights/);
    // Tool definitions may sit in a collapsed section: read their text content.
    const definitions = await detail.locator(tid("tool-definition")).allTextContents();
    assert.deepEqual(
      definitions.map((d) => d.match(/get_weather|search_flights/)?.[0]),
      ["get_weather", "search_flights"],
      "the tools of mlflow.chat.tools",
    );
    await screenshots(page, "11-chat-tool-calls");

    // The second call sees the tool results and answers.
    await spanRow(page, final).click();
    detail = page.locator(tid("span-detail"));
    await eventually(async () => (await detail.locator(tid("tool-result")).count()) === 2, "two tool results");
    const answer = attribute(final, "mlflow.spanOutputs").choices[0].message.content;
    const assistant = detail.locator(`${tid("chat-message")}[data-role="assistant"]`).last();
    assert.ok((await assistant.innerText()).includes(answer.slice(0, 40)), "the final answer is rendered");
  });
});

test("retriever documents render as cards with content, uri, score and chunk id", async () => {
  const trace = await demoTrace("rag");
  const retriever = spanNamed(trace, "vector_search");
  const documents = attribute(retriever, "mlflow.spanOutputs");
  assert.equal(documents.length, 3);
  await withPage(async (page) => {
    const detail = await openSpan(page, trace, retriever);
    const cards = detail.locator(tid("document-card"));
    await eventually(async () => (await cards.count()) === 3, "three document cards");
    for (const [index, doc] of documents.entries()) {
      const text = await cards.nth(index).innerText();
      assert.ok(text.includes(doc.page_content), `card ${index} shows the page content:\n${text}`);
      assert.ok(text.includes(doc.metadata.doc_uri), `card ${index} shows doc_uri`);
      assert.ok(text.includes(doc.metadata.chunk_id), `card ${index} shows chunk_id`);
      assert.ok(text.includes(String(doc.metadata.score).slice(0, 4)), `card ${index} shows the score ${doc.metadata.score}`);
    }
    await screenshots(page, "12-retriever-documents");
  });
});

test("the failing trace shows the exception with its stack trace", async () => {
  const trace = await demoTrace("error");
  const failing = spanNamed(trace, "run_query");
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces`));
    await page.locator(`${tid("trace-row")}[data-trace-id="${trace.info.trace_id}"]`).click();
    await page.locator(tid("trace-view")).waitFor();
    assert.match(await page.locator(tid("trace-header")).innerText(), /ERROR/);
    const detail = await openSpan(page, trace, failing);
    const exception = detail.locator(tid("exception"));
    await exception.waitFor();
    const text = await exception.innerText();
    assert.match(text, /QueryError/);
    assert.ok(text.includes('relation "shipments" does not exist'), text);
    assert.match(text, /Stack backtrace/, "the stack trace is shown (or one click away)");
    await screenshots(page, "13-exception");
  });
});

test("streamed answer: chunk events are listed", async () => {
  const trace = await demoTrace("streaming");
  const span = trace.spans[0];
  const chunks = span.events.filter((e) => e.name.startsWith("mlflow.chunk.item."));
  await withPage(async (page) => {
    const detail = await openSpan(page, trace, span);
    await showTab(detail, "events");
    const events = detail.locator(tid("span-events"));
    await events.waitFor();
    const text = await events.innerText();
    assert.ok(text.includes("mlflow.chunk.item.0") || /chunk/i.test(text), `chunk events listed:\n${text.slice(0, 500)}`);
    assert.ok(chunks.length > 3);
  });
});

test("OpenAI Responses API: input items, function_call and its output, output_text", async () => {
  const trace = await demoTrace("responses");
  const second = spanNamed(trace, "responses.create", 1);
  await withPage(async (page) => {
    const detail = await openSpan(page, trace, second);
    await detail.locator(tid("chat-view")).waitFor();
    const roles = await attrs(page, `${tid("span-detail")} ${tid("chat-message")}`, "data-role");
    assert.ok(roles.includes("user") && roles.at(-1) === "assistant", `roles ${roles}`);
    assert.match((await detail.locator(tid("tool-call")).allInnerTexts()).join("\n"), /lookup_order/);
    assert.match((await detail.locator(tid("tool-result")).allInnerTexts()).join("\n"), /in transit/);
    const answer = await detail.locator(`${tid("chat-message")}[data-role="assistant"]`).last().innerText();
    assert.match(answer, /Order 8812 is in transit with DHL/);
    await screenshots(page, "14-openai-responses");
  });
});

test("Anthropic Messages: system prompt, content blocks, tool_use and tool_result", async () => {
  const trace = await demoTrace("anthropic");
  const span = trace.spans[0];
  const output = attribute(span, "mlflow.spanOutputs");
  await withPage(async (page) => {
    const detail = await openSpan(page, trace, span);
    await detail.locator(tid("chat-view")).waitFor();
    const roles = await attrs(page, `${tid("span-detail")} ${tid("chat-message")}`, "data-role");
    assert.equal(roles[0], "system", `the system prompt comes first: ${roles}`);
    assert.ok(roles.includes("user"));
    assert.match(await detail.locator(`${tid("chat-message")}[data-role="system"]`).innerText(), /concise financial assistant/);
    assert.match((await detail.locator(tid("tool-call")).allInnerTexts()).join("\n"), /get_stock_price/);
    assert.match((await detail.locator(tid("tool-result")).allInnerTexts()).join("\n"), /182\.4/);
    assert.match((await detail.locator(tid("tool-definition")).allTextContents()).join("\n"), /get_stock_price/);
    const answer = await detail.locator(`${tid("chat-message")}[data-role="assistant"]`).last().innerText();
    assert.ok(answer.includes(output.content[0].text), `the answer ${JSON.stringify(answer)}`);
    await screenshots(page, "15-anthropic");
  });
});

test("OTel GenAI gen_ai.input.messages / gen_ai.output.messages render as chat", async () => {
  const trace = await demoTrace("genai");
  const span = trace.spans[0];
  const input = JSON.parse(attribute(span, "gen_ai.input.messages"));
  const output = JSON.parse(attribute(span, "gen_ai.output.messages"));
  await withPage(async (page) => {
    const detail = await openSpan(page, trace, span);
    await detail.locator(tid("chat-view")).waitFor();
    const user = await detail.locator(`${tid("chat-message")}[data-role="user"]`).first().innerText();
    assert.ok(user.includes(input[0].parts[0].content), user);
    const assistant = await detail.locator(`${tid("chat-message")}[data-role="assistant"]`).last().innerText();
    assert.ok(assistant.includes(output[0].parts[0].content), assistant);
    await screenshots(page, "16-otel-genai");
  });
});

test("huge JSON input and very long text are truncated with show more", async () => {
  const trace = await demoTrace("large");
  const span = spanNamed(trace, "summarize_orders");
  const report = attribute(span, "mlflow.spanOutputs");
  assert.ok(report.length > 50_000, `the demo's long output (${report.length} chars)`);
  await withPage(async (page) => {
    const started = Date.now();
    const detail = await openSpan(page, trace, span);
    await showTab(detail, "io");
    await detail.locator(tid("span-outputs")).waitFor();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 10_000, `the large span renders in reasonable time (${elapsed} ms)`);
    const outputs = detail.locator(tid("span-outputs"));
    const shown = (await outputs.innerText()).length;
    assert.ok(shown < report.length, `the output is truncated at first (${shown} of ${report.length} chars shown)`);
    assert.ok(await detail.locator(tid("show-more")).count() > 0, "a show more control");
    await screenshots(page, "17-large-payload");
    await outputs.locator(tid("show-more")).first().click();
    await eventually(async () => (await outputs.innerText()).length > shown, "show more reveals more text");
    // Clicking show more until there is none reaches the end of the report.
    const sections = report.match(/^## Section \d+$/gm);
    const last = sections.at(-1).replace("## ", "");
    for (let clicks = 0; clicks < 50 && (await outputs.locator(tid("show-more") + ":visible").count()) > 0; clicks++) {
      await outputs.locator(tid("show-more") + ":visible").first().click();
    }
    assert.ok((await outputs.innerText()).includes(last), `the end of the report (${last}) is shown`);
  });
});

test("a trace in progress opens and says it is running", async () => {
  const trace = await demoTrace("in_progress");
  await withPage(async (page) => {
    await page.goto(url(traceHash(trace)));
    await page.locator(tid("trace-view")).waitFor();
    assert.match(await page.locator(tid("trace-header")).innerText(), /IN_PROGRESS|in progress|running/i);
    await page.locator(tid("span-row")).first().waitFor();
    await page.locator(tid("expand-all")).click();
    await eventually(async () => (await page.locator(ROWS).count()) === 3, "the spans so far");
    await screenshots(page, "18-in-progress");
  });
});

test("deep link to a span selects it; selecting a span updates the link", async () => {
  const trace = await demoTrace("agent");
  const flights = spanNamed(trace, "search_flights");
  await withPage(async (page) => {
    await page.goto(url(traceHash(trace, spanIdHex(flights))));
    const detail = page.locator(tid("span-detail"));
    await eventually(async () => (await detail.innerText().catch(() => "")).includes("search_flights"), "the linked span is shown");
    assert.match(await detail.locator(tid("span-inputs")).innerText(), /destination/);
    // Clicking another span changes the hash to that span's link.
    const weather = spanNamed(trace, "get_weather");
    await spanRow(page, weather).click();
    await eventually(async () => page.url().endsWith(`/spans/${spanIdHex(weather)}`), "the hash names the selected span");
  });
});

test("MLflow's link form ?selectedEvaluationId= lands on the trace", async () => {
  const trace = await demoTrace("rag");
  await withPage(async (page) => {
    await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces?selectedEvaluationId=${trace.info.trace_id}`));
    await page.locator(tid("trace-view")).waitFor();
    assert.ok((await page.locator(tid("trace-header")).innerText()).includes(trace.info.trace_id));
    await page.locator(tid("span-row")).first().waitFor();
  });
});

test("search within a trace jumps between matches; span type filter", async () => {
  const trace = await demoTrace("agent");
  await withPage(async (page) => {
    await page.goto(url(traceHash(trace)));
    await page.locator(tid("span-row")).first().waitFor();
    await page.locator(tid("expand-all")).click();
    await page.locator(tid("trace-search")).fill("chat_completion");
    await eventually(async () => /2/.test(await page.locator(tid("trace-search-count")).innerText()), "two matches counted");
    await page.locator(tid("span-type-filter")).selectOption("TOOL");
    await eventually(async () => {
      const types = await attrs(page, ROWS, "data-span-type");
      return types.includes("TOOL") && !types.includes("CHAT_MODEL");
    }, "the TOOL spans are shown, chat spans hidden");
  });
});

test("keyboard: arrow keys move the selection through the tree", async () => {
  const trace = await demoTrace("agent");
  const root = spanNamed(trace, "travel_agent");
  await withPage(async (page) => {
    await page.goto(url(traceHash(trace, spanIdHex(root))));
    await page.locator(ROWS).first().waitFor();
    await page.locator(tid("expand-all")).click();
    await spanRow(page, root).click();
    const order = await attrs(page, ROWS, "data-span-id");
    await page.keyboard.press("ArrowDown");
    await eventually(async () => page.url().endsWith(`/spans/${order[1]}`), "ArrowDown selects the next row");
    await page.keyboard.press("ArrowDown");
    await eventually(async () => page.url().endsWith(`/spans/${order[2]}`), "and the one after");
    await page.keyboard.press("ArrowUp");
    await eventually(async () => page.url().endsWith(`/spans/${order[1]}`), "ArrowUp goes back");
  });
});

test("the trace id copies to the clipboard", async () => {
  const trace = await demoTrace("chat");
  await withPage(async (page, session) => {
    await session.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(url()).origin });
    await page.goto(url(traceHash(trace)));
    await page.locator(tid("trace-id-copy")).click();
    await eventually(async () => (await page.evaluate(() => navigator.clipboard.readText())) === trace.info.trace_id, "the clipboard holds the trace id");
  });
});

test("a 5,000-span trace: a virtual tree that scrolls to the end and search jumps into it", async (t) => {
  const traceId = process.env.CLEW_GIANT_TRACE_ID;
  const experimentId = process.env.CLEW_GIANT_EXPERIMENT_ID;
  if (!traceId) return t.skip("CLEW_GIANT_TRACE_ID not set (scripts/test-browser.sh sets it)");
  await withPage(async (page) => {
    const started = Date.now();
    await page.goto(url(`/experiments/${experimentId}/traces/${traceId}`));
    await page.locator(ROWS).first().waitFor();
    const openMs = Date.now() - started;
    assert.match(await page.locator(tid("trace-header")).innerText(), /5,000|5000/, "the header counts the spans");
    // Only the rows in view exist, not 5,000.
    const inDom = await page.locator(tid("span-row")).count();
    assert.ok(inDom < 300, `${inDom} row elements for 5,000 spans`);
    await page.locator(tid("expand-all")).click();
    const top = await attrs(page, ROWS, "data-span-id");
    // Scroll the tree to its end: other rows, still few elements.
    await page.locator(ROWS).first().hover();
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, 1_000_000);
    await eventually(async () => {
      const now = await attrs(page, ROWS, "data-span-id");
      return now.length > 0 && !now.includes(top[0]);
    }, "scrolling shows other spans");
    assert.ok((await page.locator(tid("span-row")).count()) < 300);
    // Search by name jumps to a match and selects it.
    await page.locator(tid("trace-search")).fill("summarize_chunk_0");
    await eventually(async () => /\d+\s*\/\s*\d+/.test(await page.locator(tid("trace-search-count")).innerText()), "matches counted");
    const detail = page.locator(tid("span-detail"));
    await eventually(async () => (await detail.innerText().catch(() => "")).includes("summarize_chunk_0"), "the first match is selected");
    await screenshots(page, "19-giant-trace");
    assert.ok(openMs < 10_000, `the 5,000-span trace opened in ${openMs} ms`);
  });
});
