"""The LLM fields (API.md ``llm``) came with schema migration 6 of the embedded store
and 5 of PostgreSQL. Data of the release before — rows in the database, and metric
log segments written but not yet flushed, in the old column layout — must still be
there after the upgrade, with no LLM fields, beside new metrics that carry them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from monitorx.core import FakeClock, MetricColumns, MetricName
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import Aggregation, DuckDBStorage, MetricQuery, metric_table
from monitorx.store.duckdb.schema import MIGRATIONS
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA
from monitorx.store.metric_log import MetricLog
from tests.store.duckdb.test_migrations import store_at_version

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
BEFORE_LLM = 5  # the last embedded-store migration before the LLM columns
LLM_NAMES = ("prompt_tokens", "completion_tokens", "time_to_first_token_ms", "cost_usd")
OLD_SCHEMA = pa.schema([f for f in METRIC_BATCH_SCHEMA if f.name not in LLM_NAMES])


def _metrics(prefix: str, n: int, *, llm: bool, minutes_ago: int) -> MetricColumns:
    ts = to_epoch_us(NOW - timedelta(minutes=minutes_ago))
    return MetricColumns(
        model_id=["chat"] * n,
        model_type=["llm"] * n,
        request_id=[f"{prefix}{i}" for i in range(n)],
        ts_us=[ts + i for i in range(n)],
        latency=[100.0 + i for i in range(n)],
        prompt_tokens=[1000 + i for i in range(n)] if llm else [],
        completion_tokens=[200] * n if llm else [],
        time_to_first_token_ms=[50.0 + i for i in range(n)] if llm else [],
        cost_usd=[0.25] * n if llm else [],
    )


def _old_layout(columns: MetricColumns) -> pa.Table:
    """A batch as the release before wrote it: no LLM columns."""
    return metric_table(columns).select(OLD_SCHEMA.names)


def _make_previous_release_store(path: Path) -> None:
    con = store_at_version(path, BEFORE_LLM)
    flushed = _old_layout(_metrics("flushed-", 3, llm=False, minutes_ago=30))
    con.register("old_rows", flushed)
    con.execute("INSERT INTO inference_metrics SELECT 'default', * FROM old_rows")
    con.close()
    # A segment acknowledged but not yet moved into DuckDB when the old release stopped.
    log = MetricLog(Path(str(path) + ".metric-log"))
    log._dir.mkdir(parents=True)
    with pa.OSFile(str(log._dir / "000000000001.arrows"), "wb") as sink:
        writer = pa.ipc.new_stream(sink, OLD_SCHEMA)
        writer.write_table(_old_layout(_metrics("logged-", 2, llm=False, minutes_ago=20)))
        writer.close()


def test_an_old_segment_reads_back_with_empty_llm_columns(tmp_path: Path) -> None:
    directory = tmp_path / "log"
    directory.mkdir()
    with pa.OSFile(str(directory / "000000000007.arrows"), "wb") as sink:
        writer = pa.ipc.new_stream(sink, OLD_SCHEMA)
        writer.write_table(_old_layout(_metrics("x", 4, llm=False, minutes_ago=1)))
        writer.close()

    table = MetricLog(directory).read(7)

    assert table.schema.equals(METRIC_BATCH_SCHEMA)
    assert table.num_rows == 4
    for name in LLM_NAMES:
        assert table.column(name).null_count == 4


async def test_a_store_of_the_previous_release_keeps_its_data_and_takes_llm_fields(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitorx.duckdb"
    _make_previous_release_store(path)

    store = DuckDBStorage(path, clock=FakeClock(NOW), hot_max_points=0)
    await store.open()
    try:
        await store.write_metrics(_metrics("new-", 4, llm=True, minutes_ago=10))
        found = await store.query_metrics(MetricQuery(NOW - timedelta(hours=1), NOW, 100))
        by_id = {m.request_id: m for m in found}
        assert sorted(by_id) == [
            "flushed-0", "flushed-1", "flushed-2", "logged-0", "logged-1",
            "new-0", "new-1", "new-2", "new-3",
        ]  # fmt: skip
        assert by_id["flushed-1"].llm == {} and by_id["logged-0"].llm == {}
        assert by_id["new-2"].llm == {
            "prompt_tokens": 1002,
            "completion_tokens": 200,
            "time_to_first_token_ms": 52.0,
            "cost_usd": 0.25,
        }
        assert isinstance(by_id["new-2"].llm["prompt_tokens"], int)
        (cost,) = await store.aggregate(
            "chat", MetricName.COST_USD, Aggregation.SUM, 3600, NOW - timedelta(hours=1), NOW
        )
        assert cost.value == pytest.approx(1.0)
        (count,) = await store.aggregate(
            "chat", MetricName.PROMPT_TOKENS, Aggregation.COUNT, 3600, NOW - timedelta(hours=1), NOW
        )
        assert count.value == 4  # the old metrics do not carry the series
    finally:
        await store.close()

    con = duckdb.connect(str(path), read_only=True)
    versions = [v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()]
    con.close()
    assert sorted(versions) == [version for version, _ in MIGRATIONS]
