"""The PostgreSQL backend's migrations (replicas sharing one schema) and binary COPY."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow as pa
import pytest

from monitorx.core import (
    FakeClock,
    MetricColumns,
    MetricName,
    ModelConfig,
    ModelType,
)
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import (
    ROLLUP_SCHEMA,
    Aggregation,
    MetricQuery,
    Resolution,
    metric_table,
)
from monitorx.store.postgres import copy as postgres_copy
from monitorx.store.postgres.connection import PostgresPool, parse_postgres_url
from monitorx.store.postgres.schema import MIGRATIONS, migrate
from monitorx.store.postgres.storage import PostgresStorage
from monitorx.store.sql.rows import model_to_json
from tests.backends import POSTGRES_URL
from tests.store.postgres.conftest import NOW, PROJECT, _day, _metrics, _open, _stamps

# Migrations ----------------------------------------------------------------------


async def test_a_schema_of_an_older_release_upgrades_in_place(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    pool = PostgresPool(url)
    model = ModelConfig("legacy", ModelType.LLM, "Legacy model")
    async with pool.dedicated() as conn:
        state = await migrate(conn, pool.schema, max_version=1)
        await conn.execute(
            "INSERT INTO models VALUES (%s, %s, %s, now(), now())",
            [PROJECT, model.id, model_to_json(model)],
        )
    assert state.version == 1

    store = await _open(opened, url, clock)

    assert await store.get_model("legacy") == model
    cur = await admin.execute(
        f'SELECT array_agg(version ORDER BY version) FROM "{pool.schema}".schema_migrations'
    )
    assert await cur.fetchone() == ([version for version, _, _ in MIGRATIONS],)
    row = {"model_id": "legacy", "tags": "{}", "metric": "latency", "bucket": _day(-1)}
    row.update({"count": 2, "sum": 3.0, "min": 1.0, "max": 2.0, "sketch": b"\x00\x01"})
    row["bucket"] = _day(-1).replace(tzinfo=None)
    rollups = pa.Table.from_pylist([row], schema=ROLLUP_SCHEMA)
    await store.write_rollups(Resolution.MINUTE, rollups)
    assert (await store.read_rollups(Resolution.MINUTE, _day(-2), NOW)).equals(rollups)
    assert await store.put_document("channel", "ops-hook", '{"type": "webhook"}') is True
    assert await store.list_documents("channel") == [("ops-hook", '{"type": "webhook"}')]
    await store.append_delivery_log(["a1"], NOW, '{"ok": true}')
    assert await store.list_delivery_log("a1") == ['{"ok": true}']


async def test_a_schema_of_the_previous_release_gains_the_alerting_tables(
    opened: list[PostgresStorage], url: str, clock: FakeClock
) -> None:
    pool = PostgresPool(url)
    async with pool.dedicated() as conn:
        state = await migrate(conn, pool.schema, max_version=2)
        await conn.execute(
            "INSERT INTO markers (project_id, name, value) VALUES (%s, 'm', 'v')", [PROJECT]
        )
    assert state.version == 2

    store = await _open(opened, url, clock)

    assert await store.get_marker("m") == "v"
    assert await store.put_document("route", "default", "{}") is True
    assert await store.put_document("route", "default", '{"x": 1}') is False
    await store.append_delivery_log(["a1", "a2"], NOW, "{}")
    assert await store.list_delivery_log("a2") == ["{}"]


async def test_replicas_opening_a_fresh_schema_together_migrate_it_once(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    await asyncio.gather(*(_open(opened, url, clock) for _ in range(3)))

    cur = await admin.execute(
        f'SELECT count(*) FROM "{parse_postgres_url(url).schema}".schema_migrations'
    )
    assert await cur.fetchone() == (len(MIGRATIONS),)


async def test_a_schema_that_does_not_exist_yet_is_created(
    opened: list[PostgresStorage], clock: FakeClock
) -> None:
    schema = f"mx_new_{uuid.uuid4().hex[:10]}"
    try:
        store = await _open(opened, f"{POSTGRES_URL}?schema={schema}", clock)
        await store.write_metrics(_metrics([NOW - timedelta(minutes=1)]))
        assert len(await _stamps(store)) == 1
    finally:
        for store in opened:
            await store.close()
        opened.clear()
        async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# COPY ----------------------------------------------------------------------------


async def test_binary_copy_keeps_every_value_exactly(store: PostgresStorage) -> None:
    times = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),  # PostgreSQL's epoch
        NOW - timedelta(microseconds=1),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),  # the last instant API.md admits
    ]
    columns = MetricColumns(
        model_id=["m", "model.with:every_char-", "東京", "m"],
        model_type=[None, "", "llm", "cv"],
        request_id=["", 'a,b\n"c"\\d\t', "🚀", "x" * 5000],
        ts_us=[to_epoch_us(t) for t in times],
        latency=[0.0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2],
        throughput=[None, 1.0, None, 2.5],
        error_rate=[0.0, None, 1.0, None],
        error=[True, False, True, False],
        gpu_memory_mb=[None, None, None, None],
        gpu_utilization=[1.0, 2.0, 3.0, 4.0],
        cpu_percent=[None, 3.3, None, None],
        memory_mb=[4.4, None, None, 8.8],
        tags_json=[None, "{}", '{"région": "Zürich"}', '{"note": "a b,c=d \\"q\\""}'],
    )
    await store.write_metrics(columns)

    table = await store.read_metrics_table(times[0], datetime.max.replace(tzinfo=UTC))

    assert table.schema == metric_table(columns).schema
    assert table.to_pylist() == metric_table(columns).to_pylist()


async def test_a_sliced_arrow_table_writes_only_its_slice(store: PostgresStorage) -> None:
    times = [NOW - timedelta(minutes=m) for m in range(10, 0, -1)]
    columns = _metrics(times)
    columns.tags_json = [None if i % 3 else f'{{"i": "{i}"}}' for i in range(10)]
    table = metric_table(columns)

    await store.write_metrics(table.slice(3, 4))

    written = await store.read_metrics_table(times[0], NOW)
    assert written.to_pylist() == table.slice(3, 4).to_pylist()


async def test_a_batch_sent_in_pieces_is_written_whole_and_in_order(
    store: PostgresStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_copy, "COPY_PIECE_ROWS", 3)
    times = [NOW - timedelta(seconds=s) for s in range(10, 0, -1)]

    await store.write_metrics(_metrics(times))

    assert await _stamps(store) == times


async def test_a_batch_that_fails_midway_commits_nothing(
    store: PostgresStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_copy, "COPY_PIECE_ROWS", 3)
    encode = postgres_copy.metric_copy_rows
    calls: list[int] = []

    def fail_on_the_third_piece(table: pa.Table, project_id: str) -> memoryview:
        calls.append(table.num_rows)
        if len(calls) == 3:
            raise RuntimeError("encoding failed")
        return encode(table, project_id)

    monkeypatch.setattr(postgres_copy, "metric_copy_rows", fail_on_the_third_piece)

    with pytest.raises(RuntimeError, match="encoding failed"):
        await store.write_metrics(_metrics([NOW - timedelta(seconds=s) for s in range(10)]))

    assert await _stamps(store) == []


async def test_an_empty_batch_is_a_no_op(store: PostgresStorage) -> None:
    await store.write_metrics(MetricColumns())

    assert await store.metric_time_bounds() is None


async def test_a_schema_before_the_llm_fields_keeps_its_rows_and_takes_them(
    opened: list[PostgresStorage], url: str, clock: FakeClock
) -> None:
    pool = PostgresPool(url)
    day = NOW.date()
    async with pool.dedicated() as conn:
        state = await migrate(conn, pool.schema, max_version=4)
        await conn.execute(
            f"CREATE TABLE inference_metrics_p{day:%Y%m%d} PARTITION OF inference_metrics "
            f"FOR VALUES FROM ('{_day(0, 0).isoformat()}') TO ('{_day(1, 0).isoformat()}')"
        )
        await conn.execute(
            "INSERT INTO inference_metrics VALUES "
            "(%s, 'chat', 'llm', 'old-1', %s, 120.0, NULL, NULL, false, "
            "NULL, NULL, NULL, NULL, NULL)",
            [PROJECT, NOW - timedelta(minutes=30)],
        )
    assert state.version == 4

    store = await _open(opened, url, clock)
    new = _metrics([NOW - timedelta(minutes=10)], model_id="chat", prefix="new")
    new.prompt_tokens, new.completion_tokens = [2**40], [7]
    new.time_to_first_token_ms, new.cost_usd = [81.5], [0.0125]
    await store.write_metrics(metric_table(new))

    found = await store.query_metrics(MetricQuery(NOW - timedelta(hours=1), NOW, 10))
    assert [(m.request_id, m.llm) for m in found] == [
        (
            "new-0",
            {
                "prompt_tokens": 2**40,
                "completion_tokens": 7,
                "time_to_first_token_ms": 81.5,
                "cost_usd": 0.0125,
            },
        ),
        ("old-1", {}),
    ]
    (tokens,) = await store.aggregate(
        "chat", MetricName.PROMPT_TOKENS, Aggregation.SUM, 3600, NOW - timedelta(hours=1), NOW
    )
    assert tokens.value == 2**40
