"""`monitorx serve` writes no credential to its log, whatever a client puts in a URL
or a header: the access log, uvicorn's WebSocket lines and, at debug level, the
WebSocket library's handshake and frame lines."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.system.conftest import start_server

SECRET = "Zq8sKx2LrWv0aT4nH7eYc1BuJd9FgPo3"
# What clients send: the server answers each (401, 1008 …); none may reach the log.
QUERIES = [
    f"api_key={SECRET}",
    f"API_KEY={SECRET}",
    f"api%5Fkey={SECRET}",
    f"model_id=a&access_token={SECRET}",
    f"token={SECRET}",
    f"password={SECRET}&limit=5",
    f"apiKey={SECRET}",
]


@pytest.mark.system
def test_no_credential_from_a_client_reaches_the_log(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        extra_env={"MONITORX_AUTH_ENABLED": "true", "MONITORX_API_KEYS": f'["{SECRET}"]'},
        extra_args=["--log-level", "debug", "--access-log"],
    )
    try:
        ws_base = server.url.replace("http://", "ws://") + "/api/v1/ws"
        with httpx.Client(base_url=server.api, timeout=10) as api:
            for query in QUERIES:
                assert api.get(f"/models?{query}").status_code == 401
                with connect(f"{ws_base}?{query}") as ws, pytest.raises(ConnectionClosed):
                    ws.recv(timeout=10)
            assert api.get("/models", headers={"X-API-Key": SECRET}).status_code == 200
            # A key is taken as a bearer credential and as a Token (Prometheus, OTLP
            # exporters, InfluxDB clients send it so); a wrong one is refused.
            for scheme in ("Bearer", "Token"):
                headers = {"Authorization": f"{scheme} {SECRET}"}
                assert api.get("/models", headers=headers).status_code == 200
                headers = {"Authorization": f"{scheme} {SECRET[::-1]}"}
                assert api.get("/models", headers=headers).status_code == 401
        with connect(ws_base, additional_headers={"X-API-Key": SECRET}) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        with connect(ws_base) as ws:
            ws.send(json.dumps({"type": "auth", "api_key": SECRET}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    finally:
        server.stop()
    log = (tmp_path / "data" / "server.log").read_text()
    for secret in (SECRET, SECRET[::-1]):
        assert secret not in log
        assert secret[:12] not in log and secret[-12:] not in log
    # The lines are there, with the value replaced.
    assert '"GET /api/v1/models?api_key=<secret> HTTP/1.1" 401' in log
    assert '"GET /api/v1/models?model_id=a&access_token=<secret> HTTP/1.1" 401' in log
    assert '"WebSocket /api/v1/ws?api%5Fkey=<secret>" [accepted]' in log
    assert "x-api-key: <secret>" in log.lower()
    assert '"api_key":"<secret>"' in log.replace(" ", "")
