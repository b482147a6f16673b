"""Rollups of custom metrics: per series, minute and hour, and queries on them.

A row (``SAMPLE_ROLLUP_SCHEMA``) summarizes one series over one bucket: count, sum,
min, max, its last value and when, the increase of a counter (each sample's rise
over the one before it in the series, a drop counted as a reset — as Prometheus
counts it — assigned to the later sample's bucket), and a KLL sketch for
percentiles (error bound as in `monitorx.store.rollups`). Hour rows merge minute
rows. Queries group the rows of many series and answer every aggregation of
`QueryAggregation`: ``rate`` from the increases, ``last`` from the latest sample.
"""

from __future__ import annotations

__all__ = ["aggregate_sample_rollups", "merge_sample_rollups", "rollup_samples"]

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitorx.store.queries import QueryAggregation
from monitorx.store.rollups import group_starts, kll_sketch, merged_sketch
from monitorx.store.samples.batch import SAMPLE_ROLLUP_SCHEMA

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _timestamps(values: I64) -> pa.Array:
    return pa.array(values, pa.timestamp("us"))


def rollup_samples(raw: pa.Table, bucket_s: int) -> pa.Table:
    """Rollup rows for samples (``SAMPLE_SCHEMA``) in buckets of ``bucket_s``."""
    if raw.num_rows == 0:
        return SAMPLE_ROLLUP_SCHEMA.empty_table()
    bucket_us = bucket_s * 1_000_000
    sid = raw.column("series_id").to_numpy()
    ts = raw.column("ts").cast(pa.int64()).to_numpy()
    value = raw.column("value").to_numpy().astype(np.float64)
    order = np.lexsort((ts, sid))
    sid, ts, value = sid[order], ts[order], value[order]
    same = np.r_[False, sid[1:] == sid[:-1]]
    delta = np.r_[0.0, np.diff(value)]
    increase = np.where(same, np.where(delta < 0, value, delta), 0.0)
    bucket = (ts // bucket_us) * bucket_us
    starts = group_starts(sid, bucket)
    ends = np.r_[starts[1:], sid.size]
    return pa.table(
        {
            "series_id": sid[starts],
            "bucket": _timestamps(bucket[starts]),
            "count": (ends - starts).astype(np.int64),
            "sum": np.add.reduceat(value, starts),
            "min": np.minimum.reduceat(value, starts),
            "max": np.maximum.reduceat(value, starts),
            "last": value[ends - 1],
            "last_ts": _timestamps(ts[ends - 1]),
            "increase": np.add.reduceat(increase, starts),
            "sketch": pa.array(
                [kll_sketch(value[s:e]) for s, e in zip(starts, ends, strict=True)], pa.binary()
            ),
        },
        schema=SAMPLE_ROLLUP_SCHEMA,
    )


def merge_sample_rollups(rows: pa.Table, bucket_s: int) -> pa.Table:
    """Coarser rows (hours from minutes): the same series, wider buckets."""
    if rows.num_rows == 0:
        return SAMPLE_ROLLUP_SCHEMA.empty_table()
    bucket_us = bucket_s * 1_000_000
    sid = rows.column("series_id").to_numpy()
    last_ts = rows.column("last_ts").cast(pa.int64()).to_numpy()
    wide = (rows.column("bucket").cast(pa.int64()).to_numpy() // bucket_us) * bucket_us
    order = np.lexsort((last_ts, wide, sid))
    sid, wide, last_ts = sid[order], wide[order], last_ts[order]
    starts = group_starts(sid, wide)
    ends = np.r_[starts[1:], sid.size]
    column = {name: rows.column(name).to_numpy()[order] for name in ("count", "sum", "min", "max")}
    blobs = rows.column("sketch").take(pa.array(order)).to_pylist()
    return pa.table(
        {
            "series_id": sid[starts],
            "bucket": _timestamps(wide[starts]),
            "count": np.add.reduceat(column["count"], starts).astype(np.int64),
            "sum": np.add.reduceat(column["sum"], starts),
            "min": np.minimum.reduceat(column["min"], starts),
            "max": np.maximum.reduceat(column["max"], starts),
            "last": rows.column("last").to_numpy()[order][ends - 1],
            "last_ts": _timestamps(last_ts[ends - 1]),
            "increase": np.add.reduceat(rows.column("increase").to_numpy()[order], starts),
            "sketch": pa.array(
                [
                    bytes(merged_sketch(blobs[s:e]).serialize())
                    for s, e in zip(starts, ends, strict=True)
                ],
                pa.binary(),
            ),
        },
        schema=SAMPLE_ROLLUP_SCHEMA,
    )


def aggregate_sample_rollups(
    rows: pa.Table, group_of: Mapping[int, int], agg: QueryAggregation, interval_us: int
) -> dict[int, list[tuple[int, float]]]:
    """Per group (``group_of`` maps a series id to its group; rows of other series
    are left out): (bucket start in µs, value) per ``interval_us`` bucket."""
    if rows.num_rows == 0:
        return {}
    sid = rows.column("series_id").to_numpy()
    known = np.fromiter((s in group_of for s in sid.tolist()), bool, sid.size)
    if not known.any():
        return {}
    group = np.array([group_of[s] for s in sid[known].tolist()], np.int64)
    bucket = (rows.column("bucket").cast(pa.int64()).to_numpy()[known] // interval_us) * interval_us
    order = np.lexsort((bucket, group))
    group, bucket = group[order], bucket[order]
    picked = np.flatnonzero(known)[order]
    starts = group_starts(group, bucket)
    ends = np.r_[starts[1:], group.size]

    def column(name: str) -> F64:
        values: F64 = rows.column(name).to_numpy()[picked].astype(np.float64)
        return values

    counts = np.add.reduceat(column("count"), starts)
    quantile = agg.quantile
    if agg is QueryAggregation.COUNT:
        values = counts
    elif agg is QueryAggregation.SUM:
        values = np.add.reduceat(column("sum"), starts)
    elif agg is QueryAggregation.MEAN:
        values = np.add.reduceat(column("sum"), starts) / counts
    elif agg is QueryAggregation.MIN:
        values = np.minimum.reduceat(column("min"), starts)
    elif agg is QueryAggregation.MAX:
        values = np.maximum.reduceat(column("max"), starts)
    elif agg is QueryAggregation.RATE:
        values = np.add.reduceat(column("increase"), starts) / (interval_us / 1_000_000)
    elif agg is QueryAggregation.LAST:
        last_ts = rows.column("last_ts").cast(pa.int64()).to_numpy()[picked]
        last = column("last")
        values = np.array(
            [last[s + int(np.argmax(last_ts[s:e]))] for s, e in zip(starts, ends, strict=True)]
        )
    else:
        assert quantile is not None
        blobs = rows.column("sketch").take(pa.array(picked)).to_pylist()
        values = np.array(
            [
                merged_sketch(blobs[s:e]).get_quantile(quantile)
                for s, e in zip(starts, ends, strict=True)
            ]
        )
    found: dict[int, list[tuple[int, float]]] = {}
    for g, b, v in zip(
        group[starts].tolist(), bucket[starts].tolist(), values.tolist(), strict=True
    ):
        found.setdefault(g, []).append((b, float(v)))
    return found
