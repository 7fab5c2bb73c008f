// The span detail pane: name, status, badges (type, latency, model, tokens, cost), the error
// and its exception, and tabs — Chat (when the span holds a recognised conversation),
// Inputs / Outputs (JSON trees, markdown, retriever documents), Attributes, Events (stream
// chunks compacted, exceptions with stack traces).

import { h, glyph, typeIcon, typeLabel, formatMicros, formatNumber, decodeJsonText, base64ToHex, copyButton } from "./util.js";
import { valueView, jsonTree, textBlock, truncatedText, showMoreButton } from "./json.js";
import { parseChat, renderChat } from "./chat.js";

const INPUT_KEYS = ["mlflow.spanInputs", "input.value", "traceloop.entity.input", "gen_ai.tool.call.arguments", "langfuse.observation.input", "lmnr.span.input", "gen_ai.input.messages", "gen_ai.prompt"];
const OUTPUT_KEYS = ["mlflow.spanOutputs", "output.value", "traceloop.entity.output", "gen_ai.tool.call.result", "langfuse.observation.output", "lmnr.span.output", "gen_ai.output.messages", "gen_ai.completion"];
const CHAT_TYPES = new Set(["CHAT_MODEL", "LLM"]);

/** MLflow's span dict (base64 ids, attribute values as JSON text) → a decoded span. */
export function decodeSpan(dict) {
  const attributes = {};
  const raw = dict.attributes || {};
  for (const key of Object.keys(raw)) attributes[key] = decodeJsonText(raw[key]);
  const pick = (keys) => {
    for (const key of keys) if (attributes[key] !== undefined && attributes[key] !== null) return { key, value: attributes[key] };
    return { key: null, value: undefined };
  };
  const input = pick(INPUT_KEYS);
  const output = pick(OUTPUT_KEYS);
  const code = String(dict.status?.code || "").replace("STATUS_CODE_", "") || "UNSET";
  return {
    id: base64ToHex(dict.span_id),
    parentId: dict.parent_span_id ? base64ToHex(dict.parent_span_id) : null,
    name: dict.name,
    startNs: dict.start_time_unix_nano,
    endNs: dict.end_time_unix_nano,
    status: { code, message: dict.status?.message || "" },
    type: typeof attributes["mlflow.spanType"] === "string" ? attributes["mlflow.spanType"] : "",
    attributes,
    events: Array.isArray(dict.events) ? dict.events : [],
    inputs: input.value,
    inputKey: input.key,
    outputs: output.value,
    outputKey: output.key,
    raw: dict,
  };
}

function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

/** Token usage {input, output, total, cacheRead} from MLflow's or GenAI/OpenInference keys. */
export function tokenUsage(attributes) {
  const u = attributes["mlflow.chat.tokenUsage"];
  if (isObj(u)) return { input: u.input_tokens, output: u.output_tokens, total: u.total_tokens ?? (u.input_tokens ?? 0) + (u.output_tokens ?? 0), cacheRead: u.cache_read_input_tokens };
  const i = attributes["gen_ai.usage.input_tokens"] ?? attributes["llm.token_count.prompt"] ?? attributes["gen_ai.usage.prompt_tokens"];
  const o = attributes["gen_ai.usage.output_tokens"] ?? attributes["llm.token_count.completion"] ?? attributes["gen_ai.usage.completion_tokens"];
  if (i === undefined && o === undefined) return null;
  return { input: Number(i) || 0, output: Number(o) || 0, total: Number(attributes["llm.token_count.total"]) || (Number(i) || 0) + (Number(o) || 0) };
}

function modelName(attributes, inputs, outputs) {
  const m = attributes["mlflow.llm.model"] ?? attributes["gen_ai.response.model"] ?? attributes["gen_ai.request.model"] ?? attributes["llm.model_name"] ?? attributes["embedding.model_name"];
  if (typeof m === "string" && m) return m;
  if (isObj(inputs) && typeof inputs.model === "string") return inputs.model;
  if (isObj(outputs) && typeof outputs.model === "string") return outputs.model;
  return null;
}

/** A retriever output as documents, or null. */
export function asDocuments(outputs) {
  let list = outputs;
  if (isObj(list) && Array.isArray(list.documents)) list = list.documents;
  if (!Array.isArray(list) || !list.length) return null;
  const docs = [];
  for (const d of list) {
    if (!isObj(d)) return null;
    const content = d.page_content ?? d.content ?? d.text ?? d.document;
    if (typeof content !== "string" && !isObj(d.metadata)) return null;
    docs.push(d);
  }
  return docs;
}

function documentCard(doc, index) {
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const uri = meta.doc_uri ?? meta.source ?? meta.url ?? doc.doc_uri;
  const chunk = meta.chunk_id ?? doc.chunk_id;
  const score = meta.score ?? doc.score ?? meta.relevance_score ?? meta.similarity;
  const content = String(doc.page_content ?? doc.content ?? doc.text ?? doc.document ?? "");
  const uriNode = uri === undefined ? h("span.tv-doc-title", null, `Document ${index + 1}`)
    : /^https?:\/\//i.test(String(uri)) ? h("a.tv-doc-title", { href: String(uri), target: "_blank", rel: "noopener noreferrer" }, glyph("external", 12), " ", String(uri))
    : h("span.tv-doc-title", null, String(uri));
  const other = Object.keys(meta).filter((k) => !["doc_uri", "chunk_id", "score"].includes(k));
  return h("div.tv-doc", { testid: "document-card" },
    h("div.tv-doc-head", null,
      h("span.tv-doc-rank", null, `#${index + 1}`),
      glyph("doc", 14), uriNode,
      h("span.tv-spacer"),
      chunk !== undefined ? h("span.tv-badge", { title: "chunk id" }, `chunk ${chunk}`) : null,
      doc.id !== undefined && doc.id !== null ? h("span.tv-badge", { title: "document id" }, `id ${doc.id}`) : null,
      typeof score === "number" ? h("span.tv-badge.tv-score", { title: "score" }, `score ${score.toFixed(Math.abs(score) < 10 ? 3 : 1)}`) : null),
    textBlock(content),
    other.length ? h("div.tv-doc-meta", null, other.map((k) => h("span.tv-kv", null, h("span.tv-k", null, k), h("span.tv-v", null, truncatedText(typeof meta[k] === "string" ? meta[k] : JSON.stringify(meta[k]), 80))))) : null);
}

function section(title, testid, body, extra) {
  return h("section.tv-section", { testid }, h("h3.tv-section-title", null, title, extra || null), body);
}

function emptyNote(text) { return h("div.tv-empty", null, text); }

function ioTab(span) {
  const wrap = h("div.tv-io");
  const docs = span.type === "RETRIEVER" ? asDocuments(span.outputs) : null;
  wrap.append(section("Inputs", "span-inputs", span.inputs === undefined ? emptyNote("No inputs recorded") : valueView(span.inputs), span.inputKey && span.inputKey !== "mlflow.spanInputs" ? h("span.tv-muted.tv-small", null, ` from ${span.inputKey}`) : null));
  let outputs;
  if (docs) outputs = h("div.tv-docs", null, docs.map(documentCard), h("details.tv-raw", null, h("summary", null, "raw JSON"), jsonTree(span.outputs, { openDepth: 1 })));
  else outputs = span.outputs === undefined ? emptyNote(span.endNs ? "No outputs recorded" : "The span has not ended") : valueView(span.outputs);
  wrap.append(section(docs ? `Outputs · ${docs.length} document${docs.length === 1 ? "" : "s"}` : "Outputs", "span-outputs", outputs));
  return wrap;
}

function attributeValue(value) {
  if (value === null) return h("span.tv-json-null", null, "null");
  if (typeof value === "string") return value.length > 300 || value.includes("\n") ? textBlock(value, { markdown: false }) : h("span.tv-attr-text", null, value);
  if (typeof value !== "object") return h("span.tv-attr-scalar", null, String(value));
  return jsonTree(value, { openDepth: 1 });
}

function attributesTab(span) {
  const keys = Object.keys(span.attributes).filter((k) => k !== "mlflow.spanInputs" && k !== "mlflow.spanOutputs");
  const user = keys.filter((k) => !k.startsWith("mlflow.")).sort();
  const internal = keys.filter((k) => k.startsWith("mlflow.")).sort();
  const table = h("table.tv-attrs");
  const rowOf = (k, cls) => h(`tr${cls}`, null, h("th", null, k), h("td", null, attributeValue(span.attributes[k])));
  for (const k of user) table.append(rowOf(k, ""));
  if (internal.length) {
    table.append(h("tr.tv-attrs-sep", null, h("td", { colspan: "2" }, "MLflow internal")));
    for (const k of internal) table.append(rowOf(k, ".internal"));
  }
  return section(`Attributes · ${keys.length}`, "span-attributes",
    h("div", null,
      keys.length ? table : emptyNote("No attributes"),
      h("div.tv-muted.tv-small.tv-attrs-foot", null, "Inputs and outputs (mlflow.spanInputs / mlflow.spanOutputs) are on the Inputs / Outputs tab.")));
}

function offsetLabel(eventNs, span) {
  const start = Number(span.startNs);
  const t = Number(eventNs);
  if (!Number.isFinite(start) || !Number.isFinite(t)) return "";
  return `+${formatMicros(Math.max(0, (t - start) / 1000))}`;
}

/** The text one stream chunk adds (OpenAI chat/Responses, Anthropic deltas), or null. */
function chunkText(value) {
  const v = typeof value === "string" ? decodeJsonText(value) : value;
  if (typeof v === "string") return v;
  if (!isObj(v)) return null;
  const choice = Array.isArray(v.choices) ? v.choices[0] : null;
  if (choice) return choice.delta?.content ?? choice.text ?? null;
  if (typeof v.delta === "string") return v.delta; // Responses API output_text.delta
  if (isObj(v.delta) && typeof v.delta.text === "string") return v.delta.text; // Anthropic
  if (typeof v.text === "string") return v.text;
  return null;
}

/** An exception event (type, message, collapsible stack trace). */
export function exceptionView(event, { testid = "exception" } = {}) {
  const a = event.attributes || {};
  const trace = a["exception.stacktrace"];
  return h("div.tv-exception", { testid },
    h("div.tv-exception-head", null, glyph("alert", 14), h("span.tv-exception-type", null, String(a["exception.type"] ?? "Exception")), a["exception.escaped"] ? h("span.tv-badge", null, "escaped") : null),
    a["exception.message"] !== undefined ? h("div.tv-exception-msg", null, truncatedText(String(a["exception.message"]), 2000)) : null,
    trace ? h("details.tv-stack", { open: true }, h("summary", null, "Stack trace"), h("pre.tv-stack-body", null, truncatedText(String(trace), 20_000, "tv-stack-text"))) : null);
}

function eventsTab(span) {
  const wrap = h("div.tv-events");
  const chunks = [];
  const others = [];
  for (const event of span.events) (/^mlflow\.chunk\.item\.\d+$/.test(event.name) ? chunks : others).push(event);
  if (chunks.length) {
    chunks.sort((a, b) => Number(a.name.split(".").pop()) - Number(b.name.split(".").pop()));
    const texts = chunks.map((c) => chunkText(c.attributes?.["mlflow.chunk.value"]));
    const assembled = texts.every((t) => t === null) ? null : texts.filter((t) => t !== null).join("");
    const list = h("div.tv-chunks");
    let shown = 0;
    const more = () => {
      const end = Math.min(chunks.length, shown + 50);
      for (let k = shown; k < end; k++) {
        const c = chunks[k];
        const value = c.attributes?.["mlflow.chunk.value"];
        const text = texts[k];
        list.append(h("div.tv-chunk", null,
          h("span.tv-chunk-idx", null, c.name.split(".").pop()),
          h("span.tv-chunk-time", null, offsetLabel(c.time_unix_nano, span)),
          text !== null ? h("span.tv-chunk-text", null, JSON.stringify(text)) : h("span.tv-chunk-raw", null, truncatedText(typeof value === "string" ? value : JSON.stringify(value), 160))));
      }
      shown = end;
      if (shown < chunks.length) list.append(showMoreButton(`show more (${chunks.length - shown} more chunks)`, (b) => { b.remove(); more(); }));
    };
    more();
    const first = Number(chunks[0].time_unix_nano);
    const last = Number(chunks[chunks.length - 1].time_unix_nano);
    wrap.append(h("section.tv-section.tv-stream", null,
      h("h3.tv-section-title", null, `Stream · ${chunks.length} chunk${chunks.length === 1 ? "" : "s"}`, Number.isFinite(first) ? h("span.tv-muted.tv-small", null, ` · first at ${offsetLabel(first, span)}, over ${formatMicros(Math.max(0, (last - first) / 1000))}`) : null),
      assembled !== null ? h("div.tv-stream-text", null, textBlock(assembled, { markdown: true })) : null,
      h("details.tv-chunk-list", null, h("summary", null, "chunks"), list)));
  }
  for (const event of others) {
    if (event.name === "exception") {
      wrap.append(h("div.tv-event", null, h("div.tv-event-head", null, h("span.tv-event-name", null, "exception"), h("span.tv-muted", null, offsetLabel(event.time_unix_nano, span))), exceptionView(event, { testid: "exception-event" })));
      continue;
    }
    const attrs = event.attributes || {};
    wrap.append(h("div.tv-event", null,
      h("div.tv-event-head", null, h("span.tv-event-name", null, event.name), h("span.tv-muted", null, offsetLabel(event.time_unix_nano, span))),
      Object.keys(attrs).length ? jsonTree(attrs, { openDepth: 1 }) : null));
  }
  if (!chunks.length && !others.length) wrap.append(emptyNote("No events"));
  return section(`Events · ${span.events.length}`, "span-events", wrap);
}

/**
 * The detail of one span. `meta`: { durationUs, offsetUs } from the skeleton;
 * `state`: { tab } (the tab the user picked last, kept across spans); `onTab(name)`.
 */
export function renderDetail(span, meta, state, onTab) {
  const usage = tokenUsage(span.attributes);
  const model = modelName(span.attributes, span.inputs, span.outputs);
  const cost = isObj(span.attributes["mlflow.llm.cost"]) ? span.attributes["mlflow.llm.cost"].total_cost : null;
  // LLM-like spans open on their chat; other spans whose inputs are a message list (agents,
  // chains) get a Chat tab too, but open on inputs/outputs unless the user picked Chat.
  const llmLike = CHAT_TYPES.has(span.type) || Array.isArray(span.attributes["gen_ai.input.messages"]);
  const chatInputs = isObj(span.inputs) && Array.isArray(span.inputs.messages);
  const chat = llmLike || chatInputs || span.attributes["mlflow.message.format"] ? parseChat(span) : null;
  const statusCls = span.status.code === "ERROR" ? "error" : span.status.code === "OK" ? "ok" : "unset";

  const badges = h("div.tv-badges", null,
    h("span.tv-badge.tv-type-badge", null, typeLabel(span.type)),
    h("span.tv-badge", { title: "latency" }, glyph("clock", 12), " ", meta.durationUs >= 0 ? formatMicros(meta.durationUs) : "running"),
    meta.offsetUs > 0 ? h("span.tv-badge.tv-muted-badge", { title: "start, from the trace start" }, `+${formatMicros(meta.offsetUs)}`) : null,
    model ? h("span.tv-badge.tv-model", { title: "model" }, glyph("cube", 12), " ", model) : null,
    usage ? h("span.tv-badge.tv-tokens", { title: `input ${formatNumber(usage.input ?? 0)} · output ${formatNumber(usage.output ?? 0)}${usage.cacheRead ? ` · cache read ${formatNumber(usage.cacheRead)}` : ""}` },
      glyph("coins", 12), ` ${formatNumber(usage.total)} tokens `, h("span.tv-muted", null, `(${formatNumber(usage.input ?? 0)} in · ${formatNumber(usage.output ?? 0)} out)`)) : null,
    typeof cost === "number" ? h("span.tv-badge", { title: "cost (USD)" }, `$${cost.toFixed(cost < 0.01 ? 5 : 3)}`) : null);
  badges.firstChild.style.setProperty("--c", `var(--type-${typeKey(span.type)})`);

  const head = h("div.tv-detail-head", null,
    meta.path || null,
    h("div.tv-detail-title", null, typeIcon(span.type, 22), h("h2", { title: span.name }, span.name), h(`span.tv-status.${statusCls}`, null, span.status.code)),
    badges,
    h("div.tv-detail-id", null, h("span.tv-muted", null, "span "), h("code", null, span.id), copyButton(span.id, { title: "Copy span id" }),
      span.parentId ? [h("span.tv-muted", null, "  parent "), h("code", null, span.parentId)] : null,
      h("span.tv-spacer"),
      span.raw ? h("span.tv-copy-json", null, h("span.tv-muted", null, "span JSON"), copyButton(() => JSON.stringify(span.raw, null, 2), { title: "Copy the span as JSON (MLflow span dict)" })) : null));

  const exceptions = span.events.filter((e) => e.name === "exception");
  const errorBox = span.status.code === "ERROR" || exceptions.length
    ? h("div.tv-error-box", null,
      span.status.message && !(exceptions.length && span.status.message.includes(String(exceptions[0].attributes?.["exception.message"] ?? "\u0000")))
        ? h("div.tv-error-msg", null, glyph("alert", 14), " ", truncatedText(span.status.message, 1000)) : null,
      exceptions.length ? exceptionView(exceptions[0]) : null)
    : null;

  const tabs = [];
  if (chat) tabs.push(["chat", "Chat", () => renderChat(chat)]);
  tabs.push(["io", "Inputs / Outputs", () => ioTab(span)]);
  const attrCount = Object.keys(span.attributes).filter((k) => k !== "mlflow.spanInputs" && k !== "mlflow.spanOutputs").length;
  tabs.push(["attributes", `Attributes`, () => attributesTab(span), attrCount]);
  tabs.push(["events", `Events`, () => eventsTab(span), span.events.length]);
  let active;
  if (tabs.some((t) => t[0] === state.tab) && (state.tab !== "chat" || llmLike || state.chatPinned)) active = state.tab;
  else active = chat && llmLike ? "chat" : "io";
  // A chat span opens on its chat unless the user left Chat for another tab on a chat span.
  if (chat && llmLike && state.tab === "io" && state.chatPreferred !== false) active = "chat";
  const bar = h("div.tv-tabs", { role: "tablist" });
  const body = h("div.tv-tab-body");
  const show = (id) => {
    active = id;
    for (const button of bar.children) button.classList.toggle("active", button.dataset.tab === id);
    const tab = tabs.find((t) => t[0] === id);
    body.replaceChildren(tab[2]());
    state.afterRender?.(body);
  };
  for (const [id, label, , count] of tabs) {
    const button = h("button.tv-tab", { type: "button", role: "tab", testid: `tab-${id}`, dataset: { tab: id } }, label, count ? h("span.tv-tab-count", null, String(count)) : null);
    button.addEventListener("click", () => { show(id); onTab(id, !!chat, llmLike); });
    bar.append(button);
  }
  show(active);
  const inner = h("div.tv-detail-inner", null, head, errorBox, bar, body);
  if (errorBox) state.afterRender?.(errorBox);
  return inner;
}

function typeKey(type) {
  const map = { LLM: "llm", CHAT_MODEL: "chat", CHAIN: "chain", AGENT: "agent", TOOL: "tool", RETRIEVER: "retriever", EMBEDDING: "embedding", PARSER: "parser", RERANKER: "reranker", WORKFLOW: "chain", TASK: "chain", MEMORY: "retriever", GUARDRAIL: "reranker", EVALUATOR: "parser" };
  return map[type] || "unknown";
}
