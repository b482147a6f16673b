"""The cold tier's layout, on a local directory and on fsspec URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from monitorx.core import MetricColumns
from monitorx.store import ColdTier, metric_table

DAY1 = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
DAY2 = datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC)


def raw() -> pa.Table:
    stamps = [DAY2, DAY1, DAY2, DAY1]
    models = ["a", "a", "b", "b:2"]
    n = len(stamps)
    return metric_table(
        MetricColumns(
            model_id=models,
            request_id=[f"r{i}" for i in range(n)],
            ts_us=[int(t.timestamp() * 1_000_000) for t in stamps],
            latency=[1.0, 2.0, 3.0, 4.0],
            tags_json=['{"zone": "eu"}'] * n,
        )
    )


def test_one_file_per_model_and_day_in_time_order(tmp_path: Path) -> None:
    paths = ColdTier(str(tmp_path)).write("proj", raw())
    relative = sorted(str(Path(p).relative_to(tmp_path).parent) for p in paths)
    assert relative == [
        "project=proj/model=a/date=2026-02-28",
        "project=proj/model=a/date=2026-03-01",
        "project=proj/model=b/date=2026-03-01",
        "project=proj/model=b:2/date=2026-02-28",
    ]
    table = pq.read_table(next(p for p in paths if "model=a/date=2026-03-01" in p))
    assert table.column("request_id").to_pylist() == ["r0"]
    assert table.schema.field("ts").type == pa.timestamp("us")


def test_writing_the_same_range_again_replaces_the_file(tmp_path: Path) -> None:
    cold = ColdTier(str(tmp_path))
    first = cold.write("proj", raw())
    second = cold.write("proj", raw())
    assert sorted(first) == sorted(second)
    assert len(list(tmp_path.rglob("*.parquet"))) == 4


def test_fsspec_urls(tmp_path: Path) -> None:
    paths = ColdTier("memory://monitorx-cold").write("proj", raw())
    memory = fsspec.filesystem("memory")
    assert sorted(memory.find("/monitorx-cold")) == sorted(paths)
    with memory.open(paths[0], "rb") as handle:
        assert pq.read_table(handle).num_rows >= 1

    file_paths = ColdTier(f"file://{tmp_path}/cold").write("proj", raw())
    assert len(file_paths) == 4 and all(Path(p).exists() for p in file_paths)
