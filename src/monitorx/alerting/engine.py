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
        """Pick up the alerts that were active when the server last stopped."""
        async with self._lock:
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
        """Open or update an alert for each breach; return the alerts that changed."""
        events: list[AlertEvent] = []
        async with self._lock:
            changed: dict[AlertKey, Alert] = {}
            for breach in breaches:
                previous = changed.get(_key(breach)) or self._active.get(_key(breach))
                alert = self._apply(breach, previous)
                changed[_key(alert)] = alert
                change = AlertChange.FIRED if previous is None else AlertChange.UPDATED
                events.append(AlertEvent(change, alert, previous))
            # One commit for a whole storm of breaches, before anyone hears of them.
            await self._storage.save_alerts(list(changed.values()))
            self._active.update(changed)
        await self._notify(events)
        return [e.alert for e in events]

    def _apply(self, breach: Breach, current: Alert | None) -> Alert:
        now = self._clock.now()
        if current is None:
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
        rises = breach.severity.rank > current.severity.rank
        return current.evolve(
            value=breach.value,
            threshold=breach.threshold,
            message=breach.message,
            severity=breach.severity if rises else current.severity,
            last_breach_at=now,
            updated_at=now,
        )

    async def resolve(self, alert_id: str) -> Alert:
        """Resolve by hand; resolving a resolved alert changes nothing."""
        async with self._lock:
            alert = await self._get(alert_id)
            if alert.status is AlertStatus.RESOLVED:
                return alert
            previous, alert = alert, await self._resolve_locked(alert)
        await self._notify([AlertEvent(AlertChange.RESOLVED, alert, previous)])
        return alert

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
        events: list[AlertEvent] = []
        async with self._lock:
            keys = list(dict.fromkeys(alert_key(*identity) for identity in identities))
            for key in keys:
                alert = self._active.get(key)
                if alert is not None:
                    events.append(AlertEvent(AlertChange.RESOLVED, self._resolved(alert), alert))
            await self._storage.save_alerts([e.alert for e in events])
            for key in keys:
                self._active.pop(key, None)
        await self._notify(events)
        return [e.alert for e in events]

    async def _resolve_locked(self, alert: Alert) -> Alert:
        alert = self._resolved(alert)
        await self._storage.save_alert(alert)
        key = _key(alert)
        if key in self._active and self._active[key].id == alert.id:
            del self._active[key]
        return alert

    async def acknowledge(self, alert_id: str) -> Alert:
        async with self._lock:
            alert = await self._get(alert_id)
            if alert.acknowledged:
                return alert
            now = self._clock.now()
            previous = alert
            alert = alert.evolve(acknowledged=True, acknowledged_at=now, updated_at=now)
            await self._storage.save_alert(alert)
            key = _key(alert)
            if key in self._active and self._active[key].id == alert.id:
                self._active[key] = alert
        await self._notify([AlertEvent(AlertChange.ACKNOWLEDGED, alert, previous)])
        return alert

    async def resolve_cleared(self) -> list[Alert]:
        """Resolve every alert with no breach for the clear period (run by the scheduler)."""
        now = self._clock.now()
        events: list[AlertEvent] = []
        async with self._lock:
            for alert in list(self._active.values()):
                if not _owned(alert) and now - alert.last_breach_at >= self._clear_period:
                    events.append(AlertEvent(AlertChange.RESOLVED, self._resolved(alert), alert))
            await self._storage.save_alerts([e.alert for e in events])
            for event in events:
                del self._active[_key(event.alert)]
        await self._notify(events)
        return [e.alert for e in events]

    def forget_model(self, model_id: str) -> None:
        """Drop a purged model's alerts from memory (their rows are gone)."""
        for key in [k for k in self._active if k[0] == model_id]:
            del self._active[key]

    def _resolved(self, alert: Alert) -> Alert:
        now = self._clock.now()
        return alert.evolve(status=AlertStatus.RESOLVED, resolved_at=now, updated_at=now)

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
