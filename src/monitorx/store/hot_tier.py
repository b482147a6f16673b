"""The hot tier: recent raw points of every model, in memory, as numpy columns.

Summaries and aggregates over recent time are what dashboards and alert rules ask
for again and again. Answering them from memory, exactly (the same linear
interpolation as numpy's and DuckDB's ``quantile_cont``), keeps them in single-digit
milliseconds with a million points in range, where a database scan takes tens.

The tier holds every point whose timestamp is at or after ``covered_from`` (the
store's database holds them too: the tier is a copy, rebuilt from the database on
start). It is bounded by a retention time and a point budget; whatever falls out
moves ``covered_from`` forward, and queries that start before it go to the database.
"""

from __future__ import annotations

__all__ = ["HOT_COLUMNS", "HotTier"]

import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitorx.core import MetricName
from monitorx.store.queries import Aggregation, ErrorWindow, ModelWindowStats
from monitorx.store.series_stats import bucket_aggregate, sorted_quantiles

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# The columns the tier keeps: timestamps (µs) and each aggregatable series, with
# NaN for "this point does not carry the metric". ``error_rate`` holds each point's
# contribution to the error rate (API.md): 1.0 if it flags an error, else its own
# error_rate, else 0.0. The LLM series are sparse: a chunk keeps one only when some
# of its points carry it, so models that are not LLMs pay no memory for them.
HOT_COLUMNS = tuple(m.value for m in MetricName)
_SPARSE = frozenset(m.value for m in MetricName if m.is_llm)
# A model's pieces are merged into one once it has this many, so that queries look
# at few arrays however small the writes were.
_MERGE_AT = 16
# Pieces at least this large are left as they are by merges.
_BIG_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Points of one model, sorted by ``ts`` (µs); ``values`` maps a column to its
    array (a sparse column none of the points carries is left out)."""

    ts: I64
    values: dict[str, F64]
    min_ts: int
    max_ts: int

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class _Series:
    """One model's points, and what a query over all of them needs, kept up to date
    as batches arrive: counts and sums, and the latencies in sorted order."""

    chunks: list[_Chunk] = field(default_factory=list)
    count: int = 0
    min_ts: int = 0
    max_ts: int = 0
    latency_sum: float = 0.0
    latency_max: float = float("-inf")
    error_sum: float = 0.0
    sorted_latency: F64 | None = None
    unsorted: list[F64] = field(default_factory=list)  # sorted per batch, not yet merged
    version: int = 0  # bumped whenever points leave, which invalidates the above

    def add(self, chunk: _Chunk) -> None:
        latency = chunk.values["latency"]
        self.min_ts = chunk.min_ts if self.count == 0 else min(self.min_ts, chunk.min_ts)
        self.max_ts = chunk.max_ts if self.count == 0 else max(self.max_ts, chunk.max_ts)
        self.count += len(chunk)
        self.latency_sum += float(latency.sum())
        self.latency_max = max(self.latency_max, float(latency.max()))
        self.error_sum += float(chunk.values["error_rate"].sum())
        self.unsorted.append(np.sort(latency))
        self.chunks.append(chunk)
        if len(self.chunks) >= _MERGE_AT:
            # Merge the small pieces only: big ones are not copied again and again.
            small = [c for c in self.chunks if len(c) < _BIG_CHUNK]
            if len(small) >= _MERGE_AT:
                big = [c for c in self.chunks if len(c) >= _BIG_CHUNK]
                self.chunks = [*big, _merge(small)]

    def keep(self, chunks: list[_Chunk]) -> None:
        """Replace the points by ``chunks`` (after eviction) and recount."""
        self.chunks = chunks
        self.count = sum(len(c) for c in chunks)
        self.min_ts = min(c.min_ts for c in chunks)
        self.max_ts = max(c.max_ts for c in chunks)
        self.latency_sum = float(sum(c.values["latency"].sum() for c in chunks))
        self.latency_max = float(max(c.values["latency"].max() for c in chunks))
        self.error_sum = float(sum(c.values["error_rate"].sum() for c in chunks))
        self.sorted_latency = None
        self.unsorted = []
        self.version += 1


def _nans(size: int) -> F64:
    return np.full(size, np.nan)


def _merge(chunks: list[_Chunk]) -> _Chunk:
    """One chunk of several, still in time order (a stable sort of sorted runs)."""
    ts = np.concatenate([c.ts for c in chunks])
    order = np.argsort(ts, kind="stable")
    values = {
        k: np.concatenate([c.values.get(k, _nans(len(c))) for c in chunks])[order]
        for k in HOT_COLUMNS
        if k not in _SPARSE or any(k in c.values for c in chunks)
    }
    return _Chunk(ts[order], values, min(c.min_ts for c in chunks), max(c.max_ts for c in chunks))


class HotTier:
    """Recent points per model; thread-safe (one writer, many readers)."""

    def __init__(self, retention_us: int, max_points: int, covered_from_us: int) -> None:
        self._retention_us = retention_us
        self._max_points = max_points
        self._covered_from = covered_from_us
        self._series: dict[str, _Series] = {}
        self._points = 0
        self._lock = threading.Lock()

    @property
    def covered_from_us(self) -> int:
        return self._covered_from

    @property
    def points(self) -> int:
        return self._points

    def covers(self, start_us: int) -> bool:
        return start_us >= self._covered_from

    # Writing -----------------------------------------------------------------------

    def append(self, table: pa.Table, now_us: int) -> None:
        """Add a committed batch (columns as in ``inference_metrics``)."""
        if table.num_rows == 0:
            return
        encoded = table.column("model_id").combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        names = encoded.dictionary.to_pylist()
        ts = table.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
        columns = {
            name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            for name in HOT_COLUMNS
            if name != "error_rate"
            and (name not in _SPARSE or table.column(name).null_count < table.num_rows)
        }
        error = table.column("error").to_numpy(zero_copy_only=False).astype(bool)
        own_rate = np.nan_to_num(
            table.column("error_rate").to_numpy(zero_copy_only=False).astype(np.float64), nan=0.0
        )
        columns["error_rate"] = np.where(error, 1.0, own_rate)

        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=len(names)))
        start = 0
        pieces: list[tuple[str, _Chunk]] = []
        for code, end in enumerate(bounds):
            rows = order[start:end]
            start = int(end)
            if rows.size == 0:
                continue
            rows = rows[ts[rows] >= self._covered_from]
            if rows.size == 0:
                continue
            rows = rows[np.argsort(ts[rows], kind="stable")]  # chunks are in time order
            chunk_ts = ts[rows]
            values = {k: v[rows] for k, v in columns.items()}
            for name in _SPARSE.intersection(values):
                if np.isnan(values[name]).all():
                    del values[name]
            pieces.append(
                (names[code], _Chunk(chunk_ts, values, int(chunk_ts.min()), int(chunk_ts.max())))
            )
        with self._lock:
            for model_id, chunk in pieces:
                self._series.setdefault(model_id, _Series()).add(chunk)
                self._points += len(chunk)
            self._evict(now_us)

    def forget(self, model_id: str) -> None:
        with self._lock:
            series = self._series.pop(model_id, None)
            if series is not None:
                self._points -= series.count

    def _evict(self, now_us: int) -> None:
        cutoff = max(self._covered_from, now_us - self._retention_us)
        if self._points > self._max_points:
            # Drop whole pieces, oldest first, until the budget holds.
            ends = sorted((c.max_ts, len(c)) for ser in self._series.values() for c in ser.chunks)
            excess = self._points - self._max_points
            for max_ts, size in ends:
                cutoff = max(cutoff, max_ts + 1)
                excess -= size
                if excess <= 0:
                    break
        self._advance(cutoff)

    def drop_before(self, cutoff_us: int) -> None:
        """Stop covering points older than ``cutoff_us`` (they were deleted)."""
        with self._lock:
            self._advance(cutoff_us)

    def _advance(self, cutoff: int) -> None:
        if cutoff <= self._covered_from:
            return
        self._covered_from = cutoff
        for model_id, series in list(self._series.items()):
            kept = [c for c in series.chunks if c.max_ts >= cutoff]
            if len(kept) == len(series.chunks):
                continue
            self._points -= series.count
            if kept:
                series.keep(kept)
                self._points += series.count
            else:
                del self._series[model_id]

    # Reading -----------------------------------------------------------------------

    def _slice(self, model_id: str, start_us: int, end_us: int, column: str) -> tuple[I64, F64]:
        with self._lock:
            series = self._series.get(model_id)
            chunks = [] if series is None else list(series.chunks)
        ts_parts: list[I64] = []
        value_parts: list[F64] = []
        for c in chunks:
            if c.max_ts < start_us or c.min_ts >= end_us or column not in c.values:
                continue  # (a sparse column it lacks: none of its points carries it)
            if c.min_ts >= start_us and c.max_ts < end_us:
                ts_parts.append(c.ts)
                value_parts.append(c.values[column])
            else:
                # Chunks are in time order: the range is one contiguous slice (a view).
                lo, hi = np.searchsorted(c.ts, (start_us, end_us))
                ts_parts.append(c.ts[lo:hi])
                value_parts.append(c.values[column][lo:hi])
        if not ts_parts:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return np.concatenate(ts_parts), np.concatenate(value_parts)

    def model_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._series)

    def window_stats(
        self, start_us: int, end_us: int, model_id: str | None = None
    ) -> list[ModelWindowStats]:
        stats = []
        for mid in [model_id] if model_id is not None else self.model_ids():
            whole = self._whole_series_stats(mid, start_us, end_us)
            if whole is not None:
                if whole.count:
                    stats.append(whole)
                continue
            _, latency = self._slice(mid, start_us, end_us, "latency")
            if latency.size == 0:
                continue
            _, errors = self._slice(mid, start_us, end_us, "error_rate")
            ordered = np.sort(latency)
            p50, p95, p99 = sorted_quantiles(ordered, (0.5, 0.95, 0.99))
            stats.append(
                ModelWindowStats(
                    model_id=mid,
                    count=int(latency.size),
                    latency_mean=float(latency.mean()),
                    latency_p50=p50,
                    latency_p95=p95,
                    latency_p99=p99,
                    latency_max=float(ordered[-1]),
                    error_rate=float(errors.mean()),
                )
            )
        return stats

    def _whole_series_stats(
        self, model_id: str, start_us: int, end_us: int
    ) -> ModelWindowStats | None:
        """Stats from the running totals and the sorted latencies, when the range holds
        every point the tier has of the model; None when it holds only some."""
        with self._lock:
            series = self._series.get(model_id)
            if series is None:
                return ModelWindowStats(model_id, 0, None, None, None, None, None, None)
            if series.min_ts < start_us or series.max_ts >= end_us:
                return None
            version, count = series.version, series.count
            latency_sum, latency_max, error_sum = (
                series.latency_sum,
                series.latency_max,
                series.error_sum,
            )
            ordered, pending = series.sorted_latency, list(series.unsorted)
            chunks = list(series.chunks) if ordered is None else []
        if ordered is None:
            ordered = np.sort(np.concatenate([c.values["latency"] for c in chunks]))
        elif pending:
            new = np.sort(np.concatenate(pending))
            ordered = np.insert(ordered, np.searchsorted(ordered, new), new)
        with self._lock:
            if series.version == version:
                series.sorted_latency = ordered
                # What arrived after the first look stays pending for the next query.
                del series.unsorted[: len(pending)]
        if len(ordered) != count:
            return None
        p50, p95, p99 = sorted_quantiles(ordered, (0.5, 0.95, 0.99))
        return ModelWindowStats(
            model_id=model_id,
            count=count,
            latency_mean=latency_sum / count,
            latency_p50=p50,
            latency_p95=p95,
            latency_p99=p99,
            latency_max=latency_max,
            error_rate=error_sum / count,
        )

    def error_window(
        self, model_id: str, start_us: int, end_us: int, latency_over: float | None = None
    ) -> ErrorWindow:
        """Count and error rate in the range; with ``latency_over``, also how many
        points had a latency strictly above it."""
        _, errors = self._slice(model_id, start_us, end_us, "error_rate")
        if errors.size == 0:
            return ErrorWindow(0, None)
        slow = 0
        if latency_over is not None:
            _, latency = self._slice(model_id, start_us, end_us, "latency")
            slow = int(np.count_nonzero(latency > latency_over))
        return ErrorWindow(int(errors.size), float(errors.mean()), slow)

    def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_us: int,
        start_us: int,
        end_us: int,
    ) -> list[tuple[int, float]]:
        """(bucket start in µs, value) for each non-empty bucket, in time order."""
        ts, values = self._slice(model_id, start_us, end_us, metric.value)
        return bucket_aggregate(ts, values, agg, interval_us)
