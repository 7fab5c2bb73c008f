// A small, safe markdown renderer: headings, paragraphs, lists (nested by indent), block
// quotes, fenced and indented code, horizontal rules, simple pipe tables; inline code, bold,
// italic, strikethrough, links and bare URLs. It builds DOM nodes directly (text nodes for
// every piece of content), so nothing from a span can inject markup; link targets are limited
// to http(s), mailto and relative URLs.

import { h } from "./util.js";

/** Renders markdown text into a `div.tv-md` element. */
export function renderMarkdown(text) {
  const root = h("div.tv-md");
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  renderBlocks(lines, root);
  return root;
}

/** Whether a string is worth rendering as markdown rather than shown as plain text. */
export function looksLikeMarkdown(text) {
  if (typeof text !== "string" || text.length < 2) return false;
  return /(^|\n)\s{0,3}(#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s|```|\|.*\|)|\*\*[^*]+\*\*|`[^`]+`|\[[^\]]+\]\([^)]+\)/.test(text);
}

const FENCE = /^\s{0,3}(```+|~~~+)\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

function renderBlocks(lines, parent) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }

    const fence = line.match(FENCE);
    if (fence) {
      const close = fence[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(close)) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      parent.append(codeBlock(body.join("\n"), fence[2]));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      const level = Math.min(6, heading[1].length);
      parent.append(inline(h(`h${level}`), heading[2]));
      i++;
      continue;
    }
    if (RULE.test(line)) { parent.append(h("hr")); i++; continue; }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].match(QUOTE)[1]);
      const quote = h("blockquote");
      renderBlocks(body, quote);
      parent.append(quote);
      continue;
    }
    if (LIST_ITEM.test(line)) { i = renderList(lines, i, parent); continue; }
    if (/^( {4}|\t)/.test(line)) {
      const body = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].replace(/^( {4}|\t)/, ""));
      while (body.length && !body[body.length - 1].trim()) body.pop();
      parent.append(codeBlock(body.join("\n"), ""));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
      i = renderTable(lines, i, parent);
      continue;
    }
    // A paragraph: until a blank line or the start of another block.
    const body = [line];
    i++;
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i]) && !QUOTE.test(lines[i]) && !RULE.test(lines[i]) && !LIST_ITEM.test(lines[i])) {
      body.push(lines[i++]);
    }
    const p = h("p");
    body.forEach((text, n) => {
      if (n) p.append(h("br"));
      inline(p, text.trim());
    });
    parent.append(p);
  }
}

function renderList(lines, start, parent) {
  const first = lines[start].match(LIST_ITEM);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const list = h(ordered ? "ol" : "ul");
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) list.setAttribute("start", String(n));
  }
  let i = start;
  while (i < lines.length) {
    const m = lines[i].match(LIST_ITEM);
    if (!m || m[1].length < indent || (m[1].length === indent && /\d/.test(m[2]) !== ordered)) break;
    if (m[1].length > indent) {
      // A nested list belongs to the previous item.
      const host = list.lastElementChild || list;
      i = renderList(lines, i, host);
      continue;
    }
    const item = h("li");
    const body = [m[3]];
    i++;
    // Continuation lines (indented, not list items) join the item.
    while (i < lines.length && lines[i].trim() && !LIST_ITEM.test(lines[i]) && /^\s+/.test(lines[i])) body.push(lines[i++].trim());
    const task = body[0].match(/^\[([ xX])\]\s+(.*)$/);
    if (task) {
      item.append(h("span.tv-md-task", null, task[1] === " " ? "☐ " : "☑ "));
      body[0] = task[2];
    }
    inline(item, body.join(" "));
    list.append(item);
    while (i < lines.length && !lines[i].trim() && i + 1 < lines.length && LIST_ITEM.test(lines[i + 1]) && lines[i + 1].match(LIST_ITEM)[1].length >= indent) i++;
  }
  parent.append(list);
  return i;
}

function splitRow(line) {
  let text = line.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|")) text = text.slice(0, -1);
  return text.split("|").map((c) => c.trim());
}

function renderTable(lines, start, parent) {
  const head = splitRow(lines[start]);
  const table = h("table.tv-md-table");
  const thead = h("thead", null, h("tr", null, head.map((c) => inline(h("th"), c))));
  const tbody = h("tbody");
  let i = start + 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
    tbody.append(h("tr", null, splitRow(lines[i]).map((c) => inline(h("td"), c))));
    i++;
  }
  table.append(thead, tbody);
  parent.append(h("div.tv-md-table-wrap", null, table));
  return i;
}

function codeBlock(text, lang) {
  const pre = h("pre.tv-md-code", lang ? { "data-lang": lang } : null, h("code", null, text));
  return pre;
}

/** Safe link target, or null. */
function safeHref(url) {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (/^[a-z][a-z0-9+.-]*:/i.test(u)) return null; // javascript:, data:, ...
  return u;
}

const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|__([^_]+?)__|~~([^~]+?)~~|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|!?\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

/** Appends the inline-formatted text to `node`; returns `node`. */
export function inline(node, text) {
  let rest = String(text);
  let guard = 0;
  while (rest && guard++ < 10_000) {
    const m = rest.match(INLINE);
    if (!m) { node.append(rest); break; }
    if (m.index > 0) node.append(rest.slice(0, m.index));
    if (m[1]) node.append(h("code", null, m[2].replace(/^ (.*) $/, "$1")));
    else if (m[3] !== undefined || m[4] !== undefined) node.append(inline(h("strong"), m[3] ?? m[4]));
    else if (m[5] !== undefined) node.append(inline(h("del"), m[5]));
    else if (m[6] !== undefined || m[7] !== undefined) node.append(inline(h("em"), m[6] ?? m[7]));
    else if (m[9] !== undefined) {
      const href = safeHref(m[9]);
      const label = m[8] || m[9];
      node.append(href ? inline(h("a", { href, target: "_blank", rel: "noopener noreferrer" }), label) : label);
    } else if (m[10]) node.append(h("a", { href: m[10], target: "_blank", rel: "noopener noreferrer" }, m[10]));
    rest = rest.slice(m.index + m[0].length);
  }
  return node;
}
