"""Buffering: a bounded FIFO that drops its oldest, and flush_buffer() once the server is back."""

from __future__ import annotations

import json

import httpx
import pytest

from monitorx import DeliveryError, MonitorX, MonitorXClient
from monitorx.core.errors import Unauthorized
from monitorx.sdk import CircuitState, MetricBuffer
from tests.sdk.conftest import AsyncFakeSleep, FakeSleep, ManualClock, Peer, connect_error


def test_buffer_is_first_in_first_out() -> None:
    buffer = MetricBuffer[int](maxlen=5)
    buffer.extend([1, 2, 3])
    buffer.append(4)
    assert buffer.take(2) == [1, 2]
    assert buffer.take(10) == [3, 4]
    assert len(buffer) == 0


def test_a_full_buffer_drops_its_oldest_and_counts_them() -> None:
    buffer = MetricBuffer[int](maxlen=3)
    for item in range(1, 6):
        buffer.append(item)
    assert buffer.dropped == 2
    assert buffer.take(10) == [3, 4, 5]


def test_put_back_restores_order_and_counts_what_no_longer_fits() -> None:
    buffer = MetricBuffer[int](maxlen=4)
    buffer.extend([1, 2, 3])
    taken = buffer.take(3)
    buffer.extend([4, 5])  # arrived while 1..3 were being sent
    buffer.put_back(taken)
    assert buffer.dropped == 1  # the oldest, 1, no longer fits
    assert buffer.take(10) == [2, 3, 4, 5]


def test_buffer_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="buffer_size"):
        MetricBuffer[int](maxlen=0)


def _items(request: httpx.Request) -> list[dict[str, object]]:
    body = json.loads(request.content)
    return body if isinstance(body, list) else [body]


def test_without_buffering_an_undeliverable_write_raises() -> None:
    peer = Peer([connect_error()])
    client = MonitorX("http://monitorx.test", max_retries=0, transport=peer.transport)
    with pytest.raises(DeliveryError):
        client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.buffered == 0


def test_buffered_writes_are_sent_as_one_batch_when_the_server_is_back(
    fake_sleep: FakeSleep, clock: ManualClock
) -> None:
    down: list[httpx.Response | Exception] = [connect_error() for _ in range(2)]
    peer = Peer(down, default=lambda: httpx.Response(202, json={"accepted": 5, "rejected": []}))
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        failure_threshold=2,
        transport=peer.transport,
        sleep=fake_sleep,
        clock=clock,
    )
    client.enable_buffering()
    for latency in range(5):
        result = client.collect_inference_metric(model_id="m", latency=float(latency))
        assert result.buffered == 1 and result.accepted == 0
    assert client.circuit_state is CircuitState.OPEN
    assert len(peer.requests) == 2  # writes 3-5 went straight to the buffer
    assert client.buffered == 5

    clock.advance(30)
    result = client.flush_buffer()
    assert result.accepted == 5
    assert client.buffered == 0
    assert peer.paths[-1] == "/api/v1/metrics/inference/batch"
    assert [item["latency"] for item in _items(peer.requests[-1])] == [0, 1, 2, 3, 4]


def test_a_full_buffer_keeps_the_newest_writes(fake_sleep: FakeSleep) -> None:
    peer = Peer([], default=lambda: httpx.Response(503))
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        buffer_size=3,
        enable_circuit_breaker=False,
        transport=peer.transport,
        sleep=fake_sleep,
    )
    client.enable_buffering()
    for latency in range(5):
        client.collect_inference_metric(model_id="m", latency=float(latency))
    assert client.buffered == 3
    assert client.dropped == 2

    peer.default = lambda: httpx.Response(202, json={"accepted": 3, "rejected": []})
    client.flush_buffer()
    assert [item["latency"] for item in _items(peer.requests[-1])] == [2, 3, 4]


def test_a_failed_flush_keeps_everything_buffered(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error(), connect_error()])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        enable_circuit_breaker=False,
        transport=peer.transport,
        sleep=fake_sleep,
    )
    client.enable_buffering()
    client.collect_inference_metric(model_id="m", latency=1.0)
    with pytest.raises(DeliveryError):
        client.flush_buffer()
    assert client.buffered == 1


def test_batches_and_drift_metrics_are_buffered_in_order(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error(), connect_error()])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        enable_circuit_breaker=False,
        transport=peer.transport,
        sleep=fake_sleep,
    )
    client.enable_buffering()
    batch = client.collect_inference_metrics_batch(
        [{"model_id": "m", "latency": 1.0}, {"model_id": "m", "latency": 2.0}]
    )
    drift = client.collect_drift_metric("m", "data", confidence=0.9)
    assert (batch.buffered, drift.buffered) == (2, 1)

    peer.answers = [
        httpx.Response(202, json={"accepted": 2, "rejected": []}),
        httpx.Response(202, json={"accepted": 1}),
    ]
    assert client.flush_buffer().accepted == 3
    assert peer.paths[-2:] == ["/api/v1/metrics/inference/batch", "/api/v1/metrics/drift"]


def test_rejections_during_a_flush_are_reported_not_raised(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error()])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        enable_circuit_breaker=False,
        transport=peer.transport,
        sleep=fake_sleep,
    )
    client.enable_buffering()
    client.collect_inference_metric(model_id="m", latency=1.0)
    peer.answers = [
        httpx.Response(
            422,
            json={
                "detail": "none of the 1 metrics is valid",
                "accepted": 0,
                "rejected": [{"index": 0, "error": "model_id: unknown"}],
            },
        )
    ]
    result = client.flush_buffer()
    assert result.accepted == 0
    assert [(r.index, r.error) for r in result.rejected] == [(0, "model_id: unknown")]
    assert client.buffered == 0


def test_disable_buffering_raises_again() -> None:
    peer = Peer([connect_error(), connect_error()])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        enable_circuit_breaker=False,
        transport=peer.transport,
    )
    client.enable_buffering()
    client.collect_inference_metric(model_id="m", latency=1.0)
    client.disable_buffering()
    assert not client.buffering
    with pytest.raises(DeliveryError):
        client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.buffered == 1


async def test_async_client_buffers_and_flushes(
    async_fake_sleep: AsyncFakeSleep, clock: ManualClock
) -> None:
    peer = Peer([connect_error()])
    async with MonitorXClient(
        "http://monitorx.test",
        max_retries=0,
        failure_threshold=1,
        transport=peer.transport,
        sleep=async_fake_sleep,
        clock=clock,
    ) as client:
        client.enable_buffering()
        assert (await client.collect_inference_metric(model_id="m", latency=1.0)).buffered == 1
        assert (await client.collect_inference_metric(model_id="m", latency=2.0)).buffered == 1
        clock.advance(30)
        peer.answers = [httpx.Response(202, json={"accepted": 2, "rejected": []})]
        assert (await client.flush_buffer()).accepted == 2
        assert client.buffered == 0


def test_a_refusal_is_raised_even_while_buffering(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.Response(401, json={"detail": "missing API key"})])
    client = MonitorX("http://monitorx.test", transport=peer.transport, sleep=fake_sleep)
    client.enable_buffering()
    with pytest.raises(Unauthorized, match="missing API key"):
        client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.buffered == 0
