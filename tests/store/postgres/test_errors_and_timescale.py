"""The PostgreSQL backend's error translation, and the TimescaleDB layout where the
extension exists."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
import pytest

from monitorx.core import (
    FakeClock,
    StorageError,
)
from monitorx.core.errors import StorageUnavailable
from monitorx.store import (
    MetricQuery,
)
from monitorx.store.postgres import connection as postgres_connection
from monitorx.store.postgres.connection import parse_postgres_url
from monitorx.store.postgres.schema import MetricLayout
from monitorx.store.postgres.storage import PostgresStorage
from tests.backends import POSTGRES_URL
from tests.store.postgres.conftest import NOW, PROJECT, _day, _metrics, _open, _stamps

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
    async with _restartable_relay() as (port, go_down, _come_back):
        yield port, go_down


@asynccontextmanager
async def _restartable_relay() -> AsyncIterator[
    tuple[int, Callable[[], None], Callable[[], Awaitable[None]]]
]:
    """`_relay_to_postgres`, and a coroutine function that brings the "server" back
    on the same port (a restarted database)."""
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

    servers = [await asyncio.start_server(relay, "127.0.0.1", 0)]
    port = servers[0].sockets[0].getsockname()[1]

    def go_down() -> None:
        servers[-1].close()
        for writer in writers:
            writer.transport.abort()
        writers.clear()

    async def come_back() -> None:
        servers.append(await asyncio.start_server(relay, "127.0.0.1", port))

    try:
        yield port, go_down, come_back
    finally:
        go_down()
        for server in servers:
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
                # Unavailable, not just failed: the server tells clients to retry.
                with pytest.raises(StorageUnavailable):
                    await asyncio.wait_for(call, timeout=10)
        finally:
            await store.close()


async def test_a_server_that_comes_back_is_used_again_at_once(
    url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an outage longer than psycopg_pool's first backoff steps, the store
    serves again within a few seconds of the server's return, without reopening."""
    monkeypatch.setattr(postgres_connection, "ACQUIRE_TIMEOUT_S", 1.0)
    async with _restartable_relay() as (port, go_down, come_back):
        relayed = urlsplit(url)._replace(netloc=f"postgres@127.0.0.1:{port}").geturl()
        store = PostgresStorage(relayed, PROJECT, clock)
        await store.open()
        try:
            go_down()
            outage_ends = asyncio.get_running_loop().time() + 9
            while asyncio.get_running_loop().time() < outage_ends:
                with pytest.raises(StorageUnavailable):
                    await asyncio.wait_for(store.ping(), timeout=10)
                await asyncio.sleep(0.5)
            await come_back()
            back_at = asyncio.get_running_loop().time()
            while True:
                try:
                    await store.write_metrics(_metrics([NOW - timedelta(minutes=1)]))
                    break
                except StorageUnavailable:
                    assert asyncio.get_running_loop().time() - back_at < 4
                    await asyncio.sleep(0.1)
            assert len(await _stamps(store)) == 1
        finally:
            await store.close()


async def test_a_failed_statement_surfaces_as_storage_error(
    store: PostgresStorage, admin: psycopg.AsyncConnection[tuple[object, ...]], url: str
) -> None:
    await admin.execute(f'DROP TABLE "{parse_postgres_url(url).schema}".alerts')

    with pytest.raises(StorageError) as raised:
        await store.active_alerts()

    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)
    assert not isinstance(raised.value, StorageUnavailable)  # retrying will not help


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
