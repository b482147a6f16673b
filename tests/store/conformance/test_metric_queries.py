"""Raw inference metrics: what `write_metrics` takes, `query_metrics` gives back."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from monitorx.core import InferenceMetric, MetricColumns
from monitorx.store import MetricQuery, Storage, metric_table
from tests.store.conformance.expected import as_inference_metrics, in_range
from tests.store.conformance.samples import MODELS, NOW, one_metric, random_metrics, us

START = NOW - timedelta(hours=3)  # 23:00 on March 31st: the data crosses midnight
ALL = 10_000  # the largest limit API.md allows


def _query(
    start: datetime = START, end: datetime = NOW, limit: int = ALL, model_id: str | None = None
) -> MetricQuery:
    return MetricQuery(start=start, end=end, limit=limit, model_id=model_id)


async def _write_random(storage: Storage, seed: int, n: int = 400) -> MetricColumns:
    columns = random_metrics(np.random.default_rng(seed), n, START, 3 * 3600)
    await storage.write_metrics(metric_table(columns))
    return columns


@pytest.mark.parametrize("form", ["arrow table", "metric columns"])
async def test_every_field_reads_back_as_written(storage: Storage, form: str) -> None:
    columns = random_metrics(np.random.default_rng(1), 400, START, 3 * 3600)
    await storage.write_metrics(metric_table(columns) if form == "arrow table" else columns)

    found = await storage.query_metrics(_query())

    assert found == as_inference_metrics(columns)
    assert all(m.timestamp.utcoffset() == timedelta(0) for m in found)


async def test_batches_of_both_forms_are_stored_together(storage: Storage) -> None:
    rng = np.random.default_rng(2)
    first = random_metrics(rng, 50, START, 3600, id_prefix="table")
    second = random_metrics(rng, 50, START + timedelta(hours=1), 3600, id_prefix="columns")
    await storage.write_metrics(metric_table(first))
    await storage.write_metrics(second)

    found = await storage.query_metrics(_query())

    assert found == as_inference_metrics(MetricColumns.concat([first, second]))


async def test_unset_optional_fields_read_back_unset(storage: Storage) -> None:
    bare = MetricColumns(
        model_id=["fraud-v3"],
        model_type=[None],
        request_id=["bare"],
        ts_us=[us(NOW - timedelta(minutes=5))],
        latency=[0.0],
        throughput=[None],
        error_rate=[None],
        error=[False],
        gpu_memory_mb=[None],
        gpu_utilization=[None],
        cpu_percent=[None],
        memory_mb=[None],
        tags_json=[None],
    )
    await storage.write_metrics(bare)

    (found,) = await storage.query_metrics(_query())

    assert found == InferenceMetric(
        model_id="fraud-v3",
        model_type=None,
        request_id="bare",
        timestamp=NOW - timedelta(minutes=5),
        latency=0.0,
    )
    assert found.throughput is None and found.error_rate is None
    assert found.resource_usage == {} and found.tags == {}


async def test_microseconds_of_timestamps_are_kept(storage: Storage) -> None:
    second = NOW.replace(hour=0, minute=0) - timedelta(seconds=1)
    instants = [second + timedelta(microseconds=m) for m in (0, 1, 499_999, 500_001, 999_999)]
    parts = [one_metric("fraud-v3", t, f"us-{i}") for i, t in enumerate(instants)]
    await storage.write_metrics(MetricColumns.concat(parts))

    found = await storage.query_metrics(_query())

    assert [m.timestamp for m in found] == sorted(instants, reverse=True)


async def test_metrics_come_back_newest_first_up_to_the_limit(storage: Storage) -> None:
    columns = await _write_random(storage, seed=3)

    found = await storage.query_metrics(_query())

    stamps = [m.timestamp for m in found]
    assert stamps == sorted(stamps, reverse=True)
    assert len(found) == len(columns)
    for limit in (1, 7, 399, 400, 401):
        limited = await storage.query_metrics(_query(limit=limit))
        assert limited == as_inference_metrics(columns)[:limit], limit


async def test_model_filter_returns_that_model_alone(storage: Storage) -> None:
    columns = await _write_random(storage, seed=5)

    for model_id in [*MODELS, "never-seen"]:
        found = await storage.query_metrics(_query(model_id=model_id))
        expected = as_inference_metrics(in_range(columns, START, NOW, model_id))
        assert found == expected, model_id
    limited = await storage.query_metrics(_query(limit=5, model_id=MODELS[1]))
    assert limited == as_inference_metrics(in_range(columns, START, NOW, MODELS[1]))[:5]


async def test_range_includes_its_start_and_excludes_its_end(storage: Storage) -> None:
    columns = await _write_random(storage, seed=6)
    start, end = START + timedelta(minutes=37, microseconds=123), NOW - timedelta(minutes=41)
    one_us = timedelta(microseconds=1)
    edges = {
        "before-start": start - one_us,
        "at-start": start,
        "last-inside": end - one_us,
        "at-end": end,
    }
    edge_columns = MetricColumns.concat(
        [one_metric("fraud-v3", when, name) for name, when in edges.items()]
    )
    await storage.write_metrics(edge_columns)
    everything = MetricColumns.concat([columns, edge_columns])

    found = await storage.query_metrics(_query(start=start, end=end))

    assert found == as_inference_metrics(in_range(everything, start, end))
    ids = {m.request_id for m in found}
    assert {"at-start", "last-inside"} <= ids
    assert not {"before-start", "at-end"} & ids
    for model_id in ("fraud-v3", "vision_x"):
        by_model = await storage.query_metrics(_query(start=start, end=end, model_id=model_id))
        assert by_model == as_inference_metrics(in_range(everything, start, end, model_id))


async def test_a_range_without_metrics_reads_empty(storage: Storage) -> None:
    await _write_random(storage, seed=7)

    assert await storage.query_metrics(_query(start=NOW, end=NOW + timedelta(days=1))) == []
    assert await storage.query_metrics(_query(start=START - timedelta(days=1), end=START)) == []
    assert await storage.query_metrics(_query(model_id="never-seen")) == []
