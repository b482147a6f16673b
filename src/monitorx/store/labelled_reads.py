"""Inference metrics by labels (`GET /metrics/query`): an inference metric's
``tags`` and its ``model_id`` are its labels, matched and grouped like a custom
metric's.

Raw points are read in bulk and grouped by their distinct (model, tag set) pairs
(a batch holds few of them: each is parsed once, not per point). Old ranges come
from the rollups, which keep the model and tag set of every row, the same way
`TieredReads` answers `/metrics/aggregate`. ``last`` and ``rate`` need the order of
the points, which inference rollups do not keep: over a range older than the raw
retention they are refused with a 422 that says so.
"""

from __future__ import annotations

__all__ = ["InferenceByLabels"]

import asyncio
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import Clock, MetricName, ValidationError
from monitorx.core.timeparse import from_epoch_us
from monitorx.store.lifecycle import DataLifecycle
from monitorx.store.queries import Aggregation, QueryAggregation, Resolution
from monitorx.store.rollups import aggregate_rollups, metric_values, rollup_raw
from monitorx.store.samples.catalog import LabelMatcher
from monitorx.store.samples.grouped import GroupedPoints, aggregate_grouped
from monitorx.store.samples.service import GroupSeries, SeriesResult, group_labels
from monitorx.store.storage import Storage

_S = 1_000_000


def _labels(model_id: str, tags_json: str | None) -> dict[str, str]:
    tags = orjson.loads(tags_json) if tags_json else {}
    return {**{str(k): str(v) for k, v in tags.items()}, "model_id": model_id}


def _codes(
    models: pa.ChunkedArray,
    tags: pa.ChunkedArray,
    matchers: Sequence[LabelMatcher],
    group_by: Sequence[str],
) -> tuple[npt.NDArray[np.int64], list[dict[str, str]]]:
    """Each row's group (-1: its labels fail a matcher), and each group's labels,
    groups sorted by labels."""
    pair = pc.binary_join_element_wise(models, tags.fill_null("{}"), "\x00")
    encoded = pc.dictionary_encode(pair).combine_chunks()
    pair_keys: list[tuple[tuple[str, str], ...] | None] = []
    for text in encoded.dictionary.to_pylist():
        model_id, _, tags_json = text.partition("\x00")
        labels = _labels(model_id, tags_json)
        matched = all(m.matches(labels) for m in matchers)
        pair_keys.append(tuple(sorted(group_labels(labels, group_by).items())) if matched else None)
    keys = sorted({k for k in pair_keys if k is not None})
    index = {k: i for i, k in enumerate(keys)}
    code_of_pair = np.array([-1 if k is None else index[k] for k in pair_keys], np.int64)
    rows: npt.NDArray[np.int64] = code_of_pair[encoded.indices.to_numpy(zero_copy_only=False)]
    return rows, [dict(k) for k in keys]


class InferenceByLabels:
    """Reads of inference metrics grouped by labels (see the module docstring)."""

    def __init__(self, storage: Storage, lifecycle: DataLifecycle, clock: Clock) -> None:
        self._storage = storage
        self._lifecycle = lifecycle
        self._clock = clock

    def _resolution_for(self, start: datetime, interval_s: float) -> Resolution:
        age_s = (self._clock.now() - start).total_seconds()
        return self._lifecycle.policy.resolution_for(age_s, interval_s)

    async def query(
        self,
        metric: MetricName,
        agg: QueryAggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
        matchers: Sequence[LabelMatcher] = (),
        group_by: Sequence[str] = (),
        model_id: str | None = None,
    ) -> SeriesResult:
        resolution = self._resolution_for(start, interval_s)
        watermark = (
            None if resolution is Resolution.RAW else await self._lifecycle.watermark(resolution)
        )
        if watermark is None:
            raw = await self._storage.read_metrics_table(start, end, model_id)
            series = await asyncio.to_thread(
                self._raw, raw, metric, agg, interval_s, matchers, group_by
            )
            return SeriesResult(series, Resolution.RAW, interval_s)
        if agg in (QueryAggregation.LAST, QueryAggregation.RATE):
            raise ValidationError(
                f"{agg.value} of an inference metric needs its raw points, which are kept "
                f"{self._lifecycle.policy.raw_s / 86400:g} days; this range starts earlier",
                "agg",
            )
        step_s = resolution.seconds
        interval_s = max(step_s, -(-interval_s // step_s) * step_s)
        split = min(end, max(start, from_epoch_us(watermark)))
        rows = await self._storage.read_rollups(resolution, start, split, model_id, metric)
        if split < end:
            raw = await self._storage.read_metrics_table(split, end, model_id)
            recent = await asyncio.to_thread(rollup_raw, raw, step_s)
            rows = pa.concat_tables(
                [rows, recent.filter(pc.equal(recent.column("metric"), metric.value))]
            )
        series = await asyncio.to_thread(
            self._rollups, rows, Aggregation(agg.value), interval_s, matchers, group_by
        )
        return SeriesResult(series, resolution, interval_s)

    @staticmethod
    def _raw(
        raw: pa.Table,
        metric: MetricName,
        agg: QueryAggregation,
        interval_s: float,
        matchers: Sequence[LabelMatcher],
        group_by: Sequence[str],
    ) -> list[GroupSeries]:
        if raw.num_rows == 0:
            return []
        groups, labels = _codes(raw.column("model_id"), raw.column("tags"), matchers, group_by)
        values, present = metric_values(raw, metric)
        keep = (groups >= 0) & present
        ts = raw.column("ts").cast(pa.int64()).to_numpy()
        # Each (model, tag set) pair is a series of its own for `rate`.
        pairs = pc.dictionary_encode(
            pc.binary_join_element_wise(
                raw.column("model_id"), raw.column("tags").fill_null("{}"), "\x00"
            )
        ).combine_chunks()
        series = pairs.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        order = np.lexsort((ts[keep], series[keep]))
        points = GroupedPoints(
            groups[keep][order], series[keep][order], ts[keep][order], values[keep][order]
        )
        found = aggregate_grouped(points, agg, max(1, round(interval_s * _S)))
        return [GroupSeries(labels[g], found[g]) for g in range(len(labels)) if g in found]

    @staticmethod
    def _rollups(
        rows: pa.Table,
        agg: Aggregation,
        interval_s: float,
        matchers: Sequence[LabelMatcher],
        group_by: Sequence[str],
    ) -> list[GroupSeries]:
        if rows.num_rows == 0:
            return []
        groups, labels = _codes(rows.column("model_id"), rows.column("tags"), matchers, group_by)
        found = []
        for g, group in enumerate(labels):
            mine = rows.filter(pa.array(groups == g))
            points = aggregate_rollups(mine, agg, round(interval_s * _S))
            if points:
                found.append(GroupSeries(group, points))
        return found
