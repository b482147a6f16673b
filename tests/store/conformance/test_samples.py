"""Custom metrics: `write_samples` (series once, samples by id), `list_series` and
`touch_series`, `read_samples` by range and series, retention, rollups — each
project apart, and all of it kept across a restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import numpy as np
import pyarrow as pa

from monitorx.core.samples import SampleColumns, canonical_labels, series_id
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import Resolution, Storage
from monitorx.store.samples.batch import SAMPLE_SCHEMA, KeyedSamples
from monitorx.store.samples.catalog import SeriesCatalog
from monitorx.store.samples.rollups import rollup_samples
from tests.store.conformance.samples import NOW

Reopen = Callable[[Storage], Awaitable[Storage]]
OTHER_PROJECT = "conformance-other"
START = NOW - timedelta(hours=1)
LABELS = [{"region": "eu", "model_id": "ranker"}, {"region": "us", "model_id": "ranker"}, {}]


def _columns(n: int, name: str = "ranker.ctr", seed: int = 7) -> SampleColumns:
    rng = np.random.default_rng(seed)
    columns = SampleColumns()
    start_us = to_epoch_us(START)
    times = np.sort(rng.integers(start_us, to_epoch_us(NOW), n))
    for i, ts in enumerate(times.tolist()):
        columns.append(name, float(rng.normal(0.03, 0.01)), ts, dict(LABELS[i % 3]), "ratio")
    return columns


async def _write(storage: Storage, columns: SampleColumns) -> SeriesCatalog:
    catalog = SeriesCatalog(max_series_per_metric=10_000)
    catalog.load(await storage.list_series())
    batch, refused = catalog.prepare(KeyedSamples.of(columns))
    assert refused.size == 0
    await storage.write_samples(batch)
    return catalog


def _rows(table: pa.Table) -> list[tuple[int, int, float]]:
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    return list(
        zip(
            table.column("series_id").to_pylist(),
            ts,
            table.column("value").to_pylist(),
            strict=True,
        )
    )


async def test_samples_read_back_by_series_and_time_and_series_once(storage: Storage) -> None:
    columns = _columns(300)
    await _write(storage, columns)

    series = await storage.list_series()
    assert sorted((s.name, tuple(sorted(s.labels.items())), s.unit) for s, _ in series) == sorted(
        ("ranker.ctr", tuple(sorted(labels.items())), "ratio") for labels in LABELS
    )
    table = await storage.read_samples(START, NOW + timedelta(seconds=1))
    assert table.schema == SAMPLE_SCHEMA
    expected = sorted(
        (series_id("ranker.ctr", canonical_labels(labels)), ts, value)
        for labels, ts, value in zip(columns.labels, columns.ts_us, columns.value, strict=True)
    )
    assert _rows(table) == expected  # by series, then time
    eu = next(s for s, _ in series if s.labels.get("region") == "eu")
    only_eu = await storage.read_samples(START, NOW + timedelta(seconds=1), [eu.series_id])
    assert {sid for sid, _, _ in _rows(only_eu)} == {eu.series_id}
    half = START + timedelta(minutes=30)
    first_half = await storage.read_samples(START, half)
    assert all(ts < to_epoch_us(half) for _, ts, _ in _rows(first_half))
    assert (await storage.read_samples(START, NOW, [])).num_rows == 0


async def test_a_series_written_again_is_not_listed_twice_and_survives_a_restart(
    storage: Storage, reopen: Reopen
) -> None:
    await _write(storage, _columns(30))
    await _write(storage, _columns(30, seed=8))
    again = await reopen(storage)
    assert len(await again.list_series()) == 3
    assert (await again.read_samples(START, NOW + timedelta(seconds=1))).num_rows == 60
    bounds = await again.sample_time_bounds()
    assert bounds is not None and START <= bounds[0] <= bounds[1] <= NOW


async def test_touch_moves_last_seen_forward_only(storage: Storage) -> None:
    await _write(storage, _columns(3))
    (series, _), *_ = await storage.list_series()
    later, earlier = to_epoch_us(NOW), to_epoch_us(NOW - timedelta(days=1))
    await storage.touch_series({series.series_id: later})
    await storage.touch_series({series.series_id: earlier})
    found = dict((s.series_id, when) for s, when in await storage.list_series())
    assert found[series.series_id] == later


async def test_projects_do_not_see_each_other(
    storage: Storage, open_project: Callable[[str], Awaitable[Storage]]
) -> None:
    await _write(storage, _columns(30))
    other = await open_project(OTHER_PROJECT)
    assert await other.list_series() == []
    assert (await other.read_samples(START, NOW + timedelta(seconds=1))).num_rows == 0


async def test_retention_deletes_older_samples_only(storage: Storage) -> None:
    await _write(storage, _columns(200))
    cutoff = START + timedelta(minutes=30)
    await storage.delete_samples_before(cutoff)
    left = _rows(await storage.read_samples(START - timedelta(days=1), NOW + timedelta(seconds=1)))
    assert left and all(ts >= to_epoch_us(cutoff) for _, ts, _ in left)


async def test_sample_rollups_round_trip_and_delete_by_bucket(storage: Storage) -> None:
    await _write(storage, _columns(500))
    raw = await storage.read_samples(START, NOW + timedelta(seconds=1))
    rows = rollup_samples(raw, Resolution.MINUTE.seconds)
    await storage.write_sample_rollups(Resolution.MINUTE, rows)
    back = await storage.read_sample_rollups(Resolution.MINUTE, START - timedelta(minutes=1), NOW)
    key = ("series_id", "bucket")
    assert (
        back.sort_by([(k, "ascending") for k in key]).to_pylist()
        == rows.sort_by([(k, "ascending") for k in key]).to_pylist()
    )
    sid = rows.column("series_id")[0].as_py()
    one = await storage.read_sample_rollups(
        Resolution.MINUTE, START - timedelta(minutes=1), NOW, [sid]
    )
    assert set(one.column("series_id").to_pylist()) == {sid}
    assert (await storage.read_sample_rollups(Resolution.HOUR, START, NOW)).num_rows == 0
    half = START + timedelta(minutes=30)
    await storage.delete_sample_rollups(Resolution.MINUTE, START - timedelta(minutes=1), half)
    kept = await storage.read_sample_rollups(Resolution.MINUTE, START - timedelta(days=1), NOW)
    buckets = kept.column("bucket").cast(pa.int64()).to_pylist()
    assert buckets and min(buckets) >= to_epoch_us(half)
    assert isinstance(rows.column("sketch")[0].as_py(), bytes)
