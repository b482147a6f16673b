"""Retries, Retry-After, the circuit breaker and the buffer against a real server.

The network is real (a closed port on 127.0.0.1, then a MonitorX server started
on it; the server's own rate limiter for 429s); only time is injected, so the
waits the client asks for are read exactly and the breaker's recovery time passes
when the test says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitorx import CircuitOpenError, DeliveryError, MonitorX, ServerError
from monitorx.sdk.breaker import CircuitState
from tests.conftest import LiveServer, free_port, make_settings, run_server
from tests.sdk.conftest import CountingTransport, FakeSleep, ManualClock, serve_at, summary


def test_a_closed_port_is_retried_after_1_2_4_seconds_then_raises(
    tmp_path: Path, fake_sleep: FakeSleep
) -> None:
    port = free_port()
    transport = CountingTransport()
    client = MonitorX(f"http://127.0.0.1:{port}", transport=transport, sleep=fake_sleep)
    with pytest.raises(DeliveryError, match="failed \\(4 times\\)"):
        client.collect_inference_metric(model_id="retried", latency=12.0)
    assert transport.count == 4  # the first attempt and max_retries=3
    assert fake_sleep.waits == [
        pytest.approx(1.0, rel=0.1),
        pytest.approx(2.0, rel=0.1),
        pytest.approx(4.0, rel=0.1),
    ]
    # The same client, once a server listens there, delivers on the first try.
    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        assert client.collect_inference_metric(model_id="retried", latency=12.0).accepted == 1
        assert transport.count == 5
        assert summary(api, "retried")["count"] == 1
    client.close()


@pytest.fixture
def rate_limited(tmp_path: Path) -> Iterator[LiveServer]:
    """Two requests a second per client, no burst: the second in a row is a 429."""
    settings = make_settings(tmp_path / "data", rate_limit_per_s=2.0, rate_limit_burst=1)
    with run_server(settings) as live:
        yield live


def test_a_429_waits_what_retry_after_says_not_the_backoff(
    rate_limited: LiveServer, fake_sleep: FakeSleep
) -> None:
    transport = CountingTransport()
    with MonitorX(rate_limited.url, transport=transport, sleep=fake_sleep) as client:
        assert client.collect_inference_metric(model_id="limited", latency=1.0).accepted == 1
        # No time passes with a fake sleep: every retry meets the limit again.
        with pytest.raises(ServerError) as caught:
            client.collect_inference_metric(model_id="limited", latency=2.0)
    assert caught.value.status_code == 429
    assert fake_sleep.waits == [1.0, 1.0, 1.0]  # Retry-After: 1, exactly, three times
    assert transport.count == 5


def test_a_429_is_delivered_once_retry_after_has_passed(rate_limited: LiveServer) -> None:
    with (
        MonitorX(rate_limited.url) as client,
        httpx.Client(base_url=rate_limited.api) as api,
    ):
        client.collect_inference_metric(model_id="limited", latency=1.0)
        started = time.monotonic()
        assert client.collect_inference_metric(model_id="limited", latency=2.0).accepted == 1
        assert time.monotonic() - started >= 0.9  # it slept the Retry-After second
        time.sleep(1.0)  # the limiter covers reads too
        assert summary(api, "limited")["count"] == 2


def test_the_breaker_opens_on_a_down_server_fails_fast_and_closes_when_it_is_back(
    tmp_path: Path, fake_sleep: FakeSleep, clock: ManualClock
) -> None:
    port = free_port()
    transport = CountingTransport()
    client = MonitorX(
        f"http://127.0.0.1:{port}",
        max_retries=0,
        failure_threshold=2,
        recovery_time=30.0,
        transport=transport,
        sleep=fake_sleep,
        clock=clock,
    )
    for _ in range(2):
        with pytest.raises(DeliveryError):
            client.collect_inference_metric(model_id="guarded", latency=5.0)
    assert client.circuit_state is CircuitState.OPEN
    assert transport.count == 2

    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        # Up again, but the breaker has not let a trial through yet: no request goes out.
        with pytest.raises(CircuitOpenError) as caught:
            client.collect_inference_metric(model_id="guarded", latency=5.0)
        assert caught.value.retry_in_s == pytest.approx(30.0)
        assert transport.count == 2
        clock.advance(30.0)
        assert client.circuit_state is CircuitState.HALF_OPEN
        assert client.collect_inference_metric(model_id="guarded", latency=5.0).accepted == 1
        assert client.circuit_state is CircuitState.CLOSED
        assert transport.count == 3
        assert summary(api, "guarded")["count"] == 1
    client.close()


def test_a_full_buffer_keeps_the_newest_counts_the_rest_and_delivers_them_later(
    tmp_path: Path, fake_sleep: FakeSleep, clock: ManualClock
) -> None:
    port = free_port()
    client = MonitorX(
        f"http://127.0.0.1:{port}", buffer_size=5, max_retries=1, sleep=fake_sleep, clock=clock
    )
    client.enable_buffering()
    for latency in range(8):  # never raises: each write lands in the buffer
        assert client.collect_inference_metric(model_id="kept", latency=float(latency)).buffered
    assert (client.buffered, client.dropped) == (5, 3)

    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        clock.advance(30.0)  # past the breaker's recovery time, opened by the failures
        assert client.flush_buffer().accepted == 5
        assert client.buffered == 0
        rows = api.get("/metrics/inference", params={"model_id": "kept"}).json()
        assert sorted(row["latency"] for row in rows) == [3.0, 4.0, 5.0, 6.0, 7.0]
    client.close()
