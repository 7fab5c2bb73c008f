// The server's JSON API, for every view. Errors become exceptions carrying MLflow's
// error_code and message, so views can show them.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function request(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
  if (!response.ok) {
    throw new ApiError(response.status, json?.error_code ?? "HTTP_" + response.status, json?.message ?? text);
  }
  return json;
}

export const get = (path, params) => request("GET", params ? `${path}?${new URLSearchParams(params)}` : path);
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path, body) => request("DELETE", path, body);

// ---- the calls the list views make ----

const V3 = "/ajax-api/3.0/mlflow";
const V2 = "/ajax-api/2.0/mlflow";

/** Active experiments with `trace_count` and `last_trace_time`, most recently active first. */
export const listExperiments = () => get("/ajax-api/clew/experiments");

/** One experiment (`{experiment}`). */
export const getExperiment = (experimentId) => get(`${V2}/experiments/get`, { experiment_id: experimentId });

/** Trace names, user tag keys and users of the latest traces (quick filters). */
export const experimentFacets = (experimentId) => get(`/ajax-api/clew/experiments/${encodeURIComponent(experimentId)}/facets`);

/** Traces grouped by session: `{sessions, traces_scanned, truncated}`. */
export const experimentSessions = (experimentId, params = {}) =>
  get(`/ajax-api/clew/experiments/${encodeURIComponent(experimentId)}/sessions`, params);

/** SearchTracesV3: `{traces: [TraceInfo], next_page_token?}`. */
export function searchTraces({ experimentId, filter, orderBy, maxResults = 50, pageToken }) {
  const body = {
    locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: String(experimentId) } }],
    max_results: maxResults,
  };
  if (filter) body.filter = filter;
  if (orderBy && orderBy.length) body.order_by = orderBy;
  if (pageToken) body.page_token = pageToken;
  return post(`${V3}/traces/search`, body);
}

/** Deletes traces by id (MLflow's delete-traces): `{traces_deleted}`. */
export const deleteTraces = (experimentId, traceIds) =>
  post(`${V2}/traces/delete-traces`, { experiment_id: String(experimentId), request_ids: traceIds });

/** Sets (overwrites) one trace tag. */
export const setTraceTag = (traceId, key, value) =>
  patch(`${V2}/traces/${encodeURIComponent(traceId)}/tags`, { key, value });

/** Deletes one trace tag. */
export const deleteTraceTag = (traceId, key) =>
  del(`${V2}/traces/${encodeURIComponent(traceId)}/tags`, { key });
