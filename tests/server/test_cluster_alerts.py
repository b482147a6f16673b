"""Three replicas on one PostgreSQL store and one Redis behave as one alerting
system: a breach seen by all of them opens one alert and sends one notification;
a resolve through one is final for all; the notifier's lease moves to another
replica when its holder stops, and what was pending goes out once from there.

The replicas run in this process (uvicorn threads, each its own event loop and
pool of connections); `tests/system/` runs them as processes and kills them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import backend_url
from tests.conftest import TEST_SECRET_KEY, LiveServer, make_settings, run_server
from tests.http_receiver import HttpReceiver, wait_until
from tests.redis_peer import shared_redis
from tests.server.notify_helpers import model, route, webhook


@pytest.fixture
def cluster_settings(tmp_path: Path) -> Iterator[dict[str, object]]:
    with backend_url("postgres", tmp_path) as url, shared_redis() as (redis_url, prefix):
        yield {
            "storage_url": url,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "secret_keys": [TEST_SECRET_KEY],
            "alert_tick_s": 0.1,
            "external_url": "http://monitorx.test",
        }


@contextmanager
def replica(tmp_path: Path, name: str, settings: dict[str, object]) -> Iterator[LiveServer]:
    with run_server(make_settings(tmp_path / name, **settings)) as server:
        yield server


def _holder(servers: list[LiveServer]) -> int:
    """The index of the replica holding the notifier lease (waiting for one)."""
    found: list[int] = []

    def held() -> bool:
        found[:] = [
            i
            for i, s in enumerate(servers)
            if httpx.get(f"{s.api}/health", timeout=5).json()["checks"]["cluster"]["leases"][
                "notifier"
            ]["held"]
        ]
        return len(found) == 1

    wait_until(held, timeout=15)
    return found[0]


def _job(server: LiveServer, name: str) -> dict[str, Any]:
    health = httpx.get(f"{server.api}/health", timeout=5).json()
    job: dict[str, Any] = health["checks"]["scheduler"]["jobs"][name]
    return job


def test_scheduled_jobs_run_on_the_jobs_leases_holder_only(
    tmp_path: Path, cluster_settings: dict[str, object]
) -> None:
    with ExitStack() as stack:
        servers = [stack.enter_context(replica(tmp_path, n, cluster_settings)) for n in "abc"]
        holders: list[int] = []

        def one_holder() -> bool:
            held = []
            for i, server in enumerate(servers):
                checks = httpx.get(f"{server.api}/health", timeout=5).json()["checks"]
                if checks["cluster"]["leases"]["jobs"]["held"]:
                    held.append(i)
            holders[:] = held
            return len(held) == 1

        wait_until(one_holder, timeout=15)
        time.sleep(1.0)  # ten turns of the 0.1 s clear check
        clears = [_job(s, "resolve-cleared-alerts") for s in servers]
        print({i: (c["runs"], c["skipped"]) for i, c in enumerate(clears)})
        for i, job in enumerate(clears):
            assert job["once_per_cluster"] is True
            if i == holders[0]:
                assert job["runs"] >= 3 and job["skipped"] == 0
            else:
                assert job["runs"] == 0 and job["skipped"] >= 3
        # Jobs that keep a replica's own memory current run everywhere.
        assert all(_job(s, "refresh-active-alerts")["runs"] >= 1 for s in servers)


def _post_breach(server: LiveServer, latency: float = 250.0) -> int:
    body = {"model_id": "fraud-v3", "latency": latency}
    return httpx.post(f"{server.api}/metrics/inference", json=body, timeout=10).status_code


def _alerts(server: LiveServer, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(
        f"{server.api}/alerts", params=params, timeout=10
    ).json()
    return found


def _notified(receiver: HttpReceiver, status: str) -> list[str]:
    return [
        alert["labels"]["model_id"]
        for request in receiver.requests
        for alert in request.json()["alerts"]
        if alert["status"] == status
    ]


def test_a_breach_seen_by_every_replica_is_one_alert_and_one_notification(
    tmp_path: Path, cluster_settings: dict[str, object], receiver: HttpReceiver
) -> None:
    with ExitStack() as stack:
        first = stack.enter_context(replica(tmp_path, "a", cluster_settings))
        api = stack.enter_context(httpx.Client(base_url=first.api, timeout=10))
        webhook(api, "ops", receiver.url())
        route(api, "all", ["ops"], group_by=["model_id"], group_wait="1s", group_interval="1s")
        model(api, "fraud-v3", latency_ms=100.0)
        servers = [first] + [
            stack.enter_context(replica(tmp_path, name, cluster_settings)) for name in "bc"
        ]

        for _ in range(3):  # three rounds of breaches, each through all three at once
            with ThreadPoolExecutor(9) as pool:
                codes = list(pool.map(_post_breach, servers * 3))
            assert codes == [202] * 9

        wait_until(lambda: len(_notified(receiver, "firing")) >= 1, timeout=15)
        time.sleep(2.5)  # a duplicate would come from another replica within this
        stored = _alerts(first)
        print(
            f"posted 27 breaching batches to 3 replicas; stored {len(stored)} alert(s); "
            f"notified {len(receiver.requests)} time(s)"
        )
        assert len(stored) == 1 and stored[0]["status"] == "firing"
        for server in servers:
            assert [a["id"] for a in _alerts(server)] == [stored[0]["id"]]
        assert _notified(receiver, "firing") == ["fraud-v3"]

        # A resolve through one replica is final: the others' next breach opens a new
        # alert instead of writing the resolved one back as firing.
        resolved = httpx.post(f"{servers[1].api}/alerts/{stored[0]['id']}/resolve", timeout=10)
        assert resolved.status_code == 200
        wait_until(lambda: _notified(receiver, "resolved") == ["fraud-v3"], timeout=15)
        assert _post_breach(servers[2]) == 202
        wait_until(lambda: len(_alerts(first, status="firing")) == 1, timeout=10)
        reopened = _alerts(first, status="firing")[0]
        assert reopened["id"] != stored[0]["id"]
        assert _alerts(first, status="resolved")[0]["id"] == stored[0]["id"]
        time.sleep(1.5)
        assert len(_notified(receiver, "resolved")) == 1


def test_the_next_replica_sends_what_a_stopped_notifier_had_pending_once(
    tmp_path: Path, cluster_settings: dict[str, object], receiver: HttpReceiver
) -> None:
    stacks = [ExitStack() for _ in range(3)]
    with ExitStack() as outer:
        for stack in stacks:
            outer.push(stack.__exit__)  # each stops at the end unless stopped before
        first = stacks[0].enter_context(replica(tmp_path, "a", cluster_settings))
        api = outer.enter_context(httpx.Client(base_url=first.api, timeout=10))
        webhook(api, "ops", receiver.url())
        # A long group_wait: the notification is still pending when its holder stops.
        route(api, "all", ["ops"], group_by=["model_id"], group_wait="4s")
        model(api, "fraud-v3", latency_ms=100.0)
        servers = [first] + [
            stack.enter_context(replica(tmp_path, name, cluster_settings))
            for stack, name in zip(stacks[1:], "bc", strict=True)
        ]
        holder = _holder(servers)
        assert _post_breach(servers[(holder + 1) % 3]) == 202
        wait_until(lambda: len(_alerts(servers[(holder + 1) % 3])) == 1, timeout=10)
        time.sleep(0.5)  # the holder has taken the alert in (its feed polls each tick)
        assert receiver.requests == []

        stacks[holder].close()  # the holder stops; its lease is released
        rest = [s for i, s in enumerate(servers) if i != holder]
        _holder(rest)

        wait_until(lambda: len(receiver.requests) >= 1, timeout=20)
        time.sleep(2.0)
        print(f"holder stopped with 1 pending notification; delivered {len(receiver.requests)}")
        assert _notified(receiver, "firing") == ["fraud-v3"]
