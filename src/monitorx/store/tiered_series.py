"""The kinds of series the data lifecycle rolls up, exports and expires: inference
metrics and custom metrics. Each says how its raw points are read, rolled up,
merged, kept and deleted; `DataLifecycle` runs the same steps over both.
"""

from __future__ import annotations

__all__ = ["CUSTOM", "INFERENCE", "CustomSeries", "InferenceSeries", "TieredSeries"]

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from monitorx.core.samples import SeriesInfo
from monitorx.store.cold_tier import ColdTier
from monitorx.store.queries import Resolution
from monitorx.store.rollups import merge_rollups, rollup_raw
from monitorx.store.samples.rollups import merge_sample_rollups, rollup_samples
from monitorx.store.storage import Storage

INFERENCE = "inference"
CUSTOM = "custom"


class TieredSeries(Protocol):
    """One kind of series, as the lifecycle steps need it."""

    kind: str
    # The markers of its watermarks: minute rollups, hour rollups, cold export.
    minute_mark: str
    hour_mark: str
    cold_mark: str

    async def time_bounds(self) -> tuple[datetime, datetime] | None: ...

    async def read_raw(self, start: datetime, end: datetime) -> pa.Table: ...

    def rollup(self, raw: pa.Table, bucket_s: int) -> pa.Table: ...

    def merge(self, rows: pa.Table, bucket_s: int) -> pa.Table: ...

    async def read_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> pa.Table: ...

    async def write_rollups(self, resolution: Resolution, rows: pa.Table) -> None: ...

    async def delete_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> None: ...

    async def delete_raw_before(self, cutoff: datetime) -> None: ...

    def export(self, cold: ColdTier, project_id: str, raw: pa.Table) -> list[str]:
        """Write raw points to the cold tier (blocking); the paths written."""


class InferenceSeries:
    """Inference metrics (and the drift metrics clients report, which expire with them)."""

    kind = INFERENCE
    minute_mark = "rollup_1m_until_us"
    hour_mark = "rollup_1h_until_us"
    cold_mark = "cold_until_us"

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def time_bounds(self) -> tuple[datetime, datetime] | None:
        return await self._storage.metric_time_bounds()

    async def read_raw(self, start: datetime, end: datetime) -> pa.Table:
        return await self._storage.read_metrics_table(start, end)

    def rollup(self, raw: pa.Table, bucket_s: int) -> pa.Table:
        return rollup_raw(raw, bucket_s)

    def merge(self, rows: pa.Table, bucket_s: int) -> pa.Table:
        return merge_rollups(rows, bucket_s)

    async def read_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> pa.Table:
        return await self._storage.read_rollups(resolution, start, end)

    async def write_rollups(self, resolution: Resolution, rows: pa.Table) -> None:
        await self._storage.write_rollups(resolution, rows)

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        await self._storage.delete_rollups(resolution, start, end)

    async def delete_raw_before(self, cutoff: datetime) -> None:
        await self._storage.delete_metrics_before(cutoff)

    def export(self, cold: ColdTier, project_id: str, raw: pa.Table) -> list[str]:
        return cold.write(project_id, raw)


class CustomSeries:
    """Custom metrics; ``series`` names a series id (its name and labels go into the
    cold tier's files, which must read on their own)."""

    kind = CUSTOM
    minute_mark = "samples_rollup_1m_until_us"
    hour_mark = "samples_rollup_1h_until_us"
    cold_mark = "samples_cold_until_us"

    def __init__(self, storage: Storage, series: Callable[[int], SeriesInfo | None]) -> None:
        self._storage = storage
        self._series = series

    async def time_bounds(self) -> tuple[datetime, datetime] | None:
        return await self._storage.sample_time_bounds()

    async def read_raw(self, start: datetime, end: datetime) -> pa.Table:
        return await self._storage.read_samples(start, end)

    def rollup(self, raw: pa.Table, bucket_s: int) -> pa.Table:
        return rollup_samples(raw, bucket_s)

    def merge(self, rows: pa.Table, bucket_s: int) -> pa.Table:
        return merge_sample_rollups(rows, bucket_s)

    async def read_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> pa.Table:
        return await self._storage.read_sample_rollups(resolution, start, end)

    async def write_rollups(self, resolution: Resolution, rows: pa.Table) -> None:
        await self._storage.write_sample_rollups(resolution, rows)

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        await self._storage.delete_sample_rollups(resolution, start, end)

    async def delete_raw_before(self, cutoff: datetime) -> None:
        await self._storage.delete_samples_before(cutoff)

    def export(self, cold: ColdTier, project_id: str, raw: pa.Table) -> list[str]:
        return cold.write_samples(project_id, raw, self._series)
