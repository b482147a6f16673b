"""Custom metrics of one project: writes through the series catalog into the store
and the hot tier, and reads by label matchers and groups over any range.

A read picks its tier as inference aggregates do (`TieredReads`): raw samples when
the range starts inside the raw retention — from the hot tier when it holds the
whole range, else from the store — and rollups beyond, with the samples after the
rollups' watermark rolled up on the fly. The interval is then rounded up to whole
rollup buckets; the result names the tier it used.
"""

from __future__ import annotations

__all__ = ["CustomMetrics", "GroupSeries", "SeriesResult"]

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pyarrow as pa

from monitorx.core import Clock
from monitorx.core.samples import SeriesInfo
from monitorx.core.timeparse import from_epoch_us, to_epoch_us
from monitorx.store.lifecycle import DataLifecycle
from monitorx.store.queries import QueryAggregation, Resolution
from monitorx.store.samples.batch import I64, KeyedSamples
from monitorx.store.samples.catalog import LabelMatcher, MetricSummary, SeriesCatalog
from monitorx.store.samples.grouped import SeriesRun, aggregate_runs
from monitorx.store.samples.hot import SampleHotTier
from monitorx.store.samples.rollups import aggregate_sample_rollups, rollup_samples
from monitorx.store.storage import GroupedSampleReads, SampleStore
from monitorx.store.tiered_series import CUSTOM

_S = 1_000_000
# Label keys `GET /metrics/names` lists: those of series written in this window.
NAMES_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class GroupSeries:
    """One group of a query: its label values and its (bucket µs, value) points."""

    labels: dict[str, str]
    points: list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class SeriesResult:
    series: list[GroupSeries]
    resolution: Resolution
    interval_s: float
    sources: int = 0
    """How many stored series the groups were made of."""
    refused: list[tuple[int, str]] = field(default_factory=list)


def group_labels(labels: dict[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """The labels a series brings to its group: the ``group_by`` keys it has."""
    return {k: labels[k] for k in group_by if labels.get(k)}


def _groups(
    series: Sequence[SeriesInfo], group_by: Sequence[str]
) -> tuple[dict[int, int], list[dict[str, str]]]:
    """Each series' group index, and each group's labels (sorted by labels)."""
    keys = {s.series_id: tuple(sorted(group_labels(s.labels, group_by).items())) for s in series}
    ordered = sorted(set(keys.values()))
    index = {key: i for i, key in enumerate(ordered)}
    return {sid: index[key] for sid, key in keys.items()}, [dict(k) for k in ordered]


class CustomMetrics:
    """The custom metrics of one store (see the module docstring)."""

    def __init__(
        self,
        storage: SampleStore,
        catalog: SeriesCatalog,
        hot: SampleHotTier,
        lifecycle: DataLifecycle,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self.catalog = catalog
        self._hot = hot
        self._lifecycle = lifecycle
        self._clock = clock
        self._touched: dict[int, int] = {}

    async def load(self) -> None:
        """Read the catalog of series from the store."""
        series = await self._storage.list_series()
        self.catalog.load(series)
        self._touched = {info.series_id: seen for info, seen in series}

    async def write(self, samples: KeyedSamples) -> list[tuple[int, str]]:
        """Store a validated batch; return the rows refused (a time past what the
        store keeps, the series limit), each with why, by row. Returns once the rest
        is committed."""
        latest = self._storage.latest_sample_us
        late = np.flatnonzero(samples.ts_us > latest)
        if late.size:
            return await self._write_until(samples, late, latest)
        batch, refused = self.catalog.prepare(samples)
        if len(batch) or batch.new_series:
            try:
                await self._storage.write_samples(batch)
            except BaseException:
                self.catalog.discard(batch.new_series)
                raise
            self._hot.append(batch.table, to_epoch_us(self._clock.now()))
        names = samples.names
        reason = self.catalog.limit_reason
        return [(row, reason(names[key])) for row, key in zip(
            refused.tolist(), samples.key[refused].tolist(), strict=True)]  # fmt: skip

    async def _write_until(
        self, samples: KeyedSamples, late: I64, latest_us: int
    ) -> list[tuple[int, str]]:
        """`write` the rows up to ``latest_us``; refuse the ``late`` ones."""
        why = (
            f"timestamp after {from_epoch_us(latest_us):%Y-%m-%dT%H:%M:%SZ}, the last "
            "this store keeps"
        )
        refused = [(row, why) for row in late.tolist()]
        kept = np.flatnonzero(samples.ts_us <= latest_us)
        if kept.size:
            written = await self.write(samples.take(kept))
            refused += [(int(kept[row]), r) for row, r in written]
        return sorted(refused)

    async def keep_last_seen(self) -> None:
        """Tell the store when each series written since the last call was last seen
        (scheduled; a restart then knows which label keys are recent)."""
        seen = self.catalog.last_seen()
        changed = {sid: us for sid, us in seen.items() if us > self._touched.get(sid, -1)}
        if changed:
            await self._storage.touch_series(changed)
            self._touched.update(changed)

    def metrics(self) -> list[MetricSummary]:
        since = to_epoch_us(self._clock.now() - NAMES_WINDOW)
        return self.catalog.metrics(since)

    async def query(
        self,
        name: str,
        agg: QueryAggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
        matchers: Sequence[LabelMatcher] = (),
        group_by: Sequence[str] = (),
    ) -> SeriesResult:
        series = self.catalog.select(name, matchers)
        group_of, labels = _groups(series, group_by)
        resolution = self._resolution_for(start, interval_s)
        watermark = (
            None
            if resolution is Resolution.RAW
            else await self._lifecycle.watermark(resolution, CUSTOM)
        )
        ids = list(group_of)
        if not ids:
            found: dict[int, list[tuple[int, float]]] = {}
        elif watermark is None:
            resolution = Resolution.RAW
            found = await self._raw(group_of, agg, max(1, round(interval_s * _S)), start, end)
        else:
            step_s = resolution.seconds
            interval_s = max(step_s, -(-interval_s // step_s) * step_s)
            split = min(end, max(start, from_epoch_us(watermark)))
            rows = await self._storage.read_sample_rollups(resolution, start, split, ids)
            if split < end:
                raw = await self._storage.read_samples(split, end, ids)
                rows = pa.concat_tables(
                    [rows, await asyncio.to_thread(rollup_samples, raw, step_s)]
                )
            found = await asyncio.to_thread(
                aggregate_sample_rollups, rows, group_of, agg, round(interval_s * _S)
            )
        result = [GroupSeries(labels[g], found.get(g, [])) for g in range(len(labels))]
        return SeriesResult(
            [s for s in result if s.points], resolution, interval_s, sources=len(ids)
        )

    def _resolution_for(self, start: datetime, interval_s: float) -> Resolution:
        age_s = (self._clock.now() - start).total_seconds()
        return self._lifecycle.policy.resolution_for(age_s, interval_s)

    async def _raw(
        self,
        group_of: dict[int, int],
        agg: QueryAggregation,
        interval_us: int,
        start: datetime,
        end: datetime,
    ) -> dict[int, list[tuple[int, float]]]:
        """``agg`` per group and bucket over raw samples: from the hot tier when it
        holds the range, else aggregated by the store where it can, else from the
        store's points."""
        start_us, end_us = to_epoch_us(start), to_epoch_us(end)
        if self._hot.covers(start_us):
            runs = [
                SeriesRun(group_of[sid], ts, values)
                for sid, ts, values in self._hot.read(list(group_of), start_us, end_us)
            ]
        elif isinstance(self._storage, GroupedSampleReads) and agg is not QueryAggregation.RATE:
            table = await self._storage.aggregate_samples(start, end, group_of, agg, interval_us)
            return _by_group(table, interval_us)
        else:
            runs = await self._stored_runs(group_of, start, end)
        return await asyncio.to_thread(aggregate_runs, runs, agg, interval_us)

    async def _stored_runs(
        self, group_of: dict[int, int], start: datetime, end: datetime
    ) -> list[SeriesRun]:
        """Each series' stored points in the range, in time order: the store's read
        (ordered by series, then time) cut at each series' first row — views, no
        copy."""
        table = await self._storage.read_samples(start, end, list(group_of))
        sid = table.column("series_id").to_numpy()
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        values = table.column("value").to_numpy()
        cuts = [*np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]]).tolist(), sid.size]
        return [
            SeriesRun(group_of[int(sid[low])], ts[low:high], values[low:high])
            for low, high in pairwise(cuts)
            if high > low
        ]


def _by_group(table: pa.Table, interval_us: int) -> dict[int, list[tuple[int, float]]]:
    """`GroupedSampleReads.aggregate_samples`' rows as each group's points."""
    found: dict[int, list[tuple[int, float]]] = {}
    groups = table.column("group_index").to_pylist()
    buckets = table.column("bucket").to_pylist()
    values = table.column("value").to_pylist()
    for group, bucket, value in zip(groups, buckets, values, strict=True):
        found.setdefault(group, []).append((bucket * interval_us, value))
    return found
