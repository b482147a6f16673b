"""Alert transitions read back from the store, for the replica that notifies.

Where replicas share the store, any of them opens, updates, acknowledges and
resolves alerts, and only the holder of the notifier lease sends. It learns of
every transition here: each tick it reads the alerts updated since a little
before the newest update it has seen (`SLACK_S`: a replica's transaction may
commit after another's that it stamped earlier) and turns each change it has not
seen into the `AlertEvent` the engine would have given. Changes are judged by
alert id, update time and content (two changes may share a clock reading), so
reading an alert twice passes it on once.
"""

from __future__ import annotations

__all__ = ["SLACK_S", "StoreFeed"]

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitorx.alerting.engine import AlertChange, AlertEvent
from monitorx.core import Alert, AlertStatus
from monitorx.store import RegistryStore

SLACK_S = 10.0


class StoreFeed:
    def __init__(self, storage: RegistryStore) -> None:
        self._storage = storage
        self._seen: dict[str, Alert] = {}
        self._newest: datetime | None = None

    def start(self, seen: Sequence[Alert], now: datetime) -> None:
        """Count ``seen`` (what the notifier has just taken in) as heard; read from
        ``now`` on."""
        self._seen = {alert.id: alert for alert in seen}
        self._newest = max((a.updated_at for a in seen), default=now)
        self._newest = max(self._newest, now)

    def clear(self) -> None:
        self._seen.clear()
        self._newest = None

    async def poll(self) -> list[AlertEvent]:
        """The transitions stored since the last poll, oldest first (none once
        `clear` was called, even while this poll was reading)."""
        newest = self._newest
        if newest is None:
            return []
        found = await self._storage.alerts_updated_since(newest - timedelta(seconds=SLACK_S))
        if self._newest is None:
            return []  # cleared meanwhile: this replica no longer notifies
        seen = self._seen
        events: list[AlertEvent] = []
        for alert in found:
            before = seen.get(alert.id)
            if before is not None and (before == alert or before.updated_at > alert.updated_at):
                continue  # seen already, or an older read of it
            events += _events(before, alert)
            seen[alert.id] = alert
            newest = max(newest, alert.updated_at)
        self._newest = newest
        # What can no longer be read again need not be remembered.
        horizon = newest - timedelta(seconds=2 * SLACK_S)
        self._seen = {k: a for k, a in seen.items() if a.updated_at >= horizon}
        return events


def _events(before: Alert | None, alert: Alert) -> list[AlertEvent]:
    """What the engine would have told of the change from ``before`` to ``alert``."""
    if alert.status is AlertStatus.RESOLVED:
        if before is None:
            # Opened and resolved between two polls: routed as firing first, as the
            # engine's two transitions would have been (a group_wait keeps it unsent).
            firing = alert.evolve(status=AlertStatus.FIRING, resolved_at=None)
            return [AlertEvent(AlertChange.FIRED, firing), AlertEvent(AlertChange.RESOLVED, alert)]
        if before.status is AlertStatus.RESOLVED:
            return []
        return [AlertEvent(AlertChange.RESOLVED, alert, before)]
    if before is None:
        events = [AlertEvent(AlertChange.FIRED, alert)]
    else:
        events = [AlertEvent(AlertChange.UPDATED, alert, before)]
    if alert.acknowledged and (before is None or not before.acknowledged):
        events.append(AlertEvent(AlertChange.ACKNOWLEDGED, alert, before))
    return events
