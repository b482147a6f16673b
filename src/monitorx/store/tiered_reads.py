"""Aggregates over any range: raw points where they are kept, rollups beyond.

A query whose range starts inside the raw retention is answered from raw points,
exactly (API.md). One that starts earlier is answered from rollups — minute
rollups when the range starts inside their retention and the interval is under an
hour, else hour rollups — with the points after the rollups' watermark rolled up
on the fly.
The interval is then rounded up to a whole number of rollup buckets. The result
names the resolution it used, which the API returns in ``X-MonitorX-Resolution``.
"""

from __future__ import annotations

__all__ = ["AggregateResult", "TieredReads"]

import asyncio
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import Clock, MetricName
from monitorx.core.timeparse import from_epoch_us
from monitorx.store.lifecycle import DataLifecycle
from monitorx.store.queries import Aggregation, Bucket, Resolution
from monitorx.store.rollups import aggregate_rollups, rollup_raw
from monitorx.store.storage import Storage

_S = 1_000_000


@dataclass(frozen=True, slots=True)
class AggregateResult:
    buckets: list[Bucket]
    resolution: Resolution
    interval_s: float


class TieredReads:
    def __init__(self, storage: Storage, lifecycle: DataLifecycle, clock: Clock) -> None:
        self._storage = storage
        self._lifecycle = lifecycle
        self._clock = clock

    async def resolution_for(self, start: datetime, interval_s: float) -> Resolution:
        """Which tier answers a range starting at ``start``."""
        age_s = (self._clock.now() - start).total_seconds()
        return self._lifecycle.policy.resolution_for(age_s, interval_s)

    async def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
    ) -> AggregateResult:
        resolution = await self.resolution_for(start, interval_s)
        watermark = (
            None if resolution is Resolution.RAW else await self._lifecycle.watermark(resolution)
        )
        if watermark is None:
            buckets = await self._storage.aggregate(model_id, metric, agg, interval_s, start, end)
            return AggregateResult(buckets, Resolution.RAW, interval_s)
        step_s = resolution.seconds
        interval_s = max(step_s, -(-interval_s // step_s) * step_s)
        # Rollups cover [start, watermark); the points after it (the last minutes, not
        # rolled up yet) are rolled up on the fly, so each point counts once.
        split = min(end, max(start, from_epoch_us(watermark)))
        rows = await self._storage.read_rollups(resolution, start, split, model_id, metric)
        if split < end:
            raw = await self._storage.read_metrics_table(split, end, model_id)
            recent = await asyncio.to_thread(rollup_raw, raw, step_s)
            recent = recent.filter(pc.equal(recent.column("metric"), metric.value))
            rows = pa.concat_tables([rows, recent])
        found = await asyncio.to_thread(aggregate_rollups, rows, agg, round(interval_s * _S))
        return AggregateResult(
            [Bucket(from_epoch_us(b), v) for b, v in found], resolution, interval_s
        )
