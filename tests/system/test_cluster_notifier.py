"""Three `monitorx serve` processes on one PostgreSQL schema and one Redis: a breach
posted to all of them at once is one alert and one notification, and when the
replica that holds the notifier lease is killed with SIGKILL, the notification it
had pending goes out once, from another replica.

These tests need PostgreSQL and Redis whatever ``MONITORX_TEST_BACKEND`` says, so
they run in the test command's embedded-store phase only (not again in its
PostgreSQL and InfluxDB phases, which would run the same cluster twice more)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import api_backend, backend_url
from tests.conftest import TEST_SECRET_KEY
from tests.http_receiver import HttpReceiver, wait_until
from tests.redis_peer import shared_redis
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.skipif(
    api_backend() != "duckdb", reason="the cluster runs once, in the embedded-store phase"
)


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with backend_url("postgres", tmp_path) as url, shared_redis() as (redis_url, prefix):
        yield {
            "MONITORX_STORAGE_URL": url,
            "MONITORX_REDIS_URL": redis_url,
            "MONITORX_REDIS_PREFIX": prefix,
            "MONITORX_SECRET_KEYS": TEST_SECRET_KEY,
            "MONITORX_ALERT_TICK_S": "0.2",
        }


def _configure(server: ServerProcess, receiver: HttpReceiver, group_wait: str) -> None:
    with httpx.Client(base_url=server.api, timeout=10) as api:
        channel = {"id": "ops", "type": "webhook", "config": {"url": receiver.url()}}
        assert api.post("/channels", json=channel).status_code == 201
        route = {
            "id": "all",
            "channels": ["ops"],
            "group_by": ["model_id"],
            "group_wait": group_wait,
            "group_interval": "1s",
        }
        assert api.post("/routes", json=route).status_code == 201
        body = {"model_type": "llm", "thresholds": {"latency_ms": 100.0}}
        assert api.put("/models/chat-v1", json=body).status_code in (200, 201)


def _breach(server: ServerProcess) -> int:
    body = {"model_id": "chat-v1", "latency": 480.0}
    return httpx.post(f"{server.api}/metrics/inference", json=body, timeout=10).status_code


def _alerts(server: ServerProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{server.api}/alerts", timeout=10).json()
    return found


def _holder(servers: list[ServerProcess]) -> int:
    held: list[int] = []

    def one() -> bool:
        held[:] = []
        for i, server in enumerate(servers):
            checks = httpx.get(f"{server.api}/health", timeout=5).json()["checks"]
            if checks["cluster"]["leases"]["notifier"]["held"]:
                held.append(i)
        return len(held) == 1

    wait_until(one, timeout=20)
    return held[0]


def _firing(receiver: HttpReceiver) -> list[str]:
    return [
        alert["labels"]["model_id"]
        for request in receiver.requests
        for alert in request.json()["alerts"]
        if alert["status"] == "firing"
    ]


@pytest.fixture
def configured(
    tmp_path: Path,
    cluster_env: dict[str, str],
    receiver: HttpReceiver,
    request: pytest.FixtureRequest,
) -> Iterator[list[ServerProcess]]:
    """Replica a configures the channel, route and model, then b and c start."""
    group_wait: str = request.param
    first = start_server(tmp_path / "a", cluster_env)
    servers = [first]
    try:
        _configure(first, receiver, group_wait)
        servers += [start_server(tmp_path / name, cluster_env) for name in "bc"]
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("configured", ["1s"], indirect=True)
def test_a_breach_posted_to_every_replica_at_once_is_one_alert_one_notification(
    configured: list[ServerProcess], receiver: HttpReceiver
) -> None:
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(_breach, configured * 2))
    assert codes == [202] * 6

    wait_until(lambda: len(receiver.requests) >= 1, timeout=20)
    time.sleep(3.0)  # a second notification, from another replica, would come by now
    ids = {tuple(a["id"] for a in _alerts(server)) for server in configured}
    print(
        f"sent 6 breaching metrics through 3 replicas at once; acknowledged "
        f"{codes.count(202)}; stored alerts {ids}; notified {len(receiver.requests)}"
    )
    assert len(ids) == 1 and len(next(iter(ids))) == 1
    assert _firing(receiver) == ["chat-v1"]


@pytest.mark.parametrize("configured", ["3s"], indirect=True)
def test_killing_the_notifying_replica_sends_its_pending_notification_once_elsewhere(
    configured: list[ServerProcess], receiver: HttpReceiver
) -> None:
    holder = _holder(configured)
    other = configured[(holder + 1) % 3]
    assert _breach(other) == 202
    wait_until(lambda: len(_alerts(other)) == 1, timeout=10)
    time.sleep(1.0)  # the holder has read the alert in; its group waits 3 s
    assert receiver.requests == []

    configured[holder].kill()
    killed_at = time.monotonic()
    rest = [s for i, s in enumerate(configured) if i != holder]
    new_holder = rest[_holder(rest)]
    took_over_s = time.monotonic() - killed_at

    wait_until(lambda: len(receiver.requests) >= 1, timeout=20)
    sent_s = time.monotonic() - killed_at
    time.sleep(3.0)
    print(
        f"killed the notifier ({configured[holder].url}) with 1 notification pending; "
        f"{new_holder.url} took the lease after {took_over_s:.1f} s; notified "
        f"{len(receiver.requests)} time(s), the first {sent_s:.1f} s after the kill"
    )
    assert _firing(receiver) == ["chat-v1"]
    assert sent_s < 10.0 + 3.0  # failover within 10 s, then at most the group's wait
