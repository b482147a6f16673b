"""Auth: API keys and JWTs, roles, and the health endpoints that stay open."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from monitorx.core import ValidationError
from monitorx.core.access import Role
from monitorx.server.auth import Authenticator
from tests.conftest import LiveServer, make_settings, run_server

SECRET = "test-secret-with-enough-bytes-for-hs256"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data",
        auth_enabled=True,
        api_keys=["admin-key", "editor-key:editor", "writer-key:write", "reader-key:read"],
        jwt_secret=SECRET,
    )
    with run_server(settings) as server:
        yield server


def _client(server: LiveServer, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers=headers, timeout=10)


MODEL = {"id": "m", "model_type": "cv"}


def test_requests_without_credentials_are_401(secured: LiveServer) -> None:
    with _client(secured) as client:
        response = client.get("/models")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_wrong_api_key_is_401(secured: LiveServer) -> None:
    with _client(secured, **{"X-API-Key": "nope"}) as client:
        assert client.get("/summary").status_code == 401


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
def test_health_needs_no_credentials(secured: LiveServer, path: str) -> None:
    with _client(secured) as client:
        assert client.get(path).status_code == 200


def test_a_read_key_reads_but_cannot_write(secured: LiveServer) -> None:
    with _client(secured, **{"X-API-Key": "reader-key"}) as client:
        assert client.get("/models").status_code == 200
        denied = client.post("/metrics/inference", json={"model_id": "m", "latency": 1})
    assert denied.status_code == 403
    assert denied.json()["error"] == "forbidden"


def test_an_earlier_write_key_is_an_ingest_key_it_sends_data_and_nothing_else(
    secured: LiveServer,
) -> None:
    with _client(secured, **{"X-API-Key": "writer-key"}) as writer:
        metric = writer.post("/metrics/inference", json={"model_id": "m", "latency": 1})
        assert metric.status_code == 202
        denied = writer.post("/models", json=MODEL)
        assert denied.status_code == 403
        assert "role editor or admin" in denied.json()["detail"]
        assert writer.get("/models").status_code == 403


def test_an_editor_changes_configuration_but_not_keys_or_the_audit_log(
    secured: LiveServer,
) -> None:
    with _client(secured, **{"X-API-Key": "editor-key"}) as editor:
        assert editor.post("/models", json=MODEL).status_code == 201
        assert (
            editor.post("/metrics/inference", json={"model_id": "m", "latency": 1}).status_code
            == 202
        )
        assert editor.delete("/models/m").status_code == 204
        assert editor.get("/audit").status_code == 403
    with _client(secured, **{"X-API-Key": "admin-key"}) as admin:
        assert admin.get("/audit").status_code == 200


def test_a_signed_bearer_token_carries_its_role(secured: LiveServer) -> None:
    token = jwt.encode({"sub": "ci-bot", "role": "editor"}, SECRET, algorithm="HS256")
    with _client(secured, Authorization=f"Bearer {token}") as client:
        assert client.post("/models", json=MODEL).status_code == 201
        assert client.get("/audit").status_code == 403


def test_the_roles_of_earlier_releases_are_read_with_a_warning_naming_the_new_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitorx.auth"):
        auth = Authenticator(True, ["k1:write", "k2:read", "k3:viewer"], None)
    assert auth.authenticate_headers({"x-api-key": "k1"}).role is Role.INGEST
    assert auth.authenticate_headers({"x-api-key": "k2"}).role is Role.VIEWER
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all("ingest, viewer, editor, admin" in w for w in warned)
    assert not any("k1" in w or "k2" in w for w in warned), "a key in a log line"
    with pytest.raises(ValidationError, match="unknown role 'owner'"):
        Authenticator(True, ["k:owner"], None)


def test_a_token_signed_with_another_secret_is_401(secured: LiveServer) -> None:
    token = jwt.encode({"sub": "x", "role": "admin"}, "another-secret-of-enough-length!", "HS256")
    with _client(secured, Authorization=f"Bearer {token}") as client:
        assert client.get("/models").status_code == 401


def test_an_expired_token_is_401(secured: LiveServer) -> None:
    token = jwt.encode({"sub": "x", "role": "admin", "exp": 1}, SECRET, algorithm="HS256")
    with _client(secured, Authorization=f"Bearer {token}") as client:
        response = client.get("/models")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "editor-key"},
        {"Authorization": "Bearer editor-key"},
        {"Authorization": "Token editor-key"},
    ],
)
def test_a_key_is_accepted_in_each_of_its_three_forms(
    secured: LiveServer, headers: dict[str, str]
) -> None:
    with _client(secured, **headers) as client:
        assert client.post("/models", json=MODEL).status_code == 201


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_a_wrong_key_in_authorization_is_401(secured: LiveServer, scheme: str) -> None:
    with _client(secured, Authorization=f"{scheme} nope") as client:
        response = client.get("/models")
    assert response.status_code == 401
    # Not a key, so a bearer credential is read as a JWT (this server takes them).
    expected = "invalid API key" if scheme == "Token" else "invalid token"
    assert response.json()["detail"].startswith(expected)


# The standard ways in, each with a body it accepts: (path, headers, body).
PROTOCOL_WRITES = [
    ("/write", {}, b"m value=1"),
    ("/api/v2/write", {}, b"m value=1"),
    ("/v1/metrics", {"Content-Type": "application/json"}, b"{}"),
    (
        "/api/v1/prom/write",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"},
        b"\x00",
    ),
]


@pytest.mark.parametrize(("path", "headers", "body"), PROTOCOL_WRITES)
def test_the_standard_ways_in_need_a_key_with_the_write_role(
    secured: LiveServer, path: str, headers: dict[str, str], body: bytes
) -> None:
    with httpx.Client(base_url=secured.url, headers=headers, timeout=10) as client:
        assert client.post(path, content=body).status_code == 401
        read = client.post(path, content=body, headers={"Authorization": "Token reader-key"})
        assert read.status_code == 403
        for credential in (
            {"X-API-Key": "writer-key"},
            {"Authorization": "Bearer writer-key"},
            {"Authorization": "Token writer-key"},
        ):
            response = client.post(path, content=body, headers=credential)
            assert response.status_code in (200, 204), (credential, response.text)


def test_an_api_key_sent_as_a_bearer_token_carries_its_role(secured: LiveServer) -> None:
    """Prometheus scrapers and remote_write send a key only as `Authorization: Bearer`."""
    with _client(secured, Authorization="Bearer editor-key") as editor:
        assert editor.post("/models", json=MODEL).status_code == 201
        assert editor.get("/audit").status_code == 403
    with _client(secured, Authorization="Bearer reader-key") as reader:
        assert reader.get("/models").status_code == 200
        assert reader.post("/models", json=MODEL).status_code == 403


def test_a_bearer_token_that_is_no_key_and_no_jwt_is_401(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=["admin-key"])
    with run_server(settings) as server, _client(server, Authorization="Bearer nope") as client:
        response = client.get("/models")
        assert response.status_code == 401
        assert "invalid API key" in response.json()["detail"]
        client.headers["Authorization"] = "Bearer admin-key"
        assert client.get("/models").status_code == 200
