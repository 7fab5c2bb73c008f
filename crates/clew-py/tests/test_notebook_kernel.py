"""End to end: a real Jupyter kernel (ipykernel, driven by nbclient) runs a notebook that traces
a function with clew; the cells' outputs must carry the trace view as ``text/html``.

The kernel is this interpreter (the venv with clew installed), started the way Jupyter starts
it. If no kernel can be started here (no ipykernel, no local sockets), the test is skipped and
says why; any other failure is a failure.
"""

from __future__ import annotations

import re
import sys

import pytest

pytest.importorskip("clew", reason="the clew package is not installed in this venv")
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
pytest.importorskip("ipykernel", reason="ipykernel is not installed")


def _kernel_manager_or_skip():
    """A kernel manager for this Python; skips with the reason when there is no kernel spec."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    try:
        spec = km.kernel_spec
    except Exception as e:  # noqa: BLE001 - jupyter_client raises NoSuchKernel and others
        pytest.skip(f"no Jupyter kernel spec for python3 here: {e!r}")
    # Run the kernel on this interpreter, whatever kernelspec Jupyter would find first.
    spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return km


def _cell_outputs(nb, index):
    return nb.cells[index].outputs


def _html_outputs(outputs):
    return [o for o in outputs
            if o.get("output_type") in ("display_data", "execute_result") and "text/html" in o.get("data", {})]


def _run(nb, tmp_path):
    client = nbclient.NotebookClient(
        nb, timeout=120, km=_kernel_manager_or_skip(),
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError:
        raise
    except (RuntimeError, TimeoutError, OSError) as e:  # kernel did not start / died at start
        if not any(c.get("outputs") for c in nb.cells):
            pytest.skip(f"a Jupyter kernel cannot start here: {e!r}")
        raise


def test_a_notebook_with_a_clew_server_shows_an_iframe_of_its_page(tmp_path, clew_server):
    import json
    import urllib.request
    from urllib.parse import parse_qs, urlparse

    url, _ = clew_server
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        f"import clew\nclew.set_tracking_uri({url!r})",
        "@clew.trace\ndef hello(name):\n    return 'hi ' + name\nhello('kernel')",
    )]
    _run(nb, tmp_path)
    html_out = _html_outputs(_cell_outputs(nb, 1))
    assert len(html_out) == 1, _cell_outputs(nb, 1)
    src = re.search(r'<iframe[^>]* src="([^"]+)"', html_out[0]["data"]["text/html"]).group(1)
    src = src.replace("&amp;", "&")
    assert src.startswith(url + "/static-files/lib/notebook-trace-renderer/index.html?")
    with urllib.request.urlopen(src, timeout=10) as r:
        assert r.status == 200
    (tid,) = parse_qs(urlparse(src).query)["trace_id"]
    with urllib.request.urlopen(f"{url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id={tid}",
                                timeout=10) as r:
        assert [s["name"] for s in json.loads(r.read())["spans"]] == ["hello"]


def test_a_notebook_shows_traces_inline(tmp_path):
    store = tmp_path / "clew.db"
    cells = [
        # 0: set up
        f"import clew\nclew.set_tracking_uri({('sqlite:///' + str(store))!r})",
        # 1: a traced function called twice -> both traces shown after the cell
        "@clew.trace(span_type='CHAIN')\n"
        "def answer(question):\n"
        "    with clew.start_span('llm', span_type='LLM') as s:\n"
        "        s.set_inputs({'q': question})\n"
        "        s.set_outputs('<b>42</b>')\n"
        "    return 42\n"
        "answer('life?')\n"
        "answer('universe?')\n",
        # 2: the id of the last trace the previous cell made, printed for the test
        "clew.flush_trace_async_logging()\n"
        "t = clew.get_trace(clew.get_last_active_trace_id())\n"
        "print('LAST', t.info.trace_id)",
        # 3: a Trace as the cell's value renders as HTML too
        "t",
        # 4: no trace made -> no trace output
        "x = 1",
        # 5: display switched off -> nothing
        "clew.tracing.disable_notebook_display()\nanswer('off')",
        # 6: ... and a Trace value is text only
        "t",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    _run(nb, tmp_path)

    traced = _html_outputs(_cell_outputs(nb, 1))
    assert len(traced) == 1, _cell_outputs(nb, 1)
    doc = traced[0]["data"]["text/html"]
    ids = re.findall(r'class="clew-tv" data-trace-id="(tr-[0-9a-f]{32})"', doc)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert "&lt;b&gt;42&lt;/b&gt;" in doc  # outputs are escaped, not markup
    assert "<b>42</b>" not in doc
    assert "text/plain" in traced[0]["data"]

    printed = "".join(o.get("text", "") for o in _cell_outputs(nb, 2) if o.get("output_type") == "stream")
    last_id = re.search(r"LAST (tr-[0-9a-f]{32})", printed).group(1)
    assert last_id == ids[-1]
    # Cell 2 made no trace (get_trace reads one), so it shows none.
    assert _html_outputs(_cell_outputs(nb, 2)) == []

    value = [o for o in _cell_outputs(nb, 3) if o.get("output_type") == "execute_result"]
    assert len(value) == 1
    assert f'data-trace-id="{last_id}"' in value[0]["data"]["text/html"]
    assert value[0]["data"]["text/plain"].startswith(f"Trace(trace_id={last_id}")

    assert _html_outputs(_cell_outputs(nb, 4)) == []
    assert _html_outputs(_cell_outputs(nb, 5)) == []
    value = [o for o in _cell_outputs(nb, 6) if o.get("output_type") == "execute_result"]
    assert len(value) == 1 and "text/html" not in value[0]["data"]
    assert value[0]["data"]["text/plain"].startswith(f"Trace(trace_id={last_id}")
