"""The data lifecycle, run by the scheduler: roll up, export to the cold tier, expire —
for each kind of series (`tiered_series`: inference metrics, custom metrics).

Each step keeps a watermark (a `Storage` marker, in epoch microseconds) of how far
it has got, works forward from it in bounded chunks, and makes every chunk
idempotent (rollups of a range are deleted before they are written; a cold file's
name is its range), so a crash between a chunk and its watermark repeats that chunk
instead of doubling it.

- Minute rollups cover raw points up to ``now - rollup_grace_s``: a point that
  arrives later than that with an older timestamp is kept raw but is not in the
  rollups (`rebuild` recomputes a range, e.g. after an import).
- Hour rollups are merged from complete hours of minute rollups.
- Raw points older than ``raw_s`` are exported to the cold tier (when one is
  configured) and then deleted — never before they are rolled up and exported.
- Minute and hour rollups are deleted past ``minute_s`` and ``hour_s``.
"""

from __future__ import annotations

__all__ = ["DataLifecycle", "LifecycleReport", "RetentionPolicy"]

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitorx.core import Clock
from monitorx.core.samples import SeriesInfo
from monitorx.core.timeparse import from_epoch_us, to_epoch_us
from monitorx.store.cold_tier import ColdTier
from monitorx.store.queries import Resolution
from monitorx.store.storage import Storage
from monitorx.store.tiered_series import (
    CUSTOM,
    INFERENCE,
    CustomSeries,
    InferenceSeries,
    TieredSeries,
)

logger = logging.getLogger("monitorx.lifecycle")

_S = 1_000_000
_MINUTE_CHUNK_US = 3600 * _S  # raw points rolled up per step: one hour
_HOUR_CHUNK_US = 24 * 3600 * _S  # minute rows merged per step: one day
_COLD_CHUNK_US = 24 * 3600 * _S  # raw points exported per step: one day
_MAX_CHUNKS_PER_RUN = 48  # bound one scheduler tick; the next tick goes on


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each tier keeps data, in seconds (defaults: 7 days, 30 days, 1 year)."""

    raw_s: float = 7 * 86_400
    minute_s: float = 30 * 86_400
    hour_s: float = 365 * 86_400
    rollup_grace_s: float = 120.0
    cold_tier_url: str | None = None

    def resolution_for(self, age_s: float, interval_s: float) -> Resolution:
        """Which tier answers a range whose start is ``age_s`` old: raw points while
        they are kept, then minute rollups (unless the buckets are an hour or
        longer), then hour rollups."""
        if age_s <= self.raw_s:
            return Resolution.RAW
        if age_s <= self.minute_s and interval_s < Resolution.HOUR.seconds:
            return Resolution.MINUTE
        return Resolution.HOUR


@dataclass(frozen=True, slots=True)
class LifecycleReport:
    """What one run did: rollup rows written, cold files written, the raw cutoff."""

    minute_rows: int = 0
    hour_rows: int = 0
    cold_files: int = 0
    raw_deleted_before: datetime | None = None


def _floor(us: int, step_us: int) -> int:
    return (us // step_us) * step_us


class DataLifecycle:
    """Rollups, cold export and retention for one `Storage`: its inference metrics,
    and its custom metrics when ``series`` (which names a custom series by id, for
    the cold tier's files) is given."""

    def __init__(
        self,
        storage: Storage,
        policy: RetentionPolicy,
        clock: Clock,
        project_id: str = "default",
        series: Callable[[int], SeriesInfo | None] | None = None,
    ) -> None:
        self._storage = storage
        self._policy = policy
        self._clock = clock
        self._project = project_id
        self._cold = ColdTier(policy.cold_tier_url) if policy.cold_tier_url else None
        self._kinds: dict[str, TieredSeries] = {INFERENCE: InferenceSeries(storage)}
        if series is not None:
            self._kinds[CUSTOM] = CustomSeries(storage, series)
        self._lock = asyncio.Lock()

    @property
    def policy(self) -> RetentionPolicy:
        return self._policy

    async def run_once(self) -> LifecycleReport:
        """One pass of every step over every kind; safe to call at any time, one at a
        time. The report adds up the kinds."""
        async with self._lock:
            now_us = to_epoch_us(self._clock.now())
            minute_rows = hour_rows = cold_files = 0
            cutoff: datetime | None = None
            for kind in self._kinds.values():
                minute_rows += await self._roll_minutes(kind, now_us)
                hour_rows += await self._roll_hours(kind)
                cold_files += await self._export_cold(kind, now_us)
                expired = await self._expire(kind, now_us)
                if kind.kind == INFERENCE:
                    cutoff = expired
            # Spans are kept as long as raw metrics; nothing of theirs is rolled up.
            await self._storage.delete_spans_before(from_epoch_us(self._raw_cutoff(now_us)))
            await self._expire_events_and_logs(now_us)
            return LifecycleReport(minute_rows, hour_rows, cold_files, cutoff)

    async def _expire_events_and_logs(self, now_us: int) -> None:
        """Events and logs are kept as long as raw metrics (``raw_s``); they have no
        rollups and no cold tier."""
        cutoff = from_epoch_us(self._raw_cutoff(now_us))
        await self._storage.delete_events_before(cutoff)
        await self._storage.delete_logs_before(cutoff)

    async def watermark(self, resolution: Resolution, kind: str = INFERENCE) -> int | None:
        """Epoch µs up to which rollups of ``resolution`` are complete, if any."""
        series = self._kinds[kind]
        return await self._mark(
            series.minute_mark if resolution is Resolution.MINUTE else series.hour_mark
        )

    async def rebuild(self, start: datetime, end: datetime) -> None:
        """Recompute the inference metrics' rollups of ``[start, end)`` from the raw
        points (after an import of history, or late data), minute then hour. Minutes
        whose raw points have expired keep the rollups they have."""
        kind = self._kinds[INFERENCE]
        async with self._lock:
            bounds = await kind.time_bounds()
            if bounds is None:
                return
            minute_us = 60 * _S
            oldest_whole_minute = -(-to_epoch_us(bounds[0]) // minute_us) * minute_us
            start_us = max(_floor(to_epoch_us(start), minute_us), oldest_whole_minute)
            end_us = -(-to_epoch_us(end) // (60 * _S)) * 60 * _S
            for low in range(start_us, end_us, _MINUTE_CHUNK_US):
                await self._roll_minute_chunk(kind, low, min(low + _MINUTE_CHUNK_US, end_us))
            hour_low = _floor(start_us, 3600 * _S)
            hour_high = -(-end_us // (3600 * _S)) * 3600 * _S
            for low in range(hour_low, hour_high, _HOUR_CHUNK_US):
                await self._roll_hour_chunk(kind, low, min(low + _HOUR_CHUNK_US, hour_high))

    # Steps -------------------------------------------------------------------------

    async def _mark(self, name: str) -> int | None:
        value = await self._storage.get_marker(name)
        return None if value is None else int(value)

    async def _start(self, kind: TieredSeries, name: str, step_us: int) -> int | None:
        """Where a step resumes: its watermark, or the oldest raw point's bucket."""
        mark = await self._mark(name)
        if mark is not None:
            return mark
        bounds = await kind.time_bounds()
        return None if bounds is None else _floor(to_epoch_us(bounds[0]), step_us)

    async def _roll_minutes(self, kind: TieredSeries, now_us: int) -> int:
        target = _floor(now_us - round(self._policy.rollup_grace_s * _S), 60 * _S)
        low = await self._start(kind, kind.minute_mark, 60 * _S)
        if low is None:
            return 0
        written = 0
        for _ in range(_MAX_CHUNKS_PER_RUN):
            if low >= target:
                break
            high = min(low + _MINUTE_CHUNK_US, target)
            written += await self._roll_minute_chunk(kind, low, high)
            await self._storage.set_marker(kind.minute_mark, str(high))
            low = high
        return written

    async def _roll_minute_chunk(self, kind: TieredSeries, low: int, high: int) -> int:
        raw = await kind.read_raw(from_epoch_us(low), from_epoch_us(high))
        rows = await asyncio.to_thread(kind.rollup, raw, Resolution.MINUTE.seconds)
        await kind.delete_rollups(Resolution.MINUTE, from_epoch_us(low), from_epoch_us(high))
        if rows.num_rows:
            await kind.write_rollups(Resolution.MINUTE, rows)
        return int(rows.num_rows)

    async def _roll_hours(self, kind: TieredSeries) -> int:
        minutes_done = await self._mark(kind.minute_mark)
        if minutes_done is None:
            return 0
        target = _floor(minutes_done, 3600 * _S)
        low = await self._mark(kind.hour_mark)
        if low is None:
            bounds = await kind.time_bounds()
            low = target if bounds is None else _floor(to_epoch_us(bounds[0]), 3600 * _S)
        written = 0
        for _ in range(_MAX_CHUNKS_PER_RUN):
            if low >= target:
                break
            high = min(low + _HOUR_CHUNK_US, target)
            written += await self._roll_hour_chunk(kind, low, high)
            await self._storage.set_marker(kind.hour_mark, str(high))
            low = high
        return written

    async def _roll_hour_chunk(self, kind: TieredSeries, low: int, high: int) -> int:
        start, end = from_epoch_us(low), from_epoch_us(high)
        minutes = await kind.read_rollups(Resolution.MINUTE, start, end)
        rows = await asyncio.to_thread(kind.merge, minutes, Resolution.HOUR.seconds)
        await kind.delete_rollups(Resolution.HOUR, start, end)
        if rows.num_rows:
            await kind.write_rollups(Resolution.HOUR, rows)
        return int(rows.num_rows)

    def _raw_cutoff(self, now_us: int) -> int:
        return now_us - round(self._policy.raw_s * _S)

    async def _export_cold(self, kind: TieredSeries, now_us: int) -> int:
        cold = self._cold
        if cold is None:
            return 0
        target = self._raw_cutoff(now_us)
        low = await self._start(kind, kind.cold_mark, _COLD_CHUNK_US)
        if low is None:
            return 0
        files = 0
        for _ in range(_MAX_CHUNKS_PER_RUN):
            if low >= target:
                break
            high = min(_floor(low, _COLD_CHUNK_US) + _COLD_CHUNK_US, target)
            raw = await kind.read_raw(from_epoch_us(low), from_epoch_us(high))
            files += len(await asyncio.to_thread(kind.export, cold, self._project, raw))
            await self._storage.set_marker(kind.cold_mark, str(high))
            low = high
        return files

    async def _expire(self, kind: TieredSeries, now_us: int) -> datetime | None:
        policy = self._policy
        cutoff = self._raw_cutoff(now_us)
        # Never delete what is not yet rolled up, or (with a cold tier) exported.
        marks = (kind.minute_mark, kind.cold_mark) if self._cold else (kind.minute_mark,)
        for mark in marks:
            done = await self._mark(mark)
            cutoff = min(cutoff, done if done is not None else cutoff)
        if await self._mark(kind.minute_mark) is None:
            return None
        raw_cutoff = from_epoch_us(cutoff)
        await kind.delete_raw_before(raw_cutoff)
        epoch = from_epoch_us(0)
        for resolution, keep_s in (
            (Resolution.MINUTE, policy.minute_s),
            (Resolution.HOUR, policy.hour_s),
        ):
            await kind.delete_rollups(resolution, epoch, from_epoch_us(now_us - round(keep_s * _S)))
        return raw_cutoff
