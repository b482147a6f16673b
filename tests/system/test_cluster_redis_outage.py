"""Two replicas sharing a Redis of the test's own, which is killed while they take
load and started again. Redis carries what replicas share for speed (rate-limit
buckets, the live feed), never data: without it each replica says it is degraded
and goes on ingesting and answering queries; when it returns, they are healthy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import backend_url
from tests.polling import eventually
from tests.redis_peer import start_redis_server
from tests.system.cluster import ONCE_PER_RUN, LoadGenerator, replica_cluster, stored_counts

pytestmark = [pytest.mark.system, ONCE_PER_RUN]

# Rate limits shared through Redis, so high that nothing here is ever limited.
ENV = {"MONITORX_RATE_LIMIT_PER_S": "100000", "MONITORX_RATE_LIMIT_BURST": "100000"}
HEALTH_BOUND_S = 20.0


@pytest.fixture
def storage_url(tmp_path: Path) -> Iterator[str]:
    with backend_url("postgres", tmp_path) as url:
        yield url


def _health(api: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{api}/health", timeout=30).json()
    return body


def _redis_checks(health: dict[str, Any]) -> dict[str, str]:
    """The status of every health check about Redis: one named for it, or one whose
    measurements say it runs on Redis (rate limits shared through it)."""
    return {
        name: check["status"]
        for name, check in health["checks"].items()
        if "redis" in name or check.get("backend") == "redis" or "redis" in check
    }


def _queries_answer(api: str) -> None:
    summary = httpx.get(f"{api}/models/feed/summary", params={"window": "1d"}, timeout=30)
    assert summary.status_code == 200, summary.text
    listed = httpx.get(f"{api}/metrics/inference", params={"model_id": "feed"}, timeout=30)
    assert listed.status_code == 200, listed.text


def test_redis_outage_degrades_health_but_not_ingest_or_queries(
    storage_url: str, tmp_path: Path
) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis = start_redis_server(redis_dir)
    try:
        with replica_cluster(
            2, tmp_path, storage_url, redis.url, "monitorx-outage:", ENV
        ) as cluster:
            with LoadGenerator(cluster.apis, model_id="feed", senders=2, pause_s=0.05) as load:
                load.wait_for_acknowledged(4)
                for api in cluster.apis:
                    checks = _redis_checks(_health(api))
                    assert checks and set(checks.values()) == {"healthy"}, checks

                redis.stop()  # SIGKILL
                stopped_at = time.monotonic()
                for api in cluster.apis:
                    health = eventually(
                        partial(_health, api),
                        lambda h: "healthy" not in _redis_checks(h).values(),
                        timeout_s=HEALTH_BOUND_S,
                        poll_s=0.2,
                    )
                    print(f"Redis down: {health['status']}, Redis checks {_redis_checks(health)}")
                    assert health["status"] == "degraded"
                    assert set(_redis_checks(health).values()) == {"degraded"}
                    _queries_answer(api)
                load.wait_for_acknowledged(len(load.report.acknowledged) + 6)
                during = load.report.per_replica(since=stopped_at)
                print(f"acknowledged while Redis was down, per replica: {dict(during)}")
                assert during[0] > 0 and during[1] > 0

                redis.start()  # the same port
                started_at = time.monotonic()
                for api in cluster.apis:
                    health = eventually(
                        partial(_health, api),
                        lambda h: set(_redis_checks(h).values()) == {"healthy"},
                        timeout_s=HEALTH_BOUND_S,
                        poll_s=0.2,
                    )
                    print(f"Redis back: Redis checks {_redis_checks(health)}")
                    assert set(_redis_checks(health).values()) == {"healthy"}
                    _queries_answer(api)
                load.wait_for_acknowledged(len(load.report.acknowledged) + 4)
                assert all(load.report.per_replica(since=started_at)[i] > 0 for i in range(2))
            report = load.report
    finally:
        redis.stop()

    stored = stored_counts(storage_url, "feed")
    print(report.summary(stored))
    assert report.failed == []  # not one batch refused because Redis was away
    assert report.lost(stored) == []
    assert report.duplicated(stored) == []
