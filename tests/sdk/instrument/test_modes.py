"""Monitoring modes from settings; event_driven publishing to Redis and to the server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from monitorx import ValidationError
from monitorx.sdk.instrument import (
    EventTarget,
    InstrumentSettings,
    MemoryCollector,
    MonitoringMode,
    NullCollector,
    RedisEventPublisher,
    ServerEventSink,
    create_collector,
)
from tests.conftest import LiveServer


def test_the_default_mode_is_direct() -> None:
    assert isinstance(create_collector(InstrumentSettings.from_env({})), MemoryCollector)


def test_disabled_mode_gives_the_no_op_collector() -> None:
    settings = InstrumentSettings.from_env({"MONITORX_MONITORING_MODE": "disabled"})
    assert isinstance(create_collector(settings), NullCollector)


def test_an_unknown_mode_names_its_setting() -> None:
    with pytest.raises(ValidationError) as caught:
        InstrumentSettings.from_env({"MONITORX_MONITORING_MODE": "loud"})
    assert caught.value.errors[0].field == "mode"


@pytest.fixture
def redis_channel() -> Iterator[tuple[Any, str]]:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    channel = f"monitorx-test-{time.monotonic_ns()}"
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    yield pubsub, channel
    pubsub.close()
    client.close()


def received(pubsub: Any, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(messages) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            messages.append(json.loads(message["data"]))
    return messages


def test_event_driven_mode_publishes_every_update_to_redis(
    redis_channel: tuple[Any, str],
) -> None:
    pubsub, channel = redis_channel
    settings = InstrumentSettings(
        mode=MonitoringMode.EVENT_DRIVEN, events_to=EventTarget.REDIS, redis_channel=channel
    )
    collector = create_collector(settings)
    assert isinstance(collector, MemoryCollector)
    requests = collector.counter("requests", labels=["route"])
    for _ in range(3):
        requests.labels(route="/predict").inc()
    collector.gauge("depth").set(2)
    publisher = collector.sink
    assert isinstance(publisher, RedisEventPublisher)
    assert publisher.flush(timeout=10)
    messages = received(pubsub, 4)
    assert [(m["kind"], m["name"], m["labels"], m["value"]) for m in messages] == [
        ("counter", "requests", {"route": "/predict"}, 1.0),
        ("counter", "requests", {"route": "/predict"}, 1.0),
        ("counter", "requests", {"route": "/predict"}, 1.0),
        ("gauge", "depth", {}, 2.0),
    ]
    assert collector.value("requests", route="/predict") == 3.0  # still queryable
    publisher.close()
    assert publisher.stats.published == 4


def test_redis_down_never_raises_into_the_caller_and_failures_are_counted() -> None:
    publisher = RedisEventPublisher("redis://127.0.0.1:1/0", "nowhere")
    collector = MemoryCollector(publisher)
    collector.counter("requests").inc()
    assert publisher.flush(timeout=10)
    publisher.close()
    assert (publisher.stats.published, publisher.stats.failed) == (0, 1)


def test_event_driven_mode_sends_timers_to_the_server(
    live_server: LiveServer, api: httpx.Client
) -> None:
    settings = InstrumentSettings(
        mode=MonitoringMode.EVENT_DRIVEN, url=live_server.url, service="checkout"
    )
    collector = create_collector(settings)
    assert isinstance(collector, MemoryCollector)
    timer = collector.timer("handle_seconds", labels=["route"])
    for seconds in (0.010, 0.020, 0.030):
        timer.labels(route="/pay").observe(seconds)
    collector.counter("requests").inc()  # no place for it in the API: stays local
    sink = collector.sink
    assert isinstance(sink, ServerEventSink)
    assert sink.flush(timeout=10)
    rows = api.get("/metrics/inference", params={"model_id": "checkout"}).json()
    assert sorted(row["latency"] for row in rows) == pytest.approx([10.0, 20.0, 30.0])
    assert rows[0]["tags"] == {"metric": "handle_seconds", "route": "/pay"}
    sink.close()
