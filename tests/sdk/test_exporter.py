"""The background exporter: batching, flush, bounded queue, failures that never reach callers."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
import pytest

import monitorx
from monitorx.sdk import Exporter, default_exporter

Handler = Callable[[httpx.Request], httpx.Response]


class Receiver:
    """A batch endpoint peer: accepts everything, remembers each batch."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, object]]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/metrics/inference/batch"
        batch = json.loads(request.content)
        with self.lock:
            self.batches.append(batch)
        self.arrived.set()
        return httpx.Response(202, json={"accepted": len(batch), "rejected": []})

    @property
    def items(self) -> list[dict[str, object]]:
        with self.lock:
            return [item for batch in self.batches for item in batch]


def exporter(handler: Handler, **options: object) -> Exporter:
    return Exporter(
        "http://monitorx.test",
        transport=httpx.MockTransport(handler),
        retry_backoff=0.001,
        **options,  # type: ignore[arg-type]
    )


def metric(i: int) -> dict[str, object]:
    return {"model_id": "m", "latency": float(i), "request_id": f"r{i}"}


def test_flush_delivers_everything_recorded_in_batches_of_batch_size() -> None:
    receiver = Receiver()
    ex = exporter(receiver, batch_size=1000, flush_interval=60)
    for i in range(2500):
        assert ex.record(metric(i))
    assert ex.flush(timeout=10)
    assert sorted(len(b) for b in receiver.batches) == [500, 1000, 1000]
    assert [item["request_id"] for item in receiver.items] == [f"r{i}" for i in range(2500)]
    assert ex.stats.delivered == 2500
    ex.shutdown()


def test_metrics_go_out_on_the_interval_without_a_flush() -> None:
    receiver = Receiver()
    ex = exporter(receiver, flush_interval=0.05)
    ex.record(metric(1))
    assert receiver.arrived.wait(timeout=5)
    assert receiver.items == [metric(1)]
    ex.shutdown()


def test_record_returns_at_once_while_the_server_hangs() -> None:
    release = threading.Event()
    receiver = Receiver()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(timeout=10)
        return receiver(request)

    ex = exporter(slow, flush_interval=0.001)
    ex.record(metric(0))
    started = time.perf_counter()
    for i in range(1, 1001):
        ex.record(metric(i))
    elapsed = time.perf_counter() - started
    release.set()
    assert elapsed < 0.5  # 1,000 records; the first batch is still stuck in the network
    assert ex.flush(timeout=10)
    assert len(receiver.items) == 1001
    ex.shutdown()


def test_a_full_queue_drops_the_oldest_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    entered = threading.Event()
    receiver = Receiver()

    def blocked(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(timeout=10)
        return receiver(request)

    ex = exporter(blocked, queue_size=10, flush_interval=0.001)
    ex.record(metric(0))
    assert entered.wait(timeout=5)  # metric 0 is in flight
    with caplog.at_level(logging.WARNING, logger="monitorx.sdk"):
        results = [ex.record(metric(i)) for i in range(1, 26)]
    assert results == [True] * 10 + [False] * 15
    assert ex.stats.dropped == 15
    assert sum("queue full" in r.message for r in caplog.records) == 1  # logged once
    release.set()
    assert not ex.flush(timeout=10)  # delivered what it kept, but 15 were lost
    assert [item["request_id"] for item in receiver.items] == ["r0"] + [
        f"r{i}" for i in range(16, 26)
    ]
    ex.record(metric(99))
    assert ex.flush(timeout=10)  # nothing lost since the previous flush
    ex.shutdown()


def test_delivery_failures_are_retried_logged_and_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = Receiver()
    failures = {"left": 4}

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError("connection refused")
        return receiver(request)

    ex = exporter(flaky, max_retries=1)
    with caplog.at_level(logging.WARNING, logger="monitorx.sdk"):
        for i in range(5):
            ex.record(metric(i))
        assert ex.flush(timeout=10)
    assert len(receiver.items) == 5
    assert ex.stats.failed_attempts == 2  # two calls of two attempts each
    assert any("delivery failed" in r.message for r in caplog.records)
    assert any("recovered" in r.message for r in caplog.records)
    ex.shutdown()


def test_flush_times_out_while_the_server_is_down() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    ex = exporter(down, max_retries=0)
    ex.record(metric(1))
    started = time.monotonic()
    assert not ex.flush(timeout=0.2)
    assert time.monotonic() - started < 2
    assert not ex.shutdown(timeout=0.1)
    assert ex.stats.lost == 1


def test_metrics_the_server_refuses_are_counted_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def picky(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        rejected = [
            {"index": i, "error": "latency: Expected `float` >= 0.0"}
            for i, item in enumerate(batch)
            if item["latency"] < 0
        ]
        return httpx.Response(
            202, json={"accepted": len(batch) - len(rejected), "rejected": rejected}
        )

    ex = exporter(picky)
    with caplog.at_level(logging.WARNING, logger="monitorx.sdk"):
        ex.record(metric(1))
        ex.record({"model_id": "m", "latency": -1.0})
        ex.record({"model_id": "m", "latency": float("nan")})  # refused before sending
        assert not ex.flush(timeout=10)
    assert (ex.stats.delivered, ex.stats.rejected) == (1, 2)
    assert any("rejected 2 of 3" in r.message for r in caplog.records)
    ex.shutdown()


def test_records_after_shutdown_are_dropped_quietly() -> None:
    receiver = Receiver()
    ex = exporter(receiver)
    ex.record(metric(1))
    assert ex.shutdown()
    assert not ex.record(metric(2))
    assert len(receiver.items) == 1


def test_init_replaces_the_default_exporter_and_flush_uses_it() -> None:
    receiver = Receiver()
    ex = monitorx.init(url="http://monitorx.test", transport=httpx.MockTransport(receiver))
    assert default_exporter() is ex
    ex.record(metric(1))
    assert monitorx.flush(timeout=10)
    assert receiver.items == [metric(1)]
    assert monitorx.shutdown()
    assert default_exporter() is not ex  # a new one, from the environment


def test_without_init_the_environment_configures_the_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITORX_URL", "http://metrics.internal:9000")
    monkeypatch.setenv("MONITORX_API_KEY", "secret-key")
    ex = default_exporter()
    assert ex.url == "http://metrics.internal:9000"
    assert ex.client.options.api_key == "secret-key"


def test_flush_without_an_exporter_is_true() -> None:
    assert monitorx.flush(timeout=0)


def test_a_batch_refused_for_good_is_dropped_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def unauthorized(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"detail": "invalid API key"})

    ex = exporter(unauthorized)
    with caplog.at_level(logging.ERROR, logger="monitorx.sdk"):
        ex.record(metric(1))
        assert not ex.flush(timeout=10)
    assert len(calls) == 1
    assert ex.stats.lost == 1
    assert any("invalid API key" in r.message for r in caplog.records)
    ex.shutdown()
