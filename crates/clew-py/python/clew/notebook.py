"""Notebook display of traces (Jupyter / IPython kernels).

Two things render a trace inline in a notebook, as in MLflow:

* A :class:`~clew.entities.Trace` shown as a cell's value (or with ``display(trace)``):
  ``Trace._repr_mimebundle_`` calls :func:`trace_mimebundle`.
* Traces *finished* while a cell runs: the SDK reports each finished trace to
  :func:`on_trace_end`; an IPython ``post_run_cell`` hook then displays the traces of that cell
  (deduplicated by trace id, at most ``CLEW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK`` /
  ``MLFLOW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK``, default 10) as one output. The hook is installed
  only inside a notebook kernel (an IPython shell that has a ``kernel``), never in scripts or the
  terminal, and is switched with :func:`enable_notebook_display` /
  :func:`disable_notebook_display`.

What is rendered depends on where traces go:

* **A tracking server** (the tracking URI is ``http(s)://``, or
  ``CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL`` / ``MLFLOW_NOTEBOOK_TRACE_RENDERER_BASE_URL`` is
  set): an iframe of the server's notebook renderer page,
  ``<base>/static-files/lib/notebook-trace-renderer/index.html?trace_id=..&experiment_id=..``
  (one ``trace_id``/``experiment_id`` pair per trace, then ``version``), the URL MLflow's client
  builds, so it works against both ``clew server`` and an MLflow server.
* **Anything else** (the default local store, ``memory:``): a self-contained HTML view that needs
  no network: the span tree with types, durations, status and a timeline bar, each span
  expandable to its inputs, outputs, attributes and events. Span content is untrusted (it comes
  from model outputs, user input, tools), so every string is HTML-escaped and nothing from a span
  ever lands in a tag, attribute name, URL or script. Expand/collapse uses ``<details>`` so it
  also works where a notebook viewer strips scripts; one tiny inline handler adds
  "expand all". Huge traces are capped (first ``max_spans`` spans, then "N more").

Every output also carries ``text/plain``: an indented span tree.

The module imports nothing from IPython at import time; it is cheap to import and its
``on_trace_end`` is a single flag check when no notebook hook is active.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import logging
import os
import sys
from typing import Any, Iterable, Optional
from urllib.parse import urlencode

_logger = logging.getLogger(__name__)

#: Path of the notebook renderer page on a tracking server (same as MLflow's).
TRACE_RENDERER_ASSET_PATH = "/static-files/lib/notebook-trace-renderer"
#: Spans rendered per trace in the self-contained view before the "N more" line.
DEFAULT_MAX_SPANS = 200
#: Characters of one input/output/attribute value shown before it is cut.
MAX_VALUE_CHARS = 20_000
#: Characters of a span name shown in the tree.
MAX_NAME_CHARS = 200
#: Traces shown together after one cell (MLflow's default).
DEFAULT_MAX_TRACES = 10
#: Lines of the text/plain tree per trace.
MAX_TEXT_SPANS = 50

# True while the post-run-cell hook is installed and display is enabled; the SDK's
# trace-end path reads it (via on_trace_end) so that outside notebooks nothing is collected.
COLLECTING = False


# ----------------------------------------------------------------------------------------------
# Environment
# ----------------------------------------------------------------------------------------------


def _env(*names: str) -> Optional[str]:
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return None


def _max_traces() -> int:
    raw = _env("CLEW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK", "MLFLOW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK")
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_TRACES
    except ValueError:
        _logger.warning("ignoring non-integer MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK=%r", raw)
        return DEFAULT_MAX_TRACES


def _tracking_uri() -> Optional[str]:
    """The SDK's tracking URI, or the environment's when the SDK cannot say."""
    clew = sys.modules.get("clew")
    getter = getattr(clew, "get_tracking_uri", None) if clew is not None else None
    if getter is not None:
        try:
            return str(getter())
        except Exception:  # noqa: BLE001 - display must never break the user's cell
            _logger.debug("get_tracking_uri failed", exc_info=True)
    return _env("CLEW_TRACKING_URI", "MLFLOW_TRACKING_URI")


def _is_http(uri: Optional[str]) -> bool:
    return bool(uri) and uri.lower().startswith(("http://", "https://"))


def renderer_base_url(tracking_uri: Optional[str] = None) -> Optional[str]:
    """Base URL of a server whose notebook renderer page should be embedded, or ``None``.

    ``CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL`` (or MLflow's variable) wins; otherwise the tracking
    URI when it is ``http(s)://``; otherwise ``None`` (use the self-contained view).
    """
    explicit = _env("CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL", "MLFLOW_NOTEBOOK_TRACE_RENDERER_BASE_URL")
    if explicit:
        return explicit
    uri = tracking_uri if tracking_uri is not None else _tracking_uri()
    return uri if _is_http(uri) else None


def _version() -> str:
    clew = sys.modules.get("clew")
    return str(getattr(clew, "__version__", "0"))


# ----------------------------------------------------------------------------------------------
# Reading a Trace (duck-typed: clew's Trace, mlflow's Trace, or their to_dict() form)
# ----------------------------------------------------------------------------------------------


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present attribute (or mapping key) of ``names`` on ``obj``."""
    for n in names:
        if isinstance(obj, dict):
            if n in obj and obj[n] is not None:
                return obj[n]
        else:
            try:
                v = getattr(obj, n)
            except Exception:  # noqa: BLE001 - a property may raise on odd data
                continue
            if v is not None:
                return v
    return default


def _enum_name(v: Any) -> str:
    """'OK' for SpanStatusCode.OK, TraceState.OK, 'STATUS_CODE_OK', 'OK'."""
    if v is None:
        return "UNSET"
    v = getattr(v, "value", v)
    s = str(v)
    if "." in s and not s.startswith("STATUS_CODE"):
        s = s.rsplit(".", 1)[-1]
    if s.startswith("STATUS_CODE_"):
        s = s[len("STATUS_CODE_"):]
    return s.upper() or "UNSET"


def _json_attr(v: Any) -> Any:
    """Attributes in MLflow's dict form are JSON text; decode when they are."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _to_int(v: Any) -> Optional[int]:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


class _Span:
    __slots__ = ("id", "parent", "name", "type", "status", "status_msg", "start", "end",
                 "inputs", "outputs", "attributes", "events", "has_inputs", "has_outputs")


_HIDDEN_ATTRS = frozenset({
    "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType", "mlflow.traceRequestId",
})


def _read_span(s: Any) -> _Span:
    sp = _Span()
    if isinstance(s, dict):
        # MLflow's Span.to_dict() form: OTLP-like keys, attribute values as JSON text.
        attrs = {k: _json_attr(v) for k, v in (s.get("attributes") or {}).items()}
        sp.id = str(s.get("span_id") or "")
        sp.parent = s.get("parent_span_id") or None
        sp.name = str(s.get("name") or "")
        sp.type = attrs.get("mlflow.spanType")
        status = s.get("status") or {}
        sp.status = _enum_name(status.get("code") if isinstance(status, dict) else status)
        sp.status_msg = status.get("message") if isinstance(status, dict) else None
        sp.start = _to_int(s.get("start_time_unix_nano"))
        sp.end = _to_int(s.get("end_time_unix_nano"))
        sp.has_inputs = "mlflow.spanInputs" in attrs
        sp.has_outputs = "mlflow.spanOutputs" in attrs
        sp.inputs = attrs.get("mlflow.spanInputs")
        sp.outputs = attrs.get("mlflow.spanOutputs")
        sp.attributes = attrs
        sp.events = list(s.get("events") or [])
    else:
        sp.id = str(_get(s, "span_id", default=""))
        sp.parent = _get(s, "parent_id", "parent_span_id")
        sp.name = str(_get(s, "name", default=""))
        sp.type = _get(s, "span_type")
        status = _get(s, "status")
        sp.status = _enum_name(_get(status, "status_code", "code") if status is not None else None)
        sp.status_msg = _get(status, "description", "message") if status is not None else None
        sp.start = _to_int(_get(s, "start_time_ns", "start_time_unix_nano"))
        sp.end = _to_int(_get(s, "end_time_ns", "end_time_unix_nano"))
        sp.inputs = _get(s, "inputs")
        sp.outputs = _get(s, "outputs")
        sp.has_inputs = sp.inputs is not None
        sp.has_outputs = sp.outputs is not None
        try:
            attrs = dict(_get(s, "attributes", default={}) or {})
        except Exception:  # noqa: BLE001
            attrs = {}
        sp.attributes = attrs
        sp.events = list(_get(s, "events", default=[]) or [])
    if sp.type is not None:
        sp.type = str(getattr(sp.type, "value", sp.type))
    sp.attributes = {k: v for k, v in sp.attributes.items() if k not in _HIDDEN_ATTRS}
    return sp


class _TraceView:
    __slots__ = ("trace_id", "experiment_id", "state", "request_time_ms", "duration_ms", "spans",
                 "tags")


def _read_trace(trace: Any) -> _TraceView:
    tv = _TraceView()
    if isinstance(trace, dict):
        info = trace.get("info") or {}
        data = trace.get("data") or {}
        raw_spans = data.get("spans") or []
    else:
        info = _get(trace, "info", default={})
        data = _get(trace, "data", default=None)
        raw_spans = _get(data, "spans", default=[]) if data is not None else []
    tv.trace_id = str(_get(info, "trace_id", "request_id", default="") or "")
    exp = _get(info, "experiment_id")
    if exp is None:
        loc = _get(info, "trace_location")
        mlflow_exp = _get(loc, "mlflow_experiment") if loc is not None else None
        exp = _get(mlflow_exp, "experiment_id") if mlflow_exp is not None else None
    tv.experiment_id = None if exp is None else str(exp)
    tv.state = _enum_name(_get(info, "state", "status"))
    rt = _get(info, "request_time", "timestamp_ms")
    tv.request_time_ms = _request_time_ms(rt)
    tv.duration_ms = _duration_ms(_get(info, "execution_duration", "execution_time_ms"))
    try:
        tv.tags = dict(_get(info, "tags", default={}) or {})
    except Exception:  # noqa: BLE001
        tv.tags = {}
    tv.spans = [_read_span(s) for s in raw_spans]
    return tv


def _request_time_ms(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, str):
        # Proto JSON form: "2025-01-01T00:00:00.123Z".
        try:
            d = _dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            return int(d.timestamp() * 1000)
        except ValueError:
            return None
    return _to_int(v)


def _duration_ms(v: Any) -> Optional[float]:
    if v is None:
        return None
    if isinstance(v, str) and v.endswith("s"):
        try:
            return float(v[:-1]) * 1000.0
        except ValueError:
            return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _as_list(trace_or_traces: Any) -> list:
    if isinstance(trace_or_traces, (list, tuple)):
        return list(trace_or_traces)
    return [trace_or_traces]


def _span_order(spans: list[_Span]) -> list[tuple[_Span, int]]:
    """Spans in tree order (depth-first, children by start time) with their depth.

    Orphans (parent not in the trace, e.g. spans still arriving) are shown as roots; a cycle in
    bad data cannot loop because each span is visited once.
    """
    by_id = {s.id: s for s in spans}
    children: dict[Any, list[_Span]] = {}
    roots = []
    for s in spans:
        if s.parent is None or s.parent == "" or s.parent not in by_id or s.parent == s.id:
            roots.append(s)
        else:
            children.setdefault(s.parent, []).append(s)

    def key(s: _Span):
        return (s.start if s.start is not None else 0, s.name)

    out: list[tuple[_Span, int]] = []
    seen: set[int] = set()
    stack = [(s, 0) for s in sorted(roots, key=key, reverse=True)]
    while stack:
        s, depth = stack.pop()
        if id(s) in seen:
            continue
        seen.add(id(s))
        out.append((s, depth))
        for c in sorted(children.get(s.id, ()), key=key, reverse=True):
            stack.append((c, depth + 1))
    # Spans only reachable through a cycle: append them flat so none silently disappears.
    for s in spans:
        if id(s) not in seen:
            out.append((s, 0))
    return out


def _fmt_duration_ms(ms: Optional[float]) -> str:
    if ms is None or ms < 0:
        return "—"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{ms / 60_000:.1f} min"


def _span_ms(s: _Span) -> Optional[float]:
    if s.start is None or s.end is None:
        return None
    return (s.end - s.start) / 1e6


def _trace_bounds(spans: list[_Span]) -> tuple[Optional[int], Optional[int]]:
    starts = [s.start for s in spans if s.start is not None]
    ends = [s.end for s in spans if s.end is not None]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _trace_duration_ms(tv: _TraceView, lo: Optional[int], hi: Optional[int]) -> Optional[float]:
    """From the spans (ns precision) when they have times, else the info's (whole ms)."""
    if lo is not None and hi is not None and hi >= lo:
        return (hi - lo) / 1e6
    return tv.duration_ms


def _trace_name(tv: _TraceView) -> str:
    order = _span_order(tv.spans)
    if order:
        return order[0][0].name
    return tv.trace_id or "trace"


# ----------------------------------------------------------------------------------------------
# text/plain
# ----------------------------------------------------------------------------------------------


def render_trace_text(trace_or_traces: Any) -> str:
    """A plain-text view: ``Trace(<id>, <state>, <duration>, <n> spans)`` and an indented tree."""
    parts = []
    for t in _as_list(trace_or_traces):
        tv = _read_trace(t)
        lo, hi = _trace_bounds(tv.spans)
        dur = _trace_duration_ms(tv, lo, hi)
        lines = [f"Trace(trace_id={tv.trace_id}, state={tv.state}, duration={_fmt_duration_ms(dur)}, "
                 f"spans={len(tv.spans)})"]
        order = _span_order(tv.spans)
        for s, depth in order[:MAX_TEXT_SPANS]:
            status = "" if s.status in ("OK", "UNSET") else f" {s.status}"
            typ = f" [{s.type}]" if s.type else ""
            lines.append(f"{'  ' * (depth + 1)}- {_cut(s.name, MAX_NAME_CHARS)}{typ} "
                         f"{_fmt_duration_ms(_span_ms(s))}{status}")
        if len(order) > MAX_TEXT_SPANS:
            lines.append(f"  … {len(order) - MAX_TEXT_SPANS} more spans")
        parts.append("\n".join(lines))
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------
# text/html: iframe to a server
# ----------------------------------------------------------------------------------------------


def renderer_url(traces: Iterable[Any], base_url: str) -> str:
    """The notebook renderer page URL for ``traces`` (not HTML-escaped).

    Same form as MLflow's: one ``trace_id`` and ``experiment_id`` pair per trace, then
    ``version`` (so browsers refetch the page after an upgrade). The base URL's own path is kept
    (a server behind a path prefix), unlike a plain ``urljoin`` with an absolute path.
    """
    params: list[tuple[str, str]] = []
    for t in traces:
        tv = _read_trace(t) if not isinstance(t, _TraceView) else t
        params.append(("trace_id", tv.trace_id))
        params.append(("experiment_id", tv.experiment_id or ""))
    params.append(("version", _version()))
    return f"{base_url.rstrip('/')}{TRACE_RENDERER_ASSET_PATH}/index.html?{urlencode(params)}"


_IFRAME_HTML = """<div class="clew-nb-frame">
<style>
.clew-nb-frame button{{border:none;border-radius:4px;background:#2272b4;color:#fff;cursor:pointer;
font:13px -apple-system,system-ui,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
margin:8px 0;padding:6px 14px}}
.clew-nb-frame button:hover{{background:#4299e0}}
</style>
<button onclick="var f=this.nextElementSibling,c=f.style.display==='none';f.style.display=c?'':'none';this.textContent=(c?'Collapse':'Expand')+' trace';">Collapse trace</button>
<iframe title="clew trace" style="width:100%;height:500px;border:none;resize:vertical;" src="{src}" loading="lazy"></iframe>
</div>"""


def iframe_html(traces: Any, base_url: str) -> str:
    """HTML embedding the server's notebook renderer page for ``traces``."""
    src = html.escape(renderer_url(_as_list(traces), base_url), quote=True)
    return _IFRAME_HTML.format(src=src)


# ----------------------------------------------------------------------------------------------
# text/html: self-contained view
# ----------------------------------------------------------------------------------------------

_TYPE_CLASSES = {
    "LLM": "llm", "CHAT_MODEL": "llm", "EMBEDDING": "emb", "RETRIEVER": "ret", "RERANKER": "ret",
    "TOOL": "tool", "AGENT": "agent", "CHAIN": "chain", "PARSER": "chain", "MEMORY": "ret",
    "WORKFLOW": "agent", "TASK": "chain", "GUARDRAIL": "tool", "EVALUATOR": "tool",
}

_CSS = """
.clew-tv{--bg:#fff;--fg:#1f2328;--mut:#656d76;--bd:#d0d7de;--hov:#f6f8fa;--code:#f6f8fa;
--bar:#2272b4;--err:#cf222e;--errbg:#ffebe9;--ok:#1a7f37;--okbg:#dafbe1;
--t-llm:#8250df;--t-emb:#bf3989;--t-ret:#0969da;--t-tool:#9a6700;--t-agent:#1a7f37;--t-chain:#57606a;--t-unk:#6e7781;
font:13px/1.45 -apple-system,system-ui,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg);border:1px solid var(--bd);border-radius:6px;margin:4px 0;overflow:hidden}
@media (prefers-color-scheme:dark){.clew-tv{--bg:#0d1117;--fg:#e6edf3;--mut:#8d96a0;--bd:#30363d;--hov:#161b22;
--code:#161b22;--bar:#4493f8;--err:#f85149;--errbg:#3d1214;--ok:#3fb950;--okbg:#12261e;
--t-llm:#a371f7;--t-emb:#db61a2;--t-ret:#4493f8;--t-tool:#d29922;--t-agent:#3fb950;--t-chain:#8d96a0;--t-unk:#8d96a0}}
body[data-jp-theme-light=false] .clew-tv,body.vscode-dark .clew-tv,body.vscode-high-contrast .clew-tv{--bg:#0d1117;
--fg:#e6edf3;--mut:#8d96a0;--bd:#30363d;--hov:#161b22;--code:#161b22;--bar:#4493f8;--err:#f85149;--errbg:#3d1214;
--ok:#3fb950;--okbg:#12261e;--t-llm:#a371f7;--t-emb:#db61a2;--t-ret:#4493f8;--t-tool:#d29922;--t-agent:#3fb950;
--t-chain:#8d96a0;--t-unk:#8d96a0}
body[data-jp-theme-light=true] .clew-tv,body.vscode-light .clew-tv{--bg:#fff;--fg:#1f2328;--mut:#656d76;--bd:#d0d7de;
--hov:#f6f8fa;--code:#f6f8fa;--bar:#2272b4;--err:#cf222e;--errbg:#ffebe9;--ok:#1a7f37;--okbg:#dafbe1;
--t-llm:#8250df;--t-emb:#bf3989;--t-ret:#0969da;--t-tool:#9a6700;--t-agent:#1a7f37;--t-chain:#57606a;--t-unk:#6e7781}
.clew-tv *{box-sizing:border-box}
.clew-tv .clew-hd{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;padding:8px 12px;border-bottom:1px solid var(--bd)}
.clew-tv .clew-tn{font-weight:600;font-size:14px;word-break:break-all}
.clew-tv .clew-mt{color:var(--mut);font-size:12px}
.clew-tv .clew-id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px;color:var(--mut)}
.clew-tv .clew-sp{flex:1}
.clew-tv button.clew-x{border:1px solid var(--bd);background:transparent;color:var(--mut);border-radius:4px;padding:1px 8px;
font-size:12px;cursor:pointer}
.clew-tv button.clew-x:hover{background:var(--hov)}
.clew-tv .clew-st{font-size:11px;font-weight:600;border-radius:10px;padding:0 7px}
.clew-tv .clew-st-OK{color:var(--ok);background:var(--okbg)}
.clew-tv .clew-st-ERROR{color:var(--err);background:var(--errbg)}
.clew-tv .clew-st-other{color:var(--mut);border:1px solid var(--bd)}
.clew-tv details.clew-s>summary{list-style:none;display:grid;grid-template-columns:minmax(0,1fr) 30% 72px;gap:10px;
align-items:center;padding:3px 12px;cursor:pointer;border-bottom:1px solid var(--bd)}
.clew-tv details.clew-s>summary::-webkit-details-marker{display:none}
.clew-tv details.clew-s>summary:hover{background:var(--hov)}
.clew-tv .clew-l{display:flex;align-items:center;gap:6px;min-width:0}
.clew-tv .clew-tw{color:var(--mut);width:10px;flex:none;font-size:10px;transition:transform .1s}
.clew-tv details[open]>summary .clew-tw{transform:rotate(90deg)}
.clew-tv .clew-nm{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.clew-tv .clew-ty{flex:none;font-size:10px;font-weight:600;letter-spacing:.02em;border-radius:3px;padding:0 5px;
color:#fff;background:var(--t-unk)}
.clew-tv .clew-ty-llm{background:var(--t-llm)}.clew-tv .clew-ty-emb{background:var(--t-emb)}
.clew-tv .clew-ty-ret{background:var(--t-ret)}.clew-tv .clew-ty-tool{background:var(--t-tool)}
.clew-tv .clew-ty-agent{background:var(--t-agent)}.clew-tv .clew-ty-chain{background:var(--t-chain)}
.clew-tv .clew-e{color:var(--err);flex:none;font-weight:700}
.clew-tv .clew-br{position:relative;height:8px;background:var(--hov);border-radius:2px}
.clew-tv .clew-br>i{position:absolute;top:0;bottom:0;min-width:2px;border-radius:2px;background:var(--bar)}
.clew-tv .clew-br.clew-bad>i{background:var(--err)}
.clew-tv .clew-du{text-align:right;color:var(--mut);font-variant-numeric:tabular-nums;font-size:12px}
.clew-tv .clew-b{padding:6px 12px 10px;border-bottom:1px solid var(--bd);background:var(--bg)}
.clew-tv .clew-k{font-size:11px;font-weight:600;color:var(--mut);text-transform:uppercase;letter-spacing:.04em;margin:6px 0 2px}
.clew-tv pre{margin:0;padding:6px 8px;background:var(--code);border-radius:4px;max-height:320px;overflow:auto;
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;color:var(--fg)}
.clew-tv .clew-err{color:var(--err);background:var(--errbg);border-radius:4px;padding:4px 8px;margin:4px 0;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word}
.clew-tv table{border-collapse:collapse;font-size:12px;width:100%}
.clew-tv td{border-top:1px solid var(--bd);padding:2px 6px;vertical-align:top;color:var(--fg);background:transparent;text-align:left}
.clew-tv td:first-child{color:var(--mut);white-space:nowrap;width:1%;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.clew-tv .clew-more{padding:6px 12px;color:var(--mut);font-style:italic}
.clew-tv .clew-ft{padding:4px 12px;color:var(--mut);font-size:11.5px}
"""

# One handler, on the button only: toggles every span's <details> in this trace view.
_EXPAND_ALL_JS = (
    "var r=this.closest('.clew-tv'),d=r.querySelectorAll('details.clew-s'),o=this.dataset.o!=='1';"
    "for(var i=0;i<d.length;i++)d[i].open=o;this.dataset.o=o?'1':'0';"
    "this.textContent=o?'Collapse all':'Expand all';"
)


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _cut(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + f"… ({len(s):,} chars)"


def _pretty(v: Any) -> str:
    if isinstance(v, str):
        text = v
    else:
        try:
            text = json.dumps(v, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(v)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + f"\n… (truncated; {len(text):,} characters in all)"
    return text


def _event_html(ev: Any) -> str:
    name = str(_get(ev, "name", default="event"))
    attrs = _get(ev, "attributes", default={}) or {}
    try:
        attrs = {k: _json_attr(v) if isinstance(ev, dict) else v for k, v in dict(attrs).items()}
    except Exception:  # noqa: BLE001
        attrs = {}
    if name == "exception":
        et = attrs.get("exception.type", "Exception")
        msg = attrs.get("exception.message", "")
        st = attrs.get("exception.stacktrace")
        out = f'<div class="clew-err">{_esc(_cut(f"{et}: {msg}", 2000))}</div>'
        if st:
            out += f"<details><summary class=\"clew-mt\">stack trace</summary><pre>{_esc(_pretty(st))}</pre></details>"
        return out
    rows = "".join(f"<tr><td>{_esc(_cut(str(k), 200))}</td><td>{_esc(_cut(_pretty(v), 2000))}</td></tr>"
                   for k, v in attrs.items())
    return f'<div><b>{_esc(_cut(name, 200))}</b>{f"<table>{rows}</table>" if rows else ""}</div>'


def _span_html(s: _Span, depth: int, t0: Optional[int], total: Optional[int]) -> str:
    ms = _span_ms(s)
    typ = s.type or ""
    tcls = _TYPE_CLASSES.get(typ.upper(), "unk") if typ else "unk"
    err = s.status == "ERROR"
    # Geometry is computed from numbers only, never from span text.
    if t0 is not None and total and s.start is not None:
        left = max(0.0, min(100.0, (s.start - t0) / total * 100))
        width = max(0.0, min(100.0 - left, ((s.end or s.start) - s.start) / total * 100))
        bar = f'<i style="left:{left:.2f}%;width:{width:.2f}%"></i>'
    else:
        bar = ""
    indent = min(depth, 40) * 16
    head = (
        f'<summary><span class="clew-l" style="padding-left:{indent}px">'
        f'<span class="clew-tw">&#9654;</span>'
        + (f'<span class="clew-ty clew-ty-{tcls}">{_esc(_cut(typ, 40))}</span>' if typ else "")
        + f'<span class="clew-nm" title="{_esc(_cut(s.name, 1000))}">{_esc(_cut(s.name, MAX_NAME_CHARS))}</span>'
        + ('<span class="clew-e" title="error">!</span>' if err else "")
        + f'</span><span class="clew-br{" clew-bad" if err else ""}">{bar}</span>'
        f'<span class="clew-du">{_fmt_duration_ms(ms)}</span></summary>'
    )
    body = []
    if err or (s.status_msg and s.status not in ("OK",)):
        body.append(f'<div class="clew-k">Status</div><div><span class="clew-st '
                    f'clew-st-{"ERROR" if err else "other"}">{_esc(s.status)}</span> '
                    f'{_esc(_cut(str(s.status_msg or ""), 2000))}</div>')
    if s.has_inputs:
        body.append(f'<div class="clew-k">Inputs</div><pre>{_esc(_pretty(s.inputs))}</pre>')
    if s.has_outputs:
        body.append(f'<div class="clew-k">Outputs</div><pre>{_esc(_pretty(s.outputs))}</pre>')
    if s.events:
        body.append('<div class="clew-k">Events</div>' + "".join(_event_html(e) for e in s.events[:50]))
        if len(s.events) > 50:
            body.append(f'<div class="clew-more">… {len(s.events) - 50} more events</div>')
    if s.attributes:
        rows = "".join(
            f"<tr><td>{_esc(_cut(str(k), 200))}</td><td>{_esc(_cut(_pretty(v), 4000))}</td></tr>"
            for k, v in list(s.attributes.items())[:100]
        )
        body.append(f'<div class="clew-k">Attributes</div><table>{rows}</table>')
    meta = f"span {_esc(s.id)}" + (f" · type {_esc(typ)}" if typ else "")
    body.append(f'<div class="clew-ft">{meta}</div>')
    return (f'<details class="clew-s">{head}<div class="clew-b" style="padding-left:{12 + indent}px">'
            f'{"".join(body)}</div></details>')


def _one_trace_html(trace: Any, max_spans: int) -> str:
    tv = _read_trace(trace)
    order = _span_order(tv.spans)
    lo, hi = _trace_bounds(tv.spans)
    total = (hi - lo) if lo is not None and hi is not None and hi > lo else None
    dur_ms = _trace_duration_ms(tv, lo, hi)
    state = tv.state
    st_cls = state if state in ("OK", "ERROR") else "other"
    when = ""
    if tv.request_time_ms:
        try:
            when = _dt.datetime.fromtimestamp(tv.request_time_ms / 1000, _dt.timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S UTC")
        except (OverflowError, OSError, ValueError):
            when = ""
    name = _cut(_trace_name(tv), MAX_NAME_CHARS)
    head = (
        '<div class="clew-hd">'
        f'<span class="clew-tn">{_esc(name)}</span>'
        f'<span class="clew-st clew-st-{st_cls}">{_esc(state)}</span>'
        f'<span class="clew-mt">{_fmt_duration_ms(dur_ms)} · {len(tv.spans):,} span{"s" if len(tv.spans) != 1 else ""}'
        + (f" · {_esc(when)}" if when else "")
        + '</span><span class="clew-sp"></span>'
        f'<span class="clew-id">{_esc(tv.trace_id)}</span>'
        f'<button class="clew-x" type="button" onclick="{_esc(_EXPAND_ALL_JS)}">Expand all</button>'
        "</div>"
    )
    rows = [_span_html(s, d, lo, total) for s, d in order[:max_spans]]
    if len(order) > max_spans:
        rows.append(f'<div class="clew-more">… {len(order) - max_spans:,} more spans not shown '
                    f"(the first {max_spans:,} in tree order are). Open the trace in <code>clew server</code> "
                    "to see all of it.</div>")
    if not order:
        rows.append('<div class="clew-more">This trace has no spans.</div>')
    exp = f" · experiment {_esc(tv.experiment_id)}" if tv.experiment_id else ""
    foot = f'<div class="clew-ft">clew trace{exp}</div>'
    return (f'<div class="clew-tv" data-trace-id="{_esc(tv.trace_id)}">{head}'
            f'<div class="clew-tree">{"".join(rows)}</div>{foot}</div>')


def self_contained_html(trace_or_traces: Any, *, max_spans: int = DEFAULT_MAX_SPANS) -> str:
    """A trace view that needs no server: inline CSS, escaped content, ``<details>`` rows."""
    traces = _as_list(trace_or_traces)
    return f"<style>{_CSS}</style>" + "".join(_one_trace_html(t, max_spans) for t in traces)


def render_trace_html(trace_or_traces: Any, *, tracking_uri: Optional[str] = None,
                      max_spans: int = DEFAULT_MAX_SPANS) -> str:
    """HTML for one trace or a list of traces.

    An iframe of the tracking server's notebook renderer when traces go to an ``http(s)``
    server (or a renderer base URL is set in the environment), else the self-contained view.
    ``tracking_uri`` overrides the SDK's current tracking URI.
    """
    base = renderer_base_url(tracking_uri)
    if base:
        return iframe_html(trace_or_traces, base)
    return self_contained_html(trace_or_traces, max_spans=max_spans)


def trace_mimebundle(trace_or_traces: Any, include: Any = None, exclude: Any = None) -> dict:
    """The IPython MIME bundle for ``Trace._repr_mimebundle_``.

    ``text/plain`` always; ``text/html`` unless notebook display is disabled. Traces rendered
    here are not shown again by the post-run-cell hook of the same cell.
    """
    traces = _as_list(trace_or_traces)
    bundle = {"text/plain": render_trace_text(traces)}
    handler = TraceDisplayHandler.get_instance()
    if not TraceDisplayHandler.disabled:
        try:
            bundle["text/html"] = render_trace_html(traces)
        except Exception:  # noqa: BLE001 - a repr must not raise into the notebook
            _logger.debug("rendering trace HTML failed", exc_info=True)
        for t in traces:
            handler.mark_shown(_trace_id_of(t))
    return bundle


def trace_html(trace: Any) -> Optional[str]:
    """For ``Trace._repr_html_``: the HTML, or ``None`` while notebook display is disabled.

    IPython fills MIME types missing from ``_repr_mimebundle_`` from ``_repr_*_`` methods, so
    this must agree with :func:`trace_mimebundle` about "disabled".
    """
    if TraceDisplayHandler.disabled:
        return None
    return render_trace_html(trace)


# ----------------------------------------------------------------------------------------------
# The post-run-cell hook
# ----------------------------------------------------------------------------------------------


def _trace_id_of(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, tuple):
        return str(t[0])
    info = t.get("info") if isinstance(t, dict) else _get(t, "info")
    return str(_get(info, "trace_id", "request_id", default="")) if info is not None else ""


def _notebook_shell() -> Any:
    """The running IPython shell if it is a notebook kernel's, else None (scripts, terminal)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


class TraceDisplayHandler:
    """Collects the traces finished during a cell and displays them when the cell ends.

    One instance per process (:meth:`get_instance`). Registered on a shell's
    ``post_run_cell`` event either automatically (in a kernel, see :func:`install`) or
    explicitly with :meth:`register` (any IPython shell; used by tests).
    """

    _instance: Optional["TraceDisplayHandler"] = None
    #: Class-wide switch, as in MLflow: ``disable_notebook_display()`` sets it.
    disabled = False

    def __init__(self) -> None:
        # trace id -> Trace object, or None when only the id is known (fetched at display time).
        self.pending: dict[str, Any] = {}
        self.shown: set[str] = set()
        self.shell: Any = None
        # Traces recorded per cell; once reached, the root-span hook is taken out until the
        # next cell, so a cell making 100,000 traces pays for 10 of them, not all.
        self.cap = DEFAULT_MAX_TRACES
        self._hook_installed = False

    @classmethod
    def get_instance(cls) -> "TraceDisplayHandler":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    # -- registration ----------------------------------------------------------------------
    def register(self, shell: Any) -> None:
        """Attach to ``shell``'s ``post_run_cell`` and ``pre_run_cell`` events (idempotent)."""
        if self.shell is shell:
            self.sync_hook()
            return
        if self.shell is not None:
            self.unregister()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)
        self.shell = shell
        self.cap = _max_traces()
        self.sync_hook()

    def unregister(self) -> None:
        shell, self.shell = self.shell, None
        self.pending.clear()
        self.sync_hook()
        if shell is None:
            return
        for name, cb in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self._post_run_cell)):
            try:
                shell.events.unregister(name, cb)
            except ValueError:
                pass

    def sync_hook(self) -> None:
        """Install the SDK's root-span hook exactly while traces should be recorded."""
        global COLLECTING
        want = self.shell is not None and not self.disabled and len(self.pending) < self.cap
        COLLECTING = self.shell is not None and not self.disabled
        if want != self._hook_installed:
            self._hook_installed = want
            _sdk_root_hook(_record_root_span if want else None)

    # -- collection ------------------------------------------------------------------------
    def display_traces(self, traces: Iterable[Any]) -> None:
        """Queue traces (Trace objects, ids, or ``(id, experiment_id)``) for the end of the cell."""
        if self.disabled or self.shell is None:
            return
        for t in traces:
            try:
                tid = _trace_id_of(t)
            except Exception:  # noqa: BLE001
                continue
            if not tid:
                continue
            if isinstance(t, (str, tuple)):
                self.pending.setdefault(tid, None if isinstance(t, str) else t)
            else:
                self.pending[tid] = t

    def mark_shown(self, trace_id: str) -> None:
        if trace_id:
            self.shown.add(trace_id)

    def _pre_run_cell(self, *_: Any) -> None:
        self.shown.clear()
        self.cap = _max_traces()
        self.sync_hook()

    def _post_run_cell(self, *_: Any) -> None:
        pending, self.pending = self.pending, {}
        shown, self.shown = self.shown, set()
        self.sync_hook()
        if self.disabled or not pending:
            return
        try:
            ids = [tid for tid in pending if tid not in shown][: _max_traces()]
            if not ids:
                return
            base = renderer_base_url()
            _flush_exports(timeout_hint=base is not None or any(pending[i] is None for i in ids))
            traces = [t for t in (self._resolve(tid, pending[tid], base) for tid in ids) if t is not None]
            if not traces:
                return
            from IPython.display import display

            bundle = {"text/plain": "\n".join(
                f"Trace(trace_id={t[0]})" if isinstance(t, tuple) else render_trace_text(t) for t in traces)}
            if base:
                bundle["text/html"] = iframe_html([_TupleTrace(t) if isinstance(t, tuple) else t
                                                   for t in traces], base)
            else:
                bundle["text/html"] = self_contained_html(traces)
            display(bundle, raw=True)
        except Exception:  # noqa: BLE001 - never break the user's notebook
            _logger.debug("displaying traces failed", exc_info=True)

    @staticmethod
    def _resolve(tid: str, t: Any, base: Optional[str]) -> Any:
        if t is None and base:
            # The iframe needs only the ids: no read from the server (which may be slow or down).
            return (tid, _active_experiment_id())
        if t is None or (isinstance(t, tuple) and not base):
            clew = sys.modules.get("clew")
            get_trace = getattr(clew, "get_trace", None)
            if get_trace is None:
                return None
            try:
                return get_trace(tid)
            except Exception:  # noqa: BLE001
                _logger.debug("get_trace(%s) failed", tid, exc_info=True)
                return None
        return t


class _TupleTrace:
    """(trace_id, experiment_id) seen as a trace by renderer_url."""

    def __init__(self, t: tuple) -> None:
        self.info = {"trace_id": t[0], "experiment_id": t[1] if len(t) > 1 else None}


#: Seconds the post-cell hook waits for queued exports before displaying (a server that is down
#: must not hang the notebook; the iframe page can be reloaded).
FLUSH_TIMEOUT_S = 5.0


def _flush_exports(timeout_hint: bool) -> None:
    """Wait (bounded) for queued exports so the iframe (or get_trace) finds the cell's traces."""
    if not timeout_hint:
        return
    clew = sys.modules.get("clew")
    flush = getattr(clew, "flush_trace_async_logging", None)
    if flush is not None:
        try:
            try:
                flush(timeout=FLUSH_TIMEOUT_S)
            except TypeError:  # an SDK whose flush takes no timeout
                flush()
        except Exception:  # noqa: BLE001
            _logger.debug("flush before display failed", exc_info=True)


def _active_experiment_id() -> str:
    core = getattr(sys.modules.get("clew"), "_core", None)
    try:
        return str(core.active_experiment_id()) if core is not None else "0"
    except Exception:  # noqa: BLE001
        return "0"


# ----------------------------------------------------------------------------------------------
# Entry points used by the SDK
# ----------------------------------------------------------------------------------------------


def _record_root_span(span: Any) -> None:
    """Root-span hook: remember the new trace's id (the trace is read after the cell).

    On every root span inside a notebook, so kept to a dict insert; at the per-cell cap the
    hook removes itself until the next cell.
    """
    h = TraceDisplayHandler._instance
    if h is None:
        return
    try:
        pending = h.pending
        pending.setdefault(span.trace_id, None)
        if len(pending) >= h.cap:
            h.sync_hook()
    except Exception:  # noqa: BLE001 - never break the traced code
        _logger.debug("recording a trace for display failed", exc_info=True)


def _sdk_root_hook(hook: Any) -> None:
    """Install (or remove) the SDK's root-span hook for notebook display."""
    tracing = sys.modules.get("clew.tracing")
    setter = getattr(tracing, "_set_notebook_root_hook", None) if tracing is not None else None
    if setter is not None:
        try:
            setter(hook)
        except Exception:  # noqa: BLE001
            _logger.debug("setting the root-span hook failed", exc_info=True)


def get_display_handler() -> TraceDisplayHandler:
    """The process-wide display handler."""
    return TraceDisplayHandler.get_instance()


def install() -> bool:
    """Register the post-run-cell hook if running inside a notebook kernel. Cheap otherwise.

    The SDK calls this when it is imported; returns whether a hook is active.
    """
    shell = _notebook_shell()
    if shell is None:
        return False
    try:
        get_display_handler().register(shell)
        return True
    except Exception:  # noqa: BLE001
        _logger.debug("registering the notebook display hook failed", exc_info=True)
        return False


def on_trace_end(trace: Any) -> None:
    """Called by the SDK for each trace made in the process: a Trace, its id, or
    ``(id, experiment_id)``.

    The SDK may call it when the root span *starts* with just the id (cheapest: no Trace object
    is built on the hot path); the hook reads the finished trace with ``clew.get_trace`` after
    the cell, once queued exports are flushed. A no-op unless a notebook hook is active, so
    outside notebooks it costs one global lookup.
    """
    if COLLECTING:
        get_display_handler().display_traces((trace,))


#: Same function, for an SDK that reports traces when their root span starts.
on_trace_start = on_trace_end


def enable_notebook_display() -> None:
    """Show traces inline in notebook outputs (the default inside a Jupyter kernel)."""
    TraceDisplayHandler.disabled = False
    h = get_display_handler()
    if h.shell is None:
        install()
    h.sync_hook()


def disable_notebook_display() -> None:
    """Stop showing traces inline; ``Trace`` values show as text only."""
    TraceDisplayHandler.disabled = True
    h = get_display_handler()
    h.pending.clear()
    h.sync_hook()


__all__ = [
    "TRACE_RENDERER_ASSET_PATH",
    "TraceDisplayHandler",
    "disable_notebook_display",
    "enable_notebook_display",
    "get_display_handler",
    "iframe_html",
    "install",
    "on_trace_end",
    "on_trace_start",
    "render_trace_html",
    "render_trace_text",
    "renderer_base_url",
    "renderer_url",
    "self_contained_html",
    "trace_html",
    "trace_mimebundle",
]
