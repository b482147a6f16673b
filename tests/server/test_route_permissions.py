"""Authorization from one table: every route of the OpenAPI schema has a line in
`server.permissions`, and on a real server every route answers every role — and no
credentials, an unknown key, an expired, a tampered and an ``alg: none`` token — as
that table and API.md's roles say."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.routing import iter_route_contexts

from monitorx.core.access import ROLE_PERMISSIONS, Permission, Role
from monitorx.server.app import create_app
from monitorx.server.permissions import (
    CREDENTIAL_ROUTES,
    PUBLIC,
    ROUTE_PERMISSIONS,
    USER_ROUTES,
    permission_of,
)
from tests.conftest import LiveServer, make_settings, run_server

SECRET = "route-permissions-secret-of-enough-bytes"
KEYS = {role: f"key-of-{role.value}" for role in Role}


def _routes(tmp_path: Path) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """(method, path, route name) of every HTTP route, and the OpenAPI schema."""
    app = create_app(make_settings(tmp_path / "data"))
    schema = app.openapi()
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        for method in sorted(getattr(route, "methods", None) or ("WEBSOCKET",)):
            if method != "HEAD":
                found.append((method, context.path, route.name))
    return found, schema


def test_every_route_of_the_schema_has_exactly_one_line(tmp_path: Path) -> None:
    routes, schema = _routes(tmp_path)
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    names = {name for method, path, name in routes if (method, path) in documented}
    assert names - set(ROUTE_PERMISSIONS) - PUBLIC == set(), "routes without a permission"
    all_names = {name for _, _, name in routes}
    assert set(ROUTE_PERMISSIONS) - all_names == set(), "lines for routes that do not exist"
    assert PUBLIC - all_names == set()
    guarded = [name for _, _, name in routes if name not in PUBLIC]
    assert len(guarded) == len(set(guarded)), "a route name that needs credentials twice"
    # Public routes carry no data; every /api/v1 route but health needs credentials
    # (in a header, or, to log in and out, as the body).
    assert CREDENTIAL_ROUTES <= PUBLIC and set(ROUTE_PERMISSIONS) >= USER_ROUTES
    for method, path, name in routes:
        if path.startswith("/api/v1") and not path.startswith("/api/v1/health"):
            assert permission_of(name) is not None or name in CREDENTIAL_ROUTES, (method, path)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("permissions") / "data"
    keys = [f"{key}:{role.value}" for role, key in KEYS.items()]
    settings = make_settings(data, auth_enabled=True, api_keys=keys, jwt_secret=SECRET)
    with run_server(settings) as server:
        yield server


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _operations(secured: LiveServer) -> list[tuple[str, str, str]]:
    schema = httpx.get(f"{secured.url}/openapi.json", timeout=30).json()
    by_path = {
        (method.upper(), path): op
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    names = {}
    for context in iter_route_contexts(secured.app.routes):
        for method in getattr(context.original_route, "methods", None) or ():
            names[(method, context.path)] = context.original_route.name
    return sorted((method, path, names[(method, path)]) for method, path in by_path)


def _call(secured: LiveServer, method: str, path: str, headers: dict[str, str]) -> int:
    body = None if method in ("GET", "DELETE") else {}
    answer = httpx.request(
        method, f"{secured.url}{_concrete(path)}", json=body, headers=headers, timeout=30
    )
    assert answer.status_code < 500, (method, path, answer.status_code, answer.text)
    return answer.status_code


def _token(**claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "someone", "iat": now, "exp": now + 300, **claims}, SECRET, "HS256")


def test_every_route_answers_every_role_as_the_table_says(secured: LiveServer) -> None:
    wrong: list[str] = []
    for method, path, name in _operations(secured):
        needed = permission_of(name)
        for role, key in KEYS.items():
            status = _call(secured, method, path, {"X-API-Key": key})
            if name in CREDENTIAL_ROUTES:
                # An empty body is no credential, whatever key comes with it.
                if status not in (401, 422):
                    wrong.append(f"{role.value} {method} {path}: {status}")
                continue
            allowed = (needed is None or needed in ROLE_PERMISSIONS[role]) and (
                name not in USER_ROUTES
            )
            if allowed == (status in (401, 403)):
                wrong.append(f"{role.value} {method} {path}: {status}")
        if needed is None:
            continue
        for label, headers in {
            "none": {},
            "unknown key": {"X-API-Key": "not-a-key"},
            "expired token": {"Authorization": "Bearer " + _token(role="admin", exp=1)},
            "tampered token": {"Authorization": "Bearer " + _token(role="admin")[:-3] + "AAA"},
            "alg none": {
                "Authorization": "Bearer "
                + jwt.encode({"sub": "x", "role": "admin"}, None, algorithm="none")
            },
        }.items():
            if _call(secured, method, path, headers) != 401:
                wrong.append(f"{label} {method} {path}: not 401")
    assert wrong == []


def test_a_token_carries_its_role(secured: LiveServer) -> None:
    viewer = {"Authorization": "Bearer " + _token(role="viewer")}
    assert _call(secured, "GET", "/api/v1/models", viewer) == 200
    assert _call(secured, "POST", "/api/v1/models", viewer) == 403
    editor = {"Authorization": "Bearer " + _token(role="editor")}
    assert _call(secured, "POST", "/api/v1/models", editor) == 422
    assert _call(secured, "GET", "/api/v1/audit", editor) == 403


def test_the_roles_nest_as_api_md_says() -> None:
    viewer, editor, admin = (ROLE_PERMISSIONS[r] for r in (Role.VIEWER, Role.EDITOR, Role.ADMIN))
    assert viewer < editor < admin
    assert ROLE_PERMISSIONS[Role.INGEST] == {Permission.INGEST} <= editor
