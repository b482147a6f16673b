"""`/api/v1/keys` on every backend: a key shown once, working with its role at once,
listed without its secret, revoked to 401 on the next request; admins only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, make_settings, run_server


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LiveServer]:
    keys = ["admin-key", "editor-key:editor"]
    with run_server(make_settings(tmp_path / "data", auth_enabled=True, api_keys=keys)) as server:
        yield server


def _as(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"X-API-Key": key}, timeout=10)


def test_a_key_is_shown_once_works_at_once_and_stops_when_revoked(secured: LiveServer) -> None:
    with _as(secured, "admin-key") as admin:
        made = admin.post("/keys", json={"role": "ingest", "name": "collector"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert set(body) == {"id", "key", "project", "role", "name"}
        assert body["role"] == "ingest" and body["project"] == "default"
        key = body["key"]
        with _as(secured, key) as collector:
            metric = {"model_id": "m", "latency": 3.0}
            assert collector.post("/metrics/inference", json=metric).status_code == 202
            assert collector.post("/metrics/inference/batch", json=[metric]).status_code == 202
            assert collector.get("/models").status_code == 403
            assert collector.post(f"{secured.url}/write", content=b"cpu value=1").status_code == 204
            listed = admin.get("/keys").json()
            assert [(k["id"], k["role"], k["name"], k["revoked_at"]) for k in listed] == [
                (body["id"], "ingest", "collector", None)
            ]
            assert key not in str(listed) and listed[0]["hint"] == f"mxk_{body['id']}_…"
            assert admin.delete(f"/keys/{body['id']}").status_code == 204
            assert collector.post("/metrics/inference", json=metric).status_code == 401
            assert admin.get("/keys").json()[0]["revoked_at"] is not None
            assert admin.delete(f"/keys/{body['id']}").status_code == 204  # idempotent
        assert admin.delete("/keys/0badc0de").status_code == 404


def test_only_admins_manage_keys_and_bad_bodies_are_422(secured: LiveServer) -> None:
    with _as(secured, "editor-key") as editor:
        assert editor.post("/keys", json={"role": "admin"}).status_code == 403
        assert editor.get("/keys").status_code == 403
    with _as(secured, "admin-key") as admin:
        for body, field in (
            ({}, "role"),
            ({"role": "owner"}, "role"),
            ({"role": "write"}, "role"),
            ({"role": "viewer", "name": 3}, "name"),
            ({"role": "viewer", "name": "x" * 129}, "name"),
        ):
            answer = admin.post("/keys", json=body)
            assert answer.status_code == 422, body
            assert answer.json()["errors"][0]["field"] == field
