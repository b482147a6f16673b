"""When the spool is tried again: backoff on an injected clock, the breaker's wait, acks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitorx import DeliveryError, ValidationError
from monitorx.sdk.errors import CircuitOpenError
from monitorx.sdk.results import WriteResult
from monitorx.sdk.spool import DiskSpool
from monitorx.sdk.spool_sender import ChunkOutcome, SpoolSender
from tests.sdk.conftest import ManualClock


class Server:
    """A deliver function that fails while ``down`` and logs what it took."""

    def __init__(self) -> None:
        self.down: Exception | None = None
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, metrics: list[dict[str, Any]]) -> WriteResult:
        if self.down is not None:
            raise self.down
        self.batches.append(metrics)
        return WriteResult(accepted=len(metrics))


@pytest.fixture
def spool(tmp_path: Path) -> Any:
    spool = DiskSpool(tmp_path)
    spool.append([{"model_id": "m", "latency": float(i)} for i in range(5)])
    yield spool
    spool.close()


def sender(spool: DiskSpool, server: Server, clock: ManualClock) -> SpoolSender:
    return SpoolSender(
        spool, server, batch_size=2, retry_backoff_s=1.0, max_backoff_s=8.0, clock=clock
    )


def test_failures_defer_the_spool_1_2_4_8_8_seconds(spool: DiskSpool, clock: ManualClock) -> None:
    server = Server()
    server.down = DeliveryError("connection refused")
    spool_sender = sender(spool, server, clock)
    waits = []
    for _ in range(5):
        assert spool_sender.due
        spool_sender.send(lambda: False, lambda outcome: True)
        started = clock.now
        while not spool_sender.due:
            clock.advance(0.5)
        waits.append(clock.now - started)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert spool.pending == 5


def test_an_open_breaker_defers_for_its_recovery_time(spool: DiskSpool, clock: ManualClock) -> None:
    server = Server()
    server.down = CircuitOpenError("open", retry_in_s=30.0)
    spool_sender = sender(spool, server, clock)
    spool_sender.send(lambda: False, lambda outcome: True)
    clock.advance(29.9)
    assert spool_sender.deferring
    clock.advance(0.1)
    assert spool_sender.due


def test_once_the_server_is_back_everything_goes_in_order_and_is_acked(
    spool: DiskSpool, clock: ManualClock
) -> None:
    server = Server()
    outcomes: list[ChunkOutcome] = []
    sender(spool, server, clock).send(lambda: False, lambda o: outcomes.append(o) or True)
    assert [len(batch) for batch in server.batches] == [2, 2, 1]
    assert [m["latency"] for batch in server.batches for m in batch] == [0, 1, 2, 3, 4]
    assert sum(o.result.accepted for o in outcomes) == 5
    assert spool.pending == 0


def test_a_refusal_for_good_is_dropped_and_counted_not_retried(
    spool: DiskSpool, clock: ManualClock
) -> None:
    server = Server()
    server.down = ValidationError("latency: bad", "latency")
    outcomes: list[ChunkOutcome] = []
    sender(spool, server, clock).send(lambda: False, lambda o: outcomes.append(o) or True)
    assert [o.refused for o in outcomes] == [2, 2, 1]
    assert spool.pending == 0


def test_sending_pauses_when_the_worker_has_new_batches(
    spool: DiskSpool, clock: ManualClock
) -> None:
    server = Server()
    sender(spool, server, clock).send(lambda: False, lambda outcome: False)
    assert len(server.batches) == 1
    assert spool.pending == 3
