"""One aggregate over one time range, from the store: of one model's metric, or of
every group of a rule's series.

Window rules and learned thresholds both need a single number for a range such as
"the last 5 minutes" — not a series of buckets. The store's aggregates bucket at
multiples of the interval since the Unix epoch (API.md), so an interval longer
than the time from the epoch to the range's end puts every point of the range in
one bucket, the one at the epoch, whatever the range's alignment: one query,
one exact aggregate (percentiles by linear interpolation, as numpy's default), on
every backend.

``rate`` over a window is the increase of the window's counters per second of the
window (Prometheus's ``rate(x[5m])``); the grouped reads divide the increase by the
bucket's width, which here is the one long bucket, so the value is scaled back.
"""

from __future__ import annotations

__all__ = [
    "GroupValue",
    "aggregate_over",
    "group_values",
    "model_value",
    "single_bucket_interval_s",
]

from dataclasses import dataclass
from datetime import datetime

from monitorx.alerting.rules.window import WindowRule
from monitorx.core import MetricName, NotFound
from monitorx.core.samples import canonical_labels
from monitorx.core.timeparse import EPOCH
from monitorx.store import Aggregation, MetricStore, QueryAggregation
from monitorx.store.metric_queries import MetricQueries
from monitorx.store.samples.catalog import LabelMatcher
from monitorx.store.samples.service import SeriesResult

# Past the range's end by a whole second, so rounding to microseconds cannot split it.
_MARGIN_S = 1.0
_STORE_AGGREGATIONS = frozenset(a.value for a in Aggregation)


def single_bucket_interval_s(end: datetime) -> float:
    """An aggregate interval that puts all of ``[epoch, end)`` in one bucket."""
    return (end - EPOCH).total_seconds() + _MARGIN_S


async def aggregate_over(
    storage: MetricStore,
    model_id: str,
    metric: MetricName,
    aggregation: Aggregation,
    start: datetime,
    end: datetime,
) -> float | None:
    """``aggregation`` of ``metric`` over ``[start, end)``. With no point that carries
    the metric, a count is 0 and every other aggregate is None (no data)."""
    buckets = await storage.aggregate(
        model_id, metric, aggregation, single_bucket_interval_s(end), start, end
    )
    if not buckets:
        return 0.0 if aggregation is Aggregation.COUNT else None
    (bucket,) = buckets
    return bucket.value


@dataclass(frozen=True, slots=True)
class GroupValue:
    """A group's labels and its aggregate over the window."""

    labels: dict[str, str]
    value: float

    @property
    def subject(self) -> str:
        return canonical_labels(self.labels)


def _one_bucket(result: SeriesResult, agg: QueryAggregation, window_s: float) -> list[float]:
    values = []
    for series in result.series:
        ((_, value),) = series.points
        values.append(
            value * result.interval_s / window_s if agg is QueryAggregation.RATE else value
        )
    return values


async def model_value(
    storage: MetricStore,
    queries: MetricQueries,
    rule: WindowRule,
    model_id: str,
    start: datetime,
    end: datetime,
) -> float | None:
    """A per-model rule's aggregate for ``model_id`` over ``[start, end)``: from the
    store's aggregates, or for ``sum``, ``last`` and ``rate`` from the grouped reads."""
    if rule.aggregation.value in _STORE_AGGREGATIONS:
        return await aggregate_over(
            storage,
            model_id,
            MetricName(rule.metric),
            Aggregation(rule.aggregation.value),
            start,
            end,
        )
    result = await queries.query(
        rule.metric,
        rule.aggregation,
        single_bucket_interval_s(end),
        start,
        end,
        model_id=model_id,
    )
    values = _one_bucket(result, rule.aggregation, rule.window_s)
    if not values:
        return 0.0 if rule.aggregation is QueryAggregation.SUM else None
    (value,) = values
    return value


async def group_values(
    queries: MetricQueries, rule: WindowRule, start: datetime, end: datetime
) -> list[GroupValue]:
    """A per-group rule's aggregate for each group with points in ``[start, end)``
    (a custom metric with no series yet has none)."""
    try:
        result = await queries.query(
            rule.metric,
            rule.aggregation,
            single_bucket_interval_s(end),
            start,
            end,
            [LabelMatcher(key, value) for key, value in rule.labels],
            rule.group_by,
        )
    except NotFound:
        return []
    values = _one_bucket(result, rule.aggregation, rule.window_s)
    return [GroupValue(s.labels, v) for s, v in zip(result.series, values, strict=True)]
