"""The live feed across replicas: every replica's `LiveHub` messages through Redis.

A hub delivers what its own process committed; in a cluster (``Settings.distributed``)
a WebSocket on replica A must also see metrics posted to replica B and alerts that
changed on B. Each hub hands its messages to the process's `LiveRelay`, which
publishes each one once, already encoded, on ``<redis_prefix>live:<project>``;
every replica listens on ``<redis_prefix>live:*`` and gives the messages of *other*
replicas to its hubs (a message carries its process's origin id, so a replica
never delivers its own twice).

Publishing never waits: a message goes into a bounded queue that one task sends
from, in pipelines. While Redis is slow or away the queue keeps only the newest
`QUEUE_SIZE` messages and counts the rest as dropped — a live feed is about now,
and ingest must not slow down or grow memory because Redis did. Both the sender
and the listener come back by themselves with backoff when Redis does (no
restart), and `check` reports ``degraded`` meanwhile: the local feed goes on.

Only what someone follows is paid for: each replica announces, in the hash
``<redis_prefix>live-listeners``, the projects its WebSockets follow (a field
``<origin> <project>`` whose value is when it expires, renewed every
`PRESENCE_TICK_S`), and reads the others' at the same pace. A hub summarizes and
publishes a batch only when a WebSocket here or on another replica follows its
project (`wanted`); a WebSocket that opens is announced at once, so the other
replicas start sending within about a second.

A payload is ``<origin> <json>``: the origin id (hex, no space) then the message
as the WebSocket sends it.
"""

from __future__ import annotations

__all__ = ["QUEUE_SIZE", "LiveRelay", "channel_prefix"]

import asyncio
import contextlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from monitorx.core.backoff import Backoff
from monitorx.core.health import Check, Health
from monitorx.server.rate_limits.redis_buckets import describe_redis_url

log = logging.getLogger(__name__)

# Messages waiting to be published before the oldest are dropped: seconds of a busy
# server's batches, and a bound on memory while Redis is away.
QUEUE_SIZE = 4096
# How long one publishing round trip or health ping may take.
REDIS_TIMEOUT_S = 1.0
# How often the listener hears from Redis at the latest (it pings when idle), so
# that a Redis that went away unannounced is noticed.
LISTEN_POLL_S = 1.0
RECONNECT = Backoff(initial_s=0.1, max_s=5.0, jitter=0.2)
# How often a replica renews the projects it follows and reads the others'…
PRESENCE_TICK_S = 1.0
# …and how long an announcement holds without renewal (a replica that died stops
# costing the others after this; generous for clocks that differ a little).
PRESENCE_TTL_S = 15.0


class Follower(Protocol):
    """A project's hub, as the relay sees it."""

    @property
    def subscriber_count(self) -> int: ...

    def deliver(self, message: dict[str, Any]) -> None: ...


def channel_prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}live:"


class LiveRelay:
    """One per process: publishes its hubs' messages and delivers other replicas'."""

    def __init__(self, client: Redis, listener: Redis, redis_prefix: str, where: str) -> None:
        self._client = client  # short timeouts: publishing and pings
        self._listener = listener  # no read timeout: it waits for messages
        self._channel = channel_prefix(redis_prefix)
        self._presence_key = f"{redis_prefix}live-listeners"
        self._where = where
        self.origin = uuid.uuid4().hex
        self._origin_bytes = self.origin.encode()
        self._hubs: dict[str, Follower] = {}
        self._announced: set[str] = set()  # projects this replica said it follows
        self._wanted: frozenset[str] = frozenset()  # projects followed elsewhere
        self._presence_wake = asyncio.Event()
        self._pending: deque[tuple[str, bytes]] = deque(maxlen=QUEUE_SIZE)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._publish_failure: str | None = None
        self._listen_failure: str | None = None
        self._listening = False
        self.published = 0
        self.received = 0
        self.dropped = 0  # messages never published: the queue was full

    @classmethod
    def from_url(cls, url: str, redis_prefix: str) -> LiveRelay:
        client = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),  # the sender retries, with backoff
        )
        listener = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 0)
        )
        return cls(client, listener, redis_prefix, describe_redis_url(url))

    @property
    def listening(self) -> bool:
        """Whether this replica hears the others now."""
        return self._listening

    def attach(self, project: str, hub: Follower) -> None:
        """Give ``project``'s messages from other replicas to ``hub``."""
        self._hubs[project] = hub

    def wanted(self, project: str) -> bool:
        """Whether a WebSocket on another replica follows ``project``."""
        return project in self._wanted

    def followers_changed(self) -> None:
        """A hub's first WebSocket came or its last one went: announce it now."""
        if self._loop is not None and threading.get_ident() == self._loop_thread:
            self._presence_wake.set()

    def publish(self, project: str, message: dict[str, Any]) -> None:
        """Queue ``message`` for the other replicas; never waits, never raises."""
        payload = self._origin_bytes + b" " + orjson.dumps(message, option=orjson.OPT_UTC_Z)
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append((self._channel + project, payload))
        loop = self._loop
        if loop is None:
            return  # not started (or stopped): what is queued goes out at start
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._tasks = [
            asyncio.create_task(self._send_forever(), name="monitorx-live-relay-send"),
            asyncio.create_task(self._listen_forever(), name="monitorx-live-relay-listen"),
            asyncio.create_task(self._presence_forever(), name="monitorx-live-relay-presence"),
        ]
        if self._pending:
            self._wake.set()

    async def close(self) -> None:
        self._loop = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._client.aclose()
        await self._listener.aclose()

    # Publishing.

    async def _send_forever(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = list(self._pending)
                self._pending.clear()
                try:
                    await self._send(batch)
                except Exception as exc:  # whatever it is, the sender must go on
                    # Put back what fits before what came meanwhile (the newest
                    # win: a live feed is about now); the rest is dropped.
                    room = (self._pending.maxlen or 0) - len(self._pending)
                    kept = batch[max(0, len(batch) - room) :] if room > 0 else []
                    self._pending.extendleft(reversed(kept))
                    self.dropped += len(batch) - len(kept)
                    self._failed("publishing", exc, sending=True)
                    await asyncio.sleep(RECONNECT.delay_s(attempt, random.random()))
                    attempt += 1
                    continue
                attempt = 0
                self.published += len(batch)
                if self._publish_failure is not None:
                    self._publish_failure = None
                    log.warning("Redis at %s answers again: the live feed is shared", self._where)

    async def _send(self, batch: list[tuple[str, bytes]]) -> None:
        if len(batch) == 1:
            await self._client.publish(*batch[0])
            return
        pipe = self._client.pipeline(transaction=False)
        for channel, payload in batch:
            pipe.publish(channel, payload)
        await pipe.execute()

    # Listening.

    async def _listen_forever(self) -> None:
        attempt = 0
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._channel + "*")
                self._listening = True
                if self._listen_failure is not None:
                    self._listen_failure = None
                    log.warning(
                        "Redis at %s answers again: other replicas' live feed is back",
                        self._where,
                    )
                attempt = 0
                await self._receive(pubsub)
            except Exception as exc:  # whatever it is, the listener must come back
                self._failed("listening", exc, sending=False)
            finally:
                self._listening = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT.delay_s(attempt, random.random()))
            attempt += 1

    async def _receive(self, pubsub: PubSub) -> None:
        idle_since = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=LISTEN_POLL_S)
            if message is None:
                if time.monotonic() - idle_since >= LISTEN_POLL_S:
                    await asyncio.wait_for(pubsub.ping(), REDIS_TIMEOUT_S)
                    idle_since = time.monotonic()
                continue
            idle_since = time.monotonic()
            if message["type"] != "pmessage":
                continue
            self._deliver(message["channel"], message["data"])

    def _deliver(self, channel: bytes, payload: bytes) -> None:
        origin, _, body = payload.partition(b" ")
        if origin == self._origin_bytes:
            return  # this process' own: its hubs delivered it already
        project = channel[len(self._channel) :].decode()
        hub = self._hubs.get(project)
        if hub is None:
            return  # a project nobody here has opened: nobody here follows it
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            log.warning("a live message on %s is not JSON; ignored", channel.decode())
            return
        self.received += 1
        hub.deliver(message)

    # Who follows what.

    async def _presence_forever(self) -> None:
        attempt = 0
        while True:
            try:
                await self._presence_once()
            except Exception as exc:  # Redis away: the sender and listener say so
                log.debug("announcing live listeners failed: %s", exc)
                await asyncio.sleep(RECONNECT.delay_s(attempt, random.random()))
                attempt += 1
                continue
            attempt = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._presence_wake.wait(), PRESENCE_TICK_S)
            self._presence_wake.clear()

    async def _presence_once(self) -> None:
        """Renew what this replica follows, withdraw what it stopped following, and
        read what the others follow (one round trip)."""
        now = time.time()
        mine = {project for project, hub in self._hubs.items() if hub.subscriber_count}
        pipe = self._client.pipeline(transaction=False)
        if mine:
            expires = str(now + PRESENCE_TTL_S)
            pipe.hset(self._presence_key, mapping={f"{self.origin} {p}": expires for p in mine})
        gone = self._announced - mine
        if gone:
            pipe.hdel(self._presence_key, *(f"{self.origin} {p}" for p in gone))
        pipe.hgetall(self._presence_key)
        pipe.expire(self._presence_key, round(PRESENCE_TTL_S * 4))
        answers = await pipe.execute()
        self._announced = mine
        everyone: dict[bytes, bytes] = answers[-2]
        wanted: set[str] = set()
        expired: list[bytes] = []
        for field, expires_at in everyone.items():
            origin, _, project = field.decode().partition(" ")
            if float(expires_at) < now:
                expired.append(field)
            elif origin != self.origin:
                wanted.add(project)
        self._wanted = frozenset(wanted)
        if expired:  # a replica that stopped without withdrawing
            await self._client.hdel(self._presence_key, *expired)

    # Health.

    def _failed(self, doing: str, exc: Exception, *, sending: bool) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        first = (self._publish_failure if sending else self._listen_failure) is None
        if sending:
            self._publish_failure = reason
        else:
            self._listen_failure = reason
        if first:
            log.warning(
                "Redis at %s failed while %s (%s): the live feed stays within each "
                "replica until it answers",
                self._where,
                doing,
                reason,
            )

    async def check(self) -> Check:
        """Pings Redis: ``degraded`` while it does not answer, or while this replica
        does not hear the others (each replica's feed is then its own)."""
        measured: dict[str, Any] = {
            "redis": self._where,
            "live_published": self.published,
            "live_received": self.received,
            "live_dropped": self.dropped,
            "live_followed_elsewhere": sorted(self._wanted),
        }
        started = time.perf_counter()
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            reason = (
                f"Redis at {self._where} does not answer ({type(exc).__name__}: {exc}): "
                "each replica's live feed is its own until it does"
            )
            return Check(Health.DEGRADED, reason, measured)
        measured["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if not self._listening:
            reason = f"not yet listening to the other replicas through Redis at {self._where}" + (
                f" ({self._listen_failure})" if self._listen_failure else ""
            )
            return Check(Health.DEGRADED, reason, measured)
        return Check(Health.HEALTHY, "", measured)
