// The trace view: header, toolbar (search within the trace, span-type filter, expand/collapse
// all), the span tree with its timeline, and the span detail. Used by the app's trace route
// and by the notebook renderer page (compact).
//
//   mountTraceView(element, { traceId, experimentId, spanId, compact, onSelectSpan, onLoad })
//     → { destroy(), selectSpan(spanId) }
// onSelectSpan(spanId) follows the user's selection (for the URL); onLoad(traceInfo) is called
// once the trace is loaded.
//
// Data: GET /ajax-api/clew/traces/{id}/skeleton (the whole tree without payloads, columnar),
// then span bodies on demand (GET .../spans?ids=…, the selected span and its neighbours,
// cached), and .../search?q= for matches inside inputs, outputs and attributes.

import { h, glyph, copyButton, fetchJson, formatMicros, formatNumber, formatTime, typeLabel, typeIcon, highlightText } from "./util.js";
import { buildModel, visibleRows, typeMask, typeCounts } from "./model.js";
import { createTree } from "./tree.js";
import { createOverview } from "./overview.js";
import { decodeSpan, renderDetail } from "./detail.js";

const API = "/ajax-api/clew/traces";
const PREFETCH_AROUND = 3; // neighbours fetched with the selected span
const STORE_KEY = "clew.traceView.layout";

export function mountTraceView(element, options = {}) {
  const { traceId, experimentId, compact = false, onSelectSpan } = options;
  const root = h("div.tv-root", { testid: "trace-view", class: compact ? "compact" : null });
  element.append(root);
  const abort = new AbortController();
  let destroyed = false;
  let api = null; // set once the skeleton is loaded

  if (!traceId) {
    root.append(h("div.tv-message.error", null, "No trace id given (trace_id)."));
  } else {
    root.append(h("div.tv-message", null, h("span.tv-spinner"), `Loading trace ${traceId}…`));
    const started = performance.now();
    const url = `${API}/${encodeURIComponent(traceId)}/skeleton`;
    fetchJson(url, { signal: abort.signal })
      .then((data) => {
        if (destroyed) return;
        api = build(root, data, { ...options, experimentId, compact, onSelectSpan, signal: abort.signal });
        root.dataset.loadMs = String(Math.round(performance.now() - started));
        options.onLoad?.(data.trace_info || {});
        if (data.trace_info?.state === "IN_PROGRESS") followLive(data);
      })
      .catch((error) => {
        if (destroyed || error.name === "AbortError") return;
        root.replaceChildren(h("div.tv-message.error", null,
          h("strong", null, error.status === 404 ? "Trace not found" : "Could not load the trace"),
          h("div", null, error.message)));
      });
  }

  // A trace still running is re-read every few seconds (while the page is visible) and redrawn
  // when it changed — new spans, ended spans, its final state — keeping the selected span.
  let liveTimer = 0;
  function followLive(previous) {
    let last = signature(previous);
    const tick = async () => {
      if (destroyed) return;
      if (document.visibilityState === "visible") {
        try {
          const data = await fetchJson(`${API}/${encodeURIComponent(traceId)}/skeleton`, { signal: abort.signal });
          if (destroyed) return;
          const next = signature(data);
          if (next !== last) {
            last = next;
            const spanId = api?.currentSpanId();
            api?.destroy();
            api = build(root, data, { ...options, spanId: spanId || options.spanId, experimentId, compact, onSelectSpan, signal: abort.signal });
          }
          if (data.trace_info?.state !== "IN_PROGRESS") return;
        } catch (error) {
          if (error.name === "AbortError") return;
        }
      }
      liveTimer = setTimeout(tick, 3000);
    };
    liveTimer = setTimeout(tick, 3000);
  }

  return {
    destroy() {
      destroyed = true;
      clearTimeout(liveTimer);
      abort.abort();
      api?.destroy();
      root.remove();
    },
    selectSpan(spanId) { api?.selectSpanId(spanId); },
  };
}

/** What changes when a running trace moves on: its state, spans, their statuses and ends. */
function signature(data) {
  const sk = data.skeleton || {};
  let ends = 0;
  for (const d of sk.duration_us || []) ends += d < 0 ? 1 : 0;
  return `${data.trace_info?.state}|${sk.count}|${sk.status}|${ends}|${data.trace_info?.execution_duration}`;
}

function parseDurationMs(text) {
  const m = /^([\d.]+)s$/.exec(String(text || ""));
  return m ? parseFloat(m[1]) * 1000 : null;
}

function parseJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

function readLayout() {
  try { return JSON.parse(localStorage.getItem(STORE_KEY)) || {}; } catch { return {}; }
}
function saveLayout(layout) {
  try { localStorage.setItem(STORE_KEY, JSON.stringify(layout)); } catch { /* private mode */ }
}

/** The header: name, state, id, latency, tokens, session, user, request time, tags, metadata. */
function renderHeader(info, model, { compact, experimentId }) {
  const tags = info.tags || {};
  const meta = info.trace_metadata || {};
  const name = tags["mlflow.traceName"] || (model.count ? model.name(model.order[0]) : "trace");
  const state = info.state || "STATE_UNSPECIFIED";
  const latencyMs = parseDurationMs(info.execution_duration);
  const usage = parseJson(meta["mlflow.trace.tokenUsage"] || "null");
  const cost = parseJson(meta["mlflow.trace.cost"] || "null");
  const session = meta["mlflow.trace.session"];
  const user = meta["mlflow.trace.user"] || meta["mlflow.user"];
  const requestMs = Date.parse(info.request_time);
  const stateCls = state === "OK" ? "ok" : state === "ERROR" ? "error" : "running";

  const stat = (icon, label, value, title) => h("span.tv-stat", { title: title || label }, icon ? glyph(icon, 13) : null, h("span.tv-stat-label", null, label), h("span.tv-stat-value", null, value));
  const stats = h("div.tv-stats", null,
    stat("clock", "Latency", latencyMs !== null ? formatMicros(latencyMs * 1000) : state === "IN_PROGRESS" && model.count ? `${formatMicros(model.totalUs)} so far` : "—"),
    stat(null, "Spans", formatNumber(model.count)),
    usage && typeof usage === "object" ? stat("coins", "Tokens", formatNumber(usage.total_tokens ?? (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0)), `input ${formatNumber(usage.input_tokens ?? 0)} · output ${formatNumber(usage.output_tokens ?? 0)}${usage.cache_read_input_tokens ? ` · cache read ${formatNumber(usage.cache_read_input_tokens)}` : ""}`) : null,
    cost && typeof cost.total_cost === "number" ? stat(null, "Cost", `$${cost.total_cost.toFixed(4)}`) : null,
    Number.isFinite(requestMs) ? stat(null, "Started", formatTime(requestMs)) : null,
    session ? stat(null, "Session", experimentId && !compact ? h("a", { href: `#/experiments/${encodeURIComponent(experimentId)}/sessions?session=${encodeURIComponent(session)}` }, session) : session) : null,
    user ? stat("user", "User", user) : null);

  const pills = [];
  for (const [k, v] of Object.entries(tags)) if (!k.startsWith("mlflow.")) pills.push(h("span.tv-pill.tag", { title: `tag ${k}` }, h("span.tv-k", null, k), h("span.tv-v", null, v)));
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith("mlflow.")) pills.push(h("span.tv-pill.meta", { title: `metadata ${k}` }, h("span.tv-k", null, k), h("span.tv-v", null, v)));
  for (const k of ["mlflow.source.name", "mlflow.source.git.branch", "mlflow.sourceRun", "mlflow.modelId"]) {
    if (meta[k]) pills.push(h("span.tv-pill.meta", { title: `metadata ${k}` }, h("span.tv-k", null, k.replace("mlflow.", "")), h("span.tv-v", null, meta[k])));
  }

  const allMeta = h("details.tv-all-meta", null, h("summary", null, "all metadata and tags"),
    h("table.tv-attrs", null,
      Object.entries(meta).map(([k, v]) => h("tr", { class: k.startsWith("mlflow.") ? "internal" : null }, h("th", null, k), h("td", null, v))),
      h("tr.tv-attrs-sep", null, h("td", { colspan: "2" }, "Tags")),
      Object.entries(tags).map(([k, v]) => h("tr", { class: k.startsWith("mlflow.") ? "internal" : null }, h("th", null, k), h("td", null, v)))));

  const full = compact && experimentId ? h("a.tv-open-full", { href: `/#/experiments/${encodeURIComponent(experimentId)}/traces/${encodeURIComponent(info.trace_id)}`, target: "_blank", rel: "noopener" }, "Open in clew ", glyph("external", 12)) : null;

  return h("header.tv-header", { testid: "trace-header" },
    h("div.tv-title-row", null,
      model.count ? typeIcon(model.type(model.order[0]), 22) : null,
      h("h1.tv-title", { title: name }, name),
      h(`span.tv-state.${stateCls}`, null, state === "IN_PROGRESS" ? "In progress" : state),
      h("span.tv-trace-id", null, h("code", null, info.trace_id), copyButton(info.trace_id, { testid: "trace-id-copy", title: "Copy trace id" })),
      h("span.tv-spacer"),
      full),
    stats,
    pills.length || !compact ? h("div.tv-pills", null, pills, compact ? null : allMeta) : null);
}

/** Builds the loaded view inside `root`; returns { destroy, selectSpanId }. */
function build(root, data, { spanId, compact, onSelectSpan, experimentId, signal }) {
  const info = data.trace_info || {};
  const model = buildModel(data.skeleton || { count: 0, parents: [], names: [], types: [], start_us: [], duration_us: [] });
  const traceId = info.trace_id;
  const collapsed = new Uint8Array(model.count);
  let keep = null;
  let selected = -1;
  const cache = new Map(); // span id → decoded span
  const pending = new Map(); // span id → promise
  // The detail marks the trace search's text in what it renders.
  const detailState = { tab: "chat", afterRender: (el) => highlightText(el, searchInput.value.trim().toLowerCase()) };
  const layout = readLayout();
  const cleanups = [];

  root.replaceChildren();
  root.append(renderHeader(info, model, { compact, experimentId }));

  if (!model.count) {
    root.append(h("div.tv-message", null, "This trace has no spans yet."));
    return { destroy() {}, selectSpanId() {}, currentSpanId() { return null; } };
  }

  // ---- toolbar ----
  const searchInput = h("input.tv-search-input", { type: "search", placeholder: "Search spans (names, inputs, outputs, attributes)", testid: "trace-search", "aria-label": "Search within the trace", spellcheck: "false" });
  const searchCount = h("span.tv-search-count", { testid: "trace-search-count", "aria-live": "polite" });
  const prevButton = h("button.tv-icon-button", { type: "button", title: "Previous match (Shift+Enter)", testid: "trace-search-prev" }, glyph("up"));
  const nextButton = h("button.tv-icon-button", { type: "button", title: "Next match (Enter)", testid: "trace-search-next" }, glyph("down"));
  const typeSelect = h("select.tv-select", { testid: "span-type-filter", "aria-label": "Filter by span type" },
    h("option", { value: "" }, `All types (${formatNumber(model.count)})`),
    typeCounts(model).map(([type, n]) => h("option", { value: type }, `${typeLabel(type === "UNKNOWN" ? "" : type) === "Span" ? "Unknown" : typeLabel(type)} (${formatNumber(n)})`)));
  const expandAll = h("button.tv-button", { type: "button", testid: "expand-all", title: "Expand all" }, glyph("expand", 13), compact ? null : " Expand all");
  const collapseAll = h("button.tv-button", { type: "button", testid: "collapse-all", title: "Collapse all" }, glyph("collapse", 13), compact ? null : " Collapse all");
  const zoomButton = h("button.tv-button", { type: "button", testid: "timeline-zoom", title: "Zoom the timeline to the selected span (z)" }, glyph("zoom", 13), compact ? null : " Zoom to span");
  const toolbar = h("div.tv-toolbar", null,
    h("div.tv-search", null, glyph("search", 14), searchInput, searchCount, prevButton, nextButton),
    typeSelect, h("span.tv-spacer"), zoomButton, expandAll, collapseAll);
  root.append(toolbar);
  // The overview strip (not in the compact notebook view, where height is scarce).
  const overview = compact ? null : createOverview(model, { onRange: (a, b) => (a === undefined ? setZoom(false) : setZoom(true, [a, b])) });
  if (overview) root.append(overview.element);

  // ---- split: tree | detail ----
  const tree = createTree(model, {
    rowHeight: compact ? 26 : 28,
    collapsed,
    keep: () => keep,
    onSelect: (i) => select(i, { user: true }),
    onToggle: (i) => toggle(i),
    onActivate: (i) => toggle(i),
  });
  const detail = h("div.tv-detail", { testid: "span-detail" });
  const splitter = h("div.tv-splitter", { role: "separator", "aria-orientation": "vertical", title: "Drag to resize" });
  const split = h("div.tv-split", null, tree.element, splitter, detail);
  const treeWidth = layout[compact ? "treeCompact" : "tree"];
  if (treeWidth) split.style.setProperty("--tv-tree-w", `${treeWidth}%`);
  const nameWidth = layout.name;
  if (nameWidth) tree.element.style.setProperty("--tv-name-w", `${nameWidth}%`);
  root.append(split);

  dragResize(splitter, (x) => {
    const box = split.getBoundingClientRect();
    const pct = Math.min(80, Math.max(22, ((x - box.left) / box.width) * 100));
    split.style.setProperty("--tv-tree-w", `${pct}%`);
    layout[compact ? "treeCompact" : "tree"] = Math.round(pct);
  }, () => saveLayout(layout));
  const nameHandle = h("div.tv-col-handle", { title: "Drag to resize" });
  tree.element.querySelector(".tv-tree-header-name").append(nameHandle);
  dragResize(nameHandle, (x) => {
    const box = tree.element.getBoundingClientRect();
    const pct = Math.min(80, Math.max(25, ((x - box.left) / box.width) * 100));
    tree.element.style.setProperty("--tv-name-w", `${pct}%`);
    layout.name = Math.round(pct);
  }, () => saveLayout(layout));

  function refreshRows() {
    tree.setRows(visibleRows(model, collapsed, keep));
  }

  function toggle(i) {
    if (model.childCount(i) === 0) return;
    collapsed[i] = collapsed[i] ? 0 : 1;
    refreshRows();
    // Collapsing hides the selected span: the selection moves up to the collapsed span.
    if (collapsed[i] && selected >= 0 && model.pos[selected] > model.pos[i] && model.pos[selected] < model.end[i]) select(i, { user: true });
  }

  /** Opens every collapsed ancestor of span i; true when the rows changed. */
  function reveal(i) {
    let changed = false;
    for (let p = model.parent[i]; p >= 0; p = model.parent[p]) if (collapsed[p]) { collapsed[p] = 0; changed = true; }
    if (changed) refreshRows();
    return changed;
  }

  expandAll.addEventListener("click", () => { collapsed.fill(0); refreshRows(); if (selected >= 0) tree.scrollToIndex(selected, { center: true }); });
  collapseAll.addEventListener("click", () => {
    for (let i = 0; i < model.count; i++) collapsed[i] = model.childCount(i) > 0 ? 1 : 0;
    refreshRows();
    if (selected >= 0 && tree.rowIndex(selected) < 0) {
      let top = selected;
      while (model.parent[top] >= 0) top = model.parent[top];
      select(top, { user: true });
    }
    tree.viewport.scrollTop = 0;
  });
  typeSelect.addEventListener("change", () => {
    keep = typeSelect.value ? typeMask(model, [typeSelect.value]) : null;
    refreshRows();
    recomputeMatches(false);
    if (selected >= 0 && tree.rowIndex(selected) < 0 && tree.rowCount() > 0) {
      // The first span of the chosen type.
      const first = keep ? [...visibleRows(model, collapsed, keep)].find((i) => keep[i] === 1) : -1;
      if (first !== undefined && first >= 0) select(first, { user: true });
    }
  });

  // Timeline zoom: the selected span's time range fills the column, until reset.
  let zoomed = false;
  /** Zooms to `range` ([startUs, endUs]), or to the selected span; off shows the whole trace. */
  function setZoom(on, range) {
    zoomed = on && (range !== undefined || selected >= 0);
    if (zoomed) {
      if (!range) {
        const start = model.startUs[selected];
        const dur = model.durUs[selected] >= 0 ? model.durUs[selected] : model.totalUs - start;
        const pad = Math.max(1, dur * 0.03);
        range = [start - pad, start + dur + pad];
      }
      tree.setRange(range[0], range[1]);
      overview?.setWindow(range[0], range[1]);
    } else {
      tree.setRange();
      overview?.setWindow();
    }
    zoomButton.classList.toggle("active", zoomed);
    zoomButton.title = zoomed ? "Show the whole trace (z)" : "Zoom the timeline to the selected span (z)";
    if (!compact) zoomButton.lastChild.textContent = zoomed ? " Reset zoom" : " Zoom to span";
  }
  zoomButton.addEventListener("click", () => setZoom(!zoomed));
  tree.viewport.addEventListener("keydown", (event) => {
    if (event.key === "z" && !event.ctrlKey && !event.metaKey && !event.altKey) { event.preventDefault(); setZoom(!zoomed); }
  });

  // ---- selection and span bodies ----
  let fetchTimer = 0;
  function select(i, { user = false, center = false } = {}) {
    if (i < 0 || i >= model.count) return;
    reveal(i);
    selected = i;
    tree.setSelected(i);
    tree.scrollToIndex(i, { center });
    showDetail(i);
    if (user && onSelectSpan) onSelectSpan(model.id(i));
  }

  function neighbours(i) {
    const r = tree.rowIndex(i);
    const ids = [model.id(i)];
    const rows = visibleRows(model, collapsed, keep);
    for (let d = 1; d <= PREFETCH_AROUND; d++) {
      for (const rr of [r + d, r - d]) if (rr >= 0 && rr < rows.length) ids.push(model.id(rows[rr]));
    }
    return ids.filter((id) => !cache.has(id) && !pending.has(id));
  }

  function fetchSpans(ids) {
    if (!ids.length) return Promise.resolve();
    const promise = fetchJson(`${API}/${encodeURIComponent(traceId)}/spans?ids=${ids.join(",")}`, { signal })
      .then((answer) => {
        for (const dict of answer.spans || []) {
          const span = decodeSpan(dict);
          cache.set(span.id, span);
        }
        // Ids the server did not return (the span vanished) are remembered as missing.
        for (const id of ids) if (!cache.has(id)) cache.set(id, null);
      })
      .finally(() => { for (const id of ids) pending.delete(id); });
    for (const id of ids) pending.set(id, promise);
    return promise;
  }

  /** The span's ancestors as a clickable trail (root › … › parent); null for a root. */
  function ancestorPath(i) {
    const chain = [];
    for (let p = model.parent[i]; p >= 0 && chain.length <= model.count; p = model.parent[p]) chain.push(p);
    if (!chain.length) return null;
    chain.reverse();
    // Long chains keep the root and the nearest ancestors.
    const shown = chain.length > 5 ? [chain[0], -1, ...chain.slice(-3)] : chain;
    const trail = h("nav.tv-path", { "aria-label": "Ancestors" });
    shown.forEach((p, k) => {
      if (k) trail.append(h("span.tv-path-sep", null, "›"));
      if (p < 0) { trail.append(h("span.tv-muted", { title: `${chain.length - 4} more` }, "…")); return; }
      const link = h("button.tv-path-item", { type: "button", title: `${model.type(p) || "span"} ${model.name(p)}` }, model.name(p));
      link.addEventListener("click", () => select(p, { user: true }));
      trail.append(link);
    });
    return trail;
  }

  function placeholder(i) {
    return h("div.tv-detail-inner", null,
      h("div.tv-detail-head", null,
        h("div.tv-detail-title", null, typeIcon(model.type(i), 22), h("h2", null, model.name(i)), h(`span.tv-status.${model.status[i] === 2 ? "error" : model.status[i] === 1 ? "ok" : "unset"}`, null, ["UNSET", "OK", "ERROR"][model.status[i]])),
        h("div.tv-badges", null, h("span.tv-badge", null, typeLabel(model.type(i))), h("span.tv-badge", null, glyph("clock", 12), " ", formatMicros(model.durUs[i])))),
      placeholderTabs(i),
      h("div.tv-loading-lines", null, h("div"), h("div"), h("div")));
  }

  /** The tabs while the span loads: a tab picked now is the one the loaded span opens on. */
  function placeholderTabs(i) {
    const llmLike = model.type(i) === "LLM" || model.type(i) === "CHAT_MODEL";
    const tabs = [...(llmLike ? [["chat", "Chat"]] : []), ["io", "Inputs / Outputs"], ["attributes", "Attributes"], ["events", "Events"]];
    const chosen = () => (llmLike && (detailState.tab === "io" || detailState.tab === "chat") && detailState.chatPreferred !== false ? "chat" : tabs.some((t) => t[0] === detailState.tab) ? detailState.tab : "io");
    const bar = h("div.tv-tabs", { role: "tablist" });
    const mark = () => { for (const b of bar.children) b.classList.toggle("active", b.dataset.tab === chosen()); };
    for (const [id, label] of tabs) {
      const button = h("button.tv-tab", { type: "button", role: "tab", testid: `tab-${id}`, dataset: { tab: id } }, label);
      button.addEventListener("click", () => {
        detailState.tab = id;
        if (llmLike) detailState.chatPreferred = id === "chat";
        mark();
      });
      bar.append(button);
    }
    mark();
    return bar;
  }

  function showDetail(i) {
    const id = model.id(i);
    const meta = { durationUs: model.durUs[i], offsetUs: model.startUs[i], path: ancestorPath(i) };
    const render = () => {
      if (selected !== i) return;
      const span = cache.get(id);
      const scroll = detail.scrollTop;
      if (span === null) {
        detail.replaceChildren(placeholder(i), h("div.tv-message.error", null, "This span's body could not be found."));
        return;
      }
      detail.replaceChildren(renderDetail(span, meta, detailState, (tab, isChat, llmLike) => {
        detailState.tab = tab;
        if (isChat && llmLike) detailState.chatPreferred = tab === "chat";
        if (isChat && !llmLike) detailState.chatPinned = tab === "chat";
      }));
      detail.scrollTop = scroll > 0 && detail.dataset.spanId === id ? scroll : 0;
      detail.dataset.spanId = id;
    };
    if (cache.has(id)) {
      render();
      clearTimeout(fetchTimer);
      fetchTimer = setTimeout(() => fetchSpans(neighbours(i)).catch(() => {}), 120);
      return;
    }
    detail.replaceChildren(placeholder(i));
    detail.dataset.spanId = "";
    clearTimeout(fetchTimer);
    // Holding an arrow key walks many rows: fetch once the selection rests for a moment.
    fetchTimer = setTimeout(() => {
      const wait = pending.get(id) || fetchSpans(neighbours(i));
      wait.then(render).catch((error) => {
        if (error.name === "AbortError" || selected !== i) return;
        detail.replaceChildren(placeholder(i), h("div.tv-message.error", null, `Could not load the span: ${error.message}`));
      });
    }, pending.has(id) ? 0 : 40);
  }

  // ---- search within the trace ----
  let marks = null; // Uint8Array: 1 = name match, 2 = content match
  let matches = []; // span indexes in tree order
  let current = -1;
  let contentIds = null; // Set of indexes the server matched
  let contentState = "idle"; // idle | searching | done | error
  let searchTimer = 0;
  let searchSeq = 0;
  let searchAbort = null;

  function recomputeMatches(jump) {
    const q = searchInput.value.trim().toLowerCase();
    if (!q) {
      marks = null; matches = []; current = -1;
      tree.setMarks(null, -1);
      updateCount();
      return;
    }
    marks = new Uint8Array(model.count);
    const tableHits = model.nameTable.map((n) => String(n).toLowerCase().includes(q));
    for (let i = 0; i < model.count; i++) if (tableHits[model.nameIdx[i]]) marks[i] = 1;
    if (contentIds) for (const i of contentIds) if (!marks[i]) marks[i] = 2;
    const previous = current >= 0 ? matches[current] : -1;
    matches = [];
    for (let k = 0; k < model.count; k++) {
      const i = model.order[k];
      if (marks[i] && (!keep || keep[i] === 1)) matches.push(i);
    }
    current = previous >= 0 ? matches.indexOf(previous) : -1;
    if (jump && matches.length && current < 0) {
      // Start from the first match at or after the selection.
      const from = selected >= 0 ? model.pos[selected] : 0;
      current = matches.findIndex((i) => model.pos[i] >= from);
      if (current < 0) current = 0;
      select(matches[current], { user: true, center: true });
    }
    tree.setMarks(marks, current >= 0 ? matches[current] : -1, q);
    updateCount();
  }

  function updateCount() {
    const q = searchInput.value.trim();
    const busy = contentState === "searching" ? " …" : "";
    if (!q) searchCount.textContent = "";
    else if (!matches.length) searchCount.textContent = contentState === "searching" ? "searching…" : "no matches";
    else searchCount.textContent = `${current >= 0 ? current + 1 : 0} / ${formatNumber(matches.length)}${busy}`;
    searchCount.title = contentState === "error" ? "Content search failed; showing name matches" : "";
    root.classList.toggle("searching", contentState === "searching");
  }

  function step(delta) {
    if (!matches.length) return;
    current = current < 0 ? (delta > 0 ? 0 : matches.length - 1) : (current + delta + matches.length) % matches.length;
    select(matches[current], { user: true, center: true });
    tree.setMarks(marks, matches[current], searchInput.value.trim().toLowerCase());
    updateCount();
  }

  searchInput.addEventListener("input", () => {
    contentIds = null;
    current = -1;
    const q = searchInput.value.trim();
    contentState = q ? "searching" : "idle";
    recomputeMatches(true);
    clearTimeout(searchTimer);
    if (!q) return;
    const seq = ++searchSeq;
    searchAbort?.abort();
    if (q.length < 2) { contentState = "idle"; updateCount(); return; } // names only for one character
    // Content search scans the trace on the server: wait for a pause in typing, longer on big traces.
    searchTimer = setTimeout(async () => {
      searchAbort = new AbortController();
      const abortBoth = () => searchAbort?.abort();
      signal.addEventListener("abort", abortBoth, { once: true });
      try {
        const answer = await fetchJson(`${API}/${encodeURIComponent(traceId)}/search?q=${encodeURIComponent(q)}`, { signal: searchAbort.signal });
        if (seq !== searchSeq) return;
        contentIds = new Set(model.indexMany(answer.span_ids || []));
        contentState = "done";
      } catch (error) {
        if (seq !== searchSeq || error.name === "AbortError") return;
        contentState = "error";
      }
      signal.removeEventListener("abort", abortBoth);
      recomputeMatches(true);
    }, model.count > 20_000 ? 600 : 220);
  });
  searchInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); step(event.shiftKey ? -1 : 1); }
    else if (event.key === "Escape") { searchInput.value = ""; searchInput.dispatchEvent(new Event("input")); tree.focus(); }
    else if (event.key === "ArrowDown" && !matches.length) { event.preventDefault(); tree.focus(); }
  });
  nextButton.addEventListener("click", () => step(1));
  prevButton.addEventListener("click", () => step(-1));

  // Ctrl/Cmd+F inside the view focuses the trace search (the tree is virtual: the browser's
  // find would miss rows that are not in the DOM).
  const onKey = (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "f" && root.contains(document.activeElement)) {
      event.preventDefault();
      searchInput.focus();
      searchInput.select();
    }
  };
  document.addEventListener("keydown", onKey);
  cleanups.push(() => document.removeEventListener("keydown", onKey));

  // ---- first paint ----
  refreshRows();
  const initial = spanId ? model.indexOf(spanId) : -1;
  select(initial >= 0 ? initial : model.order[0], { center: initial >= 0 });
  tree.renderNow();

  return {
    destroy() {
      clearTimeout(fetchTimer);
      clearTimeout(searchTimer);
      tree.destroy();
      overview?.destroy();
      for (const f of cleanups) f();
    },
    currentSpanId() { return selected >= 0 ? model.id(selected) : null; },
    selectSpanId(id) {
      const i = model.indexOf(id);
      if (i >= 0 && i !== selected) select(i, { center: true });
    },
  };
}

/** Pointer drag on `handle`: onMove(clientX) while dragging, onEnd() after. */
function dragResize(handle, onMove, onEnd) {
  handle.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    handle.classList.add("dragging");
    const move = (e) => onMove(e.clientX);
    const up = () => {
      handle.classList.remove("dragging");
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      onEnd();
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  });
}
