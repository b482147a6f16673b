"""Shared fixtures and helpers of the PostgreSQL backend's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from monitorx.core import (
    FakeClock,
    MetricColumns,
)
from monitorx.core.timeparse import to_epoch_us
from monitorx.store.postgres.connection import parse_postgres_url
from monitorx.store.postgres.storage import PostgresStorage
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
