"""`monitorx serve --ssl-certfile/--ssl-keyfile`: HTTPS from the server itself,
with a certificate authority and certificate the test makes (trustme); what the
start-up log says about TLS, auth and rate limits."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme

from monitorx.cli.main import AUTH_OFF_WARNING, main
from tests.system.conftest import ServerProcess, start_server


@dataclass
class Certificate:
    certfile: Path
    keyfile: Path
    trusted: ssl.SSLContext  # a client context that trusts the test CA


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "server.pem", tmp_path / "server.key"
    for blob in issued.cert_chain_pems:
        blob.write_to_path(str(certfile), append=True)
    issued.private_key_pem.write_to_path(str(keyfile))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    return Certificate(certfile, keyfile, trusted)


@pytest.fixture
def tls_server(tmp_path: Path, certificate: Certificate) -> Iterator[ServerProcess]:
    args = ["--ssl-certfile", str(certificate.certfile), "--ssl-keyfile", str(certificate.keyfile)]
    server = start_server(
        tmp_path / "data",
        extra_env={"MONITORX_AUTH_ENABLED": "true"},
        extra_args=args,
        tls=certificate.trusted,
    )
    yield server
    server.stop()


@pytest.mark.system
def test_serve_speaks_https_with_the_given_certificate(
    tls_server: ServerProcess, certificate: Certificate, tmp_path: Path
) -> None:
    url = tls_server.url
    assert url.startswith("https://")
    key = (tmp_path / "data" / "admin-api-key").read_text().strip()
    with httpx.Client(base_url=url, verify=certificate.trusted) as client:
        answer = client.get("/api/v1/models", headers={"X-API-Key": key})
        page = client.get("/")
    assert answer.status_code == 200
    # Over TLS, browsers are told to keep to HTTPS.
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    log = (tmp_path / "data" / "server.log").read_text()
    assert f"Dashboard and API on {url}/" in log
    assert AUTH_OFF_WARNING not in log


@pytest.mark.system
def test_https_refuses_clients_that_do_not_trust_it_and_plain_http(
    tls_server: ServerProcess,
) -> None:
    url = tls_server.url
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{url}/api/v1/health/live")  # the system's CAs, not the test's
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https://", "http://") + "/api/v1/health/live")


def test_a_key_that_does_not_match_stops_serve_with_one_line(
    tmp_path: Path,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_key = tmp_path / "other.key"
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(other_key))
    monkeypatch.setenv("MONITORX_AUTH_ENABLED", "false")
    argv = ["serve", "--data-dir", str(tmp_path / "data"), "--ssl-certfile"]
    assert main([*argv, str(certificate.certfile), "--ssl-keyfile", str(other_key)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"monitorx serve: cannot serve HTTPS with {certificate.certfile}")
    assert "KEY_VALUES_MISMATCH" in error
    assert "\n" not in error


def test_a_missing_certificate_stops_serve_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONITORX_AUTH_ENABLED", "false")
    missing = tmp_path / "nowhere.pem"
    assert main(["serve", "--data-dir", str(tmp_path / "d"), "--ssl-certfile", str(missing)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"monitorx serve: cannot serve HTTPS with {missing}")
    assert "\n" not in error


@pytest.mark.system
def test_serve_says_plainly_when_auth_is_off(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        extra_env={"MONITORX_RATE_LIMIT_PER_S": "50", "MONITORX_RATE_LIMIT_BURST": "100"},
    )  # auth off, as start_server sets it
    server.stop()
    log = (tmp_path / "data" / "server.log").read_text()
    assert AUTH_OFF_WARNING in log
    assert "Rate limits: 50 requests/s, bursts of 100, per key or client address" in log
