// Small helpers of the trace view: DOM building (text only, never innerHTML of data),
// formatting, span-type icons, JSON decoding of attribute text, the JSON fetcher.
// Kept inside ui/trace/ so the notebook page works with the trace view's modules alone.

/**
 * Builds an element: h("div.a.b", { testid, dataset, onclick, title, style }, ...children).
 * Strings become text nodes; null/false/undefined children are skipped.
 */
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split(".");
  const node = document.createElement(name || "div");
  if (classes.length) node.className = classes.join(" ");
  if (props) {
    for (const key in props) {
      const value = props[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === "testid") node.setAttribute("data-testid", value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "class") node.className = [node.className, value].filter(Boolean).join(" ");
      else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  appendChildren(node, children);
  return node;
}

function appendChildren(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) appendChildren(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** "850 µs", "12.3 ms", "1.24 s", "2m 05s"; "—" when unknown. Input in microseconds. */
export function formatMicros(us) {
  if (us === null || us === undefined || us < 0 || Number.isNaN(us)) return "—";
  if (us < 1000) return `${Math.round(us)} µs`;
  const ms = us / 1000;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "1,234" */
export function formatNumber(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "");
}

/** Local date and time, to the millisecond. */
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Attribute values are JSON text (spec §3.1); text that is not JSON is kept as a string. */
export function decodeJsonText(text) {
  if (typeof text !== "string") return text;
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Base64 of big-endian id bytes → lowercase hex ("AAAAAAAAAAE=" → "0000000000000001"). */
export function base64ToHex(b64) {
  if (typeof b64 !== "string") return "";
  if (/^[0-9a-f]{16}$/i.test(b64)) return b64.toLowerCase();
  try {
    const bin = atob(b64);
    let hex = "";
    for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, "0");
    return hex;
  } catch {
    return "";
  }
}

/** Copies text, with a fallback for pages without the async clipboard (plain http iframes). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { style: { position: "fixed", opacity: "0" } });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    return ok;
  }
}

/** GET/POST JSON; errors carry MLflow's error_code and message. */
export async function fetchJson(url, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
  if (!response.ok) {
    const error = new Error(json?.message || text || `HTTP ${response.status}`);
    error.status = response.status;
    error.code = json?.error_code || `HTTP_${response.status}`;
    throw error;
  }
  return json;
}

// ---- span types: colour variable, label and icon ----

const TYPE_STYLE = {
  LLM: ["llm", "LLM"],
  CHAT_MODEL: ["chat", "Chat model"],
  CHAIN: ["chain", "Chain"],
  AGENT: ["agent", "Agent"],
  TOOL: ["tool", "Tool"],
  RETRIEVER: ["retriever", "Retriever"],
  EMBEDDING: ["embedding", "Embedding"],
  PARSER: ["parser", "Parser"],
  RERANKER: ["reranker", "Reranker"],
  WORKFLOW: ["chain", "Workflow"],
  TASK: ["chain", "Task"],
  MEMORY: ["retriever", "Memory"],
  GUARDRAIL: ["reranker", "Guardrail"],
  EVALUATOR: ["parser", "Evaluator"],
};

/** The theme's colour key of a span type ("llm", "tool", ..., "unknown"). */
export function typeKey(type) {
  return (TYPE_STYLE[type] || ["unknown"])[0];
}

/** The CSS colour of a span type (`var(--type-…)`). */
export function typeColor(type) {
  return `var(--type-${(TYPE_STYLE[type] || ["unknown"])[0]})`;
}

/** A readable name for a span type ("Chat model"; custom types as they are; "Span" for none). */
export function typeLabel(type) {
  if (!type) return "Span";
  return (TYPE_STYLE[type] || [null, type])[1];
}

// 16×16 glyphs, stroke = currentColor. Constant markup only.
const TYPE_GLYPHS = {
  llm: '<path d="M8 2.2l1.3 3.3 3.4 1.3-3.4 1.3L8 11.4 6.7 8.1 3.3 6.8l3.4-1.3z"/><path d="M12.3 10.6l.6 1.5 1.5.6-1.5.6-.6 1.5-.6-1.5-1.5-.6 1.5-.6z"/>',
  chat: '<path d="M2.5 3.5h11v7h-6l-3 2.5v-2.5h-2z"/><path d="M5.5 6.5h5M5.5 8.5h3"/>',
  chain: '<path d="M6.8 9.2a2.6 2.6 0 0 0 3.7 0l2-2a2.6 2.6 0 0 0-3.7-3.7l-.7.7"/><path d="M9.2 6.8a2.6 2.6 0 0 0-3.7 0l-2 2a2.6 2.6 0 0 0 3.7 3.7l.7-.7"/>',
  agent: '<rect x="3" y="5" width="10" height="8" rx="2"/><path d="M8 5V2.8"/><circle cx="8" cy="2.4" r=".6"/><circle cx="6" cy="9" r=".8" fill="currentColor"/><circle cx="10" cy="9" r=".8" fill="currentColor"/>',
  tool: '<path d="M10.2 2.6a3 3 0 0 0-3.6 3.9L2.8 10.3a1.3 1.3 0 0 0 1.9 1.9l3.8-3.8a3 3 0 0 0 3.9-3.6l-1.8 1.8-1.6-.5-.5-1.6z"/>',
  retriever: '<circle cx="7" cy="7" r="4"/><path d="m10 10 3.5 3.5"/><path d="M5.3 7h3.4"/>',
  embedding: '<circle cx="4" cy="4" r="1.2"/><circle cx="12" cy="4" r="1.2"/><circle cx="4" cy="12" r="1.2"/><circle cx="12" cy="12" r="1.2"/><circle cx="8" cy="8" r="1.4"/><path d="M5 5l2 2M11 5 9 7M5 11l2-2M11 11 9 9"/>',
  parser: '<path d="M6 2.5c-1.5 0-2 .7-2 2v1.5c0 1-.5 2-1.5 2 1 0 1.5 1 1.5 2v1.5c0 1.3.5 2 2 2M10 2.5c1.5 0 2 .7 2 2v1.5c0 1 .5 2 1.5 2-1 0-1.5 1-1.5 2v1.5c0 1.3-.5 2-2 2"/>',
  reranker: '<path d="M5 13V3M2.5 5.5 5 3l2.5 2.5M11 3v10M8.5 10.5 11 13l2.5-2.5"/>',
  unknown: '<circle cx="8" cy="8" r="4.5"/><circle cx="8" cy="8" r="1" fill="currentColor"/>',
};

/** A small coloured square with the type's glyph (the span tree's and the detail's icon). */
const iconCache = new Map();
export function typeIcon(type, size = 16) {
  // Rows of the virtual tree ask for icons while scrolling: clone a cached node instead of
  // parsing SVG markup each time.
  const cacheKey = `${type}|${size}`;
  const cached = iconCache.get(cacheKey);
  if (cached) return cached.cloneNode(true);
  const key = (TYPE_STYLE[type] || ["unknown"])[0];
  const span = document.createElement("span");
  span.className = "tv-type-icon";
  span.style.setProperty("--c", typeColor(type));
  span.title = typeLabel(type);
  span.innerHTML = `<svg viewBox="0 0 16 16" width="${size - 4}" height="${size - 4}" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${TYPE_GLYPHS[key] || TYPE_GLYPHS.unknown}</svg>`;
  iconCache.set(cacheKey, span.cloneNode(true));
  return span;
}

const UI_GLYPHS = {
  copy: '<rect x="5.5" y="5.5" width="8" height="8" rx="1.5"/><path d="M3.5 10.5h-1v-8h8v1"/>',
  check: '<path d="m3 8.5 3 3 7-7"/>',
  chevron: '<path d="m6 3.5 4.5 4.5L6 12.5"/>',
  up: '<path d="M4 10l4-4 4 4"/>',
  down: '<path d="M4 6l4 4 4-4"/>',
  search: '<circle cx="7" cy="7" r="4.5"/><path d="m10.5 10.5 3 3"/>',
  zoom: '<path d="M2.5 5V2.5H5M11 2.5h2.5V5M13.5 11v2.5H11M5 13.5H2.5V11"/><path d="M5.5 8h5M8 5.5v5"/>',
  refresh: '<path d="M13 8a5 5 0 1 1-1.5-3.6M13 2.5v2.5h-2.5"/>',
  expand: '<path d="M4 6l4-3.5L12 6M4 10l4 3.5 4-3.5"/>',
  collapse: '<path d="M4 3l4 3.5L12 3M4 13l4-3.5 4 3.5"/>',
  alert: '<path d="M8 2.5 14 13H2z"/><path d="M8 6.5v3M8 11.2v.3"/>',
  clock: '<circle cx="8" cy="8" r="5.5"/><path d="M8 5v3.2l2 1.3"/>',
  coins: '<ellipse cx="8" cy="4.5" rx="4.5" ry="2"/><path d="M3.5 4.5v3.5c0 1.1 2 2 4.5 2s4.5-.9 4.5-2V4.5M3.5 8v3.5c0 1.1 2 2 4.5 2s4.5-.9 4.5-2V8"/>',
  cube: '<path d="M8 1.8 13.5 5v6L8 14.2 2.5 11V5z"/><path d="M2.5 5 8 8.2 13.5 5M8 8.2v6"/>',
  user: '<circle cx="8" cy="5.5" r="2.5"/><path d="M3 13.5c.6-2.4 2.6-3.5 5-3.5s4.4 1.1 5 3.5"/>',
  link: '<path d="M6.8 9.2a2.6 2.6 0 0 0 3.7 0l2-2a2.6 2.6 0 0 0-3.7-3.7l-.7.7"/><path d="M9.2 6.8a2.6 2.6 0 0 0-3.7 0l-2 2a2.6 2.6 0 0 0 3.7 3.7l.7-.7"/>',
  doc: '<path d="M4 1.8h5.2L12.5 5v9.2H4z"/><path d="M9 1.8V5h3.5M6 8h4.5M6 10.5h4.5"/>',
  external: '<path d="M9 2.5h4.5V7M13.5 2.5 7.5 8.5M11.5 9.5v4h-9v-9h4"/>',
  wrench: TYPE_GLYPHS.tool,
};

/** A UI glyph (copy, chevron, ...) as an inline SVG. */
export function glyph(name, size = 14) {
  const span = document.createElement("span");
  span.className = "tv-glyph";
  span.innerHTML = `<svg viewBox="0 0 16 16" width="${size}" height="${size}" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${UI_GLYPHS[name] || ""}</svg>`;
  return span;
}

/** A copy button that shows a tick for a moment after copying. */
export function copyButton(text, { testid, title = "Copy" } = {}) {
  const button = h("button.tv-icon-button", { type: "button", title, "aria-label": title, testid }, glyph("copy"));
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    if (await copyText(typeof text === "function" ? text() : text)) {
      button.replaceChildren(glyph("check"));
      button.classList.add("copied");
      setTimeout(() => { button.replaceChildren(glyph("copy")); button.classList.remove("copied"); }, 1200);
    }
  });
  return button;
}

/**
 * Marks the occurrences of `query` (lowercase) in the text under `root` (what is rendered;
 * collapsed JSON and cut text are left as they are). Bounded, so huge values stay cheap.
 */
export function highlightText(root, query) {
  if (!query || !root) return 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest("button, mark, summary") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const hits = [];
  for (let node = walker.nextNode(), seen = 0; node && seen < 20_000 && hits.length < 500; node = walker.nextNode(), seen++) {
    if (node.data.toLowerCase().includes(query)) hits.push(node);
  }
  for (const node of hits) {
    const text = node.data;
    const lower = text.toLowerCase();
    const parts = [];
    let from = 0;
    for (let at = lower.indexOf(query); at >= 0; at = lower.indexOf(query, at + query.length)) {
      if (at > from) parts.push(text.slice(from, at));
      const mark = document.createElement("mark");
      mark.className = "tv-hit";
      mark.textContent = text.slice(at, at + query.length);
      parts.push(mark);
      from = at + query.length;
    }
    if (from < text.length) parts.push(text.slice(from));
    node.replaceWith(...parts);
  }
  return hits.length;
}
