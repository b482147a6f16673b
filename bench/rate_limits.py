"""What the rate limiter and the security headers cost a request.

    python bench/rate_limits.py [--requests 20000] [--rounds 10] [--redis redis://127.0.0.1:6379/0]

In process, on ASGI (no sockets), as bench/prometheus_middleware.py measures:

1. The layers alone, around an app that answers 202 at once, with auth on and a
   valid key (the key's bucket) or an invented one (the address' bucket): ns per
   request, p50 and p99, against the bare app: `RateLimits` over `MemoryBuckets`,
   and `SecurityHeaders`.
2. The Redis client: this process' CPU time per script call, one call at a time
   and 64 at once, for redis-py's ``evalsha`` alone and for `RedisBuckets.take`
   (which batches the calls that arrive together into one pipeline).
3. The whole app (`create_app`, DuckDB in a temp directory, auth on, one key):
   ``POST /api/v1/metrics/inference`` (the fast ingest path, a durable write)
   with no limit, with limits in memory and in Redis, from 1 and from 64
   concurrent callers, in ``--rounds`` rounds whose order rotates: the median of
   the rounds' CPU time per request (µs), and what each adds to no limit. CPU
   time, not wall time: it is what a limit takes from the server's throughput,
   and other load on the machine moves it less.

Every key the benchmark writes to Redis has its own prefix and is deleted after.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
from fastapi import FastAPI
from prometheus_middleware import caller, http_scope, median_p99, timed
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from monitorx.server.app import create_app
from monitorx.server.auth import Authenticator
from monitorx.server.rate_limits import MemoryBuckets, RateLimits
from monitorx.server.rate_limits.redis_buckets import _GCRA, RedisBuckets
from monitorx.server.security_headers import SecurityHeaders
from monitorx.server.settings import Settings

KEY = "bench-rate-limit-key"
RATE = 1e9  # nothing is ever refused: what is measured is the cost of admitting
BURST = 1_000_000
BODY: Message = {"type": "http.response.body", "body": b'{"accepted":1}'}


def with_key(scope: Scope, key: str) -> Scope:
    return {**scope, "headers": [*scope["headers"], (b"x-api-key", key.encode())]}


async def layers_alone(requests: int) -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        # A fresh start message each time, as Starlette's responses send: the
        # layers add their headers to it.
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send(BODY)

    auth = Authenticator(True, [KEY], None)
    scope = http_scope("POST", "/api/v1/metrics/inference")
    valid, invented = with_key(scope, KEY), with_key(scope, "an-invented-key")

    def limited(buckets: object) -> ASGIApp:
        return RateLimits(bare, buckets, auth, "/api/v1/health")  # type: ignore[arg-type]

    variants: list[tuple[str, ASGIApp, Scope]] = [
        ("bare app", bare, valid),
        ("RateLimits, memory, valid key", limited(MemoryBuckets(RATE, BURST)), valid),
        ("RateLimits, memory, invented key", limited(MemoryBuckets(RATE, BURST)), invented),
        ("SecurityHeaders", SecurityHeaders(bare, 31_536_000), valid),
    ]
    print(f"\n1. The layers alone ({requests:,} requests each; ns per request)")
    print(f"{'':36} {'p50':>9} {'p99':>9} {'p50 added':>10} {'p99 added':>10}")
    base: tuple[float, float] | None = None
    for name, app, request_scope in variants:
        p50, p99 = median_p99(await timed(caller(app, request_scope), requests, 202))
        base = base or (p50, p99)
        print(f"{name:36} {p50:9,.0f} {p99:9,.0f} {p50 - base[0]:10,.0f} {p99 - base[1]:10,.0f}")


async def cpu_per_call(call: Callable[[int], Awaitable[object]], count: int, at_once: int) -> float:
    """This process' CPU time per call (µs), ``at_once`` callers sharing ``count`` calls."""

    async def caller_(n: int) -> None:
        for i in range(count // at_once):
            await call(n * count + i)

    started = time.process_time()
    await asyncio.gather(*(caller_(n) for n in range(at_once)))
    return (time.process_time() - started) / (count // at_once * at_once) * 1e6


async def redis_client(requests: int, redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    sha = client.register_script(_GCRA).sha
    buckets = RedisBuckets.from_url(redis_url, prefix, RATE, BURST)

    async def evalsha(n: int) -> object:
        return await client.evalsha(sha, 1, f"{prefix}direct{n % 64}", 1, BURST)

    async def take(n: int) -> object:
        return await buckets.take(f"take{n % 64}")

    for _ in range(200):
        await evalsha(0)
        await take(0)
    print(f"\n2. The Redis client ({requests:,} calls each; µs of this process' CPU per call)")
    print(f"{'':34} {'1 at once':>10} {'64 at once':>11}")
    for name, call in (("redis-py evalsha", evalsha), ("RedisBuckets.take", take)):
        alone, together = [await cpu_per_call(call, requests, n) for n in (1, 64)]
        print(f"{name:34} {alone:10.0f} {together:11.0f}")
    trips = buckets.batches.round_trips / max(1, buckets.batches.calls)
    print(f"RedisBuckets: {trips:.2f} round trips per call over both runs")
    await buckets.close()
    await client.aclose()


async def whole_app(requests: int, rounds: int, data: Path, redis_url: str, prefix: str) -> None:
    common = {"auth_enabled": True, "api_keys": [KEY], "ingest_workers": 0}
    limits = {"rate_limit_per_s": RATE, "rate_limit_burst": BURST}
    configs = {
        "no limit": {},
        "memory": limits,
        "Redis": {**limits, "redis_url": redis_url, "redis_prefix": prefix},
    }
    apps: dict[str, FastAPI] = {
        name: create_app(Settings(data_dir=data / str(i), **common, **extra))  # type: ignore[arg-type]
        for i, (name, extra) in enumerate(configs.items())
    }
    metric = b'{"model_id": "bench", "latency": 12.5}'
    scope = with_key(http_scope("POST", "/api/v1/metrics/inference", metric), KEY)
    block = max(64, requests // rounds)
    print(f"\n3. The whole app ({rounds} rounds of {block:,} requests on each; µs CPU per request)")
    async with (
        apps["no limit"].router.lifespan_context(apps["no limit"]),
        apps["memory"].router.lifespan_context(apps["memory"]),
        apps["Redis"].router.lifespan_context(apps["Redis"]),
    ):
        names = list(apps)
        for at_once in (1, 64):
            cpu: dict[str, list[float]] = {name: [] for name in apps}
            for name in names:  # warm-up
                await timed(caller(apps[name], scope, metric), 500, 202)
            for round_ in range(rounds):
                # The order rotates, so that drift on the machine falls on each alike.
                for name in names[round_ % 3 :] + names[: round_ % 3]:
                    call = caller(apps[name], scope, metric)

                    async def request(_: int, call: Callable[[], Awaitable[int]] = call) -> None:
                        assert await call() == 202

                    cpu[name].append(await cpu_per_call(request, block, at_once))
            base = statistics.median(cpu["no limit"])
            for name, values in cpu.items():
                median = statistics.median(values)
                print(f"POST /metrics/inference, {at_once:2} at once, {name:9} "
                      f"{median:7.0f} {median - base:+7.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"monitorx-bench:{uuid.uuid4().hex[:8]}:"
    try:
        asyncio.run(layers_alone(args.requests))
        asyncio.run(redis_client(args.requests, args.redis, prefix))
        with tempfile.TemporaryDirectory(prefix="monitorx-bench-") as data:
            asyncio.run(whole_app(args.requests, args.rounds, Path(data), args.redis, prefix))
    finally:
        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
