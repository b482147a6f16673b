"""What happened around an alert (``GET /api/v1/alerts/{id}/context``), and the
one-line hint its notifications carry.

For an alert that started at ``s``:

- **events**: the alert's model's events, and events of no model (incidents,
  annotations), from `EVENTS_BEFORE` (60 min) before ``s`` to the end of the
  alert's window; deploys first, then the others, nearest to ``s`` first —
  changes, not symptoms, are what explain an alert;
- **related alerts**: the other alerts (other models', and other kinds of the same
  model) that were open at some time within `RELATED_AROUND` (15 min) of ``s``,
  earliest first;
- **labels**: the model's inference points in ``[s − LABEL_WINDOW, min(end, s +
  LABEL_WINDOW))`` (30 min) split into breaching and normal ones — for a latency
  alert the points above the threshold vs the others, for an error-rate alert the
  errors vs the rest, for any other kind the points after ``s`` vs those before —
  and each tag value ranked by how over-represented it is among the breaching
  ones (`analysis.label_ranking`, with both shares). The points are counted per
  distinct (tag set, breaching) pair by the store in SQL (`TagBreachCounts`), or
  in one Arrow group-by over the window's table (InfluxDB), never row by row;
- **logs**: the model's logs of severity ``error`` and up within `LOGS_AROUND`
  (15 min) of ``s``;
- **links**: the API paths that list each of these.

`hint` is the notification's one line: the top label value, and the nearest
deploy (or other event of the model) before the start.
"""

from __future__ import annotations

__all__ = [
    "EVENTS_BEFORE",
    "LABEL_WINDOW",
    "LOGS_AROUND",
    "RELATED_AROUND",
    "AlertContext",
]

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.analysis.label_ranking import LabelCounts, LabelHint, rank_labels
from monitorx.core import Alert, AlertType, Clock
from monitorx.core.events import Event, EventQuery, LogQuery, LogSeverity
from monitorx.store import AlertQuery, BreachRule, Storage, TagBreachCounts

EVENTS_BEFORE = timedelta(minutes=60)
LABEL_WINDOW = timedelta(minutes=30)
RELATED_AROUND = timedelta(minutes=15)
LOGS_AROUND = timedelta(minutes=15)
_EVENTS_SHOWN = 20
_LOGS_SHOWN = 20
_ALERTS_READ = 1000
_HINT_CHARS = 240
_API = "/api/v1"


def _is_deploy(event: Event) -> bool:
    return "deploy" in event.event_type.lower() or "deploy" in (t.lower() for t in event.tags)


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def _link(path: str, **params: object) -> str:
    given = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}
    query = urlencode({k: v for k, v in given.items() if v is not None})
    return f"{_API}{path}?{query}" if query else f"{_API}{path}"


def _label_counts(groups: Iterable[tuple[str | None, bool, int]]) -> list[LabelCounts]:
    """Breaching and normal points per tag value, from the points counted per
    (tag set, breaching): each distinct tag set parsed once."""
    counts: dict[tuple[str, str], list[int]] = {}
    for tags_json, is_breaching, n in groups:
        try:
            tags = orjson.loads(tags_json) if tags_json else {}
        except orjson.JSONDecodeError:
            continue
        if not isinstance(tags, dict):
            continue
        for key, value in tags.items():
            cell = counts.setdefault((str(key), str(value)), [0, 0])
            cell[0 if is_breaching else 1] += int(n)
    return [LabelCounts(k, v, b, n) for (k, v), (b, n) in counts.items()]


def _arrow_groups(table: pa.Table, rule: BreachRule) -> list[tuple[str | None, bool, int]]:
    """`TagBreachCounts.tag_breach_counts` over an Arrow table of the window's
    points, for the stores that do not count themselves: one group-by."""
    if rule.latency_over is not None:
        table = table.filter(pc.is_valid(table["latency"]))
        breaching = pc.greater(table["latency"], rule.latency_over)
    elif rule.since is not None:
        since = pa.scalar(rule.since.astimezone(UTC).replace(tzinfo=None), pa.timestamp("us"))
        breaching = pc.greater_equal(table["ts"], since)
    else:
        breaching = pc.fill_null(table["error"], False)
    if table.num_rows == 0:
        return []
    pairs = pa.table({"tags": table["tags"], "breaching": breaching})
    grouped = pairs.group_by(["tags", "breaching"]).aggregate([([], "count_all")])
    return list(
        zip(
            grouped["tags"].to_pylist(),
            grouped["breaching"].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        )
    )


def _rule(alert: Alert) -> BreachRule:
    if alert.alert_type is AlertType.LATENCY:
        return BreachRule(latency_over=alert.threshold)
    if alert.alert_type is AlertType.ERROR_RATE:
        return BreachRule()
    return BreachRule(since=alert.started_at)


class AlertContext:
    """Builds an alert's context from the project's store."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    def _end(self, alert: Alert) -> datetime:
        """The end of the alert's window: its resolve, else now; at most
        `LABEL_WINDOW` after its start."""
        end = alert.resolved_at or self._clock.now()
        return max(alert.started_at, min(end, alert.started_at + LABEL_WINDOW))

    async def labels(self, alert: Alert) -> list[LabelHint]:
        """The tag values over-represented among the breaching points (see the
        module docstring); none for an alert of no model. The SQL stores count
        the points per tag set themselves (`TagBreachCounts`); the others' window
        is read as an Arrow table and counted in one group-by."""
        if alert.model_id is None:
            return []
        start = alert.started_at - LABEL_WINDOW
        end = self._end(alert) + timedelta(microseconds=1)
        rule = _rule(alert)
        if isinstance(self._storage, TagBreachCounts):
            groups = await self._storage.tag_breach_counts(alert.model_id, start, end, rule)
        else:
            table = await self._storage.read_metrics_table(start, end, alert.model_id)
            groups = await asyncio.to_thread(_arrow_groups, table, rule)
        return rank_labels(_label_counts(groups))

    async def events(self, alert: Alert) -> list[Event]:
        query = EventQuery(
            limit=500, start=alert.started_at - EVENTS_BEFORE, end=self._end(alert) + LOGS_AROUND
        )
        found = [
            e
            for e in await self._storage.list_events(query)
            if e.model_id is None or e.model_id == alert.model_id
        ]
        found.sort(key=lambda e: (not _is_deploy(e), abs(e.time - alert.started_at)))
        return found[:_EVENTS_SHOWN]

    async def related(self, alert: Alert) -> list[Alert]:
        low = alert.started_at - RELATED_AROUND
        high = alert.started_at + RELATED_AROUND
        others = [
            a
            for a in await self._storage.list_alerts(AlertQuery(limit=_ALERTS_READ))
            if a.id != alert.id
            and a.started_at <= high
            and (a.resolved_at is None or a.resolved_at >= low)
        ]
        others.sort(key=lambda a: (a.started_at, a.id))
        return others

    async def context(self, alert: Alert) -> dict[str, Any]:
        """The body of ``GET /api/v1/alerts/{id}/context``."""
        start = alert.started_at
        labels, events, related = await asyncio.gather(
            self.labels(alert), self.events(alert), self.related(alert)
        )
        log_start, log_end = start - LOGS_AROUND, start + LOGS_AROUND
        logs = []
        if alert.model_id is not None:
            logs = await self._storage.search_logs(
                LogQuery(
                    limit=_LOGS_SHOWN,
                    model_id=alert.model_id,
                    severity=LogSeverity.ERROR,
                    start=log_start,
                    end=log_end,
                )
            )
        window_start, window_end = start - LABEL_WINDOW, self._end(alert)
        return {
            "alert_id": alert.id,
            "model_id": alert.model_id,
            "alert_type": alert.alert_type.value,
            "started_at": start.isoformat(),
            "window": {"start": window_start.isoformat(), "end": window_end.isoformat()},
            "hint": _hint(alert, labels, events),
            "events": [
                {
                    **e.to_json(),
                    "minutes_before_start": _minutes(start - e.time),
                    "link": _link("/events", model_id=e.model_id, start=e.time, limit=1),
                }
                for e in events
            ],
            "related_alerts": [
                {
                    "id": a.id,
                    "model_id": a.model_id,
                    "alert_type": a.alert_type.value,
                    "severity": a.severity.value,
                    "status": a.status.value,
                    "message": a.message,
                    "started_at": a.started_at.isoformat(),
                    "resolved_at": None if a.resolved_at is None else a.resolved_at.isoformat(),
                    "minutes_from_start": _minutes(a.started_at - start),
                    "link": f"{_API}/alerts/{a.id}",
                }
                for a in related
            ],
            "labels": [
                {
                    **h.to_json(),
                    "link": _link(
                        "/metrics/query",
                        metric=_metric_of(alert),
                        agg="count" if alert.alert_type is not AlertType.LATENCY else "p95",
                        model_id=alert.model_id,
                        group_by=h.label,
                        start=window_start,
                        end=window_end,
                    ),
                }
                for h in labels
            ],
            "logs": [log.to_json() for log in logs],
            "links": {
                "alert": f"{_API}/alerts/{alert.id}",
                "events": _link(
                    "/events", model_id=alert.model_id, start=start - EVENTS_BEFORE, end=window_end
                ),
                "logs": _link(
                    "/logs",
                    model_id=alert.model_id,
                    severity="error",
                    start=log_start,
                    end=log_end,
                ),
                "alerts": _link("/alerts"),
            },
        }

    async def hint(self, alert: Alert) -> str | None:
        """The one line a notification of ``alert`` carries, or None."""
        labels, events = await asyncio.gather(self.labels(alert), self.events(alert))
        return _hint(alert, labels, events)


def _metric_of(alert: Alert) -> str:
    return "error_rate" if alert.alert_type is AlertType.ERROR_RATE else "latency"


def _hint(alert: Alert, labels: list[LabelHint], events: list[Event]) -> str | None:
    parts = []
    if labels:
        parts.append(labels[0].sentence())
    before = [
        e
        for e in events
        if e.time <= alert.started_at and (e.model_id == alert.model_id or _is_deploy(e))
    ]
    if before:
        event = before[0]
        minutes = max(0, round((alert.started_at - event.time).total_seconds() / 60))
        parts.append(f"{event.event_type} {minutes} min before: {event.message}")
    if not parts:
        return None
    line = "; ".join(parts).replace("\n", " ")
    return line if len(line) <= _HINT_CHARS else line[: _HINT_CHARS - 1] + "…"
