// Trace-level helpers shared by the views: a TraceInfo (V3 proto JSON) flattened into the
// fields the tables show, and the search box's filter building.

import { parseDuration, parseTime } from "./format.js";

/** MLflow keys the UI reads. */
export const KEYS = {
  traceName: "mlflow.traceName",
  session: "mlflow.trace.session",
  user: "mlflow.trace.user",
  tokenUsage: "mlflow.trace.tokenUsage",
};

/** Span types offered by the span-type quick filter (MLflow's SpanType values). */
export const SPAN_TYPES = ["LLM", "CHAT_MODEL", "CHAIN", "AGENT", "TOOL", "RETRIEVER", "EMBEDDING", "RERANKER", "PARSER", "UNKNOWN"];

/**
 * The fields of one TraceInfo V3 the lists show. `tags` keeps only the user's tags (keys
 * not starting with `mlflow.`); `allTags` has every tag.
 */
export function traceRow(info) {
  const metadata = info.trace_metadata || {};
  const tags = info.tags || {};
  let tokens = null;
  if (metadata[KEYS.tokenUsage]) {
    try {
      const usage = JSON.parse(metadata[KEYS.tokenUsage]);
      tokens = { total: usage.total_tokens ?? null, input: usage.input_tokens ?? null, output: usage.output_tokens ?? null };
    } catch { /* a malformed usage is shown as none */ }
  }
  const requestTime = parseTime(info.request_time);
  return {
    traceId: info.trace_id,
    name: tags[KEYS.traceName] || "",
    requestTime,
    durationMs: parseDuration(info.execution_duration),
    state: info.state || "STATE_UNSPECIFIED",
    session: metadata[KEYS.session] || "",
    user: metadata[KEYS.user] || "",
    tokens,
    requestPreview: info.request_preview ?? "",
    responsePreview: info.response_preview ?? "",
    tags: Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."))),
    allTags: tags,
  };
}

/** A string literal of the filter grammar (quotes doubled). */
export function quote(value) {
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** A field name, backticked when it has characters a bare name cannot have. */
export function fieldName(prefix, key) {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${prefix}.${key}` : `${prefix}.\`${key.replace(/`/g, "")}\``;
}

// An operator of the grammar, outside quotes: comparison symbols or a keyword operator.
// Keyword operators count only with what must follow them, so "timeout in retrieval" stays text.
const OPERATOR = /(!=|>=|<=|=|<|>)|\b(?:NOT\s+)?(?:LIKE|ILIKE|RLIKE)\s+'|\b(?:NOT\s+)?IN\s*\(|\bIS\s+(?:NOT\s+)?NULL\b/i;

/**
 * Whether the search box holds a filter expression rather than free text. Heuristic: a filter
 * starts with a field name and has an operator after it (outside quotes); anything else
 * ("refund policy", "timeout error") is free text.
 */
export function looksLikeFilter(text) {
  const s = text.trim();
  if (!s) return false;
  const unquoted = s.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''");
  if (!/^[`A-Za-z_]/.test(unquoted)) return false;
  const match = OPERATOR.exec(unquoted);
  if (!match) return false;
  // "what is 2 > 1" has an operator, but free text has spaces between words before it.
  const before = unquoted.slice(0, match.index).trim();
  return /^[`A-Za-z_][`\w.\- ]*$/.test(before) && !/\s/.test(before.replace(/`[^`]*`/g, ""));
}

/**
 * The filter for free text: a case-insensitive substring of span content. `%` and `_` in the
 * text stay wildcards (over-matching slightly beats escape rules differing between backends).
 */
export function freeTextFilter(text) {
  return `trace.text ILIKE ${quote(`%${text.trim()}%`)}`;
}

const TIME_RANGES = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

/**
 * The whole filter of the traces table: the search box (a filter or free text) AND the quick
 * filters. The grammar has only AND, so clauses are simply joined.
 */
export function buildFilter({ search, state, spanType, name, tag, time }, now = Date.now()) {
  const clauses = [];
  const text = (search || "").trim();
  if (text) clauses.push(looksLikeFilter(text) ? text : freeTextFilter(text));
  if (state) clauses.push(`trace.status = ${quote(state)}`);
  if (spanType) clauses.push(`span.type = ${quote(spanType)}`);
  if (name) clauses.push(`trace.name = ${quote(name)}`);
  if (tag) {
    const eq = tag.indexOf("=");
    const key = (eq >= 0 ? tag.slice(0, eq) : tag).trim();
    const value = eq >= 0 ? tag.slice(eq + 1).trim() : "";
    if (key) clauses.push(eq >= 0 ? `${fieldName("tags", key)} = ${quote(value)}` : `${fieldName("tags", key)} IS NOT NULL`);
  }
  if (time && TIME_RANGES[time]) clauses.push(`trace.timestamp_ms >= ${now - TIME_RANGES[time]}`);
  return clauses.join(" AND ");
}
