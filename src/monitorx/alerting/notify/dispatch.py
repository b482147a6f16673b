"""Aggregation groups and when they notify: Alertmanager's dispatcher and dedup stage.

An alert that lands on a route (`routing.match_routes`) joins the aggregation group
of that route and its ``group_by`` labels. A new group waits ``group_wait`` before
its first flush (at once when the alert is already older than that, e.g. after a
restart); after each flush it waits ``group_interval``. A flush takes the group's
alerts that are not muted (silenced or inhibited) and, for each receiver, decides
by the notification log of the last successful send (notify/dedup_stage.go):

1. nothing sent yet: notify if something fires;
2. an alert fires that was not firing in the last send: notify;
3. nothing fires now but something did last time: notify ("all resolved"; the
   receiver drops it when it does not want resolved notifications);
4. ``send_resolved`` and an alert resolved since the last send: notify;
5. otherwise notify only when the last send is ``repeat_interval`` old.

Resolved alerts leave the group after a successful flush; an empty group is
removed. Time comes from the injectable clock; `due` and `flush` are driven by the
caller (the scheduler's tick), so tests step time instead of sleeping.
"""

from __future__ import annotations

__all__ = ["AggregationGroup", "Dispatcher", "NotificationLogEntry", "needs_update"]

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitorx.alerting.notify.notification import Notification, NotifiedAlert
from monitorx.alerting.notify.routing import (
    Route,
    RouteMatch,
    group_key,
    group_labels,
    match_routes,
)
from monitorx.core import Clock

Deliver = Callable[[Notification], Awaitable[bool]]
Muted = Callable[[NotifiedAlert], bool]
LogSaved = Callable[[str, str, "NotificationLogEntry"], Awaitable[None]]
GroupDropped = Callable[[str], Awaitable[None]]


async def _ignore_log(_key: str, _receiver: str, _entry: NotificationLogEntry) -> None:
    return None


async def _ignore_drop(_key: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class NotificationLogEntry:
    """What was last sent to one receiver for one group, and when."""

    firing: frozenset[str]
    resolved: frozenset[str]
    sent_at: datetime


def needs_update(
    entry: NotificationLogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat_interval: timedelta,
    now: datetime,
) -> bool:
    """Alertmanager's rule for whether a group's current state is worth sending."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing and entry.firing:
        return True
    if send_resolved and not resolved <= entry.resolved:
        return True
    return now - entry.sent_at >= repeat_interval


@dataclass(slots=True)
class AggregationGroup:
    key: str
    match: RouteMatch
    labels: dict[str, str]
    next_flush: datetime
    alerts: dict[str, NotifiedAlert] = field(default_factory=dict)
    log: dict[str, NotificationLogEntry] = field(default_factory=dict)


class Dispatcher:
    """Routes alerts into groups and flushes the groups that are due."""

    def __init__(
        self,
        routes: tuple[Route, ...],
        clock: Clock,
        deliver: Deliver,
        send_resolved: Mapping[str, bool] | None = None,
        muted: Muted | None = None,
        external_url: str = "",
        on_log: LogSaved = _ignore_log,
        on_drop: GroupDropped = _ignore_drop,
    ) -> None:
        self._routes = routes
        self._clock = clock
        self._deliver = deliver
        self._send_resolved = dict(send_resolved or {})
        self._muted = muted or (lambda _alert: False)
        self._external_url = external_url
        self._groups: dict[str, AggregationGroup] = {}
        # Notification logs kept across a restart, by group key, until the group returns.
        self._restored: dict[str, dict[str, NotificationLogEntry]] = {}
        self._on_log = on_log
        self._on_drop = on_drop

    def restore_log(self, key: str, receiver: str, entry: NotificationLogEntry) -> None:
        """What was last sent to ``receiver`` for group ``key`` before a restart, so
        that re-adding the group's alerts does not notify them again."""
        self._restored.setdefault(key, {})[receiver] = entry

    def clear(self) -> None:
        """Forget every group and restored log (another replica notifies now)."""
        self._groups.clear()
        self._restored.clear()

    def heard_firing(self) -> set[str]:
        """Fingerprints some receiver was last told are firing, by the logs of the
        groups and those restored: what a resolve must still be sent for."""
        logs = [*(g.log for g in self._groups.values()), *self._restored.values()]
        return {fp for log in logs for entry in log.values() for fp in entry.firing}

    def set_send_resolved(self, send_resolved: Mapping[str, bool]) -> None:
        self._send_resolved = dict(send_resolved)

    @property
    def groups(self) -> dict[str, AggregationGroup]:
        return self._groups

    def set_routes(self, routes: tuple[Route, ...]) -> None:
        """New routes apply to alerts from now on; existing groups finish as they are."""
        self._routes = routes

    def add(self, alert: NotifiedAlert) -> list[str]:
        """Put an alert (new, updated or resolved) into its groups; return their keys."""
        now = self._clock.now()
        keys = []
        for match in match_routes(self._routes, alert.labels):
            key = group_key(match, alert.labels)
            group = self._groups.get(key)
            if group is None and not alert.firing:
                continue  # the resolve of an alert this group never held
            if group is None:
                wait = timedelta(seconds=match.options.group_wait_s)
                # The wait counts from the alert's start, not from when it reached
                # this notifier (in a cluster, a tick after another replica opened
                # it); an alert already older than group_wait flushes at once.
                first = max(now, alert.starts_at + wait)
                group = AggregationGroup(key, match, group_labels(match, alert.labels), first)
                group.log = self._restored.pop(key, {})
                self._groups[key] = group
            if alert.firing or alert.fingerprint in group.alerts:
                group.alerts[alert.fingerprint] = alert
            keys.append(key)
        # Groups that hold the alert but that its labels no longer lead to (its
        # severity rose onto another route) keep it, updated, until it resolves.
        for key, group in self._groups.items():
            if key not in keys and alert.fingerprint in group.alerts:
                group.alerts[alert.fingerprint] = alert
                keys.append(key)
        return keys

    def due(self) -> list[AggregationGroup]:
        now = self._clock.now()
        return [g for g in self._groups.values() if g.next_flush <= now]

    async def flush_due(self) -> int:
        """Flush every group whose timer has run out; return notifications sent."""
        sent = 0
        for group in self.due():
            sent += await self.flush(group)
        return sent

    async def flush(self, group: AggregationGroup) -> int:
        now = self._clock.now()
        options = group.match.options
        group.next_flush = now + timedelta(seconds=options.group_interval_s)
        snapshot = dict(group.alerts)
        shown = [a for a in snapshot.values() if not self._muted(a)]
        firing = frozenset(a.fingerprint for a in shown if a.firing)
        resolved = frozenset(a.fingerprint for a in shown if not a.firing)
        all_delivered = True
        sent = 0
        for receiver in options.receivers:
            wants_resolved = self._send_resolved.get(receiver, True)
            entry = group.log.get(receiver)
            repeat = timedelta(seconds=options.repeat_interval_s)
            if not needs_update(entry, firing, resolved, wants_resolved, repeat, now):
                continue
            alerts = tuple(
                a
                for a in sorted(shown, key=lambda a: (a.starts_at, a.fingerprint))
                if a.firing or wants_resolved
            )
            if alerts:
                notification = Notification(
                    receiver=receiver,
                    alerts=alerts,
                    group_labels=group.labels,
                    group_key=group.key,
                    external_url=self._external_url,
                )
                if not await self._deliver(notification):
                    all_delivered = False
                    continue
                sent += 1
            group.log[receiver] = NotificationLogEntry(firing, resolved, now)
            await self._on_log(group.key, receiver, group.log[receiver])
        if all_delivered:
            # Resolved alerts leave once every receiver has heard of them, unless
            # they changed while the flush ran.
            for fp, alert in snapshot.items():
                if not alert.firing and group.alerts.get(fp) is alert:
                    del group.alerts[fp]
            if not group.alerts and self._groups.get(group.key) is group:
                del self._groups[group.key]
                await self._on_drop(group.key)
        return sent
