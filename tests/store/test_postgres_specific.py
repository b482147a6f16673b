"""What the PostgreSQL backend does beyond the conformance suite: day partitions,
retention by dropping them, migrations, replicas sharing one schema, binary COPY,
error translation, and the TimescaleDB layout where the extension exists."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pyarrow as pa
import pytest

from monitorx.core import (
    DriftMetric,
    DriftType,
    FakeClock,
    MetricColumns,
    ModelConfig,
    ModelType,
    Severity,
    StorageError,
)
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import (
    ROLLUP_SCHEMA,
    MetricQuery,
    Resolution,
    metric_table,
    postgres_connection,
    postgres_copy,
    postgres_partitions,
)
from monitorx.store.postgres_connection import PostgresPool, parse_postgres_url
from monitorx.store.postgres_schema import MIGRATIONS, MetricLayout, migrate
from monitorx.store.postgres_storage import PostgresStorage
from monitorx.store.stored_rows import model_to_json
from tests.backends import POSTGRES_URL, backend_url

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
TODAY = NOW.date()
PROJECT = "pg-specific"


def _day(offset: int, hour: int = 12) -> datetime:
    """``hour`` o'clock UTC, ``offset`` days from today."""
    return datetime.combine(TODAY + timedelta(days=offset), datetime.min.time(), UTC).replace(
        hour=hour
    )


def _metrics(times: list[datetime], model_id: str = "fraud-v3", prefix: str = "r") -> MetricColumns:
    n = len(times)
    return MetricColumns(
        model_id=[model_id] * n,
        model_type=["tabular"] * n,
        request_id=[f"{prefix}-{i}" for i in range(n)],
        ts_us=[to_epoch_us(t) for t in times],
        latency=[float(10 + i) for i in range(n)],
        throughput=[None] * n,
        error_rate=[None] * n,
        error=[False] * n,
        gpu_memory_mb=[None] * n,
        gpu_utilization=[None] * n,
        cpu_percent=[None] * n,
        memory_mb=[None] * n,
        tags_json=[None] * n,
    )


async def _stamps(store: PostgresStorage) -> list[datetime]:
    table = await store.read_metrics_table(datetime(1970, 1, 1, tzinfo=UTC), _day(30))
    return [t.replace(tzinfo=UTC) for t in table.column("ts").to_pylist()]


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with backend_url("postgres", tmp_path) as fresh:
        yield fresh


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def admin(url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """A connection of our own to the test database, for looking at the catalog."""
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        yield conn


@pytest.fixture
async def opened(url: str, clock: FakeClock) -> AsyncIterator[list[PostgresStorage]]:
    """Stores the test opens (closed after it)."""
    stores: list[PostgresStorage] = []
    yield stores
    for store in stores:
        await store.close()


async def _open(
    opened: list[PostgresStorage], url: str, clock: FakeClock, project: str = PROJECT
) -> PostgresStorage:
    store = PostgresStorage(url, project, clock)
    await store.open()
    opened.append(store)
    return store


@pytest.fixture
async def store(opened: list[PostgresStorage], url: str, clock: FakeClock) -> PostgresStorage:
    return await _open(opened, url, clock)


async def _partition_days(
    admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> set[date]:
    """The days that have a partition of ``inference_metrics``, from pg_inherits."""
    cur = await admin.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE n.nspname = %s AND p.relname = 'inference_metrics'",
        [parse_postgres_url(url).schema],
    )
    names = [str(name) for (name,) in await cur.fetchall()]
    return {datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").date() for name in names}


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


# Errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_url",
    [
        "postgresql://postgres@127.0.0.1:1/test",  # nothing listens there
        "postgresql://postgres@127.0.0.1:5432/mx_no_such_database",
    ],
)
async def test_a_bad_server_url_gives_storage_error_from_open(bad_url: str) -> None:
    store = PostgresStorage(bad_url, PROJECT)

    with pytest.raises(StorageError) as raised:
        await store.open()

    assert isinstance(raised.value.__cause__, psycopg.Error)


async def test_a_store_that_is_not_open_raises_storage_error(url: str) -> None:
    store = PostgresStorage(url, PROJECT)

    with pytest.raises(StorageError):
        await store.ping()
    with pytest.raises(StorageError):
        await store.write_metrics(_metrics([NOW]))


async def test_connections_the_server_dropped_are_replaced(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    name = f"mx-test-{uuid.uuid4().hex[:8]}"
    store = await _open(opened, f"{url}&application_name={name}", clock)
    await store.write_metrics(_metrics([NOW - timedelta(minutes=1)]))

    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        [name],
    )

    await store.ping()
    assert len(await _stamps(store)) == 1


@asynccontextmanager
async def _relay_to_postgres() -> AsyncIterator[tuple[int, Callable[[], None]]]:
    """A TCP relay to the test server: its port, and a function that takes the
    "server" down (drops every connection, refuses new ones)."""
    target = urlsplit(POSTGRES_URL)
    writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target.hostname, target.port or 5432)
        writers.extend((client_w, server_w))
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)

    def go_down() -> None:
        server.close()
        for writer in writers:
            writer.transport.abort()

    try:
        yield server.sockets[0].getsockname()[1], go_down
    finally:
        go_down()
        await server.wait_closed()


async def test_a_server_that_goes_away_gives_storage_error(
    url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_connection, "ACQUIRE_TIMEOUT_S", 1.0)
    monkeypatch.setattr(postgres_connection, "PING_TIMEOUT_S", 1.0)
    async with _relay_to_postgres() as (port, go_down):
        relayed = urlsplit(url)._replace(netloc=f"postgres@127.0.0.1:{port}").geturl()
        store = PostgresStorage(relayed, PROJECT, clock)
        await store.open()
        try:
            await store.write_metrics(_metrics([NOW - timedelta(minutes=1)]))

            go_down()

            for call in (
                store.ping(),
                store.write_metrics(_metrics([NOW])),
                store.query_metrics(MetricQuery(_day(-1), NOW, 10)),
                store.list_models(),
            ):
                with pytest.raises(StorageError):
                    await asyncio.wait_for(call, timeout=10)
        finally:
            await store.close()


async def test_a_failed_statement_surfaces_as_storage_error(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    await admin.execute(f'DROP TABLE "{parse_postgres_url(url).schema}".alerts')

    with pytest.raises(StorageError) as raised:
        await store.active_alerts()

    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)


# TimescaleDB ---------------------------------------------------------------------


async def test_timescaledb_makes_metrics_a_hypertable_with_daily_chunks(
    opened: list[PostgresStorage],
    url: str,
    clock: FakeClock,
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    cur = await admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    if await cur.fetchone() is None:
        pytest.skip(
            "the timescaledb extension is not available on this PostgreSQL server "
            "(not in pg_available_extensions), so the hypertable layout cannot be tested"
        )
    store = await _open(opened, url, clock)
    if store.layout is not MetricLayout.HYPERTABLE:
        pytest.skip("timescaledb is offered but could not be enabled (shared_preload_libraries?)")
    schema = parse_postgres_url(url).schema
    await store.write_metrics(_metrics([_day(-10), _day(-9), NOW - timedelta(hours=1)]))

    cur = await admin.execute(
        "SELECT time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_schema = %s AND hypertable_name = 'inference_metrics'",
        [schema],
    )
    assert await cur.fetchone() == (timedelta(days=1),)

    await store.delete_metrics_before(_day(-5))

    cur = await admin.execute(
        "SELECT min(range_start) FROM timescaledb_information.chunks "
        "WHERE hypertable_schema = %s AND hypertable_name = 'inference_metrics'",
        [schema],
    )
    (oldest_chunk,) = await cur.fetchone() or (None,)
    assert oldest_chunk is not None and oldest_chunk >= _day(-5, hour=0)
    assert await _stamps(store) == [NOW - timedelta(hours=1)]
