"""InfluxDB's custom metrics (see `SampleStore`).

The series catalog lives in the side DuckDB file with the registry; the points go
to InfluxDB: measurement ``sample`` with tags ``project`` and ``sid`` (the series
id) and field ``value``; rollups to ``sample_rollup_1m`` / ``sample_rollup_1h``
with the same tags and fields ``count`` (integer), ``sum``, ``min``, ``max``,
``last``, ``last_ts`` (integer µs), ``increase`` and ``sketch`` (base64). The labels
are not InfluxDB tags: the catalog holds them once, and queries select series by
id, so a label set costs InfluxDB one series whatever its size. Two samples of one
series at the same microsecond keep the later one written (as InfluxDB does).
"""

from __future__ import annotations

__all__ = ["InfluxSampleQueries"]

import asyncio
import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from monitorx.core.samples import SeriesInfo
from monitorx.core.timeparse import from_epoch_us, to_epoch_us
from monitorx.store.duckdb.storage import DuckDBStorage
from monitorx.store.influx import queries as iql
from monitorx.store.influx.client import InfluxClient, Series
from monitorx.store.influx.layout import MAX_US
from monitorx.store.influx.lines import escape_tag_value
from monitorx.store.queries import Resolution
from monitorx.store.samples.batch import SAMPLE_ROLLUP_SCHEMA, SAMPLE_SCHEMA, SampleBatch

SAMPLE = "sample"
_ROLLUPS = {Resolution.MINUTE: "sample_rollup_1m", Resolution.HOUR: "sample_rollup_1h"}
_LINES_PER_BODY = 10_000
# Series ids one InfluxQL statement selects (a regular expression over the tag).
_IDS_PER_STATEMENT = 500


def _rollup_measurement(resolution: Resolution) -> str:
    if resolution not in _ROLLUPS:
        raise ValueError(f"no sample rollup measurement for resolution {resolution.value!r}")
    return _ROLLUPS[resolution]


def _tags(project: str, sid: int) -> str:
    return f"project={escape_tag_value(project)},sid={sid}"


def _sample_lines(table: pa.Table, project: str) -> list[str]:
    sid = table.column("series_id").to_pylist()
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    value = table.column("value").to_pylist()
    return [
        f"{SAMPLE},{_tags(project, s)} value={v!r} {t * 1000}"
        for s, t, v in zip(sid, ts, value, strict=True)
    ]


def _rollup_lines(table: pa.Table, project: str, measurement: str) -> list[str]:
    rows = table.to_pylist()
    lines = []
    for r in rows:
        sketch = base64.b64encode(r["sketch"]).decode()
        bucket_us = to_epoch_us(r["bucket"].replace(tzinfo=from_epoch_us(0).tzinfo))
        last_us = to_epoch_us(r["last_ts"].replace(tzinfo=from_epoch_us(0).tzinfo))
        fields = (
            f"count={r['count']}i,sum={r['sum']!r},min={r['min']!r},max={r['max']!r},"
            f"last={r['last']!r},last_ts={last_us}i,increase={r['increase']!r},"
            f'sketch="{sketch}"'
        )
        lines.append(f"{measurement},{_tags(project, r['series_id'])} {fields} {bucket_us * 1000}")
    return lines


def _id_filters(series_ids: Sequence[int] | None) -> list[str]:
    if series_ids is None:
        return [""]
    ids = sorted(set(series_ids))
    return [
        " AND sid =~ /^(" + "|".join(str(i) for i in ids[low : low + _IDS_PER_STATEMENT]) + ")$/"
        for low in range(0, len(ids), _IDS_PER_STATEMENT)
    ] or []


class InfluxSampleQueries:
    """Mixed into `InfluxStorage`."""

    latest_sample_us = MAX_US

    _project: str
    _influx: InfluxClient
    _side: DuckDBStorage

    async def _write_lines(self, lines: list[str]) -> None:
        for low in range(0, len(lines), _LINES_PER_BODY):
            await self._influx.write("\n".join(lines[low : low + _LINES_PER_BODY]).encode())

    async def write_samples(self, batch: SampleBatch) -> None:
        if batch.new_series:
            # The catalog first: a point never refers to a series nobody knows.
            await self._side.write_samples(
                SampleBatch(SAMPLE_SCHEMA.empty_table(), batch.new_series)
            )
        if len(batch):
            lines = await asyncio.to_thread(_sample_lines, batch.table, self._project)
            await self._write_lines(lines)

    async def list_series(self) -> list[tuple[SeriesInfo, int]]:
        return await self._side.list_series()

    async def touch_series(self, last_seen_us: Mapping[int, int]) -> None:
        await self._side.touch_series(last_seen_us)

    def _where(self, start: datetime, end: datetime, ids: str) -> str:
        return iql.where(self._project, start=start, end=end) + ids

    async def _select(self, statements: list[str]) -> list[Series]:
        found: list[Series] = []
        for results in await self._influx.query(*statements):
            found.extend(results)
        return found

    async def read_samples(
        self, start: datetime, end: datetime, series_ids: Sequence[int] | None = None
    ) -> pa.Table:
        filters = _id_filters(series_ids)
        if not filters:
            return SAMPLE_SCHEMA.empty_table()
        statements = [
            f"SELECT value FROM {SAMPLE}{self._where(start, end, f)} GROUP BY sid" for f in filters
        ]
        series = await self._select(statements)
        sids: list[int] = []
        ts: list[int] = []
        values: list[float] = []
        for s in sorted(series, key=lambda s: int(s.tags["sid"])):
            sid = int(s.tags["sid"])
            for t, v in s.values:
                sids.append(sid)
                ts.append(int(t))
                values.append(float(v))
        return pa.table(
            {
                "series_id": pa.array(np.asarray(sids, np.int64)),
                "ts": pa.array(np.asarray(ts, np.int64), pa.timestamp("us")),
                "value": pa.array(np.asarray(values, np.float64)),
            },
            schema=SAMPLE_SCHEMA,
        )

    async def sample_time_bounds(self) -> tuple[datetime, datetime] | None:
        clause = iql.where(self._project)
        oldest, newest = await self._influx.query(
            f"SELECT first(value) FROM {SAMPLE}{clause}",
            f"SELECT last(value) FROM {SAMPLE}{clause}",
        )
        if not oldest or not newest or not oldest[0].values or not newest[0].values:
            return None
        first, last = int(oldest[0].values[0][0]), int(newest[0].values[0][0])
        return from_epoch_us(first), from_epoch_us(last)

    async def delete_samples_before(self, cutoff: datetime) -> None:
        await self._influx.query(f"DELETE FROM {SAMPLE}{iql.where(self._project, end=cutoff)}")

    async def write_sample_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        if table.num_rows:
            measurement = _rollup_measurement(resolution)
            lines = await asyncio.to_thread(_rollup_lines, table, self._project, measurement)
            await self._write_lines(lines)

    async def read_sample_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        series_ids: Sequence[int] | None = None,
    ) -> pa.Table:
        measurement = _rollup_measurement(resolution)
        filters = _id_filters(series_ids)
        if not filters:
            return SAMPLE_ROLLUP_SCHEMA.empty_table()
        fields = "count, sum, min, max, last, last_ts, increase, sketch"
        statements = [
            f"SELECT {fields} FROM {measurement}{self._where(start, end, f)} GROUP BY sid"
            for f in filters
        ]
        rows: list[dict[str, Any]] = []
        for s in sorted(await self._select(statements), key=lambda s: int(s.tags["sid"])):
            for t, count, total, low, high, last, last_ts, increase, sketch in s.values:
                rows.append(
                    {
                        "series_id": int(s.tags["sid"]),
                        "bucket": int(t),
                        "count": int(count),
                        "sum": float(total),
                        "min": float(low),
                        "max": float(high),
                        "last": float(last),
                        "last_ts": int(last_ts),
                        "increase": float(increase),
                        "sketch": base64.b64decode(sketch),
                    }
                )
        if not rows:
            return SAMPLE_ROLLUP_SCHEMA.empty_table()
        columns = {name: [r[name] for r in rows] for name in SAMPLE_ROLLUP_SCHEMA.names}
        return pa.table(
            {
                name: pa.array(values, pa.int64()).cast(SAMPLE_ROLLUP_SCHEMA.field(name).type)
                if name in ("bucket", "last_ts")
                else pa.array(values, SAMPLE_ROLLUP_SCHEMA.field(name).type)
                for name, values in columns.items()
            },
            schema=SAMPLE_ROLLUP_SCHEMA,
        )

    async def delete_sample_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> None:
        await self._influx.query(
            f"DELETE FROM {_rollup_measurement(resolution)}{self._where(start, end, '')}"
        )
