// Sessions: the experiment's traces grouped by `mlflow.trace.session`, each session shown as a
// conversation (the user's request and the assistant's response per turn, oldest first), each
// turn linking to its trace. `?session=<id>` opens the view scrolled to that session.
import { h, formatDuration, formatNumber, formatRelative, formatTimestamp, previewText, truncate, shortId } from "../lib/format.js";
import { icon } from "../lib/icons.js";
import { experimentSessions, experimentFacets } from "../api.js";
import { experimentHeader, errorBox, loadingBox, stateBadge } from "./common.js";

/** Turns shown per session before "show more". */
const MAX_TURNS_SHOWN = 4;
const POLL_MS = 5000;

export function mountSessions(container, { experimentId, params, onExperiment }) {
  let destroyed = false;
  let sessions = [];
  let meta = { traces_scanned: 0, truncated: false };
  let lastSignature = "";
  /** Sessions whose hidden turns were shown; they stay open across live updates. */
  const expanded = new Set();
  const focusSession = params.get("session") || "";
  const header = experimentHeader(experimentId, "sessions");
  const search = h("input.input", {
    type: "search",
    testid: "search-input",
    placeholder: "Filter sessions by id, user or text…",
    "aria-label": "Filter sessions",
    value: focusSession,
    oninput: () => render(),
  });
  const summary = h("span.muted.small", { testid: "sessions-summary" });
  const list = h("div.sessions");
  container.append(h("div.page", {},
    header.element,
    h("div.toolbar", {}, h("label.search", {}, icon("search"), search), summary),
    list));
  list.append(loadingBox("Loading sessions…"));

  async function load({ poll = false } = {}) {
    try {
      const answer = await experimentSessions(experimentId);
      if (destroyed) return;
      // A poll that changed nothing leaves the page alone (scroll, hover, expanded sessions).
      const signature = JSON.stringify(answer.sessions || []);
      if (poll && signature === lastSignature) return;
      lastSignature = signature;
      sessions = answer.sessions || [];
      meta = answer;
      render();
      if (!poll && focusSession) container.querySelector(`[data-session-id="${CSS.escape(focusSession)}"]`)?.scrollIntoView({ block: "start" });
    } catch (error) {
      if (!destroyed && !poll) list.replaceChildren(errorBox(error, () => load()));
    }
  }

  async function loadExperiment() {
    try {
      if (!(await header.load(() => destroyed, onExperiment))) return;
      const facets = await experimentFacets(experimentId);
      if (!destroyed) header.setCount(facets.trace_count);
    } catch { /* the list shows the error */ }
  }

  function matches(session, needle) {
    if (!needle) return true;
    if (session.session_id.toLowerCase().includes(needle)) return true;
    if ((session.users || []).some((u) => u.toLowerCase().includes(needle))) return true;
    return session.turns.some((t) => `${t.request_preview ?? ""} ${t.response_preview ?? ""}`.toLowerCase().includes(needle));
  }

  function render() {
    const needle = search.value.trim().toLowerCase();
    const shown = sessions.filter((s) => matches(s, needle));
    const turns = sessions.reduce((n, s) => n + s.trace_count, 0);
    const plural = sessions.length === 1 ? "" : "s";
    summary.textContent = !sessions.length ? ""
      : meta.truncated
        ? `${formatNumber(sessions.length)} most recently active session${plural}, from the latest ${formatNumber(meta.traces_scanned)} traces with a session`
        : `${formatNumber(sessions.length)} session${plural} · ${formatNumber(turns)} traces`;
    if (!sessions.length) {
      list.replaceChildren(h("div.empty-state", { testid: "empty-state" },
        h("h3", {}, "No sessions yet"),
        h("p", {}, "Traces that carry a session id in their metadata (mlflow.trace.session) are grouped here as conversations."),
        h("pre", {}, `import mlflow\n\n@mlflow.trace\ndef chat(message, session_id):\n    mlflow.update_current_trace(metadata={"mlflow.trace.session": session_id})\n    ...`)));
      return;
    }
    if (!shown.length) {
      list.replaceChildren(h("div.empty-state.small", { testid: "empty-state" }, h("p", {}, `No session matches “${search.value.trim()}”.`)));
      return;
    }
    list.replaceChildren(...shown.map(renderSession));
  }

  function renderSession(session) {
    const duration = session.last_time && session.first_time ? session.last_time - session.first_time : null;
    return h("section.session", { testid: "session-group", dataset: { sessionId: session.session_id } },
      h("header.session-header", {},
        h("div.session-title", {}, icon("chat", 14), h("span.mono", { title: session.session_id }, truncate(session.session_id, 48))),
        h("div.session-meta", {},
          (session.users || []).length ? h("span.meta-item", {}, icon("user", 13), session.users.join(", ")) : null,
          h("span.meta-item", {}, `${session.trace_count} turn${session.trace_count === 1 ? "" : "s"}`),
          session.total_tokens ? h("span.meta-item", { title: "Total tokens" }, icon("coins", 13), formatNumber(session.total_tokens, true)) : null,
          session.error_count ? h("span.meta-item.error-text", {}, icon("alert", 13), `${session.error_count} error${session.error_count === 1 ? "" : "s"}`) : null,
          h("span.meta-item", { title: `${formatTimestamp(session.first_time)} → ${formatTimestamp(session.last_time)}` },
            icon("clock", 13), `${formatRelative(session.last_time)}${duration ? ` · spans ${formatDuration(duration)}` : ""}`),
          h("a.btn.btn-ghost.btn-small", {
            href: sessionTracesHref(session),
            title: "Show these traces in the table",
          }, "Traces", icon("chevronRight", 12)))),
      renderTurns(session));
  }

  /** Long sessions show their first turns and a button for the rest. */
  function renderTurns(session) {
    const list = h("ol.turns");
    const omitted = session.turns_omitted || 0;
    if (omitted) {
      // The server sends a long session's latest turns; the table has them all.
      list.append(h("li.turn-more", {},
        h("a.btn.btn-ghost.btn-small", { href: sessionTracesHref(session) },
          `${omitted} earlier turn${omitted === 1 ? "" : "s"} — see all in the traces table`)));
    }
    const shown = session.turns.length > MAX_TURNS_SHOWN + 1 && !expanded.has(session.session_id) ? MAX_TURNS_SHOWN : session.turns.length;
    list.append(...session.turns.slice(0, shown).map((turn, i) => renderTurn(turn, omitted + i)));
    if (shown < session.turns.length) {
      const rest = session.turns.length - shown;
      const more = h("li.turn-more", {},
        h("button.btn.btn-ghost.btn-small", { testid: "session-more", onclick: () => {
          expanded.add(session.session_id);
          more.replaceWith(...session.turns.slice(shown).map((turn, i) => renderTurn(turn, omitted + shown + i)));
        } }, `Show ${rest} more turn${rest === 1 ? "" : "s"}`));
      list.append(more);
    }
    return list;
  }

  function sessionTracesHref(session) {
    const filter = `metadata.\`mlflow.trace.session\` = '${session.session_id.replace(/'/g, "''")}'`;
    return `#/experiments/${encodeURIComponent(experimentId)}/traces?q=${encodeURIComponent(filter)}`;
  }

  function renderTurn(turn, index) {
    const href = `#/experiments/${encodeURIComponent(experimentId)}/traces/${encodeURIComponent(turn.trace_id)}`;
    const request = previewText(turn.request_preview);
    const response = previewText(turn.response_preview);
    return h("li.turn", {},
      h("a.turn-link", { href, testid: "session-turn", dataset: { traceId: turn.trace_id } },
        h("div.turn-meta", {},
          h("span.turn-index", {}, `#${index + 1}`),
          turn.name ? h("span.name-chip", {}, turn.name) : null,
          stateBadge(turn.state),
          h("span.muted", { title: formatTimestamp(turn.request_time) }, formatRelative(turn.request_time)),
          h("span.muted", {}, formatDuration(turn.execution_time_ms)),
          turn.total_tokens ? h("span.muted", {}, `${formatNumber(turn.total_tokens, true)} tokens`) : null,
          h("span.mono.muted.turn-id", { title: turn.trace_id }, shortId(turn.trace_id, 14))),
        h("div.bubble.bubble-user", { title: truncate(turn.request_preview ?? "", 2000) },
          h("span.role", {}, turn.user || "user"), h("p", {}, request ? truncate(request, 600) : h("span.muted", {}, "—"))),
        h("div.bubble.bubble-assistant", { title: truncate(turn.response_preview ?? "", 2000) },
          h("span.role", {}, "assistant"),
          h("p", {}, response ? truncate(response, 600) : h("span.muted", {}, turn.state === "IN_PROGRESS" ? "still running…" : "—")))));
  }

  // Live: new turns and sessions appear while the tab is visible.
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && lastSignature) void load({ poll: true });
  }, POLL_MS);
  void loadExperiment();
  void load();
  return { destroy() { destroyed = true; clearInterval(timer); } };
}
