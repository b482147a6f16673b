"""The live relay on the real Redis: two relays (two replicas) on one prefix hand
each other's hub messages over, never their own back; publishing into a Redis that
does not answer returns at once and keeps only the newest messages; credentials in
the URL never reach the health check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from monitorx.core.health import Health
from monitorx.server.live import LiveHub
from monitorx.server.live_relay import QUEUE_SIZE, LiveRelay
from tests.conftest import free_port
from tests.redis_peer import shared_redis


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    with shared_redis() as (url, prefix):
        yield url, prefix


@pytest.fixture
async def relays(redis_prefix: tuple[str, str]) -> AsyncIterator[list[LiveRelay]]:
    url, prefix = redis_prefix
    made = [LiveRelay.from_url(url, prefix) for _ in range(2)]
    for relay in made:
        await relay.start()
    try:
        yield made
    finally:
        for relay in made:
            await relay.close()


async def until(condition: Any, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_each_replica_gets_the_others_messages_once(relays: list[LiveRelay]) -> None:
    one, two = relays
    await until(lambda: all(r.listening for r in relays))
    hubs = [LiveHub(relay=one, project="p"), LiveHub(relay=two, project="p")]
    other_project = LiveHub(relay=two, project="q")
    following = [hub.subscribe() for hub in hubs]
    elsewhere = other_project.subscribe()
    # Each relay learns what the other's WebSockets follow, and sends only that.
    await until(lambda: one.wanted("p") and one.wanted("q") and two.wanted("p"))
    assert not two.wanted("q")  # followed on two itself only
    message = {"type": "metrics", "model_id": "m", "count": 3, "latency_max": 9.5}
    hubs[0].announce("m", message)  # here, and to the other replica
    received = await asyncio.wait_for(following[1].next(), 5)
    assert received == message
    await until(lambda: one.published == 1)
    await asyncio.sleep(0.2)  # time for a copy to come back, were it to
    assert one.received == 0 and two.received == 1
    assert await asyncio.wait_for(following[0].next(), 1) == message
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(following[0].next(), 0.2)  # once only
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(elsewhere.next(), 0.2)  # another project's
    checks = [await relay.check() for relay in relays]
    assert [c.status for c in checks] == [Health.HEALTHY, Health.HEALTHY]


async def test_a_project_nobody_follows_costs_no_message(relays: list[LiveRelay]) -> None:
    one, two = relays
    hub_one, hub_two = LiveHub(relay=one, project="p"), LiveHub(relay=two, project="p")
    following = hub_two.subscribe()
    await until(lambda: one.wanted("p"))
    hub_two.unsubscribe(following)  # the last one leaves: withdrawn at once
    await until(lambda: not one.wanted("p"))
    hub_one.announce("m", {"type": "metrics", "model_id": "m"})
    await asyncio.sleep(0.2)
    assert one.published == 0 and two.received == 0


async def test_publishing_into_a_redis_that_does_not_answer_never_waits() -> None:
    relay = LiveRelay.from_url(f"redis://:hunter2@127.0.0.1:{free_port()}/0", "t:")
    await relay.start()
    try:
        started = time.perf_counter()
        for n in range(QUEUE_SIZE + 100):
            relay.publish("p", {"type": "metrics", "model_id": "m", "count": n})
        assert time.perf_counter() - started < 1.0
        await until(lambda: relay.dropped >= 100)
        check = await relay.check()
        assert check.status is Health.DEGRADED
        assert "does not answer" in check.reason and "127.0.0.1" in check.reason
        assert "hunter2" not in check.reason + str(check.measured)
        assert relay.published == 0
    finally:
        await relay.close()
