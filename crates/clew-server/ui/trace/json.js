// A collapsible JSON viewer that stays fast on huge values: children are built only when a
// node is opened, big objects and arrays show their first items with "show more", and long
// strings are cut with "show more". Plus the text viewer for long strings (markdown or raw).

import { h, glyph, copyButton } from "./util.js";
import { renderMarkdown, looksLikeMarkdown } from "./markdown.js";

const PAGE = 100; // children shown per "show more"
const STRING_CUT = 400; // characters of a string value shown before "show more"
const TEXT_CUT = 6000; // characters of a long text block shown before "show more"

/** A `show-more` button; `onClick` receives the button (which it usually removes). */
export function showMoreButton(label, onClick) {
  const button = h("button.tv-show-more", { type: "button", testid: "show-more" }, label);
  button.addEventListener("click", (event) => { event.stopPropagation(); onClick(button); });
  return button;
}

/** A string, cut at `cut` characters with a show-more that reveals the rest in steps. */
export function truncatedText(text, cut = STRING_CUT, cls = "tv-str") {
  const node = h(`span.${cls}`);
  let shown = Math.min(text.length, cut);
  node.append(text.slice(0, shown));
  if (shown < text.length) {
    const more = () => showMoreButton(`show more (${(text.length - shown).toLocaleString("en-US")} more chars)`, (button) => {
      const next = Math.min(text.length, shown * 8 + 20_000);
      button.replaceWith(text.slice(shown, next));
      shown = next;
      if (shown < text.length) node.append(more());
    });
    node.append("… ", more());
  }
  return node;
}

function preview(value, budget = 60) {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.length}]`;
  switch (typeof value) {
    case "string": return JSON.stringify(value.length > budget ? value.slice(0, budget) + "…" : value);
    case "object": {
      const keys = Object.keys(value);
      let out = "{";
      for (const k of keys) {
        if (out.length > budget) { out += "…"; break; }
        out += (out.length > 1 ? ", " : "") + k;
      }
      return out + "}";
    }
    default: return String(value);
  }
}

function scalar(value) {
  if (value === null) return h("span.tv-json-null", null, "null");
  switch (typeof value) {
    case "string": {
      const node = h("span.tv-json-string");
      node.append("\"", truncatedText(value, STRING_CUT, "tv-json-string-body"), "\"");
      if (value.includes("\n")) node.classList.add("multiline");
      return node;
    }
    case "number": return h("span.tv-json-number", null, String(value));
    case "boolean": return h("span.tv-json-bool", null, String(value));
    default: return h("span", null, String(value));
  }
}

function isContainer(value) {
  return value !== null && typeof value === "object" && (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0);
}

function node(key, value, depth, openDepth) {
  const row = h("div.tv-json-node");
  const head = h("div.tv-json-row");
  if (key !== undefined) head.append(h("span.tv-json-key", null, key), h("span.tv-json-colon", null, ":"));
  if (!isContainer(value)) {
    if (typeof value === "string") head.classList.add("wrap");
    head.append(value !== null && typeof value === "object" ? h("span.tv-json-punct", null, Array.isArray(value) ? "[]" : "{}") : scalar(value));
    row.append(head);
    return row;
  }
  const entries = Array.isArray(value) ? null : Object.keys(value);
  const size = entries ? entries.length : value.length;
  const toggle = h("span.tv-json-toggle", null, glyph("chevron", 11));
  const summary = h("span.tv-json-summary", null, entries ? preview(value) : `[ ${size} item${size === 1 ? "" : "s"} ]`);
  head.prepend(toggle);
  head.append(summary);
  head.classList.add("tv-json-container");
  const body = h("div.tv-json-children");
  let built = 0;
  const build = () => {
    const end = Math.min(size, built + PAGE);
    for (let i = built; i < end; i++) {
      const k = entries ? entries[i] : i;
      body.append(node(entries ? k : String(k), value[k], depth + 1, openDepth));
    }
    built = end;
    if (built < size) {
      body.append(showMoreButton(`show more (${(size - built).toLocaleString("en-US")} more)`, (button) => { button.remove(); build(); }));
    }
  };
  let open = false;
  const setOpen = (next) => {
    open = next;
    row.classList.toggle("open", open);
    if (open && built === 0) build();
  };
  head.addEventListener("click", (event) => { if (event.target.closest("button")) return; setOpen(!open); });
  row.append(head, body);
  // Open the first levels of small values; huge ones start closed.
  if (depth < openDepth && size <= 50) setOpen(true);
  return row;
}

/**
 * A JSON value as a collapsible tree (the first `openDepth` levels open). The top object's
 * or array's entries are listed directly, without a node for the value itself.
 */
export function jsonTree(value, { openDepth = 2 } = {}) {
  const root = h("div.tv-json");
  if (!isContainer(value)) {
    root.append(h("div.tv-json-row.wrap", null, value !== null && typeof value === "object" ? h("span.tv-json-punct", null, Array.isArray(value) ? "[]" : "{}") : scalar(value)));
    return root;
  }
  const entries = Array.isArray(value) ? null : Object.keys(value);
  const size = entries ? entries.length : value.length;
  let built = 0;
  const build = () => {
    const end = Math.min(size, built + PAGE);
    for (let i = built; i < end; i++) {
      const k = entries ? entries[i] : i;
      root.append(node(String(k), value[k], 1, openDepth));
    }
    built = end;
    if (built < size) root.append(showMoreButton(`show more (${(size - built).toLocaleString("en-US")} more)`, (button) => { button.remove(); build(); }));
  };
  build();
  return root;
}

/**
 * A long text: rendered markdown when it looks like markdown (with a raw toggle), otherwise
 * pre-wrapped text; cut at TEXT_CUT characters with show-more.
 */
export function textBlock(text, { markdown } = {}) {
  const wrap = h("div.tv-text");
  const markdownLike = looksLikeMarkdown(text);
  const asMarkdown = markdown ?? markdownLike;
  let raw = !asMarkdown;
  let limit = TEXT_CUT;
  const body = h("div.tv-text-body");
  const render = () => {
    const shown = text.length > limit ? text.slice(0, limit) : text;
    // Prose reads better in the text font; code, JSON-ish text and markdown source stay monospace.
    const mono = asMarkdown || /^\s*[[{<]|\n {2,}\S|;\s*$|\b(SELECT|FROM|def|function|class)\b/m.test(shown.slice(0, 2000));
    body.replaceChildren(raw ? h(`div.tv-text-raw${mono ? ".mono" : ""}`, null, shown) : renderMarkdown(shown));
    if (text.length > limit) {
      body.append(showMoreButton(`show more (${(text.length - limit).toLocaleString("en-US")} more chars)`, () => { limit = limit * 8 + 50_000; render(); }));
    }
  };
  if (asMarkdown && markdownLike) {
    const toggle = h("button.tv-link-button", { type: "button" }, "raw");
    toggle.addEventListener("click", () => { raw = !raw; toggle.textContent = raw ? "markdown" : "raw"; render(); });
    wrap.append(h("div.tv-text-tools", null, toggle));
  }
  render();
  wrap.append(body);
  return wrap;
}

/** A value of any kind: text block for strings, tree for the rest; with a copy button. */
export function valueView(value, { openDepth = 3, copy = true } = {}) {
  const wrap = h("div.tv-value");
  if (copy) {
    wrap.append(h("div.tv-value-tools", null, copyButton(() => (typeof value === "string" ? value : JSON.stringify(value, null, 2)), { title: "Copy value" })));
  }
  if (typeof value === "string") wrap.append(textBlock(value));
  else wrap.append(jsonTree(value, { openDepth }));
  return wrap;
}
