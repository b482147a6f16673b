"""The live WebSocket `/api/v1/ws`: accepted metrics and alert changes, by model, with auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import LiveServer, make_settings, run_server


def ws_url(server: LiveServer, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/ws" + (f"?{query}" if query else "")


def receive(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` (others, such as 'subscribed', are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] == kind:
            return message


def test_batch_arrives_as_one_summary_per_model(live_server: LiveServer, api: httpx.Client) -> None:
    with connect(ws_url(live_server)) as ws:
        assert receive(ws, "subscribed")["models"] is None
        batch = [
            {"model_id": "a", "latency": 10.0, "timestamp": "2026-11-22T12:00:00Z"},
            {"model_id": "a", "latency": 30.0, "error": True, "timestamp": "2026-11-22T12:00:02Z"},
            {"model_id": "b", "latency": 5.0, "timestamp": "2026-11-22T12:00:01Z"},
        ]
        assert api.post("/metrics/inference/batch", json=batch).status_code == 202
        first, second = receive(ws, "metrics"), receive(ws, "metrics")
    assert first == {
        "type": "metrics",
        "model_id": "a",
        "count": 2,
        "errors": 1,
        "latency_mean": 20.0,
        "latency_max": 30.0,
        "latency_last": 30.0,
        "first": "2026-11-22T12:00:00Z",
        "last": "2026-11-22T12:00:02Z",
    }
    assert (second["model_id"], second["count"], second["latency_mean"]) == ("b", 1, 5.0)


def test_model_filter_on_the_url_and_by_subscribe_message(
    live_server: LiveServer, api: httpx.Client
) -> None:
    with connect(ws_url(live_server, "model_id=b")) as ws:
        assert receive(ws, "subscribed")["models"] == ["b"]
        api.post("/metrics/inference", json={"model_id": "a", "latency": 1.0})
        api.post("/metrics/inference", json={"model_id": "b", "latency": 2.0})
        assert receive(ws, "metrics")["model_id"] == "b"  # a's metric never came
        ws.send(json.dumps({"type": "subscribe", "models": ["a"]}))
        assert receive(ws, "subscribed")["models"] == ["a"]
        api.post("/metrics/inference", json={"model_id": "b", "latency": 3.0})
        api.post("/metrics/inference", json={"model_id": "a", "latency": 4.0})
        message = receive(ws, "metrics")
        assert (message["model_id"], message["latency_last"]) == ("a", 4.0)


def test_alert_fired_and_resolved_are_pushed(live_server: LiveServer, api: httpx.Client) -> None:
    api.post(
        "/models", json={"id": "m", "model_type": "tabular", "thresholds": {"latency_ms": 100}}
    )
    with connect(ws_url(live_server, "model_id=m")) as ws:
        receive(ws, "subscribed")
        api.post("/metrics/inference", json={"model_id": "m", "latency": 300.0})
        fired = receive(ws, "alert")
        assert fired["change"] == "fired"
        assert (fired["alert"]["alert_type"], fired["alert"]["value"]) == ("latency", 300.0)
        api.post(f"/alerts/{fired['alert']['id']}/resolve")
        resolved = receive(ws, "alert")
    assert resolved["change"] == "resolved"
    assert resolved["alert"]["status"] == "resolved"


def test_odd_client_frames_are_ignored(live_server: LiveServer, api: httpx.Client) -> None:
    with connect(ws_url(live_server)) as ws:
        receive(ws, "subscribed")
        for frame in (
            b"\xff\xfe binary",
            "not json",
            "[1, 2]",
            '{"type": "subscribe", "models": 7}',
        ):
            ws.send(frame)
        assert receive(ws, "subscribed")["models"] is None  # the last one: every model
        api.post("/metrics/inference", json={"model_id": "a", "latency": 1.0})
        assert receive(ws, "metrics")["model_id"] == "a"


@pytest.fixture
def auth_server(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=["sekret:viewer"])
    with run_server(settings) as server:
        yield server


def test_auth_by_first_message_or_handshake_header(auth_server: LiveServer) -> None:
    with connect(ws_url(auth_server)) as ws:
        ws.send(json.dumps({"type": "auth", "api_key": "sekret"}))
        assert receive(ws, "subscribed")["models"] is None
    with connect(ws_url(auth_server), additional_headers={"X-API-Key": "sekret"}) as ws:
        assert receive(ws, "subscribed")["models"] is None


def _close_of(ws: ClientConnection) -> tuple[int, str]:
    """The code and reason the server closed ``ws`` with (before any message)."""
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("query", ["api_key=sekret", "model_id=a&token=sekret", "API%5FKEY=sekret"])
def test_a_credential_in_the_url_is_refused_even_when_valid(
    auth_server: LiveServer, query: str
) -> None:
    with connect(ws_url(auth_server, query)) as ws:
        code, reason = _close_of(ws)
    assert code == 1008
    assert "credentials in the URL are refused" in reason
    assert '"type": "auth"' in reason  # says what to do instead


def test_a_credential_in_the_url_is_refused_with_auth_off(live_server: LiveServer) -> None:
    with connect(ws_url(live_server, "apiKey=anything")) as ws:
        code, reason = _close_of(ws)
    assert code == 1008 and "credentials in the URL are refused" in reason


def test_bad_credentials_close_the_socket_with_the_reason(auth_server: LiveServer) -> None:
    with connect(ws_url(auth_server)) as ws:
        ws.send(json.dumps({"type": "auth", "api_key": "wrong"}))
        code, reason = _close_of(ws)
    assert code == 1008
    assert "invalid API key" in reason
    with connect(ws_url(auth_server)) as ws:
        ws.send(json.dumps({"type": "subscribe"}))
        code, _ = _close_of(ws)
    assert code == 1008
