"""The live hub: fans accepted metrics and alert changes out to WebSocket clients.

The ingest path publishes once per committed batch (`publish_batch`), never per
metric, and only pays for a summary when someone listens: with no subscriber it
returns at once. A batch becomes one message per model in it::

    {"type": "metrics", "model_id": "fraud-v3", "count": 120, "errors": 2,
     "latency_mean": 41.2, "latency_max": 97.0, "latency_last": 40.1,
     "first": "2026-11-22T12:00:00Z", "last": "2026-11-22T12:00:01Z"}

The alert engine publishes each transition (`publish_alert`, an engine listener)::

    {"type": "alert", "change": "fired" | "updated" | "acknowledged" | "resolved",
     "alert": {...the Alert as GET /api/v1/alerts/{id} returns it...}}

In a cluster the hub also hands each message to the process's `LiveRelay`
(server/live_relay.py), which publishes it to the other replicas through Redis and
brings theirs here (`deliver`); then a batch is summarized when someone follows
its project here or on another replica (`LiveRelay.wanted`).

Each subscriber has a bounded queue. Publishing never waits: when a slow client's
queue is full the oldest message is dropped (and counted), so one stalled browser
cannot hold up ingest or grow the server's memory.
"""

from __future__ import annotations

__all__ = ["DEFAULT_QUEUE_SIZE", "LiveHub", "Subscription", "batch_summaries", "send_message"]

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
from starlette.websockets import WebSocket

from monitorx.alerting.engine import AlertEvent
from monitorx.core import MetricColumns
from monitorx.core.timeparse import from_epoch_us
from monitorx.evaluation.batches import metric_arrays
from monitorx.server.responses import alert_json

if TYPE_CHECKING:
    from monitorx.server.live_relay import LiveRelay

# Messages a client may fall behind by before the oldest are dropped. A browser
# tab that renders a few messages a second never gets near it.
DEFAULT_QUEUE_SIZE = 256


def _iso(ts_us: int) -> str:
    return from_epoch_us(ts_us).isoformat().replace("+00:00", "Z")


def batch_summaries(batch: pa.Table | MetricColumns) -> list[dict[str, Any]]:
    """One ``metrics`` message per model of a committed batch, in model id order."""
    arrays = metric_arrays(batch)
    latency = arrays.values["latency"]
    messages: list[dict[str, Any]] = []
    for code, model_id in enumerate(arrays.model_ids):
        rows = np.flatnonzero(arrays.model_code == code)
        if rows.size == 0:
            continue
        ts = arrays.ts_us[rows]
        lat = latency[rows]
        last = rows[int(np.argmax(ts))]
        messages.append(
            {
                "type": "metrics",
                "model_id": model_id,
                "count": int(rows.size),
                "errors": int(np.count_nonzero(arrays.error[rows])),
                "latency_mean": float(np.mean(lat)),
                "latency_max": float(np.max(lat)),
                "latency_last": float(latency[last]),
                "first": _iso(int(ts.min())),
                "last": _iso(int(ts.max())),
            }
        )
    return messages


class Subscription:
    """One client's view of the hub: the models it follows and its pending messages.

    ``models`` of None follows every model. ``dropped`` counts messages lost
    because the client fell more than ``maxlen`` behind.
    """

    def __init__(self, models: frozenset[str] | None, maxlen: int) -> None:
        self.models = models
        self.dropped = 0
        self._pending: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()

    def wants(self, model_id: str | None) -> bool:
        """A message about ``model_id`` (None: about no one model, which only those
        following every model get)."""
        return self.models is None or model_id in self.models

    def offer(self, message: dict[str, Any]) -> None:
        """Queue without waiting; a full queue drops its oldest message."""
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(message)
        self._ready.set()

    async def next(self) -> dict[str, Any]:
        """The oldest pending message, waiting for one when there is none."""
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        return self._pending.popleft()

    async def forward(self, websocket: WebSocket) -> None:
        """Send each message to ``websocket`` as it comes, until cancelled."""
        while True:
            await send_message(websocket, await self.next())


async def send_message(websocket: WebSocket, message: dict[str, Any]) -> None:
    """One message as JSON text, times in RFC 3339 UTC."""
    await websocket.send_text(orjson.dumps(message, option=orjson.OPT_UTC_Z).decode())


class LiveHub:
    """The subscribers of one server process and what is published to them."""

    def __init__(
        self,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        relay: LiveRelay | None = None,
        project: str = "",
    ) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self.relay = relay
        self._project = project
        if relay is not None:
            relay.attach(project, self)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self, models: frozenset[str] | None = None) -> Subscription:
        subscription = Subscription(models, self._queue_size)
        self._subscribers.add(subscription)
        if len(self._subscribers) == 1 and self.relay is not None:
            self.relay.followers_changed()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.discard(subscription)
            if not self._subscribers and self.relay is not None:
                self.relay.followers_changed()

    def _wanted_elsewhere(self) -> bool:
        return self.relay is not None and self.relay.wanted(self._project)

    def publish_batch(self, batch: pa.Table | MetricColumns) -> None:
        """Announce a committed batch of inference metrics (cheap when nobody listens)."""
        if not self._subscribers and not self._wanted_elsewhere():
            return
        for message in batch_summaries(batch):
            self.announce(message["model_id"], message)

    def publish_alert(self, event: AlertEvent) -> None:
        """An alert engine listener: announce one alert transition."""
        if not self._subscribers and not self._wanted_elsewhere():
            return
        message = {"type": "alert", "change": event.change.value, "alert": alert_json(event.alert)}
        self.announce(event.alert.model_id, message)

    def announce(self, model_id: str | None, message: dict[str, Any]) -> None:
        """``message`` (about ``model_id``) to this process' followers and, in a
        cluster, to the other replicas' (when one of them follows this project)."""
        self._fan_out(model_id, message)
        if self.relay is not None and self.relay.wanted(self._project):
            self.relay.publish(self._project, message)

    def deliver(self, message: dict[str, Any]) -> None:
        """A message another replica published (through the relay)."""
        if not self._subscribers:
            return
        if message.get("type") == "alert":
            model_id = (message.get("alert") or {}).get("model_id")
        else:
            model_id = message.get("model_id")
        self._fan_out(model_id, message)

    def _fan_out(self, model_id: str | None, message: dict[str, Any]) -> None:
        for subscription in self._subscribers:
            if subscription.wants(model_id):
                subscription.offer(message)
