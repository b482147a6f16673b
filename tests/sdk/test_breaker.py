"""The circuit breaker: CLOSED → OPEN → HALF_OPEN → CLOSED, on an injected clock."""

from __future__ import annotations

import httpx
import pytest

from monitorx import CircuitOpenError, DeliveryError, MonitorX, MonitorXClient, ValidationError
from monitorx.sdk import CircuitBreaker, CircuitState
from tests.sdk.conftest import AsyncFakeSleep, FakeSleep, ManualClock, Peer, connect_error


def test_opens_after_the_failure_threshold(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, recovery_time_s=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
        assert breaker.state is CircuitState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()
    assert breaker.retry_in_s() == 30


def test_a_success_resets_the_count(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_half_open_after_the_recovery_time_lets_one_trial_through(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time_s=30, clock=clock)
    breaker.record_failure()
    clock.advance(29.9)
    assert breaker.state is CircuitState.OPEN and not breaker.allow()
    assert breaker.retry_in_s() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time


def test_a_successful_trial_closes(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_a_failed_trial_opens_again_for_a_full_recovery_time(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=5, recovery_time_s=5, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in HALF_OPEN
    assert breaker.state is CircuitState.OPEN
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()


def test_a_trial_that_never_reports_back_does_not_wedge_the_breaker(clock: ManualClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    clock.advance(5)
    assert breaker.allow()


def test_client_fails_fast_while_open(fake_sleep: FakeSleep, clock: ManualClock) -> None:
    peer = Peer([connect_error() for _ in range(5)])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        transport=peer.transport,
        sleep=fake_sleep,
        clock=clock,
    )
    for _ in range(5):
        with pytest.raises(DeliveryError, match="ConnectError"):
            client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.circuit_state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as caught:
        client.collect_inference_metric(model_id="m", latency=1.0)
    assert caught.value.retry_in_s == 30.0
    assert len(peer.requests) == 5  # the sixth call never touched the network


def test_client_probes_after_recovery_and_closes_on_success(
    fake_sleep: FakeSleep, clock: ManualClock
) -> None:
    peer = Peer([connect_error(), connect_error(), httpx.Response(202, json={"accepted": 1})])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        failure_threshold=2,
        recovery_time=10,
        transport=peer.transport,
        sleep=fake_sleep,
        clock=clock,
    )
    for _ in range(2):
        with pytest.raises(DeliveryError, match="ConnectError"):
            client.collect_inference_metric(model_id="m", latency=1.0)
    clock.advance(10)
    assert client.circuit_state is CircuitState.HALF_OPEN
    assert client.collect_inference_metric(model_id="m", latency=1.0).accepted == 1
    assert client.circuit_state is CircuitState.CLOSED


def test_a_4xx_answer_does_not_count_as_a_failure(fake_sleep: FakeSleep) -> None:
    peer = Peer([], default=lambda: httpx.Response(422, json={"detail": "latency: bad"}))
    client = MonitorX(
        "http://monitorx.test", failure_threshold=2, transport=peer.transport, sleep=fake_sleep
    )
    for _ in range(3):
        with pytest.raises(ValidationError):
            client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.circuit_state is CircuitState.CLOSED


def test_the_breaker_can_be_disabled(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error() for _ in range(8)])
    client = MonitorX(
        "http://monitorx.test",
        max_retries=0,
        enable_circuit_breaker=False,
        transport=peer.transport,
        sleep=fake_sleep,
    )
    for _ in range(8):
        with pytest.raises(DeliveryError, match="ConnectError"):
            client.collect_inference_metric(model_id="m", latency=1.0)
    assert client.circuit_state is None
    assert len(peer.requests) == 8


async def test_async_client_fails_fast_while_open(
    async_fake_sleep: AsyncFakeSleep, clock: ManualClock
) -> None:
    peer = Peer([httpx.Response(503), httpx.Response(503)])
    async with MonitorXClient(
        "http://monitorx.test",
        max_retries=0,
        failure_threshold=2,
        transport=peer.transport,
        sleep=async_fake_sleep,
        clock=clock,
    ) as client:
        for _ in range(2):
            with pytest.raises(DeliveryError, match="503"):
                await client.get_alerts()
        with pytest.raises(CircuitOpenError):
            await client.get_alerts()
    assert len(peer.requests) == 2
