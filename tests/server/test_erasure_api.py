"""POST /api/v1/records/erase on a live server: a request's records and labels go on
every backend, and the rest stays; an admin's call, named in the audit log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, make_settings, run_server


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, api_keys=["admin-key", "writer-key:editor"]
    )
    with run_server(settings) as server:
        yield server


def _client(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"X-API-Key": key}, timeout=30)


def _log_drift_data(client: httpx.Client, model_id: str) -> None:
    records = [
        {"request_id": f"r{i}", "features": {"x": float(i), "plan": "pro"}} for i in range(6)
    ]
    assert client.post(f"/models/{model_id}/records", json=records).status_code == 202
    labels = [{"request_id": f"r{i}", "label": i % 2} for i in range(6)]
    assert client.post(f"/models/{model_id}/labels", json=labels).status_code == 202


def test_erasing_request_ids_deletes_their_records_and_labels_in_every_model(
    secured: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with _client(secured, "admin-key") as client:
        _log_drift_data(client, "a")
        _log_drift_data(client, "b")
        response = client.post("/records/erase", json={"request_ids": ["r1", "r4"]})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "records": 4,
            "labels": 4,
            "reference_rows": 0,
            "models": ["a", "b"],
        }

        window = secured.on_loop(secured.services.records.records("a", *_all_time(secured)))
        assert sorted(window.request_id.tolist()) == ["r0", "r2", "r3", "r5"]
        one = client.post("/records/erase", json={"request_ids": ["r0"], "model_id": "b"})
        assert one.json() == {"records": 1, "labels": 1, "reference_rows": 0, "models": ["b"]}
    audit = [r for r in caplog.records if r.name == "monitorx.audit"]
    assert [r.levelno for r in audit] == [logging.WARNING, logging.WARNING]
    assert audit[0].getMessage() == (
        "erasure by api-key-1 from 127.0.0.1 of 2 request id(s) in every model: 4 record(s), "
        "4 label(s), 0 reference row(s) deleted, models ['a', 'b']"
    )


def _all_time(server: LiveServer) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def test_only_an_admin_may_erase(secured: LiveServer) -> None:
    with _client(secured, "writer-key") as client:
        response = client.post("/records/erase", json={"request_ids": ["r1"]})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"request_ids": []},
        {"request_ids": ["r1"], "column": "email", "value": "x"},
        {"column": "email"},
        {"value": "x"},
        {"request_ids": ["r1"], "model_id": "not an id"},
        {"request_ids": ["r1"], "unknown": 1},
    ],
)
def test_an_erasure_that_names_nothing_or_too_much_is_422(
    secured: LiveServer, body: dict[str, object]
) -> None:
    with _client(secured, "admin-key") as client:
        response = client.post("/records/erase", json=body)
    assert response.status_code == 422, response.text
