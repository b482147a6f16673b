"""The alert engine: breaches in, alert state changes out.

Identity is (model, alert type, labels) — the same set the fingerprint is taken
over: while such an alert is not resolved, new breaches update it (latest value,
severity only upwards) instead of opening another. Threshold breaches carry no
labels, so for them identity is (model, alert type) as API.md states.

An alert resolves by hand, or by itself once no breach has been seen for the clear
period — except alerts owned by an evaluator with its own clear logic (a window
rule's ``rule`` label, an SLO's ``slo`` label): those resolve when their evaluator
says so (`resolve_identity`). Every change is stored before listeners hear of it.
"""

from __future__ import annotations

__all__ = [
    "OWNED_LABELS",
    "AlertChange",
    "AlertEngine",
    "AlertEvent",
    "AlertKey",
    "AlertListener",
    "BatchListener",
    "alert_key",
]

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from monitorx.core import Alert, AlertStatus, AlertType, Breach, Clock, NotFound
from monitorx.store import RegistryStore

logger = logging.getLogger("monitorx.alerting")


class AlertChange(StrEnum):
    """What happened to an alert."""

    FIRED = "fired"  # a new alert
    UPDATED = "updated"  # a new breach of a firing alert (value, maybe severity)
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition of one alert: the alert as it is now, and as it was before."""

    change: AlertChange
    alert: Alert
    previous: Alert | None = None


# A listener may be a coroutine function or a plain function (an in-process handler).
AlertListener = Callable[[AlertEvent], Awaitable[None] | None]
BatchListener = Callable[[Sequence[AlertEvent]], Awaitable[None]]
AlertKey = tuple[str | None, AlertType, tuple[tuple[str, str], ...]]
# Labels that mark an alert whose evaluator resolves it (not the clear period).
OWNED_LABELS = ("rule", "slo")


def alert_key(
    model_id: str | None, alert_type: AlertType, labels: Mapping[str, str] | None = None
) -> AlertKey:
    """An alert's identity: model, type and its own labels."""
    return (model_id, alert_type, tuple(sorted((labels or {}).items())))


def _key(alert: Alert | Breach) -> AlertKey:
    return alert_key(alert.model_id, alert.alert_type, alert.labels)


def _owned(alert: Alert) -> bool:
    return any(name in alert.labels for name in OWNED_LABELS)


class AlertEngine:
    """Owns the lifecycle of every alert of one project."""

    def __init__(self, storage: RegistryStore, clock: Clock, clear_period_s: float) -> None:
        self._storage = storage
        self._clock = clock
        self._clear_period = timedelta(seconds=clear_period_s)
        self._active: dict[AlertKey, Alert] = {}
        self._lock = asyncio.Lock()
        self._listeners: list[AlertListener] = []
        self._batch_listeners: list[BatchListener] = []

    def add_listener(self, listener: AlertListener) -> None:
        """Call ``listener`` with every transition, after it is stored. A listener that
        raises is logged and does not stop the others."""
        self._listeners.append(listener)

    def add_batch_listener(self, listener: BatchListener) -> None:
        """Call ``listener`` once with all the transitions of one step (a storm of
        breaches is one step), before the per-transition listeners."""
        self._batch_listeners.append(listener)

    async def load(self) -> None:
        """Pick up the alerts that are active in the store: at start, and, where
        replicas share the store, every tick (what they opened or resolved)."""
        async with self._lock:
            await self._refresh_locked()

    async def _refresh_locked(self) -> None:
        self._active = {_key(a): a for a in await self._storage.active_alerts()}

    def active_count(self, model_id: str) -> int:
        return sum(1 for key in self._active if key[0] == model_id)

    def active(self) -> list[Alert]:
        """Every alert that is not resolved, oldest first."""
        return sorted(self._active.values(), key=lambda a: (a.started_at, a.id))

    def find(
        self, model_id: str, alert_type: AlertType, labels: Mapping[str, str] | None = None
    ) -> Alert | None:
        """The unresolved alert with this identity, if any."""
        return self._active.get(alert_key(model_id, alert_type, labels))

    def active_counts(self) -> dict[str, int]:
        """Per model, its unresolved alerts (those of no model are not counted)."""
        counts: dict[str, int] = {}
        for model_id, *_ in self._active:
            if model_id is not None:
                counts[model_id] = counts.get(model_id, 0) + 1
        return counts

    async def process(self, breaches: Iterable[Breach]) -> list[Alert]:
        """Open or update an alert for each identity breached; return the alerts that
        changed. The store decides, atomically per identity, whether a breach opens
        an alert or updates the open one (`RegistryStore.open_or_update_alerts`), so
        replicas sharing a store that see one model breach open one alert between
        them, and a breach never writes back an alert resolved meanwhile."""
        async with self._lock:
            opened: dict[AlertKey, Alert] = {}
            for breach in breaches:
                key = _key(breach)
                candidate = self._opened(breach)
                earlier = opened.get(key)
                opened[key] = candidate if earlier is None else earlier.absorb(candidate)
            if not opened:
                return []
            # One commit for a whole storm of breaches, before anyone hears of them.
            stored = await self._storage.open_or_update_alerts(list(opened.values()))
            events: list[AlertEvent] = []
            for key, (alert, is_new) in zip(opened, stored, strict=True):
                previous = None if is_new else self._active.get(key)
                change = AlertChange.FIRED if is_new else AlertChange.UPDATED
                events.append(AlertEvent(change, alert, previous))
                self._active[key] = alert
        await self._notify(events)
        return [e.alert for e in events]

    def _opened(self, breach: Breach) -> Alert:
        """The alert ``breach`` opens when its identity has none open."""
        now = self._clock.now()
        return Alert(
            id=uuid.uuid4().hex,
            model_id=breach.model_id,
            alert_type=breach.alert_type,
            severity=breach.severity,
            status=AlertStatus.FIRING,
            message=breach.message,
            value=breach.value,
            threshold=breach.threshold,
            started_at=now,
            last_breach_at=now,
            updated_at=now,
            labels=dict(breach.labels),
        )

    async def resolve(self, alert_id: str) -> Alert:
        """Resolve by hand; resolving a resolved alert changes nothing."""
        async with self._lock:
            resolved = await self._storage.resolve_alerts([alert_id], self._clock.now())
            if not resolved:
                return await self._get(alert_id)  # resolved already, or no such alert
            self._forget(resolved)
        await self._notify([AlertEvent(AlertChange.RESOLVED, resolved[0])])
        return resolved[0]

    async def resolve_identity(
        self, model_id: str | None, alert_type: AlertType, labels: Mapping[str, str] | None = None
    ) -> Alert | None:
        """Resolve the unresolved alert with this identity (an evaluator's clear)."""
        resolved = await self.resolve_identities([(model_id, alert_type, labels)])
        return resolved[0] if resolved else None

    async def resolve_identities(
        self, identities: Iterable[tuple[str | None, AlertType, Mapping[str, str] | None]]
    ) -> list[Alert]:
        """Resolve the unresolved alerts with these identities, in one commit (a
        recovery of many groups at once is one step, as a storm is)."""
        async with self._lock:
            keys = list(dict.fromkeys(alert_key(*identity) for identity in identities))
            if not keys:
                return []
            await self._refresh_locked()  # what other replicas opened meanwhile
            ids = [self._active[key].id for key in keys if key in self._active]
            resolved = await self._storage.resolve_alerts(ids, self._clock.now())
            self._forget(resolved)
        await self._notify([AlertEvent(AlertChange.RESOLVED, a) for a in resolved])
        return resolved

    async def acknowledge(self, alert_id: str) -> Alert:
        async with self._lock:
            alert = await self._storage.acknowledge_alert(alert_id, self._clock.now())
            if alert is None:
                return await self._get(alert_id)  # acknowledged already, or none
            key = _key(alert)
            if key in self._active and self._active[key].id == alert.id:
                self._active[key] = alert
        await self._notify([AlertEvent(AlertChange.ACKNOWLEDGED, alert)])
        return alert

    async def resolve_cleared(self) -> list[Alert]:
        """Resolve every alert with no breach for the clear period (run by the
        scheduler). The candidates are the ones this engine knows (where replicas
        share the store, it reads theirs every second: `load`); the store resolves
        only those still not breached since, so an alert breached meanwhile through
        another replica stays."""
        now = self._clock.now()
        cutoff = now - self._clear_period
        async with self._lock:
            ids = [
                alert.id
                for alert in self._active.values()
                if not _owned(alert) and alert.last_breach_at <= cutoff
            ]
            if not ids:
                return []
            resolved = await self._storage.resolve_alerts(ids, now, breached_before=cutoff)
            self._forget(resolved)
        await self._notify([AlertEvent(AlertChange.RESOLVED, a) for a in resolved])
        return resolved

    def _forget(self, resolved: Iterable[Alert]) -> None:
        for alert in resolved:
            key = _key(alert)
            if key in self._active and self._active[key].id == alert.id:
                del self._active[key]

    def forget_model(self, model_id: str) -> None:
        """Drop a purged model's alerts from memory (their rows are gone)."""
        for key in [k for k in self._active if k[0] == model_id]:
            del self._active[key]

    async def _get(self, alert_id: str) -> Alert:
        alert = await self._storage.get_alert(alert_id)
        if alert is None:
            raise NotFound(f"no alert with id {alert_id!r}")
        return alert

    async def _notify(self, events: list[AlertEvent]) -> None:
        if not events:
            return
        for batch_listener in self._batch_listeners:
            try:
                await batch_listener(events)
            except Exception:
                logger.exception("alert listener %r failed", batch_listener)
        for event in events:
            for listener in self._listeners:
                try:
                    result = listener(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception(
                        "alert listener %r failed for alert %s", listener, event.alert.id
                    )
