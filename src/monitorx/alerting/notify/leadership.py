"""The cluster's notifier: the replica that holds the ``notifier`` lease sends.

Replicas sharing a store each run the alert engine, and the store keeps one alert
per identity between them; only one of them notifies. It holds the lease
(`store.leases.HeldLease`), reads every replica's transitions back from the store
(`StoreFeed`), and fences every write of its notifier — jobs, the notification
log, escalations, the delivery log — with the lease, so that a replica that
stalled past its lease can record nothing after it returns. When it dies, its
lease runs out and another replica takes over: it reads the notification log,
the pending jobs and the escalations back (`Notifier.take_over`), and sends what
was pending once.
"""

from __future__ import annotations

__all__ = ["TAKEOVER_LOOKBACK_S", "NotifierLeadership"]

from datetime import timedelta
from typing import Protocol

from monitorx.alerting.notify.notifier import Notifier
from monitorx.alerting.notify.store_feed import StoreFeed
from monitorx.core import Clock
from monitorx.store import LeaseStore, RegistryStore
from monitorx.store.leases import HeldLease

# How far back a new notifier looks for resolves its predecessor did not send.
TAKEOVER_LOOKBACK_S = 3600.0
LEASE_NAME = "notifier"


class _Store(RegistryStore, LeaseStore, Protocol):
    pass


class NotifierLeadership:
    def __init__(self, notifier: Notifier, storage: _Store, clock: Clock, holder: str) -> None:
        self._notifier = notifier
        self._storage = storage
        self._clock = clock
        self._feed = StoreFeed(storage)
        self.lease = HeldLease(
            storage,
            LEASE_NAME,
            holder,
            on_acquired=self._take_over,
            on_lost=self._step_down,
        )
        notifier.fence_with(lambda: self.lease.fence)

    async def _take_over(self) -> None:
        now = self._clock.now()
        active = await self._storage.active_alerts()
        recent = await self._storage.alerts_updated_since(
            now - timedelta(seconds=TAKEOVER_LOOKBACK_S)
        )
        await self._notifier.take_over(active, recent)
        self._feed.start([*recent, *active], now)

    async def _step_down(self) -> None:
        self._feed.clear()
        await self._notifier.reset()

    async def tick(self) -> None:
        """Scheduled on every replica: on the holder, take in the transitions stored
        since the last tick, then the notifier's own tick."""
        if not self.lease.holds():
            return
        events = await self._feed.poll()
        if events:
            await self._notifier.handle_events(events)
        await self._notifier.tick()
