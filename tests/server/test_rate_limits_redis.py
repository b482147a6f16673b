"""Rate limits shared through the real Redis: the same buckets as in memory, one
limit across two server instances, and a Redis that is away or goes away never
turning a request into an error (limits go on per process, health says degraded)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from monitorx.server.rate_limits import Buckets, MemoryBuckets
from monitorx.server.rate_limits.redis_buckets import RedisBuckets, describe_redis_url
from monitorx.server.settings import Settings
from tests.conftest import LiveServer, free_port, make_settings, run_server
from tests.redis_peer import RedisProcess, shared_redis, start_redis_server

KEY = "shared-limit-key"
BURST = 6
RATE = 0.2  # one request every 5 s: nothing refills while a test runs


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    with shared_redis() as (url, prefix):
        yield url, prefix


@pytest.fixture(params=["memory", "redis"])
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    made: Buckets
    if request.param == "memory":
        made = MemoryBuckets(1.0, 3)
    else:
        url, prefix = request.getfixturevalue("redis_prefix")
        made = RedisBuckets.from_url(url, prefix, 1.0, 3)
    yield made
    await made.close()


async def test_both_kinds_of_bucket_decide_alike(buckets: Buckets) -> None:
    taken = [await buckets.take("client") for _ in range(4)]
    assert [d.allowed for d in taken] == [True, True, True, False]
    assert [d.remaining for d in taken] == [2, 1, 0, 0]
    assert taken[3].retry_after_s == pytest.approx(1.0, abs=0.1)
    assert taken[3].reset_s == pytest.approx(3.0, abs=0.1)
    assert (await buckets.take("another")).allowed
    assert (await buckets.check()).status == "healthy"


async def test_redis_buckets_live_under_the_prefix_and_expire_when_full(
    redis_prefix: tuple[str, str],
) -> None:
    url, prefix = redis_prefix
    # One token a second: the bucket is full again a second after one is taken, long
    # enough to look at it from another client on a loaded machine.
    buckets = RedisBuckets.from_url(url, prefix, 1.0, 2)
    try:
        await buckets.take("id:someone")
    finally:
        await buckets.close()
    client = redis.Redis.from_url(url)
    try:
        assert client.exists(f"{prefix}rl:id:someone") == 1
        assert 0 < client.pttl(f"{prefix}rl:id:someone") <= 1000  # full again in 1 s
    finally:
        client.close()


def _limited_settings(data_dir: Path, redis_url: str, prefix: str, **more: object) -> Settings:
    return make_settings(
        data_dir,
        auth_enabled=True,
        api_keys=[KEY],
        rate_limit_per_s=RATE,
        rate_limit_burst=BURST,
        redis_url=redis_url,
        redis_prefix=prefix,
        **more,
    )


@pytest.fixture
def two_servers(tmp_path: Path, redis_prefix: tuple[str, str]) -> Iterator[list[LiveServer]]:
    """Two server instances (their own stores) sharing buckets through Redis."""
    url, prefix = redis_prefix
    with ExitStack() as stack:
        servers = [
            stack.enter_context(run_server(_limited_settings(tmp_path / name, url, prefix)))
            for name in ("a", "b")
        ]
        yield servers


def test_two_servers_share_one_limit_per_key(two_servers: list[LiveServer]) -> None:
    statuses = [
        httpx.get(f"{two_servers[n % 2].api}/models", headers={"X-API-Key": KEY}).status_code
        for n in range(BURST + 2)
    ]
    assert statuses == [200] * BURST + [429, 429]
    for server in two_servers:
        check = httpx.get(f"{server.api}/health").json()["checks"]["rate_limits"]
        assert (check["status"], check["backend"]) == ("healthy", "redis")


def test_two_servers_share_one_limit_per_address(two_servers: list[LiveServer]) -> None:
    statuses = [
        httpx.get(
            f"{two_servers[n % 2].api}/models", headers={"X-API-Key": f"invented-{n}"}
        ).status_code
        for n in range(BURST + 2)
    ]
    assert statuses == [401] * BURST + [429, 429]


def test_servers_with_another_prefix_keep_their_own_buckets(
    tmp_path: Path, redis_prefix: tuple[str, str]
) -> None:
    url, prefix = redis_prefix
    first = _limited_settings(tmp_path / "a", url, prefix + "one:")
    second = _limited_settings(tmp_path / "b", url, prefix + "two:")
    with run_server(first) as a, run_server(second) as b:
        for _ in range(BURST):
            assert httpx.get(f"{a.api}/models", headers={"X-API-Key": KEY}).status_code == 200
        assert httpx.get(f"{b.api}/models", headers={"X-API-Key": KEY}).status_code == 200


def test_with_redis_away_requests_go_on_limited_per_process_and_health_is_degraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = "redis-password-never-shown"
    url = f"redis://:{password}@127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = _limited_settings(tmp_path / "data", url, "monitorx-test-away:")
    with caplog.at_level(logging.WARNING), run_server(settings) as server:
        statuses = [
            httpx.get(f"{server.api}/models", headers={"X-API-Key": KEY}).status_code
            for _ in range(BURST + 1)
        ]
        health = httpx.get(f"{server.api}/health")
    assert statuses == [200] * BURST + [429]  # this process' own buckets
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded"
    check = body["checks"]["rate_limits"]
    assert check["status"] == "degraded"
    assert "does not answer" in check["reason"]
    assert password not in health.text
    assert password not in caplog.text
    assert "rate limits are kept per process" in caplog.text


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = start_redis_server(tmp_path)
    yield server
    server.stop()


def _evalsha_calls(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_a_refused_client_costs_no_round_trip_until_it_may_retry(
    tmp_path: Path, own_redis: RedisProcess
) -> None:
    settings = _limited_settings(tmp_path / "data", own_redis.url, "monitorx-test:")
    with (
        run_server(settings) as server,
        httpx.Client(base_url=server.api, headers={"X-API-Key": KEY}) as client,
    ):
        statuses = [client.get("/models").status_code for _ in range(BURST + 1)]
        calls = _evalsha_calls(own_redis.url)
        more = [client.get("/models").status_code for _ in range(20)]
    assert statuses == [200] * BURST + [429]
    assert more == [429] * 20
    assert _evalsha_calls(own_redis.url) == calls


async def test_requests_arriving_together_share_round_trips_and_stay_exact(
    own_redis: RedisProcess,
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    buckets = RedisBuckets.from_url(own_redis.url, "monitorx-test:", 0.1, 20)
    try:
        await buckets.take("warm")  # loads the script...
        client.script_flush()  # ...which Redis then forgets, as after a restart
        taken = await asyncio.gather(*(buckets.take("together") for _ in range(50)))
    finally:
        await buckets.close()
        client.close()
    assert sum(d.allowed for d in taken) == 20
    assert sorted(d.remaining for d in taken if d.allowed) == list(range(20))
    # 51 calls; the 50 went out in a few pipelines (one again after NOSCRIPT).
    assert buckets.batches.calls == 51
    assert buckets.batches.round_trips <= 5


def test_redis_going_away_and_back_never_fails_a_request(
    tmp_path: Path, own_redis: RedisProcess
) -> None:
    settings = _limited_settings(tmp_path / "data", own_redis.url, "monitorx-test:")
    with (
        run_server(settings) as server,
        httpx.Client(base_url=server.api, headers={"X-API-Key": KEY}) as client,
    ):
        assert client.get("/models").headers["X-RateLimit-Remaining"] == str(BURST - 1)
        own_redis.stop()
        away = [client.get("/models") for _ in range(3)]
        health = client.get("/health").json()
        own_redis.start()  # empty: the shared buckets are gone with it
        back = client.get("/health").json()  # pings Redis: shared again
        after = client.get("/models")
    assert [a.status_code for a in away] == [200, 200, 200]
    # Decided in this process meanwhile, from a full bucket of its own.
    assert [a.headers["X-RateLimit-Remaining"] for a in away] == ["5", "4", "3"]
    assert health["checks"]["rate_limits"]["status"] == "degraded"
    assert back["checks"]["rate_limits"]["status"] == "healthy"
    assert after.status_code == 200
    # Redis' new bucket (this process' own would have said 2).
    assert after.headers["X-RateLimit-Remaining"] == str(BURST - 1)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@cache.internal:6380/2", "cache.internal:6380/2"),
        ("redis://user:secret@10.0.0.5", "10.0.0.5:6379/0"),
        ("rediss://cache.example.com:6390", "cache.example.com:6390/0"),
    ],
)
def test_redis_is_named_without_its_credentials(url: str, shown: str) -> None:
    assert describe_redis_url(url) == shown
