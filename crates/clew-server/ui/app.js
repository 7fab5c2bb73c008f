// The app shell (top bar with breadcrumb) and the hash router. Routes:
//   #/experiments                                  experiments list
//   #/experiments/<id>/traces[?q=&state=&...]      traces table of one experiment (filters in the query)
//   #/experiments/<id>/sessions                    sessions (conversation view)
//   #/experiments/<id>/traces/<trace_id>           one trace
//   #/experiments/<id>/traces/<trace_id>/spans/<span_id>
//   MLflow's #/experiments/<id>/traces?selectedEvaluationId=<trace_id> lands on that trace.
// Views are mounted into #view and return { destroy() }; every hash change remounts, and views
// that keep state in the URL (filters, the selected span) update it with replaceState, which
// does not fire hashchange.
import { mountTraceView } from "./trace/view.js";
import { h, shortId } from "./lib/format.js";
import { icon } from "./lib/icons.js";
import { getExperiment } from "./api.js";
import { mountExperiments } from "./views/experiments.js";
import { mountTraces } from "./views/traces.js";
import { mountSessions } from "./views/sessions.js";

const root = document.getElementById("app");
const crumbs = h("nav.crumbs", { "aria-label": "Breadcrumb" });
const view = h("main.view", { id: "view" });
root.replaceChildren(
  h("header.topbar", {},
    h("a.brand", { href: "#/experiments", title: "clew — experiments" }, icon("logo", 18), h("span", {}, "clew")),
    crumbs,
    h("div.topbar-spacer"),
    h("a.topbar-link", { href: "https://mlflow.org/docs/latest/genai/tracing/", target: "_blank", rel: "noopener" }, "MLflow Tracing docs"),
  ),
  view,
);

let current = null;
/** Experiment names already looked up, for the breadcrumb. */
const experimentNames = new Map();

/** The route a hash names: { kind, experimentId, traceId, spanId, params }. */
export function parseRoute(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/experiments";
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  if (parts.length === 0 || (parts[0] === "experiments" && parts.length === 1)) return { kind: "experiments", params };
  if (parts[0] !== "experiments") return { kind: "not-found", params };
  const experimentId = parts[1];
  const section = parts[2] || "traces";
  if (section === "traces" && !parts[3]) {
    const selected = params.get("selectedEvaluationId") || params.get("selectedTraceId");
    if (selected) return { kind: "trace", experimentId, traceId: selected, redirect: true, params };
    return { kind: "traces", experimentId, params };
  }
  if (section === "traces" && parts[3]) {
    const spanId = parts[4] === "spans" ? parts[5] : undefined;
    return { kind: "trace", experimentId, traceId: parts[3], spanId, params };
  }
  if (section === "sessions") return { kind: "sessions", experimentId, params };
  return { kind: "not-found", params };
}

/** The hash of a trace (and span) route. */
export function traceHash(experimentId, traceId, spanId) {
  const base = `#/experiments/${encodeURIComponent(experimentId)}/traces/${encodeURIComponent(traceId)}`;
  return spanId ? `${base}/spans/${encodeURIComponent(spanId)}` : base;
}

function setCrumbs(route, experimentName) {
  const items = [h("a", { href: "#/experiments" }, "Experiments")];
  if (route.experimentId !== undefined) {
    const name = experimentName ?? experimentNames.get(route.experimentId) ?? `Experiment ${route.experimentId}`;
    const tab = route.kind === "sessions" ? "sessions" : "traces";
    items.push(h("a", { href: `#/experiments/${encodeURIComponent(route.experimentId)}/${tab}` }, name));
  }
  if (route.kind === "trace") items.push(h("span.crumb-current.mono", { title: route.traceId }, shortId(route.traceId, 16)));
  if (route.kind === "sessions") items.push(h("span.crumb-current", {}, "Sessions"));
  const nodes = [];
  items.forEach((item, i) => {
    if (i) nodes.push(h("span.crumb-sep", { "aria-hidden": "true" }, icon("chevronRight", 12)));
    nodes.push(item);
  });
  crumbs.replaceChildren(...nodes);
  const known = experimentName ?? experimentNames.get(route.experimentId);
  document.title = route.kind === "trace" ? `${route.traceId} · clew` : known ? `${known} · clew` : "clew";
}

/** Looks the experiment's name up once, then refreshes the breadcrumb if still on that route. */
async function loadExperimentName(route) {
  if (route.experimentId === undefined || experimentNames.has(route.experimentId)) return;
  try {
    const { experiment } = await getExperiment(route.experimentId);
    experimentNames.set(route.experimentId, experiment.name);
    if (parseRoute(location.hash).experimentId === route.experimentId) setCrumbs(parseRoute(location.hash));
  } catch { /* the view shows the error */ }
}

function route() {
  const r = parseRoute(location.hash);
  if (r.redirect) history.replaceState(null, "", traceHash(r.experimentId, r.traceId));
  if (current) {
    try { current.destroy?.(); } catch (error) { console.error("view destroy failed", error); }
    current = null;
  }
  view.replaceChildren();
  view.className = `view view-${r.kind}`;
  window.scrollTo(0, 0);
  setCrumbs(r);
  void loadExperimentName(r);
  const ctx = {
    onExperiment: (experiment) => {
      experimentNames.set(experiment.experiment_id, experiment.name);
      setCrumbs(r, experiment.name);
    },
  };
  switch (r.kind) {
    case "experiments":
      current = mountExperiments(view, ctx);
      break;
    case "traces":
      current = mountTraces(view, { ...ctx, experimentId: r.experimentId, params: r.params });
      break;
    case "sessions":
      current = mountSessions(view, { ...ctx, experimentId: r.experimentId, params: r.params });
      break;
    case "trace": {
      const host = h("div.trace-host");
      view.append(host);
      current = mountTraceView(host, {
        traceId: r.traceId,
        experimentId: r.experimentId,
        spanId: r.spanId,
        compact: false,
        onSelectSpan: (spanId) => history.replaceState(null, "", traceHash(r.experimentId, r.traceId, spanId || undefined)),
      }) || null;
      break;
    }
    default:
      view.append(h("div.empty-state", { testid: "not-found" },
        h("h2", {}, "Page not found"),
        h("p", {}, "Nothing lives at this address. "),
        h("a.btn", { href: "#/experiments" }, "Go to experiments")));
  }
}

// `/` focuses the page's search box (unless typing somewhere already).
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const search = document.querySelector('[data-testid="search-input"]');
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

window.addEventListener("hashchange", route);
route();
