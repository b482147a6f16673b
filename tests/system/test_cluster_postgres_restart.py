"""Two replicas on a PostgreSQL of the test's own, restarted while they take load.

While the database is down, writes and reads answer 503 with a ``Retry-After``
(never 500, never a wait past a bound); nothing acknowledged is lost; once it is
back, the same replica processes serve again, with no restart of theirs. Through
the SDK, which retries 503, every metric sent during the outage ends up stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from monitorx.sdk.sync_client import MonitorX
from monitorx.store.postgres.connection import ACQUIRE_TIMEOUT_S
from tests.own_postgres import OwnPostgres, own_postgres
from tests.polling import eventually
from tests.system.cluster import (
    ONCE_PER_RUN,
    Cluster,
    LoadGenerator,
    replica_cluster,
    stored_counts,
)

pytestmark = [pytest.mark.system, ONCE_PER_RUN]

# A request in flight when the database goes away waits for a connection at most
# ACQUIRE_TIMEOUT_S; later ones are told sooner. Slack for a loaded machine.
ANSWER_BOUND_S = ACQUIRE_TIMEOUT_S + 10
# The replicas serve again this soon after the database is back.
RECOVERY_BOUND_S = 20.0
DOWN_FOR_S = 3.0


@pytest.fixture(scope="module")
def database() -> Iterator[OwnPostgres]:
    with own_postgres() as postgres:
        yield postgres


@pytest.fixture(scope="module")
def cluster(database: OwnPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with replica_cluster(2, tmp_path_factory.mktemp("replicas"), database.url) as replicas:
        yield replicas


def _probe(api: str) -> tuple[httpx.Response, httpx.Response, float]:
    """One write and one read against a replica, and the slower one's seconds."""
    started = time.monotonic()
    write = httpx.post(
        f"{api}/metrics/inference/batch",
        json=[{"model_id": "probe", "latency": 1.0}],
        timeout=ANSWER_BOUND_S + 10,
    )
    read = httpx.get(
        f"{api}/metrics/inference", params={"model_id": "restart"}, timeout=ANSWER_BOUND_S + 10
    )
    return write, read, time.monotonic() - started


def test_database_restart_answers_503_loses_nothing_and_recovers_without_restart(
    database: OwnPostgres, cluster: Cluster
) -> None:
    pids = [r.process.pid for r in cluster.replicas]
    with LoadGenerator(cluster.apis, model_id="restart", senders=2, batch_size=100) as load:
        load.wait_for_acknowledged(6)
        database.stop()
        stopped_at = time.monotonic()
        for api in cluster.apis:
            write, read, took = _probe(api)
            print(
                f"database down: write {write.status_code} (Retry-After "
                f"{write.headers.get('Retry-After')}), read {read.status_code}, in {took:.1f} s"
            )
            assert write.status_code == 503, write.text
            assert write.json()["error"] == "storage_unavailable"
            assert int(write.headers["Retry-After"]) >= 1
            assert read.status_code == 503, read.text
            assert int(read.headers["Retry-After"]) >= 1
            assert took < 2 * ANSWER_BOUND_S
        time.sleep(max(0.0, DOWN_FOR_S - (time.monotonic() - stopped_at)))
        database.start()
        started_at = time.monotonic()
        # Each replica acknowledges a batch again, on its own.
        recovered = eventually(
            lambda: load.report.per_replica(since=started_at),
            lambda per_replica: all(per_replica[i] > 0 for i in range(2)),
            timeout_s=RECOVERY_BOUND_S,
            poll_s=0.1,
        )
        print(f"batches acknowledged per replica after the restart: {dict(recovered)}")
        assert all(recovered[i] > 0 for i in range(2))
        first_ack = min(b.answered_at for b in load.report.acknowledged if b.sent_at >= started_at)
        print(f"first acknowledgement {first_ack - started_at:.1f} s after the database was back")
    report = load.report

    stored = stored_counts(database.url, "restart")
    print(report.summary(stored))
    assert [r.process.pid for r in cluster.replicas] == pids  # nobody restarted them
    statuses = report.statuses()
    assert statuses["503"] > 0, "no batch met the outage: the test proved nothing"
    assert set(statuses) <= {"202", "503"}, statuses  # never a 500, never a timeout
    assert all(b.retry_after for b in report.failed)
    assert max(b.answered_at - b.sent_at for b in report.batches) < ANSWER_BOUND_S
    assert report.lost(stored) == []
    assert report.duplicated(stored) == []
    assert report.unknown(stored) == []
    for api in cluster.apis:
        summary = httpx.get(
            f"{api}/models/restart/summary", params={"window": "1d"}, timeout=30
        ).json()
        assert summary["count"] == sum(stored.values())


def test_sdk_sending_through_a_database_restart_gets_every_metric_stored(
    database: OwnPostgres, cluster: Cluster
) -> None:
    """The user's view: the SDK retries each 503 after its Retry-After, so a batch
    sent while the database is down is stored once it is back. Retrying makes it
    at-least-once: a batch committed just as the connection was cut could be
    stored twice, so this counts metrics stored at least once."""
    sent: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def send(api_root: str, name: str) -> None:
        with MonitorX(
            api_root, max_retries=20, retry_backoff=0.2, enable_circuit_breaker=False, timeout=30
        ) as client:
            k = 0
            while not stop.is_set():
                batch = [
                    {"model_id": "sdk", "latency": 5.0, "request_id": f"{name}-{k}-{i}"}
                    for i in range(50)
                ]
                try:
                    result = client.collect_inference_metrics_batch(batch)
                except BaseException as exc:  # the assertion below shows it
                    errors.append(exc)
                    return
                assert result.accepted == len(batch)
                sent.extend(str(m["request_id"]) for m in batch)
                k += 1

    senders = [
        threading.Thread(target=send, args=(replica.url, f"sdk{i}"))
        for i, replica in enumerate(cluster.replicas)
    ]
    for thread in senders:
        thread.start()
    eventually(lambda: len(sent), lambda n: n >= 200, timeout_s=30)
    database.stop()
    sent_before = len(sent)
    time.sleep(DOWN_FOR_S)
    database.start()
    # The SDK waits out its Retry-After (and backoff) first: a little longer.
    eventually(lambda: len(sent), lambda n: n >= sent_before + 400, timeout_s=RECOVERY_BOUND_S + 10)
    stop.set()
    for thread in senders:
        thread.join(timeout=60)
    assert errors == []

    stored = stored_counts(database.url, "sdk")
    missing = [i for i in sent if stored[i] == 0]
    twice = sum(1 for n in stored.values() if n > 1)
    print(
        f"SDK sent {len(sent)} metrics ({len(sent) - sent_before} after the outage began); "
        f"stored {len(stored)} distinct ids, {twice} of them twice; missing {len(missing)}"
    )
    assert missing == []
