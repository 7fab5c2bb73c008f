// The app shell and hash router. Routes:
//   #/experiments                                  experiments list
//   #/experiments/<id>/traces                      traces table of one experiment
//   #/experiments/<id>/sessions                    sessions (conversation view)
//   #/experiments/<id>/traces/<trace_id>           one trace
//   #/experiments/<id>/traces/<trace_id>/spans/<span_id>
//   MLflow's #/experiments/<id>/traces?selectedEvaluationId=<trace_id> lands on that trace.
import { mountTraceView } from "./trace/view.js";

const app = document.getElementById("app");

function route() {
  const hash = location.hash.replace(/^#/, "") || "/experiments";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "experiments" && parts[2] === "traces" && parts[3]) {
    app.replaceChildren();
    mountTraceView(app, { experimentId: parts[1], traceId: parts[3], spanId: parts[5] });
    return;
  }
  app.textContent = "clew";
  void params;
}

window.addEventListener("hashchange", route);
route();
