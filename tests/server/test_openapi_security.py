"""The OpenAPI schema says how to authenticate, and says it truthfully: every
operation that declares the API-key and bearer schemes answers 401 without a
credential, every one that does not (the health checks) answers without one, but
logging in and out, whose body is the credential. And the interactive docs' page
loads nothing from another host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import LiveServer, make_settings, run_server

KEY = "docs-admin-key"
# Logging in and out: no header credential, the body is one.
CREDENTIAL_IN_BODY = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/revoke")}
# A user's own second factor: a key, or a JWT of another issuer, names no user (403).
USER_ONLY = {("POST", "/api/v1/auth/totp"), ("POST", "/api/v1/auth/totp/confirm")}
SECRET = "jwt-secret-for-the-openapi-test-0123456789"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, api_keys=[KEY], jwt_secret=SECRET
    )
    with run_server(settings) as server:
        yield server


def _operations(server: LiveServer) -> list[tuple[str, str, dict[str, object]]]:
    doc = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    return [
        (method.upper(), path, operation)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    ]


def test_the_schema_declares_the_key_header_and_bearer_schemes(secured: LiveServer) -> None:
    doc = httpx.get(f"{secured.url}/openapi.json", timeout=30).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["APIKey"] == {**schemes["APIKey"], "type": "apiKey", "in": "header"}
    assert schemes["APIKey"]["name"] == "X-API-Key"
    assert schemes["BearerJWT"]["type"] == "http"
    assert schemes["BearerJWT"]["scheme"] == "bearer"
    secured_ops = {(m, p) for m, p, op in _operations(secured) if "security" in op}
    open_ops = {(m, p) for m, p, op in _operations(secured) if "security" not in op}
    assert open_ops == {
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/health/live"),
        ("GET", "/api/v1/health/ready"),
        *CREDENTIAL_IN_BODY,
    }
    assert ("GET", "/api/v1/models") in secured_ops
    for _, _, operation in _operations(secured):
        if "security" in operation:
            assert operation["security"] == [{"APIKey": []}, {"BearerJWT": []}]


def _url(server: LiveServer, path: str) -> str:
    return server.url + re.sub(r"\{[^}]+\}", "x", path)


def test_what_the_schema_declares_is_what_the_server_enforces(secured: LiveServer) -> None:
    token = jwt.encode({"sub": "docs", "role": "admin"}, SECRET, algorithm="HS256")
    with httpx.Client(timeout=30) as client:
        for method, path, operation in _operations(secured):
            url = _url(secured, path)
            bare = client.request(method, url, headers={"Content-Type": "application/json"})
            if "security" in operation:
                assert bare.status_code == 401, (method, path, bare.text)
                for credential in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {token}"}):
                    answer = client.request(method, url, headers=credential)
                    if (method, path) in USER_ONLY:
                        assert answer.status_code == 403, (method, path, answer.text)
                        continue
                    assert answer.status_code not in (401, 403), (method, path, answer.text)
            elif (method, path) in CREDENTIAL_IN_BODY:
                assert bare.status_code in (400, 401, 422), (method, path, bare.text)
            else:
                assert bare.status_code == 200, (method, path, bare.text)


def test_the_docs_page_loads_only_its_own_assets(secured: LiveServer) -> None:
    html = httpx.get(secured.url + "/docs", timeout=30).text
    links = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert links, html
    assert "<script>" not in html and "<style" not in html  # no inline code: CSP-ready
    for link in links:
        assert "//" not in link, link
        answer = httpx.get(f"{secured.url}/{link}", timeout=30)
        assert answer.status_code == 200, link
