"""Security headers on every answer (API, errors, pages, assets, 429s); HSTS only
over HTTPS; CORS only for the origins the settings list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from monitorx.server.security_headers import CONTENT_SECURITY_POLICY
from monitorx.server.settings import Settings
from tests.conftest import LiveServer, make_settings, run_server

ORIGIN = "https://grafana.example.com"
KEY = "security-headers-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("headers") / "data",
        auth_enabled=True,
        api_keys=[KEY],
        cors_origins=[ORIGIN],
        rate_limit_per_s=0.1,
        rate_limit_burst=1000,
    )
    with run_server(settings) as live:
        yield live


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/models", 200),
        ("/api/v1/models/nope", 404),
        ("/api/v1/health", 200),
        ("/", 200),
        ("/docs", 200),
        ("/docs/assets/swagger-init.js", 200),
        ("/static/mx.js", 200),
        ("/openapi.json", 200),
        ("/metrics", 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    server: LiveServer, path: str, status: int
) -> None:
    answer = httpx.get(server.url + path, headers={"X-API-Key": KEY})
    assert answer.status_code == status
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Referrer-Policy"] == "same-origin"
    # Plain HTTP: a browser would ignore HSTS here, so none is sent.
    assert "Strict-Transport-Security" not in answer.headers


def test_refused_requests_carry_them_too(server: LiveServer) -> None:
    refused = httpx.get(f"{server.api}/models")
    assert refused.status_code == 401
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    write = httpx.post(
        f"{server.api}/models",
        content=b"x",
        headers={"X-API-Key": KEY, "Content-Type": "text/plain"},
    )
    assert write.status_code == 415
    assert write.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_hsts_goes_on_answers_a_trusted_proxy_received_over_https(server: LiveServer) -> None:
    """uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS)."""
    answer = httpx.get(f"{server.api}/health/live", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_listed_origin_may_call_the_api_and_read_the_limits(server: LiveServer) -> None:
    preflight = httpx.options(
        f"{server.api}/metrics/inference",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = httpx.get(f"{server.api}/models", headers={"Origin": ORIGIN, "X-API-Key": KEY})
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert {"Retry-After", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(exposed.split(", "))


def test_another_origin_is_not_allowed(server: LiveServer) -> None:
    preflight = httpx.options(
        f"{server.api}/models",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = httpx.get(
        f"{server.api}/models", headers={"Origin": "https://evil.example", "X-API-Key": KEY}
    )
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_without_origins_no_cors_header_is_sent(tmp_path: Path) -> None:
    with run_server(make_settings(tmp_path / "data")) as live:
        answer = httpx.get(f"{live.api}/models", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize(
    "origin", ["grafana.example.com", "https://grafana.example.com/", "ftp://x.example", ""]
)
def test_an_origin_must_be_scheme_host_and_port(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins=[origin])


def test_a_key_file_needs_its_certificate() -> None:
    with pytest.raises(ValidationError, match="ssl_keyfile needs ssl_certfile"):
        Settings(ssl_keyfile=Path("server.key"))
