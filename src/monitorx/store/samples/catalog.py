"""The series catalog: every custom series of a project, in memory in front of the
store, and the per-metric series limit.

Writes ask it to `prepare` a batch: each row's series id (computed, never looked
up), which rows open a new series, and which are refused because their metric has
reached its limit of label sets (API.md: such a sample is rejected like an
invalid item; the rest of the batch is stored, existing series keep working).
Queries ask it which series a metric's label matchers select.
"""

from __future__ import annotations

__all__ = ["LabelMatcher", "MetricSummary", "SeriesCatalog"]

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from monitorx.core.samples import SeriesInfo, canonical_labels, series_id
from monitorx.store.samples.batch import I64, KeyedSamples, SampleBatch, sample_table


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """``key:value`` (the label equals the value) or ``key!:value`` (it does not; a
    series without the label does not equal it). A missing label equals ``""``."""

    key: str
    value: str
    negate: bool = False

    def matches(self, labels: dict[str, str]) -> bool:
        return (labels.get(self.key, "") == self.value) != self.negate


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """What `GET /metrics/names` says of a custom metric."""

    name: str
    unit: str | None
    label_keys: list[str]


@dataclass(slots=True)
class _Known:
    info: SeriesInfo
    last_seen_us: int


class SeriesCatalog:
    """The series of one project; thread-safe."""

    def __init__(self, max_series_per_metric: int) -> None:
        self.max_series_per_metric = max_series_per_metric
        self._series: dict[int, _Known] = {}
        self._by_name: dict[str, set[int]] = {}
        # (name, sorted label items) → series id: spares the canonical text and the
        # hash for a label set seen before (the common case on a busy write path).
        self._ids: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self._lock = threading.Lock()

    def load(self, series: Iterable[tuple[SeriesInfo, int]]) -> None:
        """The series the store holds, each with when it was last written (µs)."""
        with self._lock:
            for info, last_seen_us in series:
                self._add(info, last_seen_us)

    def _add(self, info: SeriesInfo, seen_us: int) -> None:
        known = self._series.get(info.series_id)
        if known is None:
            self._series[info.series_id] = _Known(info, seen_us)
            self._by_name.setdefault(info.name, set()).add(info.series_id)
        elif seen_us > known.last_seen_us:
            known.last_seen_us = seen_us

    def prepare(self, samples: KeyedSamples) -> tuple[SampleBatch, I64]:
        """The batch to store, and the rows refused because their metric is at its
        limit of series (`limit_reason` says why). The series a batch opens count
        against their metric's limit from here on, whether or not the write then
        succeeds (`discard` gives them back)."""
        new: dict[int, SeriesInfo] = {}
        keys = len(samples.names)
        sids = np.zeros(keys, np.int64)
        refused_key = np.zeros(keys, np.bool_)
        # The first time of each key: a new series is last seen at its first row's
        # time until `_saw` moves it on.
        first_ts = np.full(keys, -1, np.int64)
        first_ts[samples.key[::-1]] = samples.ts_us[::-1]
        with self._lock:
            for key, (name, labels, unit) in enumerate(
                zip(samples.names, samples.labels, samples.units, strict=True)
            ):
                sid = self._series_of(name, labels, unit, int(first_ts[key]), new)
                if sid is None:
                    refused_key[key] = True
                else:
                    sids[key] = sid
            refused_row = refused_key[samples.key]
            refused = np.flatnonzero(refused_row)
            kept = samples if not refused.size else samples.take(np.flatnonzero(~refused_row))
            row_sids = sids[kept.key]
            self._saw(row_sids, kept.ts_us)
        table = sample_table(row_sids, kept.ts_us, kept.value)
        return SampleBatch(table, list(new.values())), refused

    def _series_of(
        self,
        name: str,
        labels: dict[str, str],
        unit: str | None,
        seen_us: int,
        new: dict[int, SeriesInfo],
    ) -> int | None:
        """The id of the series of ``name`` and ``labels``, opened (into ``new``)
        when it is not known; None when that would pass the metric's limit."""
        # A client sends a series' labels in the same order every time: that order
        # finds its id without sorting; a new order is sorted once.
        key = (name, tuple(labels.items()))
        sid = self._ids.get(key)
        if sid is None:
            sid = series_id(name, canonical_labels(labels))
            self._ids[key] = sid
        if sid not in self._series and sid not in new:
            if len(self._by_name.get(name, ())) >= self.max_series_per_metric:
                return None
            info = SeriesInfo(sid, name, dict(sorted(labels.items())), unit)
            new[sid] = info
            self._add(info, seen_us)
        return sid

    def limit_reason(self, name: str) -> str:
        """Why a sample of metric ``name`` was refused by `prepare`."""
        return (
            f"metric {name!r} has reached its limit of {self.max_series_per_metric:,} "
            "label sets; this sample would open another"
        )

    def _saw(self, sids: I64, ts_us: I64) -> None:
        """Move each series' last seen time to its latest sample in the batch."""
        if not sids.size:
            return
        unique, inverse = np.unique(sids, return_inverse=True)
        latest = np.full(unique.size, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(latest, inverse, ts_us)
        for sid, us in zip(unique.tolist(), latest.tolist(), strict=True):
            known = self._series[sid]
            if us > known.last_seen_us:
                known.last_seen_us = us

    def discard(self, series: Sequence[SeriesInfo]) -> None:
        """Forget series whose opening write failed."""
        with self._lock:
            for info in series:
                self._series.pop(info.series_id, None)
                self._by_name.get(info.name, set()).discard(info.series_id)

    def get(self, sid: int) -> SeriesInfo | None:
        known = self._series.get(sid)
        return None if known is None else known.info

    def has_metric(self, name: str) -> bool:
        return bool(self._by_name.get(name))

    def select(self, name: str, matchers: Sequence[LabelMatcher]) -> list[SeriesInfo]:
        """The series of metric ``name`` whose labels every matcher accepts."""
        with self._lock:
            found = [self._series[sid].info for sid in self._by_name.get(name, ())]
        return [s for s in found if all(m.matches(s.labels) for m in matchers)]

    def metrics(self, seen_since_us: int) -> list[MetricSummary]:
        """Every metric, with the label keys of its series written since
        ``seen_since_us`` (a metric not written since has none), by name."""
        with self._lock:
            known = list(self._series.values())
        units: dict[str, str | None] = {}
        keys: dict[str, set[str]] = {}
        for k in known:
            units.setdefault(k.info.name, k.info.unit)
            names = keys.setdefault(k.info.name, set())
            if k.last_seen_us >= seen_since_us:
                names.update(k.info.labels)
        return [MetricSummary(n, units[n], sorted(keys[n])) for n in sorted(keys)]

    def last_seen(self) -> dict[int, int]:
        """Each series' latest sample time (µs), for the store to keep."""
        with self._lock:
            return {sid: k.last_seen_us for sid, k in self._series.items()}
