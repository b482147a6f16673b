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
import pyarrow as pa

from monitorx.core.samples import SampleColumns, SeriesInfo, canonical_labels, series_id
from monitorx.store.samples.batch import SampleBatch, sample_table


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

    def prepare(self, columns: SampleColumns) -> tuple[SampleBatch, list[tuple[int, str]]]:
        """The batch to store, and the rows refused: (row, why). The series a batch
        opens count against their metric's limit from here on, whether or not the
        write then succeeds (`discard` gives them back)."""
        ids: list[int] = []
        kept: list[int] = []
        refused: list[tuple[int, str]] = []
        new: dict[int, SeriesInfo] = {}
        with self._lock:
            for row, (name, labels) in enumerate(zip(columns.name, columns.labels, strict=True)):
                # A client sends a series' labels in the same order every time: that
                # order finds its id without sorting; a new order is sorted once.
                key = (name, tuple(labels.items()))
                sid = self._ids.get(key)
                if sid is None:
                    sid = series_id(name, canonical_labels(labels))
                    self._ids[key] = sid
                if sid not in self._series and sid not in new:
                    if len(self._by_name.get(name, ())) >= self.max_series_per_metric:
                        refused.append((row, self._over_limit(name)))
                        continue
                    info = SeriesInfo(sid, name, dict(sorted(labels.items())), columns.unit[row])
                    new[sid] = info
                    self._add(info, columns.ts_us[row])
                ids.append(sid)
                kept.append(row)
            all_kept = len(kept) == len(columns)
            ts = columns.ts_us if all_kept else [columns.ts_us[r] for r in kept]
            values = columns.value if all_kept else [columns.value[r] for r in kept]
            table = sample_table(ids, ts, values)
            self._seen(table)
        return SampleBatch(table, list(new.values())), refused

    def _over_limit(self, name: str) -> str:
        return (
            f"metric {name!r} has reached its limit of {self.max_series_per_metric:,} label "
            "sets; this sample would open another"
        )

    def _seen(self, table: pa.Table) -> None:
        """Move each series' last write time to its latest sample in ``table``."""
        ids = table.column("series_id").to_numpy()
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        unique, inverse = np.unique(ids, return_inverse=True)
        latest = np.full(unique.size, np.iinfo(np.int64).min)
        np.maximum.at(latest, inverse, ts)
        for sid, seen_us in zip(unique.tolist(), latest.tolist(), strict=True):
            known = self._series[sid]
            known.last_seen_us = max(known.last_seen_us, seen_us)

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
