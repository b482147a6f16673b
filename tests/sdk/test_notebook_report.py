"""A drift report shown in a Jupyter notebook: a notebook that logs a reference and
records through the SDK and displays ``client.analyze(...)`` is executed by
nbclient in a real IPython kernel against a real server; its output is the
server's HTML report of those records, in a frame."""

from __future__ import annotations

import html

import nbformat
from nbclient import NotebookClient

from tests.conftest import LiveServer

SETUP = """
import pandas as pd
from monitorx import MonitorX

client = MonitorX({url!r}, max_retries=0)
rows = 400
client.set_reference("notebook-model", pd.DataFrame({{
    "amount": [float(i % 50) for i in range(rows)],
    "channel": [["web", "app"][i % 2] for i in range(rows)],
}}))
client.log_records("notebook-model", pd.DataFrame({{
    "amount": [float(i % 50) + 40.0 for i in range(rows)],
    "channel": [["web", "app"][i % 2] for i in range(rows)],
}}))
"""


def test_a_notebook_shows_the_servers_report_of_its_records(live_server: LiveServer) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(SETUP.format(url=live_server.url)),
        nbformat.v4.new_code_cell('report = client.analyze("notebook-model")\nreport'),
        nbformat.v4.new_code_cell("print(report.dataset_drift, report.share_drifted)"),
    ]

    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()

    shown = notebook.cells[1].outputs[0]
    assert shown["output_type"] == "execute_result"
    rendered = shown["data"]["text/html"]
    assert rendered.startswith("<iframe srcdoc=")
    page = html.unescape(rendered.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert page.lower().startswith("<!doctype html>")
    assert "<svg" in page and "amount" in page and "channel" in page
    assert "drifted=1/2" in shown["data"]["text/plain"]
    printed = notebook.cells[2].outputs[0]["text"]
    assert printed.split() == ["True", "0.5"]
