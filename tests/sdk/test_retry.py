"""Retries: exponential backoff with jitter, Retry-After, and what is never retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from monitorx import DeliveryError, MonitorX, MonitorXClient, ServerError, ValidationError
from monitorx.core.errors import Conflict, NotFound, Unauthorized
from monitorx.sdk.retry import RetryPolicy, parse_retry_after
from tests.sdk.conftest import AsyncFakeSleep, FakeSleep, Peer, connect_error


def accepted() -> httpx.Response:
    return httpx.Response(202, json={"accepted": 1})


def test_backoff_doubles_from_retry_backoff() -> None:
    policy = RetryPolicy(max_retries=3, backoff_s=1.0, jitter=0.0)
    assert [policy.backoff_s_for(n, 0.5) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("random_value", [0.0, 0.25, 0.5, 0.999999])
def test_jitter_stays_within_its_fraction(random_value: float) -> None:
    policy = RetryPolicy(backoff_s=2.0, jitter=0.1)
    for attempt in range(3):
        base = 2.0 * 2**attempt
        delay = policy.backoff_s_for(attempt, random_value)
        assert base * 0.9 <= delay <= base * 1.1


def test_jitter_spreads_clients_apart() -> None:
    policy = RetryPolicy(backoff_s=1.0, jitter=0.1)
    assert policy.backoff_s_for(0, 0.0) == pytest.approx(0.9)
    assert policy.backoff_s_for(0, 0.999999) == pytest.approx(1.1, abs=1e-5)


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_retries=20, backoff_s=1.0, jitter=0.0, max_delay_s=60.0)
    assert policy.backoff_s_for(10, 0.5) == 60.0


def test_no_delay_once_the_retries_are_spent() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay_s_for(1, None, 0.5) is not None
    assert policy.delay_s_for(2, None, 0.5) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now) == 30.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert RetryPolicy.is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    assert not RetryPolicy.is_retryable_status(status)


def _client(peer: Peer, sleep: FakeSleep, **options: object) -> MonitorX:
    return MonitorX(
        "http://monitorx.test",
        transport=peer.transport,
        sleep=sleep,
        random=lambda: 0.5,
        **options,  # type: ignore[arg-type]
    )


def test_connection_errors_are_retried_with_1_2_4_second_waits(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error(), connect_error(), connect_error(), accepted()])
    with _client(peer, fake_sleep) as client:
        result = client.collect_inference_metric(model_id="m", latency=5.0)
    assert result.accepted == 1
    assert fake_sleep.waits == [1.0, 2.0, 4.0]
    assert peer.paths == ["/api/v1/metrics/inference"] * 4


def test_retry_backoff_scales_the_waits(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.Response(503), httpx.Response(503), accepted()])
    with _client(peer, fake_sleep, retry_backoff=0.25) as client:
        client.collect_inference_metric(model_id="m", latency=5.0)
    assert fake_sleep.waits == [0.25, 0.5]


def test_jitter_comes_from_the_injected_random(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.Response(500), httpx.Response(500), accepted()])
    client = MonitorX(
        "http://monitorx.test", transport=peer.transport, sleep=fake_sleep, random=lambda: 0.0
    )
    client.collect_inference_metric(model_id="m", latency=5.0)
    assert fake_sleep.waits == pytest.approx([0.9, 1.8])


def test_exhausted_retries_raise_delivery_error(fake_sleep: FakeSleep) -> None:
    peer = Peer([connect_error() for _ in range(4)])
    with _client(peer, fake_sleep) as client, pytest.raises(DeliveryError) as caught:
        client.collect_inference_metric(model_id="m", latency=5.0)
    assert len(peer.requests) == 4
    assert "4 times" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_5xx_after_retries_raises_server_error_with_status_and_body(
    fake_sleep: FakeSleep,
) -> None:
    body = {"error": "storage_unavailable", "detail": "disk full"}
    peer = Peer([], default=lambda: httpx.Response(503, json=body))
    with _client(peer, fake_sleep, max_retries=2) as client, pytest.raises(ServerError) as caught:
        client.get_summary()
    assert caught.value.status_code == 503
    assert "disk full" in str(caught.value)
    assert "storage_unavailable" in caught.value.body
    assert len(peer.requests) == 3


def test_retry_after_replaces_the_backoff(fake_sleep: FakeSleep) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"})
    peer = Peer([limited, accepted()])
    with _client(peer, fake_sleep) as client:
        assert client.collect_inference_metric(model_id="m", latency=1.0).accepted == 1
    assert fake_sleep.waits == [7.0]


def test_a_retry_after_past_the_cap_is_not_waited_for(fake_sleep: FakeSleep) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "slow down"})
    peer = Peer([limited])
    with _client(peer, fake_sleep) as client, pytest.raises(ServerError) as caught:
        client.collect_inference_metric(model_id="m", latency=1.0)
    assert caught.value.status_code == 429
    assert fake_sleep.waits == []


def test_422_raises_validation_error_with_the_servers_message_and_no_retry(
    fake_sleep: FakeSleep,
) -> None:
    refused = httpx.Response(
        422,
        json={
            "error": "validation_error",
            "detail": "latency: must be >= 0",
            "errors": [{"field": "latency", "message": "must be >= 0"}],
        },
    )
    peer = Peer([refused])
    with _client(peer, fake_sleep) as client, pytest.raises(ValidationError) as caught:
        client.collect_inference_metric(model_id="m", latency=-1.0)
    assert len(peer.requests) == 1
    assert fake_sleep.waits == []
    assert str(caught.value) == "latency: must be >= 0"
    assert caught.value.errors[0].field == "latency"


@pytest.mark.parametrize(
    ("status", "kind"), [(401, Unauthorized), (404, NotFound), (409, Conflict)]
)
def test_other_client_errors_map_to_their_exception(
    fake_sleep: FakeSleep, status: int, kind: type[Exception]
) -> None:
    peer = Peer([httpx.Response(status, json={"detail": "no alert with id 'a1'"})])
    with _client(peer, fake_sleep) as client, pytest.raises(kind, match="no alert with id 'a1'"):
        client.resolve_alert("a1")
    assert len(peer.requests) == 1


def test_an_error_body_that_is_not_json_still_gives_a_message(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.Response(404, text="nothing here")])
    with _client(peer, fake_sleep) as client, pytest.raises(NotFound, match="nothing here"):
        client.get_summary(model_id="ghost")


async def test_the_async_client_retries_the_same_way(async_fake_sleep: AsyncFakeSleep) -> None:
    peer = Peer([connect_error(), httpx.Response(502), httpx.Response(500), accepted()])
    async with MonitorXClient(
        "http://monitorx.test",
        transport=peer.transport,
        sleep=async_fake_sleep,
        random=lambda: 0.5,
    ) as client:
        result = await client.collect_inference_metric(model_id="m", latency=3.0)
    assert result.accepted == 1
    assert async_fake_sleep.waits == [1.0, 2.0, 4.0]


async def test_the_async_client_does_not_retry_422(async_fake_sleep: AsyncFakeSleep) -> None:
    peer = Peer([httpx.Response(422, json={"detail": "model_id: bad"})])
    async with MonitorXClient(
        "http://monitorx.test", transport=peer.transport, sleep=async_fake_sleep
    ) as client:
        with pytest.raises(ValidationError, match="model_id: bad"):
            await client.collect_inference_metric(model_id="m m", latency=3.0)
    assert len(peer.requests) == 1
    assert async_fake_sleep.waits == []


def test_timeouts_are_retried(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.ReadTimeout("slow"), accepted()])
    with _client(peer, fake_sleep) as client:
        assert client.collect_inference_metric(model_id="m", latency=1.0).accepted == 1
    assert fake_sleep.waits == [1.0]


def test_a_bad_url_scheme_is_not_retried(fake_sleep: FakeSleep) -> None:
    peer = Peer([httpx.UnsupportedProtocol("ftp?")])
    with _client(peer, fake_sleep) as client, pytest.raises(DeliveryError):
        client.health()
    assert fake_sleep.waits == []
