// The traces table of one experiment: search (MLflow filter grammar or free text over span
// content), quick filters, sorting, page-token paging, multi-select delete, tag editing, and
// live updates (the first page is polled while the tab is visible).
//
// The search and filters live in the URL's query (#/experiments/1/traces?q=...&state=ERROR),
// so a filtered view is a link; they are written with replaceState.
import { h, formatDuration, formatNumber, formatRelative, formatTimestamp, previewText, truncate, shortId, copyText } from "../lib/format.js";
import { icon } from "../lib/icons.js";
import { traceRow, buildFilter, looksLikeFilter, freeTextFilter, quote, SPAN_TYPES } from "../lib/traces.js";
import { searchTraces, experimentFacets, deleteTraces, setTraceTag, deleteTraceTag } from "../api.js";
import { experimentHeader, errorBox, confirmDialog, openPopover, stateBadge } from "./common.js";

const PAGE_SIZE = 50;
const POLL_MS = 4000;
/** Sortable columns: test id suffix → order_by key. */
const SORT_KEYS = { time: "timestamp_ms", duration: "execution_time_ms", name: "name", state: "status" };
const DEFAULT_SORT = { key: "time", asc: false };

export function mountTraces(container, { experimentId, params, onExperiment }) {
  const query = {
    search: params.get("q") || "",
    state: params.get("state") || "",
    spanType: params.get("span_type") || "",
    name: params.get("name") || "",
    tag: params.get("tag") || "",
    time: params.get("time") || "",
  };
  const sort = parseSort(params.get("sort"));
  let pageTokens = [null]; // token of each page visited; [i] fetches page i
  let pageIndex = 0;
  let nextToken = null;
  let rows = [];
  let selected = new Set();
  let loading = false;
  let destroyed = false;
  let popover = null;
  let totalCount = null;
  let requestSeq = 0;
  let pollTimer = null;
  let lastLoaded = 0;
  let lastSignature = "";
  let missing = null; // the 404 when the experiment does not exist
  let cursor = -1; // the keyboard's row (index into the shown rows), -1 = none

  // ---- layout ----
  const header = experimentHeader(experimentId, "traces");
  const searchInput = h("input.input.search-input", {
    type: "search",
    testid: "search-input",
    value: query.search,
    placeholder: "Search span content, or filter:  trace.status = 'ERROR' AND tags.env = 'prod'",
    "aria-label": "Search traces",
    spellcheck: "false",
    autocomplete: "off",
    onkeydown: (event) => {
      if (event.key === "Enter") { event.preventDefault(); query.search = searchInput.value; reload(); }
      if (event.key === "Escape" && searchInput.value) { searchInput.value = ""; query.search = ""; reload(); }
    },
    oninput: () => updateSearchHint(),
    // The field's own clear button (x) empties it without an Enter.
    onsearch: () => { if (!searchInput.value && query.search) { query.search = ""; reload(); } },
  });
  const searchHint = h("div.search-hint", { testid: "search-mode" });
  // The error box exists only while there is an error (tests and screen readers see no empty alert).
  const searchErrorSlot = h("div.search-error-slot");

  const select = (testid, label, options, value, onchange) => {
    const el = h("select.select", { testid, "aria-label": label, onchange: () => onchange(el.value) },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
    el.value = value;
    return el;
  };
  const stateSelect = select("quick-filter-state", "State", [["", "Any state"], ["OK", "OK"], ["ERROR", "Error"], ["IN_PROGRESS", "In progress"]],
    query.state, (v) => { query.state = v; reload(); });
  const spanTypeSelect = select("quick-filter-span-type", "Span type", [["", "Any span type"], ...SPAN_TYPES.map((t) => [t, `Has ${t} span`])],
    query.spanType, (v) => { query.spanType = v; reload(); });
  const nameSelect = select("quick-filter-name", "Trace name", [["", "Any name"], ...(query.name ? [[query.name, query.name]] : [])],
    query.name, (v) => { query.name = v; reload(); });
  const timeSelect = select("quick-filter-time", "Time range", [["", "All time"], ["1h", "Last hour"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"]],
    query.time, (v) => { query.time = v; reload(); });
  const tagInput = h("input.input.tag-filter", {
    testid: "quick-filter-tag",
    placeholder: "tag key=value",
    value: query.tag,
    "aria-label": "Tag filter (key=value)",
    list: "tag-keys",
    onkeydown: (event) => { if (event.key === "Enter") { query.tag = tagInput.value.trim(); reload(); } },
    onchange: () => { if (tagInput.value.trim() !== query.tag) { query.tag = tagInput.value.trim(); reload(); } },
  });
  const tagKeys = h("datalist", { id: "tag-keys" });
  const clearButton = h("button.btn.btn-ghost.btn-small", { testid: "clear-filters", onclick: clearFilters, hidden: true }, icon("x", 14), "Clear");

  const liveBadge = h("span.live", { testid: "live-indicator" });
  const refreshButton = h("button.btn.btn-ghost.btn-icon", { title: "Refresh", "aria-label": "Refresh", onclick: () => load() }, icon("refresh", 14));
  const deleteButton = h("button.btn.btn-danger-ghost", { testid: "delete-selected", disabled: true, onclick: deleteSelected }, icon("trash", 14), h("span", {}, "Delete"));
  const selectAll = h("input", { type: "checkbox", testid: "select-all", "aria-label": "Select all traces on this page", onchange: () => {
    if (selectAll.checked) rows.forEach((r) => selected.add(r.traceId)); else selected.clear();
    renderBody();
  } });

  const sortButton = (column, label) =>
    h("button.sort", { testid: `sort-${column}`, onclick: () => {
      if (sort.key === column) sort.asc = !sort.asc;
      else { sort.key = column; sort.asc = column === "name"; }
      reload();
    } }, label, h("span.sort-arrow"));
  const th = (cls, content, column) => h("th", { class: cls, dataset: column ? { sort: column } : undefined }, content);
  const headRow = h("tr", {},
    th("col-select", selectAll),
    th("col-request", "Request"),
    th("col-response", "Response"),
    th("col-id", "Trace ID"),
    th("col-name", sortButton("name", "Name"), "name"),
    th("col-time", sortButton("time", "Time"), "time"),
    th("col-duration num", sortButton("duration", "Duration"), "duration"),
    th("col-state", sortButton("state", "State"), "state"),
    th("col-session", "Session"),
    th("col-user", "User"),
    th("col-tokens num", "Tokens"),
    th("col-tags", "Tags"),
  );
  const tbody = h("tbody");
  const table = h("table.table.traces-table", { testid: "traces-table" }, h("thead", {}, headRow), tbody);
  const tableWrap = h("div.table-wrap", {}, table);
  const overlay = h("div.table-state");
  const pageInfo = h("span.page-info", { testid: "page-info" });
  const prevButton = h("button.btn.btn-small", { testid: "prev-page", onclick: () => goPage(pageIndex - 1), disabled: true }, icon("chevronLeft", 14), "Previous");
  const nextButton = h("button.btn.btn-small", { testid: "next-page", onclick: () => goPage(pageIndex + 1), disabled: true }, "Next", icon("chevronRight", 14));

  container.append(
    h("div.page.page-wide", {},
      header.element,
      h("div.toolbar", {},
        h("label.search.search-main", {}, icon("search"), searchInput, h("kbd", { title: "Press / to search" }, "/")),
        h("button.btn.btn-ghost.btn-small", { testid: "search-help", title: "Filter syntax", onclick: (event) => openSyntaxHelp(event.currentTarget) }, "Syntax"),
      ),
      searchHint,
      searchErrorSlot,
      h("div.filters", {},
        icon("filter", 14),
        stateSelect, spanTypeSelect, nameSelect, tagInput, tagKeys, timeSelect, clearButton,
        h("div.filters-spacer"),
        liveBadge, refreshButton, deleteButton,
      ),
      h("div.card.table-card", {}, tableWrap, overlay),
      h("div.pager", {}, pageInfo, h("div.pager-buttons", {}, prevButton, nextButton)),
    ),
  );

  // ---- data ----
  function orderBy() {
    return [`${SORT_KEYS[sort.key]} ${sort.asc ? "ASC" : "DESC"}`];
  }
  function filterText() {
    return buildFilter(query);
  }
  function isDefaultView() {
    return pageIndex === 0 && sort.key === DEFAULT_SORT.key && sort.asc === DEFAULT_SORT.asc;
  }
  function hasFilters() {
    return Boolean(query.search.trim() || query.state || query.spanType || query.name || query.tag || query.time);
  }

  /** New query: back to the first page, selection cleared, URL updated. */
  function reload() {
    pageTokens = [null];
    pageIndex = 0;
    selected.clear();
    writeUrl();
    void load();
  }

  function goPage(index) {
    if (index < 0 || index >= pageTokens.length || loading) return;
    pageIndex = index;
    selected.clear();
    void load();
  }

  async function load({ poll = false } = {}) {
    const seq = ++requestSeq;
    if (!poll) {
      loading = true;
      tableWrap.classList.add("is-loading");
      if (!rows.length) showState(h("div.loading-box", { testid: "loading" }, h("span.spinner"), "Loading traces…"));
    }
    let answer;
    try {
      answer = await searchTraces({ experimentId, filter: filterText(), orderBy: orderBy(), maxResults: PAGE_SIZE, pageToken: pageTokens[pageIndex] });
    } catch (error) {
      if (destroyed || seq !== requestSeq) return;
      loading = false;
      tableWrap.classList.remove("is-loading");
      if (poll) return; // a failed poll is retried by the next one
      if (error.status === 400 && filterText()) {
        showSearchError(error.message);
        rows = [];
        renderBody();
        showState(null);
      } else {
        showSearchError(null);
        rows = [];
        renderBody();
        showState(errorBox(error, () => load()));
      }
      updatePager();
      return;
    }
    if (destroyed || seq !== requestSeq) return;
    loading = false;
    lastLoaded = Date.now();
    tableWrap.classList.remove("is-loading");
    showSearchError(null);
    const fresh = (answer.traces || []).map(traceRow);
    const known = new Set(rows.map((r) => r.traceId));
    const newIds = poll ? new Set(fresh.filter((r) => !known.has(r.traceId)).map((r) => r.traceId)) : new Set();
    if (poll && newIds.size && totalCount !== null) {
      totalCount += newIds.size;
      header.setCount(totalCount);
    }
    // A poll that changed nothing leaves the DOM alone (no flicker, hover and focus kept).
    const signature = JSON.stringify(answer.traces || []);
    const unchanged = poll && signature === lastSignature;
    lastSignature = signature;
    if (unchanged) {
      refreshTimes();
      return;
    }
    rows = fresh;
    nextToken = answer.next_page_token || null;
    pageTokens = pageTokens.slice(0, pageIndex + 1);
    if (nextToken) pageTokens.push(nextToken);
    // Selection survives a poll only for rows still shown.
    selected = new Set([...selected].filter((id) => rows.some((r) => r.traceId === id)));
    renderBody(newIds);
    updatePager();
    if (!rows.length) showState(missing ? notFoundBox() : emptyState()); else showState(null);
    if (!poll) tableWrap.scrollTop = 0;
  }

  async function loadFacets() {
    try {
      const facets = await experimentFacets(experimentId);
      if (destroyed) return;
      totalCount = facets.trace_count;
      header.setCount(totalCount);
      const names = new Set(facets.names || []);
      if (query.name) names.add(query.name);
      nameSelect.replaceChildren(h("option", { value: "" }, "Any name"), ...[...names].sort().map((n) => h("option", { value: n }, n)));
      nameSelect.value = query.name;
      tagKeys.replaceChildren(...(facets.tag_keys || []).map((k) => h("option", { value: `${k}=` })));
    } catch { /* the header stays without a count; the table shows the real error */ }
  }

  async function loadExperiment() {
    try {
      await header.load(() => destroyed, onExperiment);
    } catch (error) {
      if (destroyed) return;
      if (error.status === 404) {
        missing = error;
        header.setName("Experiment not found");
        showState(notFoundBox());
        stopPolling();
        updateLive();
      }
    }
  }

  // ---- rendering ----
  function renderBody(newIds = new Set()) {
    for (const cell of headRow.querySelectorAll("th[data-sort]")) {
      const active = cell.dataset.sort === sort.key;
      cell.setAttribute("aria-sort", active ? (sort.asc ? "ascending" : "descending") : "none");
      cell.classList.toggle("sorted", active);
      const arrow = cell.querySelector(".sort-arrow");
      arrow.replaceChildren(active ? icon(sort.asc ? "arrowUp" : "arrowDown", 12) : "");
    }
    const cursorId = tbody.querySelector("tr.cursor")?.dataset.traceId;
    tbody.replaceChildren(...rows.map((row) => renderRow(row, newIds.has(row.traceId))));
    const trs = [...tbody.querySelectorAll("tr.trace-row")];
    cursor = cursorId ? trs.findIndex((tr) => tr.dataset.traceId === cursorId) : -1;
    if (cursor >= 0) trs[cursor].classList.add("cursor");
    updateSelection();
  }

  /** Keeps "5m ago" true while the rows stay. */
  function refreshTimes() {
    const byId = new Map(rows.map((r) => [r.traceId, r]));
    for (const tr of tbody.querySelectorAll("tr.trace-row")) {
      const row = byId.get(tr.dataset.traceId);
      const cell = tr.querySelector("td.col-time");
      if (row && cell) cell.textContent = formatRelative(row.requestTime);
    }
  }

  function traceHref(traceId) {
    return `#/experiments/${encodeURIComponent(experimentId)}/traces/${encodeURIComponent(traceId)}`;
  }

  function renderRow(row, isNew) {
    const href = traceHref(row.traceId);
    const request = previewText(row.requestPreview);
    const response = previewText(row.responsePreview);
    const checkbox = h("input", { type: "checkbox", testid: "row-select", checked: selected.has(row.traceId), "aria-label": `Select ${row.traceId}`,
      onchange: () => { if (checkbox.checked) selected.add(row.traceId); else selected.delete(row.traceId); updateSelection(); } });
    const tokens = row.tokens;
    const tr = h("tr.trace-row", {
      testid: "trace-row",
      dataset: { traceId: row.traceId, state: row.state },
      class: [isNew ? "row-new" : "", selected.has(row.traceId) ? "selected" : ""].join(" ").trim(),
      onclick: (event) => {
        const target = event.target;
        if (target instanceof Element && target.closest("a, button, input, label, .no-nav")) return;
        if (window.getSelection()?.toString()) return; // selecting text is not a click
        location.hash = href;
      },
    },
      h("td.col-select.no-nav", { onclick: (event) => { if (event.target === event.currentTarget) checkbox.click(); } }, checkbox),
      h("td.col-request", { title: truncate(row.requestPreview, 2000) },
        h("a.preview", { href }, request ? truncate(request, 300) : h("span.muted", {}, "—"))),
      h("td.col-response", { title: truncate(row.responsePreview, 2000) },
        h("span.preview", {}, response ? truncate(response, 300) : h("span.muted", {}, row.state === "IN_PROGRESS" ? "…" : "—"))),
      h("td.col-id", {},
        h("span.id-cell", {},
          h("a.mono.trace-id", { href, title: row.traceId }, shortId(row.traceId, 11)),
          h("button.icon-button.copy", { title: "Copy trace id", "aria-label": "Copy trace id", onclick: async (event) => {
            const button = event.currentTarget;
            if (await copyText(row.traceId)) { button.classList.add("done"); setTimeout(() => button.classList.remove("done"), 900); }
          } }, icon("copy", 12)))),
      h("td.col-name", { title: row.name }, row.name ? h("span.name-chip", {}, row.name) : h("span.muted", {}, "—")),
      h("td.col-time", { title: formatTimestamp(row.requestTime) }, formatRelative(row.requestTime)),
      h("td.col-duration.num", {}, row.state === "IN_PROGRESS" && row.durationMs === null ? h("span.muted", {}, "running") : formatDuration(row.durationMs)),
      h("td.col-state", {}, stateBadge(row.state)),
      h("td.col-session", { title: row.session }, row.session
        ? h("a.session-link.mono", { href: `#/experiments/${encodeURIComponent(experimentId)}/sessions?session=${encodeURIComponent(row.session)}` }, truncate(row.session, 24))
        : h("span.muted", {}, "—")),
      h("td.col-user", { title: row.user }, row.user
        ? h("span.user-cell", {}, h("span.user-name", {}, row.user),
          h("button.icon-button.cell-filter", { title: `Only traces of ${row.user}`, "aria-label": `Only traces of ${row.user}`,
            onclick: () => addClause(`metadata.\`mlflow.trace.user\` = ${quote(row.user)}`) }, icon("filter", 11)))
        : h("span.muted", {}, "—")),
      h("td.col-tokens.num", { title: tokens ? `input ${tokens.input ?? "?"} · output ${tokens.output ?? "?"} · total ${tokens.total ?? "?"}` : "" },
        tokens && tokens.total !== null ? formatNumber(tokens.total, true) : h("span.muted", {}, "—")),
      h("td.col-tags.no-nav", {}, renderTags(row)),
    );
    return tr;
  }

  function renderTags(row) {
    // Every user tag is in the row (the cell fades out what does not fit; its title lists all).
    const entries = Object.entries(row.tags);
    const chips = entries.slice(0, 12).map(([k, v]) =>
      h("button.tag-chip", { testid: "tag-chip", dataset: { tagKey: k }, title: `${k} = ${v}\nClick to filter by this tag`,
        onclick: () => { query.tag = `${k}=${v}`; tagInput.value = query.tag; reload(); } },
        h("span.tag-text", {}, v !== "" ? `${k}=${v}` : k)));

    const add = h("button.icon-button.tag-edit", { testid: "tag-editor", title: "Edit tags", "aria-label": "Edit tags",
      onclick: (event) => openTagEditor(row, event.currentTarget) }, icon("tag", 13));
    const title = entries.map(([k, v]) => `${k} = ${v}`).join("\n");
    return h("div.tags", {}, h("div.tag-chips", { title, class: entries.length > 1 ? "fade" : "" }, chips), add);
  }

  function openTagEditor(row, anchor) {
    popover?.close();
    const list = h("div.tag-list");
    const error = h("div.form-error", { hidden: true });
    const keyInput = h("input.input", { testid: "tag-key", placeholder: "key", "aria-label": "Tag key", autocomplete: "off" });
    const valueInput = h("input.input", { testid: "tag-value", placeholder: "value", "aria-label": "Tag value", autocomplete: "off" });
    const saveButton = h("button.btn.btn-primary.btn-small", { testid: "tag-save", type: "submit" }, "Save");
    const fail = (e) => { error.hidden = false; error.textContent = e.message || String(e); };
    const drawList = () => {
      const entries = Object.entries(row.tags);
      list.replaceChildren(...(entries.length ? entries.map(([k, v]) =>
        h("div.tag-list-row", {},
          h("span.tag-key.mono", { title: k }, k),
          h("span.tag-value.mono", { title: v }, v === "" ? h("span.muted", {}, "(empty)") : v),
          h("button.icon-button", { testid: "tag-delete", dataset: { tagKey: k }, title: `Delete tag ${k}`, "aria-label": `Delete tag ${k}`, onclick: async () => {
            try {
              await deleteTraceTag(row.traceId, k);
              delete row.tags[k];
              delete row.allTags[k];
              drawList();
              refreshRow(row);
            } catch (e) { fail(e); }
          } }, icon("x", 12)))) : [h("div.muted.small", {}, "No tags yet.")]));
    };
    drawList();
    const form = h("form.tag-form", { hidden: true, onsubmit: async (event) => {
      event.preventDefault();
      const key = keyInput.value.trim();
      if (!key) { fail(new Error("A tag needs a key.")); keyInput.focus(); return; }
      if (key.startsWith("mlflow.")) { fail(new Error("Keys starting with 'mlflow.' are reserved for the system.")); return; }
      saveButton.disabled = true;
      try {
        await setTraceTag(row.traceId, key, valueInput.value);
        row.tags[key] = valueInput.value;
        row.allTags[key] = valueInput.value;
        keyInput.value = "";
        valueInput.value = "";
        error.hidden = true;
        drawList();
        refreshRow(row);
        keyInput.focus();
      } catch (e) { fail(e); } finally { saveButton.disabled = false; }
    } }, keyInput, valueInput, saveButton);
    // The form opens with "Add tag", so the list reads calmly and Enter in it adds one more.
    const addButton = h("button.btn.btn-ghost.btn-small.tag-add-button", { testid: "tag-add", type: "button", onclick: () => {
      form.hidden = false;
      addButton.hidden = true;
      keyInput.focus();
    } }, icon("plus", 13), "Add tag");
    popover = openPopover(anchor, [
      h("div.popover-title", {}, icon("tag", 14), "Tags", h("span.mono.muted", { title: row.traceId }, shortId(row.traceId, 14))),
      list, addButton, form, error,
    ], { testid: "tag-popover", onClose: () => { popover = null; } });
    addButton.focus();
  }

  function refreshRow(row) {
    lastSignature = "";
    const old = tbody.querySelector(`tr[data-trace-id="${CSS.escape(row.traceId)}"]`);
    if (old) old.replaceWith(renderRow(row, false));
    void loadFacetsQuietly();
  }
  async function loadFacetsQuietly() {
    try {
      const facets = await experimentFacets(experimentId);
      if (!destroyed) tagKeys.replaceChildren(...(facets.tag_keys || []).map((k) => h("option", { value: `${k}=` })));
    } catch { /* not important */ }
  }

  function updateSelection() {
    for (const tr of tbody.querySelectorAll("tr.trace-row")) tr.classList.toggle("selected", selected.has(tr.dataset.traceId));
    const n = selected.size;
    deleteButton.disabled = n === 0;
    deleteButton.querySelector("span").textContent = n ? `Delete ${n}` : "Delete";
    selectAll.checked = n > 0 && n === rows.length;
    selectAll.indeterminate = n > 0 && n < rows.length;
  }

  function updatePager() {
    prevButton.disabled = pageIndex === 0;
    nextButton.disabled = !nextToken;
    const from = pageIndex * PAGE_SIZE + (rows.length ? 1 : 0);
    const to = pageIndex * PAGE_SIZE + rows.length;
    pageInfo.textContent = rows.length ? `${formatNumber(from)}–${formatNumber(to)}${hasFilters() ? " matching" : ""}` : "";
    clearButton.hidden = !hasFilters();
    updateLive();
  }

  function showState(node) {
    overlay.replaceChildren(...(node ? [node] : []));
    overlay.hidden = !node;
    table.classList.toggle("is-empty", Boolean(node) && !rows.length);
  }

  function showSearchError(message) {
    searchErrorSlot.replaceChildren(...(message
      ? [h("div.search-error", { testid: "search-error", role: "alert" }, icon("alert", 14), h("span", {}, message))]
      : []));
    searchInput.classList.toggle("invalid", Boolean(message));
  }

  function updateSearchHint() {
    const text = searchInput.value.trim();
    if (!text) { searchHint.replaceChildren(); searchHint.hidden = true; return; }
    searchHint.hidden = false;
    searchHint.replaceChildren(looksLikeFilter(text)
      ? h("span", {}, "Filter expression · press Enter")
      : h("span", {}, "Free text: searches inputs, outputs and attributes of every span · press Enter"));
  }

  function notFoundBox() {
    return h("div.empty-state", { testid: "not-found" },
      h("h3", {}, "Experiment not found"),
      h("p", {}, missing?.message || `There is no experiment with id ${experimentId}.`),
      h("a.btn", { href: "#/experiments" }, "All experiments"));
  }

  function emptyState() {
    if (hasFilters()) {
      return h("div.empty-state", { testid: "empty-state" },
        h("h3", {}, "No traces match"),
        h("p", {}, "Nothing in this experiment matches the search and filters."),
        h("button.btn", { onclick: clearFilters }, icon("x", 14), "Clear filters"));
    }
    const origin = location.origin;
    return h("div.empty-state", { testid: "empty-state" },
      h("h3", {}, "No traces yet"),
      h("p", {}, "Send traces to this experiment and they appear here as they arrive."),
      h("div.howto", {},
        h("div.howto-item", {}, h("div.howto-title", {}, "MLflow Python client"),
          h("pre", {}, `import mlflow\nmlflow.set_tracking_uri("${origin}")\nmlflow.set_experiment(experiment_id="${experimentId}")\n\n@mlflow.trace\ndef answer(question):\n    return "42"\n\nanswer("why?")`)),
        h("div.howto-item", {}, h("div.howto-title", {}, "OpenTelemetry (OTLP/HTTP)"),
          h("pre", {}, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${origin}/v1/traces\nOTEL_EXPORTER_OTLP_TRACES_HEADERS=x-mlflow-experiment-id=${experimentId}`)),
        h("div.howto-item", {}, h("div.howto-title", {}, "Demo data"),
          h("pre", {}, "clew demo   # writes example traces to ./clew.db"))));
  }

  /** ANDs a clause onto the search box (free text becomes its filter form first). */
  function addClause(clause) {
    const text = searchInput.value.trim();
    const base = !text ? "" : looksLikeFilter(text) ? text : freeTextFilter(text);
    if (base.includes(clause)) return;
    searchInput.value = base ? `${base} AND ${clause}` : clause;
    query.search = searchInput.value;
    updateSearchHint();
    reload();
  }

  function openSyntaxHelp(anchor) {
    popover?.close();
    const examples = [
      ["trace.status = 'ERROR'", "failed traces"],
      ["trace.execution_time_ms > 1000", "slower than a second"],
      ["span.type = 'RETRIEVER'", "with a retriever span"],
      ["span.name LIKE 'chat%'", "a span name pattern"],
      ["tags.env = 'prod'", "by tag"],
      ["metadata.`mlflow.trace.user` = 'alice'", "by user"],
      ["trace.text ILIKE '%refund%'", "span content (what plain text does)"],
      ["feedback.correctness = 'yes'", "by assessment"],
    ];
    popover = openPopover(anchor, [
      h("div.popover-title", {}, "Search syntax"),
      h("p.help-text", {}, "Plain words search the content of every span. A filter is comparisons joined by AND; quote values with single quotes."),
      h("div.examples", {}, examples.map(([filter, what]) =>
        h("button.example", { onclick: () => { searchInput.value = filter; query.search = filter; updateSearchHint(); popover?.close(); reload(); } },
          h("code", {}, filter), h("span.muted", {}, what)))),
    ], { testid: "search-help-popover", onClose: () => { popover = null; } });
  }

  // Keyboard: j/k or arrows move through rows, Enter or o opens, x selects.
  function moveCursor(delta) {
    const trs = [...tbody.querySelectorAll("tr.trace-row")];
    if (!trs.length) return;
    cursor = Math.max(0, Math.min(trs.length - 1, cursor + delta));
    trs.forEach((tr, i) => tr.classList.toggle("cursor", i === cursor));
    trs[cursor].scrollIntoView({ block: "nearest" });
  }
  const onKey = (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || popover || document.querySelector("dialog[open]")) return;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const trs = tbody.querySelectorAll("tr.trace-row");
    if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); moveCursor(1); }
    else if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); moveCursor(-1); }
    else if ((event.key === "Enter" || event.key === "o") && trs[cursor]) { event.preventDefault(); location.hash = traceHref(trs[cursor].dataset.traceId); }
    else if (event.key === "x" && trs[cursor]) { event.preventDefault(); trs[cursor].querySelector('[data-testid="row-select"]')?.click(); }
  };
  document.addEventListener("keydown", onKey);

  function clearFilters() {
    Object.assign(query, { search: "", state: "", spanType: "", name: "", tag: "", time: "" });
    searchInput.value = "";
    stateSelect.value = spanTypeSelect.value = nameSelect.value = timeSelect.value = "";
    tagInput.value = "";
    updateSearchHint();
    reload();
  }

  async function deleteSelected() {
    const ids = [...selected];
    if (!ids.length) return;
    const ok = await confirmDialog({
      title: `Delete ${ids.length} trace${ids.length === 1 ? "" : "s"}?`,
      message: "The traces, their spans and assessments are removed from the store. This cannot be undone.",
    });
    if (!ok || destroyed) return;
    try {
      const answer = await deleteTraces(experimentId, ids);
      selected.clear();
      if (totalCount !== null) { totalCount = Math.max(0, totalCount - (answer.traces_deleted ?? ids.length)); header.setCount(totalCount); }
      await load();
    } catch (error) {
      showState(errorBox(error, () => { showState(null); }));
    }
  }

  function writeUrl() {
    const p = new URLSearchParams();
    if (query.search.trim()) p.set("q", query.search.trim());
    if (query.state) p.set("state", query.state);
    if (query.spanType) p.set("span_type", query.spanType);
    if (query.name) p.set("name", query.name);
    if (query.tag) p.set("tag", query.tag);
    if (query.time) p.set("time", query.time);
    if (sort.key !== DEFAULT_SORT.key || sort.asc !== DEFAULT_SORT.asc) p.set("sort", `${sort.key}:${sort.asc ? "asc" : "desc"}`);
    const qs = p.toString();
    history.replaceState(null, "", `#/experiments/${encodeURIComponent(experimentId)}/traces${qs ? `?${qs}` : ""}`);
  }

  // ---- live updates ----
  function pollBlocked() {
    if (missing) return "stopped: the experiment does not exist";
    if (document.visibilityState !== "visible") return "paused while the tab is hidden";
    if (!isDefaultView()) return "paused: live updates follow the first page, newest first";
    if (popover || document.querySelector("dialog[open]")) return "paused while editing";
    return null;
  }
  function updateLive() {
    const blocked = pollBlocked();
    liveBadge.classList.toggle("on", !blocked);
    liveBadge.title = blocked ? `Live updates ${blocked}` : `New and running traces appear every ${POLL_MS / 1000} s`;
    liveBadge.replaceChildren(h("span.dot"), blocked ? "Paused" : "Live");
  }
  function startPolling() {
    stopPolling();
    pollTimer = setInterval(() => {
      updateLive();
      if (destroyed || loading || pollBlocked()) return;
      if (Date.now() - lastLoaded < POLL_MS - 500) return;
      void load({ poll: true });
    }, 1000);
  }
  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }
  const onVisibility = () => {
    updateLive();
    if (document.visibilityState === "visible" && isDefaultView() && !loading) void load({ poll: true });
  };
  document.addEventListener("visibilitychange", onVisibility);

  updateSearchHint();
  updateLive();
  void loadExperiment();
  void loadFacets();
  void load();
  startPolling();

  return {
    destroy() {
      destroyed = true;
      stopPolling();
      popover?.close();
      document.removeEventListener("visibilitychange", onVisibility);
      document.removeEventListener("keydown", onKey);
    },
  };
}

function parseSort(value) {
  const [key, dir] = String(value || "").split(":");
  if (!SORT_KEYS[key]) return { ...DEFAULT_SORT };
  return { key, asc: dir === "asc" };
}
