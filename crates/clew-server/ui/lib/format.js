// Small shared helpers: DOM building, escaping, and formatting of times, durations, numbers
// and previews. Used by every view (the trace view may import them; UI-LIST owns this file).

/**
 * Builds an element: h("a.link", { href, onclick, dataset: { x: 1 } }, child, "text", ...).
 * The tag may carry classes after dots. `null`/`false` children are skipped; strings become
 * text nodes, so content never goes through innerHTML.
 */
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split(".");
  const node = document.createElement(name || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = [node.className, value].filter(Boolean).join(" ");
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "testid") node.setAttribute("data-testid", value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** HTML-escapes text (for the rare place that builds markup as a string). */
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** "850 ms", "1.24 s", "2m 05s", "1h 02m"; "—" for unknown. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Milliseconds of a proto-JSON duration ("0.047s", "12s") or a number of ms. */
export function parseDuration(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(String(value));
  return match ? Number(match[1]) * 1000 : null;
}

/** Milliseconds since the epoch of an RFC 3339 string or a number. */
export function parseTime(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** "just now", "5m ago", "3h ago", "2d ago", else a date (compact, for narrow columns). */
export function formatRelative(ms, now = Date.now()) {
  if (!ms) return "—";
  const diff = Math.max(0, now - ms);
  if (diff < 45_000) return "just now";
  if (diff < 3_600_000) return `${Math.max(1, Math.round(diff / 60_000))}m ago`;
  if (diff < 86_400_000) return `${Math.round(diff / 3_600_000)}h ago`;
  if (diff < 7 * 86_400_000) return `${Math.round(diff / 86_400_000)}d ago`;
  return formatDate(ms);
}

/** "Nov 21, 09:01:45" in local time (with the year when it is not this year). */
export function formatDate(ms) {
  if (!ms) return "—";
  const date = new Date(ms);
  const sameYear = date.getFullYear() === new Date().getFullYear();
  const day = date.toLocaleDateString(undefined, { month: "short", day: "numeric", ...(sameYear ? {} : { year: "numeric" }) });
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return `${day}, ${time}`;
}

/** Full local timestamp with milliseconds, for tooltips. */
export function formatTimestamp(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** 1234 → "1,234"; 12345 → "12.3k" when compact. */
export function formatNumber(n, compact = false) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  if (compact && Math.abs(n) >= 10_000) {
    return new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(n);
  }
  return new Intl.NumberFormat().format(n);
}

/** Cuts text to `max` characters with an ellipsis. */
export function truncate(text, max) {
  const s = String(text ?? "");
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** The first `keep` characters of an id, for narrow columns ("tr-78060a75…"). */
export function shortId(id, keep = 11) {
  return id && id.length > keep ? id.slice(0, keep) + "…" : id || "";
}

const MESSAGE_KEYS = ["messages", "input", "inputs", "output"];
const TEXT_KEYS = ["question", "query", "prompt", "input", "text", "content", "message", "answer", "output", "result", "response"];

/**
 * Readable text of a request/response preview: previews are usually JSON (`{"question": ...}`,
 * a chat message list, an OpenAI response); this pulls out the human text where it can and
 * falls back to the compact JSON. Never throws.
 */
export function previewText(preview) {
  if (preview === null || preview === undefined) return "";
  const raw = String(preview);
  let value;
  try { value = JSON.parse(raw); } catch { return raw.trim(); }
  const text = textOf(value, 0);
  return text !== null ? text : raw;
}

function textOf(value, depth) {
  if (depth > 4 || value === null || value === undefined) return null;
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    // A message list: the last user (or last) message's content.
    const messages = value.filter((m) => m && typeof m === "object" && "content" in m);
    if (messages.length) {
      const user = [...messages].reverse().find((m) => m.role === "user") || messages[messages.length - 1];
      return textOf(user.content, depth + 1);
    }
    // Content parts: {type: "text" | "input_text" | "output_text", text}.
    const parts = value.map((v) => (v && typeof v === "object" && typeof v.text === "string" ? v.text : null)).filter(Boolean);
    if (parts.length) return parts.join(" ");
    return null;
  }
  if (typeof value === "object") {
    if (Array.isArray(value.choices) && value.choices[0]?.message) return textOf(value.choices[0].message.content, depth + 1);
    for (const key of MESSAGE_KEYS) {
      if (Array.isArray(value[key])) {
        const text = textOf(value[key], depth + 1);
        if (text) return text;
      }
    }
    for (const key of TEXT_KEYS) {
      if (typeof value[key] === "string") return value[key].trim();
    }
    const entries = Object.entries(value);
    if (entries.length === 1) return textOf(entries[0][1], depth + 1);
  }
  return null;
}

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
