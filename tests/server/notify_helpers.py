"""Shared pieces of the notification API tests: a server on a fake clock, a receiver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from monitorx.core import FakeClock
from tests.conftest import LiveServer, make_settings, run_server
from tests.http_receiver import wait_until

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def notifying_server(
    data_dir: Path, clock: FakeClock, **overrides: object
) -> Iterator[tuple[LiveServer, httpx.Client]]:
    """A server whose alert timers tick every 20 ms of real time on ``clock``."""
    values: dict[str, object] = {"alert_tick_s": 0.02, "external_url": "http://monitorx.test"}
    values.update(overrides)
    with (
        run_server(make_settings(data_dir, **values), clock=clock) as server,
        httpx.Client(base_url=server.api, timeout=10) as api,
    ):
        yield server, api


def webhook(api: httpx.Client, channel_id: str, url: str, **extra: Any) -> dict[str, Any]:
    body = {"id": channel_id, "type": "webhook", "config": {"url": url}, **extra}
    response = api.post("/channels", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def route(api: httpx.Client, route_id: str, channels: list[str], **extra: Any) -> None:
    body = {"id": route_id, "channels": channels, "group_wait": "0s", **extra}
    response = api.post("/routes", json=body)
    assert response.status_code == 201, response.text


def model(api: httpx.Client, model_id: str = "fraud-v3", **thresholds: float) -> None:
    body = {"model_type": "tabular", "thresholds": thresholds or {"latency_ms": 100.0}}
    assert api.put(f"/models/{model_id}", json=body).status_code in (200, 201)


def breach(api: httpx.Client, model_id: str = "fraud-v3", latency: float = 130.0) -> None:
    response = api.post("/metrics/inference", json={"model_id": model_id, "latency": latency})
    assert response.status_code == 202, response.text


def alerts(api: httpx.Client, count: int = 1, **params: str) -> list[dict[str, Any]]:
    """Wait until at least ``count`` alerts match ``params``; return them."""
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        found[:] = api.get("/alerts", params=params).json()
        return len(found) >= count

    wait_until(enough)
    return found


def notifications(api: httpx.Client, alert_id: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until the alert's delivery log holds ``count`` entries; return them."""
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        found[:] = api.get(f"/alerts/{alert_id}/notifications").json()
        return len(found) >= count

    wait_until(enough)
    return found
