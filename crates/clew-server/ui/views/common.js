// Pieces the list views share: the experiment header with its tabs, loading and error boxes,
// a confirm dialog and a popover.
import { h, formatNumber } from "../lib/format.js";
import { icon } from "../lib/icons.js";
import { getExperiment } from "../api.js";

/**
 * The experiment's title row and the Traces / Sessions tabs. Returns { element, setCount,
 * setName, load }: `load(isGone, onExperiment)` fetches the experiment, and unless the view
 * is gone by then shows its name and passes it to `onExperiment`; it resolves to the
 * experiment (null when the view is gone) and rejects with the API error.
 */
export function experimentHeader(experimentId, active) {
  const name = h("h1", {}, `Experiment ${experimentId}`);
  const count = h("span.count-pill", { testid: "trace-count", title: "Traces in this experiment" }, "");
  const base = `#/experiments/${encodeURIComponent(experimentId)}`;
  const tab = (id, label, iconName) =>
    h("a.tab", { href: `${base}/${id}`, testid: `${id}-tab`, class: id === active ? "active" : "", "aria-current": id === active ? "page" : null },
      icon(iconName, 14), label);
  const element = h("div.page-header.with-tabs", {},
    h("div.page-title", {}, name, count, h("span.exp-id.mono", { title: "Experiment id" }, `#${experimentId}`)),
    h("nav.tabs", {}, tab("traces", "Traces", "list"), tab("sessions", "Sessions", "chat")),
  );
  return {
    element,
    setName: (text) => { name.textContent = text; },
    setCount: (n) => { count.textContent = n === null || n === undefined ? "" : `${formatNumber(n)} trace${n === 1 ? "" : "s"}`; },
    async load(isGone, onExperiment) {
      const { experiment } = await getExperiment(experimentId);
      if (isGone()) return null;
      name.textContent = experiment.name;
      onExperiment?.(experiment);
      return experiment;
    },
  };
}

export function loadingBox(text = "Loading…") {
  return h("div.loading-box", { testid: "loading" }, h("span.spinner"), text);
}

/** An error with the server's message and a retry button. */
export function errorBox(error, retry) {
  return h("div.error-box", { testid: "error", role: "alert" },
    icon("alert"),
    h("div", {},
      h("strong", {}, error?.status === 401 ? "Not signed in" : "Something went wrong"),
      h("p", {}, error?.message || String(error)),
    ),
    retry ? h("button.btn", { onclick: retry }, icon("refresh", 14), "Retry") : null);
}

/** A modal confirm dialog; resolves to true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = "Delete", danger = true }) {
  return new Promise((resolve) => {
    const dialog = h("dialog.dialog", { testid: "confirm-dialog" });
    const close = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    dialog.append(
      h("h3", {}, title),
      h("p", {}, message),
      h("div.dialog-actions", {},
        h("button.btn", { testid: "confirm-cancel", onclick: () => close(false) }, "Cancel"),
        h("button.btn", { testid: "confirm-delete", class: danger ? "btn-danger" : "btn-primary", onclick: () => close(true) }, confirmLabel)),
    );
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[data-testid="confirm-delete"]').focus();
  });
}

/**
 * A popover anchored under `anchor`; closes on Escape, on a click outside and on `close()`.
 * Returns { element, close }.
 */
export function openPopover(anchor, content, { onClose, testid } = {}) {
  const element = h("div.popover", { testid, role: "dialog" }, content);
  document.body.append(element);
  const rect = anchor.getBoundingClientRect();
  const width = element.offsetWidth;
  const left = Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8));
  const below = rect.bottom + 6;
  const top = below + element.offsetHeight > window.innerHeight - 8 ? Math.max(8, rect.top - element.offsetHeight - 6) : below;
  element.style.left = `${left + window.scrollX}px`;
  element.style.top = `${top + window.scrollY}px`;
  let closed = false;
  const onKey = (event) => { if (event.key === "Escape") close(); };
  const onDown = (event) => {
    if (!element.contains(event.target) && !anchor.contains(event.target)) close();
  };
  function close() {
    if (closed) return;
    closed = true;
    element.remove();
    document.removeEventListener("keydown", onKey, true);
    document.removeEventListener("mousedown", onDown, true);
    onClose?.();
  }
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("mousedown", onDown, true);
  return { element, close };
}

/** A state badge: OK, ERROR, IN_PROGRESS (animated dot). */
export function stateBadge(state) {
  const label = { OK: "OK", ERROR: "Error", IN_PROGRESS: "Running", STATE_UNSPECIFIED: "Unknown" }[state] || state;
  return h("span.badge", { class: `state-${String(state).toLowerCase()}`, testid: "state-badge", dataset: { state } }, h("span.dot"), label);
}
