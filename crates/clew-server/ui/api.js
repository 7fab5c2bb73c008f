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
