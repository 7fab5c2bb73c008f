// The span tree with its timeline column, rendered virtually: only the rows in view (plus a
// small margin) exist in the DOM, reused as the list scrolls, so a 100,000-span trace scrolls
// as smoothly as a 10-span one.

import { h, glyph, typeIcon, typeColor, formatMicros } from "./util.js";

const OVERSCAN = 8;
const INDENT = 14; // px per depth level
const MAX_INDENT_LEVELS = 40; // deeper levels are drawn at this indent, with the depth shown

/**
 * createTree(model, { rowHeight, onSelect(i), onToggle(i), onActivate(i) }) →
 * { element, setRows(rows), setSelected(i), scrollToIndex(i), setMarks(mask, current), refresh() }
 */
export function createTree(model, { rowHeight = 28, onSelect, onToggle, onActivate, collapsed, keep }) {
  let rows = new Int32Array(0);
  let rowOf = null; // span index → row, built lazily for scrolling to a span
  let selected = -1;
  let marks = null; // Uint8Array of search matches
  let current = -1; // the current search match
  let query = ""; // lowercase search text, highlighted in names
  const pool = [];
  let frame = 0;

  const ticks = h("div.tv-axis");
  const header = h("div.tv-tree-header", null,
    h("div.tv-tree-header-name", null, "Span"),
    h("div.tv-tree-header-time", null, ticks));
  const spacer = h("div.tv-tree-spacer");
  const viewport = h("div.tv-tree-viewport", { tabindex: "0", role: "tree", "aria-label": "Spans" }, spacer);
  const element = h("div.tv-tree", null, header, viewport);

  // The time window the timeline column shows (microseconds from the trace start); zooming
  // to a span narrows it.
  let from = 0;
  let span = model.totalUs;
  // Axis labels at "nice" steps, as many as fit the column's width (re-laid out on resize).
  let tickWidth = 0;
  function layoutTicks() {
    const width = ticks.clientWidth;
    if (!width || width === tickWidth) return;
    tickWidth = width;
    ticks.replaceChildren();
    const step = niceStep(span / Math.max(1, Math.floor(width / 90)));
    const last = 100 - (70 / width) * 100; // room for the end label
    const zoomed = from > 0 || span < model.totalUs;
    for (let t = Math.ceil(from / step) * step; ((t - from) / span) * 100 <= last; t += step) {
      const label = t === 0 ? "0" : formatMicros(t);
      ticks.append(h("span.tv-tick", { style: { left: `${((t - from) / span) * 100}%` } }, label));
    }
    ticks.append(h("span.tv-tick.end", null, formatMicros(from + span)));
    element.classList.toggle("zoomed", zoomed);
    for (const row of pool) row._index = -1;
    schedule();
  }

  function makeRow() {
    const toggle = h("button.tv-toggle", { type: "button", tabindex: "-1", testid: "span-toggle", "aria-label": "Expand or collapse" }, glyph("chevron", 12));
    const indent = h("span.tv-indent");
    const iconSlot = h("span.tv-icon-slot");
    const name = h("span.tv-name");
    const depthBadge = h("span.tv-depth");
    const err = h("span.tv-err-dot", { title: "Error" });
    const count = h("span.tv-child-count");
    const nameCell = h("div.tv-cell-name", null, indent, toggle, iconSlot, name, depthBadge, count, err);
    const bar = h("div.tv-bar");
    const label = h("span.tv-bar-label");
    const timeCell = h("div.tv-cell-time", null, h("div.tv-grid"), bar, label);
    const row = h("div.tv-row", { testid: "span-row", role: "treeitem" }, nameCell, timeCell);
    row._parts = { toggle, indent, iconSlot, name, depthBadge, err, count, bar, label };
    row._index = -1;
    row._type = null;
    toggle.addEventListener("click", (event) => {
      event.stopPropagation();
      if (row._index >= 0) onToggle(row._index);
    });
    row.addEventListener("click", () => { if (row._index >= 0) onSelect(row._index); });
    row.addEventListener("dblclick", () => { if (row._index >= 0) onToggle(row._index); });
    viewport.append(row);
    return row;
  }

  function fillRow(row, r) {
    const i = rows[r];
    const p = row._parts;
    row.style.transform = `translateY(${r * rowHeight}px)`;
    if (row._index !== i) {
      row._index = i;
      const type = model.type(i);
      const depth = model.depth[i];
      row.dataset.spanId = model.id(i);
      row.dataset.spanType = type || "UNKNOWN";
      row.dataset.depth = String(depth);
      row.setAttribute("aria-level", String(depth + 1));
      const levels = Math.min(depth, maxLevels);
      p.indent.style.width = `${levels * INDENT}px`;
      p.depthBadge.textContent = depth > maxLevels ? `L${depth}` : "";
      if (row._type !== type) {
        p.iconSlot.replaceChildren(typeIcon(type));
        row._type = type;
      }
      const name = model.name(i);
      const at = query ? name.toLowerCase().indexOf(query) : -1;
      if (at >= 0) p.name.replaceChildren(name.slice(0, at), h("mark", null, name.slice(at, at + query.length)), name.slice(at + query.length));
      else p.name.textContent = name;
      p.name.title = name;
      const err = model.status[i] === 2;
      row.classList.toggle("error", err);
      const start = model.startUs[i];
      const dur = model.durUs[i];
      const rawLeft = ((start - from) / span) * 100;
      const rawRight = dur < 0 ? Math.max(rawLeft, 100) : ((start + dur - from) / span) * 100;
      // Clipped to the window; a span outside it keeps a sliver at the edge it lies beyond.
      const left = Math.min(100, Math.max(0, rawLeft));
      const width = Math.max(0, Math.min(100, rawRight) - left);
      p.bar.classList.toggle("outside", rawRight < 0 || rawLeft > 100);
      p.bar.style.left = `${left}%`;
      p.bar.style.width = `max(2px, ${width}%)`;
      p.bar.style.setProperty("--c", err ? "var(--error)" : typeColor(type));
      p.bar.classList.toggle("open-ended", dur < 0);
      p.label.textContent = dur < 0 ? "running" : formatMicros(dur);
      // The label sits right of the bar; inside a long bar that reaches the end; else left of it.
      const right = left + Math.max(0, width);
      p.label.classList.remove("before", "inside");
      p.label.style.left = ""; p.label.style.right = "";
      const widthPx = (width / 100) * (tickWidth || 300);
      if (right <= 80) p.label.style.left = `${right}%`;
      else if (widthPx >= 64) { p.label.style.right = `${100 - right}%`; p.label.classList.add("inside"); }
      else { p.label.style.right = `${100 - left}%`; p.label.classList.add("before"); }
    }
    const kids = model.childCount(i);
    const isCollapsed = kids > 0 && collapsed[i] === 1;
    p.toggle.style.visibility = kids > 0 ? "visible" : "hidden";
    p.toggle.classList.toggle("collapsed", isCollapsed);
    p.toggle.setAttribute("aria-expanded", String(!isCollapsed));
    p.count.textContent = isCollapsed ? String(kids) : "";
    p.count.classList.toggle("has-error", isCollapsed && model.errorBelow[i] === 1);
    p.count.title = isCollapsed ? `${kids} direct children hidden${model.errorBelow[i] ? ", some failed" : ""}` : "";
    row.classList.toggle("selected", i === selected);
    row.setAttribute("aria-selected", String(i === selected));
    row.classList.toggle("match", !!(marks && marks[i]));
    row.classList.toggle("match-current", i === current);
    row.classList.toggle("context", !!(keep() && keep()[i] === 2));
  }

  function render() {
    frame = 0;
    const height = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(viewport.scrollTop / rowHeight) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((viewport.scrollTop + height) / rowHeight) + OVERSCAN);
    const needed = last - first;
    while (pool.length < needed) pool.push(makeRow());
    for (let k = 0; k < pool.length; k++) {
      const row = pool[k];
      if (k < needed) {
        row.style.display = "";
        fillRow(row, first + k);
      } else if (row.style.display !== "none") {
        row.style.display = "none";
        row._index = -1;
      }
    }
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }
  const axisResize = new ResizeObserver(layoutTicks);
  axisResize.observe(ticks);
  // Deep trees indent only as far as leaves room for the name; deeper rows show their depth.
  let maxLevels = MAX_INDENT_LEVELS;
  const nameHeader = header.firstChild;
  const nameResize = new ResizeObserver(() => {
    const width = nameHeader.clientWidth;
    if (!width) return;
    const next = Math.max(3, Math.min(MAX_INDENT_LEVELS, Math.floor((width - 260) / INDENT)));
    if (next !== maxLevels) {
      maxLevels = next;
      for (const row of pool) row._index = -1;
      schedule();
    }
  });
  nameResize.observe(nameHeader);

  viewport.addEventListener("scroll", schedule, { passive: true });
  const resize = new ResizeObserver(schedule);
  resize.observe(viewport);

  viewport.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const r = rowIndex(selected);
    const go = (next) => {
      event.preventDefault();
      if (next >= 0 && next < rows.length) onSelect(rows[next]);
    };
    switch (event.key) {
      case "ArrowDown": go(r < 0 ? 0 : r + 1); break;
      case "ArrowUp": go(r < 0 ? 0 : r - 1); break;
      case "PageDown": go(Math.min(rows.length - 1, Math.max(0, r) + Math.floor(viewport.clientHeight / rowHeight))); break;
      case "PageUp": go(Math.max(0, r - Math.floor(viewport.clientHeight / rowHeight))); break;
      case "Home": go(0); break;
      case "End": go(rows.length - 1); break;
      case "ArrowRight":
        if (selected < 0) break;
        event.preventDefault();
        if (model.childCount(selected) > 0) {
          if (collapsed[selected]) onToggle(selected);
          else go(r + 1);
        }
        break;
      case "ArrowLeft":
        if (selected < 0) break;
        event.preventDefault();
        if (model.childCount(selected) > 0 && !collapsed[selected]) onToggle(selected);
        else if (model.parent[selected] >= 0) onSelect(model.parent[selected]);
        break;
      case "Enter":
      case " ":
        if (selected < 0) break;
        event.preventDefault();
        if (onActivate) onActivate(selected);
        break;
      default:
    }
  });

  function rowIndex(i) {
    if (i < 0) return -1;
    if (!rowOf) {
      rowOf = new Int32Array(model.count).fill(-1);
      for (let r = 0; r < rows.length; r++) rowOf[rows[r]] = r;
    }
    return rowOf[i];
  }

  return {
    element,
    viewport,
    setRows(next) {
      rows = next;
      rowOf = null;
      spacer.style.height = `${rows.length * rowHeight}px`;
      for (const row of pool) row._index = -1;
      schedule();
    },
    rowCount() { return rows.length; },
    rowIndex,
    setSelected(i) {
      selected = i;
      schedule();
    },
    setMarks(mask, cur, text = "") {
      marks = mask;
      current = cur;
      if (text !== query) {
        query = text;
        for (const row of pool) row._index = -1;
      }
      schedule();
    },
    /** Scrolls the row of span i into view (centred when it was far away). */
    scrollToIndex(i, { center = false } = {}) {
      const r = rowIndex(i);
      if (r < 0) return;
      const top = r * rowHeight;
      const height = viewport.clientHeight;
      if (center || top < viewport.scrollTop - rowHeight * 10 || top > viewport.scrollTop + height + rowHeight * 10) {
        viewport.scrollTop = Math.max(0, top - height / 2 + rowHeight / 2);
      } else if (top < viewport.scrollTop) viewport.scrollTop = top;
      else if (top + rowHeight > viewport.scrollTop + height) viewport.scrollTop = top + rowHeight - height;
      schedule();
    },
    refresh() {
      for (const row of pool) row._index = -1;
      schedule();
    },
    renderNow: render,
    /** Shows [startUs, endUs) in the timeline column; no arguments = the whole trace. */
    setRange(startUs = 0, endUs = model.totalUs) {
      from = Math.max(0, startUs);
      span = Math.max(1, endUs - from);
      tickWidth = 0;
      layoutTicks();
      for (const row of pool) row._index = -1;
      schedule();
    },
    focus() { viewport.focus({ preventScroll: true }); },
    destroy() { resize.disconnect(); axisResize.disconnect(); nameResize.disconnect(); if (frame) cancelAnimationFrame(frame); },
  };
}

/** 1, 2, 5 × 10^n microseconds nearest above `raw`. */
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}
