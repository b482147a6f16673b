"""The audit log through the API: changes and refused credentials are recorded
with who, what, where from and how it ended; data writes are not; only admins
read it, newest first, with filters. Runs on every backend (tests/backends.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from monitorx.server.app import create_app
from monitorx.server.audit_trail import DATA_ROUTES, MUTATING_METHODS
from tests.conftest import LiveServer, make_settings, run_server

KEYS = ["admin-key", "writer-key:editor", "reader-key:viewer"]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=KEYS)
    with run_server(settings) as server:
        yield server


def _client(server: LiveServer, key: str | None) -> httpx.Client:
    headers = {"X-API-Key": key} if key else {}
    return httpx.Client(base_url=server.api, headers=headers, timeout=10)


def _audit(server: LiveServer, **params: Any) -> list[dict[str, Any]]:
    with _client(server, "admin-key") as admin:
        answer = admin.get("/audit", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_changes_are_recorded_newest_first_with_who_what_and_outcome(
    secured: LiveServer,
) -> None:
    with _client(secured, "writer-key") as writer:
        assert (
            writer.post("/models", json={"id": "fraud-v3", "model_type": "tabular"}).status_code
            == 201
        )
        silence = writer.post(
            "/silences",
            json={
                "matchers": {"model_id": "fraud-v3"},
                "duration": "1h",
                "created_by": "ana",
                "comment": "x",
            },
        )
        assert silence.status_code == 201
        with _client(secured, "reader-key") as reader:
            assert reader.delete("/models/fraud-v3").status_code == 403  # an editor's right
        # Data in is not audited, nor are reads.
        assert (
            writer.post(
                "/metrics/inference", json={"model_id": "fraud-v3", "latency": 3}
            ).status_code
            == 202
        )
        assert writer.get("/models").status_code == 200
    with _client(secured, "admin-key") as admin:
        assert admin.delete("/models/fraud-v3").status_code in (200, 204)

    entries = _audit(secured)
    assert [(e["actor"], e["action"], e["target"], e["outcome"]) for e in entries] == [
        ("api-key-1", "delete_model", "/api/v1/models/fraud-v3", "success"),
        ("api-key-3", "delete_model", "/api/v1/models/fraud-v3", "denied"),
        ("api-key-2", "create_silence", "/api/v1/silences", "success"),
        ("api-key-2", "create_model", "/api/v1/models", "success"),
    ]
    for entry in entries:
        assert entry["project"] == "default" and entry["source_ip"] == "127.0.0.1"
        at = datetime.fromisoformat(entry["time"])
        assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)
    times = [e["time"] for e in entries]
    assert times == sorted(times, reverse=True)


def test_a_refused_credential_is_recorded_without_the_credential(secured: LiveServer) -> None:
    invented = "invented-key-0123456789"
    with _client(secured, invented) as stranger:
        assert stranger.get("/models").status_code == 401
        assert (
            stranger.post("/metrics/inference", json={"model_id": "m", "latency": 1}).status_code
            == 401
        )
    with _client(secured, None) as nobody:
        assert nobody.post("/rules", json={}).status_code == 401
    entries = _audit(secured, action="authenticate")
    assert [(e["actor"], e["target"], e["outcome"]) for e in entries] == [
        ("anonymous", "/api/v1/rules", "denied"),
        ("anonymous", "/api/v1/metrics/inference", "denied"),
        ("anonymous", "/api/v1/models", "denied"),
    ]
    assert invented not in str(_audit(secured))


def test_filters_and_limit_and_only_admins_read(secured: LiveServer) -> None:
    with _client(secured, "writer-key") as writer:
        for i in range(3):
            assert (
                writer.post("/models", json={"id": f"m{i}", "model_type": "cv"}).status_code == 201
            )
    with _client(secured, "admin-key") as admin:
        assert admin.post("/models", json={"id": "a0", "model_type": "cv"}).status_code == 201
    assert [e["target"] for e in _audit(secured, actor="api-key-1")] == ["/api/v1/models"]
    assert len(_audit(secured, action="create_model")) == 4
    assert len(_audit(secured, action="create_model", limit=2)) == 2
    newest = _audit(secured)[0]["time"]
    assert _audit(secured, end=newest, actor="api-key-1") == []
    assert len(_audit(secured, start=newest)) == 1
    for key, status in (("writer-key", 403), ("reader-key", 403), (None, 401)):
        with _client(secured, key) as client:
            assert client.get("/audit").status_code == status
    with _client(secured, "admin-key") as admin:
        assert admin.get("/audit", params={"limit": 0}).status_code == 422
        assert admin.get("/audit", params={"start": "yesterday"}).status_code == 422


def test_every_mutating_route_is_audited_or_named_as_data(tmp_path: Path) -> None:
    """The table of what is not audited names only routes that exist; the changes
    users expect in an audit log are not in it."""
    app = create_app(make_settings(tmp_path / "data"))
    mutating = {
        context.original_route.name
        for context in iter_route_contexts(app.routes)
        if set(getattr(context.original_route, "methods", None) or ()) & MUTATING_METHODS
    }
    assert mutating >= DATA_ROUTES, DATA_ROUTES - mutating
    assert mutating - DATA_ROUTES >= {
        "create_model",
        "put_model",
        "delete_model",
        "acknowledge_alert",
        "resolve_alert",
        "create_rule",
        "put_channel",
        "delete_channel",
        "create_route",
        "create_silence",
        "expire_silence",
        "create_dashboard",
        "put_reference",
    }
