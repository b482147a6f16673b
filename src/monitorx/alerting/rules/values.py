"""One aggregate of one model's metric over one time range, from the store.

Window rules and learned thresholds both need a single number for a range such as
"the last 5 minutes" — not a series of buckets. `Storage.aggregate` buckets at
multiples of the interval since the Unix epoch (API.md), so an interval longer
than the time from the epoch to the range's end puts every point of the range in
one bucket, the one at the epoch, whatever the range's alignment: one query,
one exact aggregate (percentiles by linear interpolation, as numpy's default), on
every backend.
"""

from __future__ import annotations

__all__ = ["aggregate_over", "single_bucket_interval_s"]

from datetime import datetime

from monitorx.core import MetricName
from monitorx.core.timeparse import EPOCH
from monitorx.store import Aggregation, MetricStore

# Past the range's end by a whole second, so rounding to microseconds cannot split it.
_MARGIN_S = 1.0


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
