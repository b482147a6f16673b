"""The live feed of a cluster: two `monitorx serve` replicas on one PostgreSQL schema
and Redis. A WebSocket on one replica sees the metrics posted to the other and the
alerts that fired there, each message once; with Redis gone each replica's feed,
ingest and queries go on, health says ``degraded``, and once Redis is back the feed
crosses replicas again without a restart."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from monitorx.store.secret_keys import generate_secret_key
from tests.backends import backend_url
from tests.redis_peer import RedisProcess, shared_redis, start_redis_server
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.system

# Two servers start side by side: on a loaded machine each takes a while.
READY_S = 90.0


def cluster_env(storage_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "MONITORX_STORAGE_URL": storage_url,
        "MONITORX_REDIS_URL": redis_url,
        "MONITORX_REDIS_PREFIX": prefix,
        "MONITORX_SECRET_KEYS": generate_secret_key(),
        "MONITORX_INGEST_WORKERS": "0",  # nothing here decodes a large batch
    }


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    with backend_url("postgres", tmp_path) as storage_url, shared_redis() as (url, prefix):
        env = cluster_env(storage_url, url, prefix)
        servers = [
            start_server(tmp_path / name, env, ready_timeout_s=READY_S) for name in ("a", "b")
        ]
        try:
            yield servers
        finally:
            for server in servers:
                server.stop()


def follow(
    server: ServerProcess, model_id: str, others: Sequence[ServerProcess] = ()
) -> ClientConnection:
    """A WebSocket on ``server``, once each of ``others`` knows that someone follows
    the project there (a replica publishes only what someone follows)."""
    ws_url = server.api.replace("http://", "ws://") + f"/ws?model_id={model_id}"
    ws = connect(ws_url, open_timeout=10)
    for other in others:
        wait_for(lambda other=other: "default" in followed_elsewhere(other))
    return ws


def followed_elsewhere(server: ServerProcess) -> list[str]:
    check = health(server)["checks"]["redis"]
    return list(check.get("live_followed_elsewhere", []))


def messages_within(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Every message that arrives within ``seconds``."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            found.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
        except ConnectionClosed:
            break
    return found


def next_message(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(ws.recv(timeout=left))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in {timeout} s")


def post_metrics(server: ServerProcess, model_id: str, latencies: list[float]) -> None:
    items = [{"model_id": model_id, "latency": latency} for latency in latencies]
    answer = httpx.post(f"{server.api}/metrics/inference/batch", json=items, timeout=10)
    assert answer.status_code == 202, answer.text


def test_a_websocket_on_one_replica_sees_metrics_and_alerts_of_the_other(
    cluster: list[ServerProcess],
) -> None:
    a, b = cluster
    with follow(a, "fraud", [b]) as on_a, follow(b, "fraud", [a]) as on_b:
        post_metrics(b, "fraud", [10.0, 30.0, 20.0])
        seen_on_a = next_message(on_a, "metrics")
        assert seen_on_a["model_id"] == "fraud"
        assert seen_on_a["count"] == 3 and seen_on_a["latency_max"] == 30.0
        assert next_message(on_b, "metrics") == seen_on_a  # the same message, both sides

        # An alert that fires on B is announced on A.
        created = httpx.post(
            f"{b.api}/models",
            json={"id": "fraud", "model_type": "cv", "thresholds": {"latency_ms": 10}},
        )
        assert created.status_code == 201, created.text
        post_metrics(b, "fraud", [250.0])
        alert = next_message(on_a, "alert")
        assert alert["change"] == "fired"
        assert alert["alert"]["model_id"] == "fraud"

        # Each replica delivers each message once: its own not again from Redis.
        post_metrics(a, "fraud", [5.0])
        metrics_on_a = [m for m in messages_within(on_a, 1.5) if m["type"] == "metrics"]
        assert [m["latency_max"] for m in metrics_on_a].count(5.0) == 1
        metrics_on_b = [m for m in messages_within(on_b, 0.5) if m["type"] == "metrics"]
        assert 5.0 in [m["latency_max"] for m in metrics_on_b]

    # What crossed is counted where Prometheus scrapes it.
    scraped = httpx.get(f"{a.url}/metrics", timeout=10).text
    found = re.search(
        r'^monitorx_live_relay_messages_total\{outcome="received"\} (\S+)$', scraped, re.M
    )
    assert found is not None and float(found[1]) >= 2  # B's batch and alert


def test_a_websocket_follows_only_its_models_across_replicas(
    cluster: list[ServerProcess],
) -> None:
    a, b = cluster
    with follow(a, "wanted", [b]) as on_a:
        post_metrics(b, "other", [1.0])
        post_metrics(b, "wanted", [2.0])
        message = next_message(on_a, "metrics")
        assert message["model_id"] == "wanted"
        assert messages_within(on_a, 0.5) == []


def health(server: ServerProcess) -> dict[str, Any]:
    answer = httpx.get(f"{server.api}/health", timeout=10)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    redis_server = start_redis_server(tmp_path)
    try:
        yield redis_server
    finally:
        redis_server.stop()


def test_redis_down_degrades_and_its_return_resumes_the_shared_feed(
    tmp_path: Path, own_redis: RedisProcess
) -> None:
    with backend_url("postgres", tmp_path) as storage_url:
        env = cluster_env(storage_url, own_redis.url, "monitorx-down-test:")
        a, b = (start_server(tmp_path / name, env, ready_timeout_s=READY_S) for name in ("a", "b"))
        try:
            assert health(a)["checks"]["redis"]["status"] == "healthy"
            own_redis.stop()

            # Degraded, not broken: health says why, ingest and queries answer, and
            # a WebSocket still sees what its own replica ingested.
            wait_for(lambda: health(a)["checks"]["redis"]["status"] == "degraded")
            body = health(a)
            assert body["status"] == "degraded"
            reason = body["checks"]["redis"]["reason"]
            assert f"127.0.0.1:{own_redis.port}" in reason and "does not answer" in reason
            with follow(a, "m") as on_a:
                post_metrics(a, "m", [7.0])
                assert next_message(on_a, "metrics")["latency_max"] == 7.0
                post_metrics(b, "m", [8.0])  # B ingests too, but cannot tell A
                listed = httpx.get(f"{a.api}/metrics/inference?model_id=m", timeout=10)
                assert sorted(m["latency"] for m in listed.json()) == [7.0, 8.0]

            own_redis.start()  # the same port, empty: nothing to restore
            wait_for(lambda: health(a)["checks"]["redis"]["status"] == "healthy")
            wait_for(lambda: health(b)["checks"]["redis"]["status"] == "healthy")
            with follow(a, "m", [b]) as on_a:
                post_metrics(b, "m", [9.0])
                assert next_message(on_a, "metrics")["latency_max"] == 9.0
        finally:
            a.stop()
            b.stop()


def test_a_query_through_one_replica_sees_what_the_other_ingested(
    cluster: list[ServerProcess],
) -> None:
    """No hot tier in a cluster: a replica's memory would hold only its own points."""
    a, b = cluster
    now = time.time()
    samples = [
        {"name": "queue.depth", "value": value, "labels": {"q": "jobs"}, "timestamp": now - 0.5}
        for value in (3.0, 5.0)
    ]
    assert httpx.post(f"{b.api}/metrics/custom", json=samples, timeout=10).status_code == 202
    post_metrics(b, "fraud", [40.0, 60.0])
    for server in (a, b):
        params = {"metric": "latency", "agg": "mean", "start": str(now - 600), "model_id": "fraud"}
        body = httpx.get(f"{server.api}/metrics/query", params=params, timeout=10).json()
        assert [p["value"] for s in body["series"] for p in s["points"]] == [50.0]

        # A custom metric's series is known to the replica that did not create it
        # within seconds (it reloads the store's series).
        def max_depth(server: ServerProcess = server) -> list[float]:
            # From after both replicas started: a hot tier would claim to hold it.
            params = {"metric": "queue.depth", "agg": "max", "start": str(now - 1)}
            body = httpx.get(f"{server.api}/metrics/query", params=params, timeout=10).json()
            return [p["value"] for s in body.get("series", []) for p in s["points"]]

        wait_for(lambda: max_depth() == [5.0], timeout=15)
