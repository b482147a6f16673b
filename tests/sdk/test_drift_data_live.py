"""The SDK's drift data calls against a real server: pandas, polars and pyarrow inputs
sent as Arrow give the report that the same data gives as JSON; the report object's
forms; clear errors for what cannot be sent."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from monitorx import MonitorX, MonitorXClient, ValidationError
from monitorx.sdk import DriftReport, MissingDependency
from tests.conftest import LiveServer

ROWS = 300


def _reference() -> dict[str, list[Any]]:
    return {
        "amount": [float(i % 97) for i in range(ROWS)],
        "country": [["fr", "de", "it"][i % 3] for i in range(ROWS)],
    }


def _current() -> dict[str, list[Any]]:
    return {
        "request_id": [f"req-{i}" for i in range(ROWS)],
        "amount": [float(i % 97) + 30.0 for i in range(ROWS)],
        "country": [["fr", "de", "it"][i % 3] for i in range(ROWS)],
    }


PREDICTIONS = [i % 2 for i in range(ROWS)]
FRAMES = {
    "pandas": pd.DataFrame,
    "polars": pl.DataFrame,
    "pyarrow": pa.table,
}


def _json_report(api: httpx.Client) -> dict[str, Any]:
    """The report of the same data sent as JSON rows, without the SDK."""
    api.put("/models/json/reference", json={"rows": pa.table(_reference()).to_pylist()})
    current = _current()
    records = [
        {
            "request_id": current["request_id"][i],
            "features": {"amount": current["amount"][i], "country": current["country"][i]},
            "prediction": PREDICTIONS[i],
        }
        for i in range(ROWS)
    ]
    assert api.post("/models/json/records", json=records).status_code == 202
    labels = [{"request_id": f"req-{i}", "label": 1} for i in range(ROWS)]
    assert api.post("/models/json/labels", json=labels).status_code == 202
    report = api.post("/models/json/drift/analyze", json={}).json()
    return {k: v for k, v in report.items() if k != "model_id"}


@pytest.mark.parametrize("kind", list(FRAMES))
def test_frames_give_the_report_of_the_same_json_rows(
    live_server: LiveServer, api: httpx.Client, kind: str
) -> None:
    frame = FRAMES[kind]
    with MonitorX(live_server.url, max_retries=0) as client:
        stored = client.set_reference(kind, frame(_reference()))
        logged = client.log_records(kind, frame(_current()), predictions=PREDICTIONS)
        labelled = client.log_labels(kind, {f"req-{i}": 1 for i in range(ROWS)})
        report = client.analyze(kind)

    assert stored == {"rows": ROWS, "columns": ["amount", "country"]}
    assert logged.accepted == ROWS
    assert labelled.accepted == ROWS
    assert isinstance(report, DriftReport)
    assert report.model_id == kind
    assert {k: v for k, v in report.to_dict().items() if k != "model_id"} == _json_report(api)
    assert report.current_rows == ROWS


async def test_the_async_client_sends_the_same(live_server: LiveServer) -> None:
    async with MonitorXClient(live_server.url, max_retries=0) as client:
        await client.set_reference("m", pl.DataFrame(_reference()))
        current = pd.DataFrame(_current()).assign(prediction=PREDICTIONS)
        assert (await client.log_records("m", current)).accepted == ROWS
        labels = pa.table({"request_id": [f"req-{i}" for i in range(ROWS)], "label": [1] * ROWS})
        assert (await client.log_labels("m", labels)).accepted == ROWS
        report = await client.analyze("m", stattest="psi", threshold=0.2)
        page = await client.drift_report_html("m")

    assert report.features[0]["stattest"] == "psi"
    assert report.dataset_drift
    assert "<html" in page.lower()
    assert "amount" in page


def test_the_report_as_pandas_dict_and_html(live_server: LiveServer, tmp_path: Path) -> None:
    with MonitorX(live_server.url, max_retries=0) as client:
        client.set_reference("m", pa.table(_reference()))
        client.log_records("m", pa.table(_current()), predictions=PREDICTIONS)
        report = client.analyze("m")
        unshown = client.analyze("m")
        server_page = client.drift_report_html("m")
        page = report.save_html(tmp_path / "drift.html").read_text()
        shown = report._repr_html_()

    table = report.to_pandas()
    assert list(table["feature"]) == ["amount", "country"]
    assert list(table.columns) == [
        "feature", "kind", "stattest", "statistic", "p_value", "threshold", "drifted",
    ]  # fmt: skip
    assert bool(table.set_index("feature").loc["amount", "drifted"]) is True
    assert report.to_dict()["features"] == report.features
    # The server's page, charts and all, in the file and in a notebook's frame.
    assert page == report.page() and "<svg" in page and "amount" in page
    assert _without_times(page) == _without_times(server_page)
    assert shown.startswith("<iframe srcdoc=") and html.escape(page, quote=True) in shown
    # A report whose page can no longer be fetched (the client is closed) falls back
    # to a compact table of its own, in both places.
    fallback = unshown.save_html(tmp_path / "fallback.html").read_text()
    assert fallback.startswith("<!doctype html>")
    assert "amount" in fallback and "drift detected" in fallback
    assert "<table" in unshown._repr_html_()


def _without_times(page: str) -> str:
    """The page without the instants it states (rendered at different moments)."""
    return re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.]+(Z|\+00:00)?", "<time>", page)


def test_what_cannot_be_sent_is_refused_before_sending(live_server: LiveServer) -> None:
    with MonitorX(live_server.url, max_retries=0) as client:
        with pytest.raises(ValidationError) as wrong_type:
            client.set_reference("m", [{"amount": 1.0}])
        with pytest.raises(ValidationError) as wrong_length:
            client.log_records("m", pa.table(_current()), predictions=[1, 0])
        with pytest.raises(ValidationError) as bad_column:
            client.log_records("m", pa.table({"amount": [[1.0]]}))

    assert wrong_type.value.errors[0].field == "data"
    assert wrong_length.value.errors[0].field == "predictions"
    assert bad_column.value.errors[0].field == "amount"  # the server's 422, named


def test_without_pyarrow_the_error_names_the_extra(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    with MonitorX(live_server.url, max_retries=0) as client:
        with pytest.raises(MissingDependency, match=r'pip install "monitorx\[data\]"'):
            client.log_records("m", {"amount": [1.0]})
        assert client.log_labels("m", {"req-1": 1}).accepted == 1  # JSON: no pyarrow needed
