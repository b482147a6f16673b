"""Three replicas on one PostgreSQL: SIGKILL one of them while every replica takes
load. What a client was told was stored is stored, once; the others keep serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backends import backend_url
from tests.redis_peer import shared_redis
from tests.system.cluster import ONCE_PER_RUN, LoadGenerator, replica_cluster, stored_counts

pytestmark = [pytest.mark.system, ONCE_PER_RUN]


@pytest.fixture
def storage_url(tmp_path: Path) -> Iterator[str]:
    """A schema of its own on the shared PostgreSQL (nothing here restarts it)."""
    with backend_url("postgres", tmp_path) as url:
        yield url


def test_sigkill_of_one_replica_loses_and_duplicates_no_acknowledged_metric(
    storage_url: str, tmp_path: Path
) -> None:
    with (
        shared_redis() as (redis_url, prefix),
        replica_cluster(3, tmp_path, storage_url, redis_url, prefix) as cluster,
    ):
        with LoadGenerator(cluster.apis, model_id="crash", senders=3, batch_size=200) as load:
            load.wait_for_acknowledged(9)  # every replica has answered a few
            cluster.kill(1)  # mid-load: batches to it are in flight
            killed_at = time.monotonic()
            acknowledged_before = len(load.report.acknowledged)
            load.wait_for_acknowledged(acknowledged_before + 12)
        report = load.report

        stored = stored_counts(storage_url, "crash")
        print(report.summary(stored))
        assert report.failed, "no batch was cut by the kill: the test proved nothing"
        assert report.lost(stored) == []
        assert report.duplicated(stored) == []
        assert report.unknown(stored) == []
        # The two survivors went on acknowledging, each of them.
        after = report.per_replica(since=killed_at)
        print(f"acknowledged after the kill, per replica: {dict(after)}")
        assert after[0] > 0 and after[2] > 0 and after[1] == 0
        # Everything the replicas answer agrees with the table.
        for api in (cluster.apis[0], cluster.apis[2]):
            summary = httpx.get(
                f"{api}/models/crash/summary", params={"window": "1d"}, timeout=30
            ).json()
            assert summary["count"] == sum(stored.values())
