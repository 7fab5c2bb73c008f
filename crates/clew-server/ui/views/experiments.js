// The experiments list: every active experiment with its trace count and last activity, the
// most recently traced first; a name filter on the client (the list is small).
import { h, formatNumber, formatRelative, formatTimestamp, formatDate } from "../lib/format.js";
import { icon } from "../lib/icons.js";
import { listExperiments } from "../api.js";
import { errorBox, loadingBox } from "./common.js";

export function mountExperiments(container) {
  let destroyed = false;
  let experiments = [];
  const search = h("input.input", {
    type: "search",
    placeholder: "Filter experiments by name…",
    testid: "search-input",
    "aria-label": "Filter experiments",
    oninput: () => render(),
  });
  const body = h("div.card-body");
  container.append(
    h("div.page",
      {},
      h("div.page-header", {},
        h("div.page-title", {}, h("h1", {}, "Experiments"), h("span.count-pill", { testid: "experiment-count" }, "")),
        h("p.page-subtitle", {}, "Traces are grouped by experiment. Open one to search, filter and inspect its traces."),
      ),
      h("div.toolbar", {}, h("label.search", {}, icon("search"), search)),
      h("div.card", {}, body),
    ),
  );
  body.append(loadingBox("Loading experiments…"));

  async function load() {
    try {
      const answer = await listExperiments();
      if (destroyed) return;
      experiments = answer.experiments || [];
      render();
    } catch (error) {
      if (!destroyed) body.replaceChildren(errorBox(error, load));
    }
  }

  function render() {
    const needle = search.value.trim().toLowerCase();
    const shown = experiments.filter((e) => !needle || e.name.toLowerCase().includes(needle) || e.experiment_id === needle);
    container.querySelector('[data-testid="experiment-count"]').textContent = formatNumber(experiments.length);
    if (!shown.length) {
      body.replaceChildren(h("div.empty-state.small", { testid: "empty-state" },
        h("p", {}, needle ? `No experiment matches “${search.value.trim()}”.` : "No experiments yet.")));
      return;
    }
    const rows = shown.map((e) => {
      const href = `#/experiments/${encodeURIComponent(e.experiment_id)}/traces`;
      return h("tr.row-link", { testid: "experiment-row", dataset: { experimentId: e.experiment_id }, onclick: (event) => {
        if (!(event.target instanceof Element && event.target.closest("a"))) location.hash = href;
      } },
        h("td", {}, h("a.exp-name", { href }, icon("flask", 14), h("span", {}, e.name))),
        h("td.mono.muted", {}, e.experiment_id),
        h("td.num", {}, h("span.trace-count", { testid: "experiment-trace-count", class: e.trace_count ? "" : "zero" }, formatNumber(e.trace_count))),
        h("td.muted", { title: formatTimestamp(e.last_trace_time) }, e.last_trace_time ? formatRelative(e.last_trace_time) : "no traces"),
        h("td.muted", { title: formatTimestamp(e.creation_time) }, formatDate(e.creation_time)),
      );
    });
    body.replaceChildren(h("table.table.experiments-table", { testid: "experiments-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, "Name"), h("th", {}, "ID"), h("th.num", {}, "Traces"), h("th", {}, "Last trace"), h("th", {}, "Created"))),
      h("tbody", {}, rows)));
  }

  // Counts follow new traces while the tab is visible (the list is one cheap request).
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && experiments.length) void load();
  }, 10_000);
  void load();
  return { destroy() { destroyed = true; clearInterval(timer); } };
}
