"""``event_driven`` mode: every update published, to Redis or to the MonitorX server.

The collector calls its sink on the caller's thread; both sinks here return at once.

:class:`RedisEventPublisher` appends the event to a bounded queue (the oldest dropped
and counted when full); a daemon thread publishes queued events in batches, one
Redis pipeline per batch, as JSON on ``channel``:

    {"kind": "counter", "name": "requests", "labels": {"route": "/predict"},
     "value": 1.0, "timestamp": 1764625000.1, "unit": ""}

``redis`` is imported when the publisher starts (``pip install monitorx[redis]``).
Publishing failures are logged and the batch dropped and counted; never raised.

:class:`ServerEventSink` sends timer observations to the MonitorX server as
inference metrics of the model ``service`` (latency in ms, the timer's name and
labels as tags) through an :class:`~monitorx.sdk.exporter.Exporter`, which batches
them in the background. The HTTP API has no place for counters, gauges and other
histograms: they stay in the collector (queryable, and exposed to Prometheus).
"""

from __future__ import annotations

__all__ = ["PublisherStats", "RedisEventPublisher", "ServerEventSink"]

import importlib
import json
import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from monitorx.sdk.exporter import Exporter
from monitorx.sdk.instrument.metrics import InstrumentEvent

logger = logging.getLogger("monitorx.sdk")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_CHANNEL = "monitorx:events"


@dataclass(frozen=True, slots=True)
class PublisherStats:
    """Counters of a :class:`RedisEventPublisher` since it started."""

    published: int
    dropped: int
    failed: int
    queued: int


def event_json(event: InstrumentEvent) -> str:
    """The JSON an event is published as."""
    return json.dumps(asdict(event), separators=(",", ":"))


class RedisEventPublisher:
    """A sink that publishes events to a Redis channel from a background thread."""

    def __init__(
        self,
        url: str = DEFAULT_REDIS_URL,
        channel: str = DEFAULT_CHANNEL,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.1,
        queue_size: int = 10_000,
        redis_client: Any = None,
    ) -> None:
        self.url = url
        self.channel = channel
        self._batch_size = batch_size
        self._interval_s = flush_interval_s
        self._queue: deque[InstrumentEvent] = deque()
        self._queue_size = queue_size
        self._changed = threading.Condition()
        self._client = redis_client
        self._stop = False
        self._busy = False
        self._published = self._dropped = self._failed = 0
        self._thread: threading.Thread | None = None

    def __call__(self, event: InstrumentEvent) -> None:
        """Queue ``event`` (the collector's sink); never blocks on Redis, never raises."""
        with self._changed:
            if self._stop:
                self._dropped += 1
                return
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append(event)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="monitorx-redis-events", daemon=True
                )
                self._thread.start()
            if len(self._queue) >= self._batch_size:
                self._changed.notify_all()

    @property
    def stats(self) -> PublisherStats:
        """How many events were published, dropped (full queue) and failed."""
        with self._changed:
            return PublisherStats(self._published, self._dropped, self._failed, len(self._queue))

    def _connect(self) -> Any:
        if self._client is None:
            redis = importlib.import_module("redis")
            self._client = redis.Redis.from_url(self.url)
        return self._client

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._queue and not self._stop:
                    self._changed.wait(self._interval_s)
                if not self._queue:
                    if self._stop:
                        return
                    continue
                count = min(self._batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._busy = True
            try:
                pipeline = self._connect().pipeline(transaction=False)
                for event in batch:
                    pipeline.publish(self.channel, event_json(event))
                pipeline.execute()
                outcome = "published"
            except Exception as exc:  # Redis down: count, log, go on
                logger.warning("MonitorX could not publish %d events to Redis: %s", len(batch), exc)
                outcome = "failed"
            with self._changed:
                if outcome == "published":
                    self._published += len(batch)
                else:
                    self._failed += len(batch)
                self._busy = False
                self._changed.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was handed to Redis (or failed); False on timeout."""
        with self._changed:
            self._changed.notify_all()
            return self._changed.wait_for(
                lambda: not self._queue and not self._busy, timeout=timeout
            )

    def close(self, timeout: float = 2.0) -> None:
        """Flush, then stop the thread; later events are dropped and counted."""
        self.flush(timeout)
        with self._changed:
            self._stop = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


class ServerEventSink:
    """A sink that records timer observations as inference metrics of ``service``."""

    def __init__(self, exporter: Exporter, service: str) -> None:
        self.exporter = exporter
        self.service = service

    def __call__(self, event: InstrumentEvent) -> None:
        """Record a timer's observation through the exporter; ignore other events."""
        if event.unit != "seconds":
            return
        self.exporter.record(
            {
                "model_id": self.service,
                "latency": event.value * 1000.0,
                "timestamp": event.timestamp,
                "tags": {"metric": event.name, **event.labels},
            }
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the exporter delivered what was recorded."""
        return self.exporter.flush(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Shut the exporter down (flushing first)."""
        self.exporter.shutdown(timeout)
