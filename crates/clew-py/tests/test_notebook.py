"""Notebook display: the HTML a trace renders to, and the post-run-cell hook in a real IPython shell.

Traces here are real clew traces (traced functions, written to a SQLite store in a temp dir,
read back with ``clew.get_trace``); the HTML is checked with Python's HTML parser, not only with
substring matches, so an unescaped tag or handler from span content would be found.
"""

from __future__ import annotations

import html
import html.parser
import re
from urllib.parse import parse_qs, urlparse

import pytest

clew = pytest.importorskip("clew", reason="the clew package is not installed in this venv")
from clew import notebook  # noqa: E402


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def local_store(tmp_path, monkeypatch):
    """Every test writes to its own SQLite store; display state is reset around it."""
    for var in ("CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL", "MLFLOW_NOTEBOOK_TRACE_RENDERER_BASE_URL",
                "CLEW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK", "MLFLOW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK"):
        monkeypatch.delenv(var, raising=False)
    clew.set_tracking_uri(f"sqlite:///{tmp_path / 'clew.db'}")
    notebook.enable_notebook_display()
    yield
    handler = notebook.get_display_handler()
    handler.unregister()
    notebook.enable_notebook_display()


def last_trace():
    clew.flush_trace_async_logging()
    trace = clew.get_trace(clew.get_last_active_trace_id())
    assert trace is not None
    return trace


def make_agent_trace():
    @clew.trace(span_type="AGENT")
    def agent(question):
        with clew.start_span("call_llm", span_type="LLM") as span:
            span.set_inputs({"messages": [{"role": "user", "content": question}]})
            span.set_outputs({"content": "Paris"})
        lookup("capital")
        return "Paris"

    @clew.trace(span_type="TOOL")
    def lookup(key):
        return {"capital": "Paris"}[key]

    agent("What is the capital of France?")
    return last_trace()


ALLOWED_TAGS = {"style", "div", "span", "details", "summary", "pre", "table", "tr", "td", "button",
                "i", "b", "code"}


class TagCollector(html.parser.HTMLParser):
    """Records every start tag with its attributes and the text content."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(doc: str) -> TagCollector:
    p = TagCollector()
    p.feed(doc)
    p.close()
    return p


def iframe_src(doc: str) -> str:
    frames = [a for t, a in parse(doc).tags if t == "iframe"]
    assert len(frames) == 1, doc
    return frames[0]["src"]


# ------------------------------------------------------------------------------------------
# self-contained view
# ------------------------------------------------------------------------------------------


def test_self_contained_view_shows_the_span_tree_with_types_and_durations():
    trace = make_agent_trace()
    doc = notebook.render_trace_html(trace)
    assert "<iframe" not in doc  # a sqlite:/// store means no server to embed
    p = parse(doc)
    text = " ".join(p.text)
    for name in ("agent", "call_llm", "lookup"):
        assert name in text
    for span_type in ("AGENT", "LLM", "TOOL"):
        assert span_type in text
    assert trace.info.trace_id in text
    # One expandable row per span, in tree order (root first), and a duration on each.
    rows = [a for t, a in p.tags if t == "details" and a.get("class") == "clew-s"]
    assert len(rows) == 3
    names_in_order = [m for m in re.findall(r'class="clew-nm" title="([^"]*)"', doc)]
    assert names_in_order == ["agent", "call_llm", "lookup"]
    assert len(re.findall(r'class="clew-du">[0-9.]+ (?:µs|ms|s)<', doc)) == 3
    # Children are indented deeper than the root.
    pads = [int(x) for x in re.findall(r'class="clew-l" style="padding-left:(\d+)px"', doc)]
    assert pads[0] < pads[1] and pads[1] == pads[2]
    # Inputs and outputs are in the expandable bodies (escaped JSON text).
    assert "What is the capital of France?" in text
    assert '"content": "Paris"' in text
    # Light/dark styling is inline.
    assert "prefers-color-scheme:dark" in doc


def test_span_content_is_escaped_so_no_markup_or_script_from_it_runs():
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    @clew.trace(name='evil"><svg onload=alert(1)>')
    def evil(text):
        with clew.start_span("child") as span:
            span.set_attribute("k<b>", payload)
            span.set_outputs(payload)
        return payload

    evil(payload)
    doc = notebook.render_trace_html(last_trace())
    p = parse(doc)
    # Only the view's own tags appear, and the only event handler is the view's own button.
    assert {t for t, _ in p.tags} <= ALLOWED_TAGS
    handlers = [(t, k) for t, a in p.tags for k in a if k.startswith("on")]
    assert handlers == [("button", "onclick")]
    assert "<script" not in doc.lower()
    assert "<img" not in doc.lower() and "<svg" not in doc.lower()
    # The content is still there, as text.
    text = "".join(p.text)
    assert payload in text
    assert 'evil"><svg onload=alert(1)>' in text
    assert "&lt;script&gt;" in doc


def test_error_span_shows_status_and_exception():
    @clew.trace(span_type="TOOL")
    def failing(x):
        raise ValueError(f"bad input <{x}>")

    with pytest.raises(ValueError):
        failing(7)
    trace = last_trace()
    doc = notebook.render_trace_html(trace)
    text = "".join(parse(doc).text)
    assert "ERROR" in text
    assert "ValueError: bad input <7>" in text  # parsed text, i.e. it was escaped in the HTML
    assert "&lt;7&gt;" in doc
    assert "Traceback" in text or "stack trace" in text
    assert 'class="clew-st clew-st-ERROR"' in doc
    plain = notebook.render_trace_text(trace)
    assert "failing [TOOL]" in plain and "ERROR" in plain


def test_huge_trace_is_capped_with_a_count_of_the_rest():
    @clew.trace
    def root():
        for i in range(450):
            with clew.start_span(f"step-{i}") as span:
                span.set_inputs({"i": i})

    root()
    trace = last_trace()
    assert len(trace.data.spans) == 451
    doc = notebook.render_trace_html(trace, max_spans=100)
    rows = [a for t, a in parse(doc).tags if t == "details" and a.get("class") == "clew-s"]
    assert len(rows) == 100
    assert "351 more spans not shown" in doc
    assert "step-98" in doc and "step-99" not in doc  # root + the first 99 children, in start order
    # The default cap keeps a notebook output small.
    assert len(notebook.render_trace_html(trace)) < 400_000


def test_huge_values_are_truncated():
    big = "x" * 100_000

    @clew.trace
    def echo(s):
        return s

    echo(big)
    doc = notebook.render_trace_html(last_trace())
    assert "truncated" in doc
    assert len(doc) < 3 * notebook.MAX_VALUE_CHARS + 50_000


def test_text_plain_is_an_indented_tree():
    trace = make_agent_trace()
    text = notebook.render_trace_text(trace)
    lines = text.splitlines()
    assert lines[0].startswith(f"Trace(trace_id={trace.info.trace_id}, state=OK")
    assert "spans=3" in lines[0]
    assert re.match(r"^  - agent \[AGENT\] ", lines[1])
    assert re.match(r"^    - call_llm \[LLM\] ", lines[2])
    assert re.match(r"^    - lookup \[TOOL\] ", lines[3])


# ------------------------------------------------------------------------------------------
# iframe to a tracking server
# ------------------------------------------------------------------------------------------


def test_http_tracking_uri_renders_an_iframe_of_the_notebook_page():
    trace = make_agent_trace()
    doc = notebook.render_trace_html(trace, tracking_uri="http://127.0.0.1:5000")
    src = iframe_src(doc)
    u = urlparse(src)
    assert (u.scheme, u.netloc, u.path) == (
        "http", "127.0.0.1:5000", "/static-files/lib/notebook-trace-renderer/index.html")
    q = parse_qs(u.query)
    assert q["trace_id"] == [trace.info.trace_id]
    assert q["experiment_id"] == [trace.info.experiment_id]
    assert q["version"] == [clew.__version__]
    # In the HTML the query's & is escaped.
    assert "&amp;experiment_id=" in doc
    assert "clew-tv" not in doc


def test_iframe_for_several_traces_uses_mlflows_repeated_parameters_and_keeps_a_path_prefix():
    t1 = make_agent_trace()
    t2 = make_agent_trace()
    doc = notebook.render_trace_html([t1, t2], tracking_uri="https://example.org/ml/")
    src = iframe_src(doc)
    assert src.startswith("https://example.org/ml/static-files/lib/notebook-trace-renderer/index.html?")
    pairs = [kv.split("=", 1) for kv in urlparse(src).query.split("&")]
    assert [k for k, _ in pairs] == ["trace_id", "experiment_id", "trace_id", "experiment_id", "version"]
    assert [v for k, v in pairs if k == "trace_id"] == [t1.info.trace_id, t2.info.trace_id]


def test_iframe_points_at_a_real_clew_servers_notebook_page(clew_server, monkeypatch):
    # Traces go to a running `clew server`; the iframe's URL must serve the renderer page, and
    # the trace it names must be readable through the call that page makes.
    import json
    import urllib.request

    url, _ = clew_server
    clew.set_tracking_uri(url)
    trace = make_agent_trace()
    src = iframe_src(notebook.render_trace_html(trace))
    assert src.startswith(url + "/static-files/lib/notebook-trace-renderer/index.html?")
    with urllib.request.urlopen(src, timeout=10) as r:
        assert r.status == 200
        assert r.headers.get("content-type", "").startswith("text/html")
        assert b"<html" in r.read().lower()
    tid = parse_qs(urlparse(src).query)["trace_id"][0]
    with urllib.request.urlopen(f"{url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id={tid}",
                                timeout=10) as r:
        body = json.loads(r.read())
    names = {s["name"] for s in body["spans"]}
    assert names == {"agent", "call_llm", "lookup"}


def test_iframe_url_is_escaped():
    trace = make_agent_trace()
    doc = notebook.render_trace_html(trace, tracking_uri='http://host:1/"><script>alert(1)</script>')
    assert "<script" not in doc
    tags = parse(doc).tags
    assert [t for t, _ in tags].count("iframe") == 1
    assert iframe_src(doc).startswith('http://host:1/"><script>')  # the attribute holds it, as text


def test_renderer_base_url_from_the_environment_wins(monkeypatch):
    trace = make_agent_trace()
    monkeypatch.setenv("CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL", "http://renderer.local:8080")
    src = iframe_src(notebook.render_trace_html(trace))
    assert src.startswith("http://renderer.local:8080/static-files/lib/notebook-trace-renderer/index.html?")


# ------------------------------------------------------------------------------------------
# MIME bundle of a Trace
# ------------------------------------------------------------------------------------------


def test_trace_repr_mimebundle_has_html_and_text_and_respects_disable():
    trace = make_agent_trace()
    bundle = trace._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert trace.info.trace_id in bundle["text/html"]
    assert bundle["text/plain"].startswith("Trace(trace_id=")
    notebook.disable_notebook_display()
    assert set(trace._repr_mimebundle_()) == {"text/plain"}
    notebook.enable_notebook_display()
    assert "text/html" in trace._repr_mimebundle_()


def test_ipython_formatter_shows_html_only_while_display_is_enabled(shell):
    # IPython merges _repr_mimebundle_ with the _repr_*_ methods; disabling must hold for both.
    trace = make_agent_trace()
    data, _ = shell.display_formatter.format(trace)
    assert f'data-trace-id="{trace.info.trace_id}"' in data["text/html"]
    assert data["text/plain"].startswith("Trace(trace_id=")
    notebook.disable_notebook_display()
    data, _ = shell.display_formatter.format(trace)
    assert "text/html" not in data
    assert data["text/plain"].startswith("Trace(trace_id=")


def test_clew_tracing_toggles_are_the_notebook_ones():
    notebook.enable_notebook_display()
    clew.tracing.disable_notebook_display()
    assert notebook.TraceDisplayHandler.disabled
    clew.tracing.enable_notebook_display()
    assert not notebook.TraceDisplayHandler.disabled


# ------------------------------------------------------------------------------------------
# post_run_cell hook in a real IPython shell
# ------------------------------------------------------------------------------------------


@pytest.fixture
def shell():
    pytest.importorskip("IPython", reason="IPython is not installed")
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    old_pub = sh.display_pub
    sh.display_pub = CapturingDisplayPublisher()
    notebook.get_display_handler().register(sh)
    try:
        yield sh
    finally:
        notebook.get_display_handler().unregister()
        sh.display_pub = old_pub


def run_cell(sh, code: str) -> list[dict]:
    sh.display_pub.outputs.clear()
    result = sh.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return [o["data"] for o in sh.display_pub.outputs]


def test_traces_finished_in_a_cell_are_displayed_once_after_it(shell):
    shell.user_ns["clew"] = clew
    outs = run_cell(shell, """
@clew.trace
def greet(name):
    return "hi " + name

greet("a"); greet("b")
ids = [t for t in [clew.get_last_active_trace_id()]]
""")
    assert len(outs) == 1, outs
    data = outs[0]
    assert set(data) == {"text/plain", "text/html"}
    views = re.findall(r'class="clew-tv" data-trace-id="([^"]+)"', data["text/html"])
    assert len(views) == 2 and len(set(views)) == 2
    assert shell.user_ns["ids"][0] in views
    assert data["text/plain"].count("Trace(trace_id=") == 2

    # A cell that makes no trace displays nothing; the previous cell's traces are not repeated.
    assert run_cell(shell, "x = 1 + 1") == []


def test_a_trace_shown_as_the_cell_value_is_not_displayed_twice(shell):
    shell.user_ns["clew"] = clew
    run_cell(shell, "@clew.trace\ndef f(x):\n    return x\n")
    outs = run_cell(shell, "f(1)\nclew.flush_trace_async_logging()\nt = clew.get_trace(clew.get_last_active_trace_id())\ndisplay(t)")
    htmls = [o for o in outs if "text/html" in o]
    assert len(htmls) == 1, outs  # display(t) rendered it; the hook skipped the same trace


def test_hook_caps_the_number_of_traces_and_respects_disable(shell, monkeypatch):
    shell.user_ns["clew"] = clew
    monkeypatch.setenv("CLEW_MAX_TRACES_TO_DISPLAY_IN_NOTEBOOK", "4")
    outs = run_cell(shell, "@clew.trace\ndef g(i):\n    return i\nfor i in range(9):\n    g(i)\n"
                           "hook_after = clew.tracing._NOTEBOOK_ROOT_HOOK[0]\n")
    assert len(outs) == 1
    assert len(re.findall(r'class="clew-tv" data-trace-id=', outs[0]["text/html"])) == 4
    # At the cap the root-span hook took itself out for the rest of the cell, and is back now.
    assert shell.user_ns["hook_after"] is None
    assert clew.tracing._NOTEBOOK_ROOT_HOOK[0] is not None

    notebook.disable_notebook_display()
    assert run_cell(shell, "g(1)") == []
    notebook.enable_notebook_display()
    assert len(run_cell(shell, "g(2)")) == 1


def test_hook_with_a_tracking_server_displays_an_iframe(shell, monkeypatch):
    shell.user_ns["clew"] = clew
    monkeypatch.setenv("CLEW_NOTEBOOK_TRACE_RENDERER_BASE_URL", "http://127.0.0.1:9")
    outs = run_cell(shell, "@clew.trace\ndef h(i):\n    return i\nh(1)\nh(2)\n")
    assert len(outs) == 1
    src = iframe_src(outs[0]["text/html"])
    q = parse_qs(urlparse(src).query)
    assert len(q["trace_id"]) == 2 and len(q["experiment_id"]) == 2


def test_hook_with_a_real_clew_server_shows_traces_the_server_has(shell, clew_server):
    import json
    import urllib.request

    url, _ = clew_server
    clew.set_tracking_uri(url)
    shell.user_ns["clew"] = clew
    outs = run_cell(shell, "@clew.trace\ndef s(i):\n    return i\ns(1)\ns(2)\n")
    assert len(outs) == 1
    src = iframe_src(outs[0]["text/html"])
    assert src.startswith(url + "/static-files/lib/notebook-trace-renderer/index.html?")
    q = parse_qs(urlparse(src).query)
    assert q["experiment_id"] == [clew._core.active_experiment_id()] * 2
    # The hook flushed before displaying, so the page's read finds both traces right away.
    for tid in q["trace_id"]:
        with urllib.request.urlopen(
                f"{url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id={tid}", timeout=10) as r:
            assert [sp["name"] for sp in json.loads(r.read())["spans"]] == ["s"]


def test_no_hook_outside_a_notebook_kernel():
    # pytest runs without IPython's kernel: install() must not register anything.
    assert notebook.install() is False
    assert notebook.get_display_handler().shell is None
    notebook.on_trace_end("tr-" + "0" * 32)  # a no-op, not an error
    assert notebook.get_display_handler().pending == {}


def test_render_accepts_the_mlflow_dict_form():
    trace = make_agent_trace()
    as_dict = trace.to_dict()
    doc = notebook.render_trace_html(as_dict)
    assert html.escape(trace.info.trace_id) in doc
    assert len([1 for t, a in parse(doc).tags if t == "details" and a.get("class") == "clew-s"]) == 3
