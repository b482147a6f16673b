"""Replica clusters for system tests: N `monitorx serve` processes on one PostgreSQL
store and one Redis, as N replicas behind a load balancer, and a load generator
that remembers which of its batches were acknowledged.

A typical test::

    with replica_cluster(3, tmp_path, storage_url, redis_url, redis_prefix) as cluster:
        with LoadGenerator(cluster.apis, model_id="load") as load:
            time.sleep(1)
            cluster.kill(0)                  # SIGKILL, mid-load
            time.sleep(1)
        report = load.report
        stored = stored_counts(storage_url, "load")
        assert report.lost(stored) == [] and report.duplicated(stored) == []

- `replica_cluster` starts the replicas one after the other (the first creates the
  schema, so later ones never race it) on free loopback ports, each with a data
  directory of its own under ``root`` and the same ``MONITORX_STORAGE_URL``,
  ``MONITORX_REDIS_URL`` and ``MONITORX_REDIS_PREFIX``; auth is off unless
  ``extra_env`` turns it on. `Cluster.kill` sends SIGKILL (a crash, an OOM kill),
  `Cluster.restart` starts the replica again on its data directory (a new port).
- `LoadGenerator` runs a few sender threads, each posting batches of inference
  metrics round-robin over the replicas it is given. Every metric has a unique
  ``request_id`` (``<run>-<sender>-<batch>-<item>``), so the store can be checked
  metric by metric. A batch is *acknowledged* when it got a 2xx; anything else (an
  error status, a refused connection, a timeout) is *failed* and never retried,
  so a failed batch may be stored 0 or 1 times, an acknowledged one exactly once.
- `stored_counts` reads ``inference_metrics`` directly with psycopg: how many rows
  each ``request_id`` of a model has, whatever any replica says.

Each test prints what it checked (`LoadReport.summary`), so that a run's log shows
how much was sent, acknowledged and stored.
"""

from __future__ import annotations

__all__ = [
    "ONCE_PER_RUN",
    "Batch",
    "Cluster",
    "LoadGenerator",
    "LoadReport",
    "replica_cluster",
    "stored_counts",
]

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from monitorx.store.postgres.connection import parse_postgres_url
from tests.backends import api_backend
from tests.conftest import TEST_SECRET_KEY
from tests.system.conftest import ServerProcess, start_server

# scripts/test runs tests/system once per storage backend (MONITORX_TEST_BACKEND).
# A cluster is on PostgreSQL whatever that variable says, so its tests run in the
# default (embedded) run only, not again, unchanged, in the postgres and influx ones.
ONCE_PER_RUN = pytest.mark.skipif(
    api_backend() != "duckdb",
    reason="cluster tests run on PostgreSQL in the default run; not repeated per backend",
)

BATCH_PATH = "/metrics/inference/batch"


@dataclass
class Cluster:
    """The replicas of one cluster; index ``i`` names the same replica across restarts."""

    root: Path
    env: dict[str, str]
    replicas: list[ServerProcess]
    down: set[int] = field(default_factory=set)

    @property
    def urls(self) -> list[str]:
        """Each replica's base URL (``http://127.0.0.1:PORT``)."""
        return [r.url for r in self.replicas]

    @property
    def apis(self) -> list[str]:
        """Each replica's ``/api/v1`` URL."""
        return [r.api for r in self.replicas]

    def kill(self, i: int) -> None:
        """SIGKILL replica ``i``: no shutdown hook runs, requests in flight are cut."""
        self.replicas[i].kill()
        self.down.add(i)

    def stop(self, i: int) -> None:
        """SIGTERM replica ``i`` and wait for its graceful shutdown."""
        self.replicas[i].stop()
        self.down.add(i)

    def restart(self, i: int) -> ServerProcess:
        """Start replica ``i`` again on its data directory (stopping it first if it
        runs); it comes back on a new port, so read `urls` again after."""
        if i not in self.down:
            self.stop(i)
        self.replicas[i] = start_server(self.replicas[i].data_dir, self.env)
        self.down.discard(i)
        return self.replicas[i]

    def log(self, i: int, tail_chars: int = 4000) -> str:
        """The end of replica ``i``'s stdout and stderr (``server.log``), for a
        failing assertion's message."""
        path = self.replicas[i].data_dir / "server.log"
        return path.read_text(errors="replace")[-tail_chars:] if path.exists() else ""

    def close(self) -> None:
        for i, replica in enumerate(self.replicas):
            if i not in self.down:
                replica.stop()


@contextmanager
def replica_cluster(
    n: int,
    root: Path,
    storage_url: str,
    redis_url: str | None = None,
    redis_prefix: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """``n`` replicas on ``storage_url`` (and Redis, when given); all stopped after.

    Decoding stays in each server process (``MONITORX_INGEST_WORKERS=0``): three
    replicas with a decoder pool each would start more processes than a small test
    machine has cores. ``extra_env`` overrides any of these."""
    env = {
        "MONITORX_STORAGE_URL": storage_url,
        "MONITORX_SECRET_KEYS": TEST_SECRET_KEY,  # replicas on PostgreSQL share one
        "MONITORX_INGEST_WORKERS": "0",
    }
    if redis_url is not None:
        env["MONITORX_REDIS_URL"] = redis_url
    if redis_prefix is not None:
        env["MONITORX_REDIS_PREFIX"] = redis_prefix
    env.update(extra_env or {})
    cluster = Cluster(root, env, [])
    try:
        for i in range(n):
            cluster.replicas.append(start_server(root / f"replica-{i}", env))
        yield cluster
    finally:
        cluster.close()


@dataclass(frozen=True)
class Batch:
    """One batch a sender posted: where, its metrics' ids, and what came back."""

    sender: int
    replica: int
    request_ids: tuple[str, ...]
    sent_at: float
    """`time.monotonic()` when the request went out."""
    answered_at: float
    status: int | None
    """The HTTP status, or None when no answer came (refused, cut, timed out)."""
    error: str = ""
    retry_after: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class LoadReport:
    """Every batch a `LoadGenerator` posted, in the order the answers came."""

    batches: list[Batch] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[Batch]:
        return [b for b in self.batches if b.acknowledged]

    @property
    def failed(self) -> list[Batch]:
        return [b for b in self.batches if not b.acknowledged]

    def acknowledged_ids(self) -> set[str]:
        return {i for b in self.acknowledged for i in b.request_ids}

    def sent_ids(self) -> set[str]:
        return {i for b in self.batches for i in b.request_ids}

    def lost(self, stored: Counter[str]) -> list[str]:
        """Acknowledged metrics the store does not hold."""
        return sorted(i for i in self.acknowledged_ids() if stored[i] == 0)

    def duplicated(self, stored: Counter[str]) -> list[str]:
        """Metrics the store holds more than once (no batch is ever sent twice)."""
        return sorted(i for i, n in stored.items() if n > 1)

    def unknown(self, stored: Counter[str]) -> list[str]:
        """Metrics the store holds that no batch sent (another run's, or a bug)."""
        sent = self.sent_ids()
        return sorted(i for i in stored if i not in sent)

    def statuses(self) -> Counter[str]:
        """How many batches got each answer: ``"202"``, ``"503"``, ``"ConnectError"``…"""
        return Counter(str(b.status) if b.status is not None else b.error for b in self.batches)

    def per_replica(self, since: float = 0.0) -> Counter[int]:
        """Acknowledged batches per replica index, of those sent at or after ``since``."""
        return Counter(b.replica for b in self.acknowledged if b.sent_at >= since)

    def summary(self, stored: Counter[str] | None = None) -> str:
        """One line for the test log: sent, acknowledged, failed, and (given the
        store's counts) stored, lost and duplicated."""
        sent = self.sent_ids()
        line = (
            f"sent {len(sent)} metrics in {len(self.batches)} batches; "
            f"acknowledged {len(self.acknowledged_ids())} in {len(self.acknowledged)}; "
            f"failed {len(self.failed)} batches {dict(self.statuses())}"
        )
        if stored is not None:
            failed_stored = sum(1 for b in self.failed for i in b.request_ids if stored[i] > 0)
            line += (
                f"; stored {sum(stored.values())} rows ({len(stored)} distinct ids, "
                f"{failed_stored} of them from failed batches); "
                f"lost {len(self.lost(stored))}, duplicated {len(self.duplicated(stored))}"
            )
        return line


class LoadGenerator:
    """Sender threads posting inference-metric batches until stopped.

    Sender ``s`` posts its ``k``-th batch to ``targets()[(s + k) % len(targets())]``
    (``targets`` is a list of ``/api/v1`` URLs, or a function giving one — read
    each time, so a restarted replica's new URL is used). Each sender keeps one
    keep-alive connection per replica. Nothing is retried: a batch's first answer
    is its outcome. ``pause_s`` spaces a sender's batches (0: as fast as answers
    come). Use as a context manager, or `start` and `stop`; `report` holds every
    batch."""

    def __init__(
        self,
        targets: Sequence[str] | Callable[[], Sequence[str]],
        model_id: str = "load",
        senders: int = 3,
        batch_size: int = 100,
        timeout_s: float = 20.0,
        pause_s: float = 0.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._targets = targets if callable(targets) else (lambda: list(targets))
        self.model_id = model_id
        self.senders = senders
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.pause_s = pause_s
        self.headers = dict(headers or {})
        self.run_id = uuid.uuid4().hex[:8]
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> LoadGenerator:
        for s in range(self.senders):
            thread = threading.Thread(target=self._send, args=(s,), name=f"sender-{s}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> LoadReport:
        """Stop sending; wait for the batches in flight to be answered (or time out)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 10)
        assert not any(t.is_alive() for t in self._threads), "a sender did not stop"
        return self.report

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_acknowledged(self, batches: int, timeout_s: float = 30.0) -> None:
        """Block until at least ``batches`` batches in all were acknowledged."""
        deadline = time.monotonic() + timeout_s
        while len(self.report.acknowledged) < batches:
            assert time.monotonic() < deadline, f"only {self.report.summary()} after {timeout_s} s"
            time.sleep(0.05)

    def metrics(self, sender: int, k: int) -> list[dict[str, object]]:
        """Batch ``k`` of sender ``sender``: valid metrics with unique request ids."""
        return [
            {
                "model_id": self.model_id,
                "latency": float((k + i) % 97),
                "request_id": f"{self.run_id}-{sender}-{k}-{i}",
            }
            for i in range(self.batch_size)
        ]

    def _send(self, sender: int) -> None:
        clients: dict[str, httpx.Client] = {}
        try:
            for k in itertools.count():
                if self._stop.is_set():
                    return
                targets = self._targets()
                replica = (sender + k) % len(targets)
                url = targets[replica]
                client = clients.get(url)
                if client is None:
                    client = clients[url] = httpx.Client(
                        base_url=url, timeout=self.timeout_s, headers=self.headers
                    )
                items = self.metrics(sender, k)
                ids = tuple(str(m["request_id"]) for m in items)
                sent_at = time.monotonic()
                try:
                    answer = client.post(BATCH_PATH, json=items)
                    batch = Batch(
                        sender,
                        replica,
                        ids,
                        sent_at,
                        time.monotonic(),
                        answer.status_code,
                        retry_after=answer.headers.get("Retry-After"),
                    )
                    if batch.acknowledged:
                        assert answer.json()["accepted"] == len(items), answer.text
                except httpx.TransportError as exc:
                    batch = Batch(
                        sender, replica, ids, sent_at, time.monotonic(), None, type(exc).__name__
                    )
                with self._lock:
                    self.report.batches.append(batch)
                if batch.status is None:
                    # A dead replica refuses at once: do not spin on it.
                    time.sleep(0.05)
                if self.pause_s:
                    self._stop.wait(self.pause_s)
        finally:
            for client in clients.values():
                client.close()


def stored_counts(storage_url: str, model_id: str, project_id: str = "default") -> Counter[str]:
    """How many rows of ``inference_metrics`` each ``request_id`` of ``model_id`` has,
    read straight from PostgreSQL (the schema of ``?schema=`` in the URL)."""
    target = parse_postgres_url(storage_url)
    with psycopg.connect(target.conninfo, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT request_id, count(*) FROM {}.inference_metrics "
                "WHERE project_id = %s AND model_id = %s GROUP BY request_id"
            ).format(sql.Identifier(target.schema)),
            (project_id, model_id),
        ).fetchall()
    return Counter({request_id: count for request_id, count in rows})
