"""Rollup rows as the lifecycle jobs keep them: `write_rollups`, `read_rollups`,
`delete_rollups`. A backend stores what it is given, byte for byte (sketches
included), per resolution."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from monitorx.core import MetricName
from monitorx.store import ROLLUP_SCHEMA, Resolution, Storage
from tests.store.conformance.expected import rollup_rows
from tests.store.conformance.samples import MIDNIGHT, MODELS, random_rollups

RESOLUTIONS = [Resolution.MINUTE, Resolution.HOUR]
# Buckets on both sides of the midnight that ends March.
BUCKETS = {
    Resolution.MINUTE: [MIDNIGHT + timedelta(minutes=m) for m in range(-12, 12)],
    Resolution.HOUR: [MIDNIGHT + timedelta(hours=h) for h in range(-6, 6)],
}


def _naive(when: datetime) -> datetime:
    """How a ``timestamp("us")`` column (UTC, no zone) reads back in Python."""
    return when.replace(tzinfo=None)


def _between(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    buckets = table.column("bucket").to_pylist()
    return table.filter([_naive(start) <= b < _naive(end) for b in buckets])


def _assert_ordered_by_bucket(table: pa.Table) -> None:
    stamps = table.column("bucket").cast(pa.int64()).to_numpy()
    assert (np.diff(stamps) >= 0).all(), "rows are not ordered by bucket"


@pytest.fixture
async def written(storage: Storage) -> dict[Resolution, pa.Table]:
    """Rollups of both resolutions, each written in two batches."""
    rng = np.random.default_rng(61)
    tables = {}
    for resolution in RESOLUTIONS:
        table = random_rollups(rng, BUCKETS[resolution])
        half = table.num_rows // 2
        await storage.write_rollups(resolution, table.slice(0, half))
        await storage.write_rollups(resolution, table.slice(half))
        tables[resolution] = table
    return tables


async def test_every_column_reads_back_as_written(
    storage: Storage, written: dict[Resolution, pa.Table]
) -> None:
    for resolution in RESOLUTIONS:
        buckets = BUCKETS[resolution]

        found = await storage.read_rollups(resolution, buckets[0], buckets[-1] + timedelta(days=1))

        assert found.schema.equals(ROLLUP_SCHEMA), resolution
        _assert_ordered_by_bucket(found)
        assert rollup_rows(found) == rollup_rows(written[resolution]), resolution


async def test_range_includes_the_start_bucket_and_excludes_the_end_bucket(
    storage: Storage, written: dict[Resolution, pa.Table]
) -> None:
    for resolution in RESOLUTIONS:
        buckets = BUCKETS[resolution]
        start, end = buckets[2], buckets[-3]

        found = await storage.read_rollups(resolution, start, end)

        _assert_ordered_by_bucket(found)
        assert rollup_rows(found) == rollup_rows(_between(written[resolution], start, end))
        found_buckets = set(found.column("bucket").to_pylist())
        assert {_naive(start), _naive(buckets[-4])} <= found_buckets, resolution
        assert _naive(end) not in found_buckets, resolution


async def test_reads_filter_by_model_and_metric(
    storage: Storage, written: dict[Resolution, pa.Table]
) -> None:
    for resolution, table in written.items():
        start, end = BUCKETS[resolution][0], BUCKETS[resolution][-1] + timedelta(days=1)
        model_ids = table.column("model_id").to_pylist()
        metrics = table.column("metric").to_pylist()

        for model_id in MODELS[:2]:
            found = await storage.read_rollups(resolution, start, end, model_id=model_id)
            expected = table.filter([m == model_id for m in model_ids])
            assert rollup_rows(found) == rollup_rows(expected), (resolution, model_id)
            for metric in (MetricName.LATENCY, MetricName.ERROR_RATE):
                found = await storage.read_rollups(resolution, start, end, model_id, metric)
                expected = table.filter(
                    [m == model_id and x == metric for m, x in zip(model_ids, metrics, strict=True)]
                )
                _assert_ordered_by_bucket(found)
                assert rollup_rows(found) == rollup_rows(expected), (resolution, model_id, metric)
        for metric in (MetricName.LATENCY, MetricName.ERROR_RATE):
            found = await storage.read_rollups(resolution, start, end, metric=metric)
            expected = table.filter([x == metric for x in metrics])
            assert rollup_rows(found) == rollup_rows(expected), (resolution, metric)
        none = await storage.read_rollups(resolution, start, end, metric=MetricName.MEMORY_MB)
        assert none.num_rows == 0 and none.schema.equals(ROLLUP_SCHEMA)
        assert (await storage.read_rollups(resolution, start, end, "never-seen")).num_rows == 0


async def test_each_resolution_is_kept_apart(
    storage: Storage, written: dict[Resolution, pa.Table]
) -> None:
    # The hour buckets include every minute bucket's hour: a shared table would mix them.
    start, end = BUCKETS[Resolution.HOUR][0], BUCKETS[Resolution.HOUR][-1] + timedelta(hours=1)

    for resolution in RESOLUTIONS:
        found = await storage.read_rollups(resolution, start, end)
        assert rollup_rows(found) == rollup_rows(written[resolution]), resolution


async def test_no_rollups_read_empty(storage: Storage) -> None:
    for resolution in RESOLUTIONS:
        found = await storage.read_rollups(resolution, MIDNIGHT - timedelta(days=1), MIDNIGHT)
        assert found.num_rows == 0
        assert found.schema.equals(ROLLUP_SCHEMA)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
async def test_delete_drops_the_range_and_keeps_the_rest(
    storage: Storage, written: dict[Resolution, pa.Table], resolution: Resolution
) -> None:
    buckets = BUCKETS[resolution]
    start, end = buckets[3], buckets[-4]

    await storage.delete_rollups(resolution, start, end)

    for kept_resolution, table in written.items():
        if kept_resolution is resolution:
            bucket_times = table.column("bucket").to_pylist()
            table = table.filter([not _naive(start) <= b < _naive(end) for b in bucket_times])
        every_bucket = (
            BUCKETS[kept_resolution][0],
            BUCKETS[kept_resolution][-1] + timedelta(days=1),
        )
        found = await storage.read_rollups(kept_resolution, *every_bucket)
        assert rollup_rows(found) == rollup_rows(table), kept_resolution


async def test_rows_written_again_after_a_delete_replace_the_old_ones(
    storage: Storage, written: dict[Resolution, pa.Table]
) -> None:
    # What a rebuild of a range does: delete it, then write it anew.
    resolution = Resolution.MINUTE
    buckets = BUCKETS[resolution]
    start, end = buckets[8], buckets[16]
    fresh = random_rollups(np.random.default_rng(62), buckets[8:16])

    await storage.delete_rollups(resolution, start, end)
    await storage.write_rollups(resolution, fresh)

    found = await storage.read_rollups(resolution, start, end)
    assert rollup_rows(found) == rollup_rows(fresh)
