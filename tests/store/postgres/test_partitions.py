"""The PostgreSQL backend's day partitions, and retention by dropping them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest

from monitorx.core import (
    DriftMetric,
    DriftType,
    FakeClock,
    Severity,
    StorageError,
)
from monitorx.store import (
    MetricQuery,
)
from monitorx.store.postgres import partitions as postgres_partitions
from monitorx.store.postgres.connection import parse_postgres_url
from monitorx.store.postgres.schema import MetricLayout
from monitorx.store.postgres.storage import PostgresStorage
from tests.store.postgres.conftest import (
    NOW,
    TODAY,
    _day,
    _metrics,
    _open,
    _partition_days,
    _stamps,
)

# Partitions ----------------------------------------------------------------------


async def test_open_creates_partitions_for_today_and_the_next_two_days(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    assert store.layout is MetricLayout.PARTITIONED
    assert await _partition_days(admin, url) == {TODAY + timedelta(days=n) for n in range(3)}


async def test_a_write_ten_days_back_creates_that_days_partition_first(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    await store.write_metrics(_metrics([_day(-10), _day(-10, hour=23)]))

    assert TODAY - timedelta(days=10) in await _partition_days(admin, url)
    assert await _stamps(store) == [_day(-10), _day(-10, hour=23)]


async def test_partitions_carry_the_btree_and_brin_indexes(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    cur = await admin.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        [parse_postgres_url(url).schema, f"inference_metrics_p{TODAY:%Y%m%d}"],
    )
    definitions = " | ".join(str(d) for (d,) in await cur.fetchall())
    assert "btree (project_id, model_id, ts)" in definitions
    assert "brin (ts)" in definitions


async def test_a_new_day_creates_the_partitions_ahead_of_it(
    store: PostgresStorage,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
    url: str,
) -> None:
    clock.advance(86400)
    await store.write_metrics(_metrics([clock.now()]))

    assert TODAY + timedelta(days=3) in await _partition_days(admin, url)


async def test_replicas_writing_a_new_day_together_create_its_partition_once(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    replicas = [await _open(opened, url, clock) for _ in range(4)]

    await asyncio.gather(
        *(
            r.write_metrics(_metrics([_day(-5)], prefix=f"replica{i}"))
            for i, r in enumerate(replicas)
        )
    )

    assert TODAY - timedelta(days=5) in await _partition_days(admin, url)
    assert len(await _stamps(replicas[0])) == 4


async def test_creating_a_partition_does_not_wait_for_running_queries(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    schema = parse_postgres_url(url).schema
    async with admin.transaction():
        await admin.execute(f'SELECT count(*) FROM "{schema}".inference_metrics')

        await asyncio.wait_for(store.write_metrics(_metrics([_day(-10)])), timeout=5)

    assert await _stamps(store) == [_day(-10)]


# Retention -----------------------------------------------------------------------


async def test_retention_drops_aged_partitions_and_deletes_older_rows_of_the_cutoff_day(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    kept = [_day(-1, hour=20), NOW - timedelta(hours=1)]
    await store.write_metrics(_metrics([_day(-10), _day(-9), _day(-1, hour=6), *kept]))
    for when in (_day(-9), _day(-1, hour=20)):
        await store.write_drift(
            DriftMetric("fraud-v3", DriftType.DATA, 0.9, Severity.HIGH, when, "amount", 0.3)
        )

    await store.delete_metrics_before(_day(-1))

    days = await _partition_days(admin, url)
    assert not {TODAY - timedelta(days=10), TODAY - timedelta(days=9)} & days
    assert TODAY - timedelta(days=1) in days  # it straddles the cutoff: rows deleted
    assert await _stamps(store) == kept
    assert await store.metric_time_bounds() == (kept[0], kept[1])
    drift = await store.query_drift(MetricQuery(_day(-30), _day(1), 100))
    assert [d.timestamp for d in drift] == [_day(-1, hour=20)]


async def test_retention_keeps_a_partition_another_project_has_rows_in(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    mine = await _open(opened, url, clock, "mine")
    theirs = await _open(opened, url, clock, "theirs")
    await mine.write_metrics(_metrics([_day(-10, hour=1)]))
    await theirs.write_metrics(_metrics([_day(-10, hour=2)]))

    await mine.delete_metrics_before(_day(-5))

    assert TODAY - timedelta(days=10) in await _partition_days(admin, url)
    assert await _stamps(mine) == []
    assert await _stamps(theirs) == [_day(-10, hour=2)]

    await theirs.delete_metrics_before(_day(-5))

    assert TODAY - timedelta(days=10) not in await _partition_days(admin, url)


async def test_retention_gives_up_rather_than_stall_behind_a_long_query(
    store: PostgresStorage,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
    url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_partitions, "RETENTION_LOCK_TIMEOUT_MS", 200)
    await store.write_metrics(_metrics([_day(-10), NOW - timedelta(hours=1)]))
    schema = parse_postgres_url(url).schema
    async with admin.transaction():
        await admin.execute(f'SELECT count(*) FROM "{schema}".inference_metrics')

        with pytest.raises(StorageError):
            await asyncio.wait_for(store.delete_metrics_before(_day(-5)), timeout=5)

    assert await _stamps(store) == [_day(-10), NOW - timedelta(hours=1)]
    await store.delete_metrics_before(_day(-5))
    assert await _stamps(store) == [NOW - timedelta(hours=1)]


async def test_a_write_after_another_replica_dropped_the_partition_recreates_it(
    opened: list[PostgresStorage], url: str, clock: FakeClock
) -> None:
    writer = await _open(opened, url, clock)
    retention = await _open(opened, url, clock)
    await writer.write_metrics(_metrics([_day(-10, hour=1)], prefix="before"))

    await retention.delete_metrics_before(_day(-5))
    await writer.write_metrics(_metrics([_day(-10, hour=3)], prefix="after"))

    assert await _stamps(writer) == [_day(-10, hour=3)]
