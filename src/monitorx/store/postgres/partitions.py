"""The time split of ``inference_metrics``: day partitions, or TimescaleDB chunks.

Both make retention cheap: a day that has aged out goes with one ``DROP TABLE`` (or
``drop_chunks``) instead of a ``DELETE`` that rewrites and vacuums millions of rows.
Partitions hold every project of the schema, so a whole partition is dropped only
when it holds no other project's rows; otherwise that project's rows are deleted
(by the caller, with the rows of the partition that straddles the cutoff).

Native partitions are created by the store: today and the next two days when it
opens, and any other day just before a write that needs it. There is no DEFAULT
partition: PostgreSQL refuses to create a partition whose range has rows in the
default one, so a default would block every later day once a stray row landed in it.
"""

from __future__ import annotations

__all__ = ["DAYS_AHEAD", "DayPartitions", "HypertableChunks", "MetricTimeSplit"]

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from psycopg import sql

from monitorx.store.postgres.connection import Connection, PostgresPool

logger = logging.getLogger("monitorx.store")

# Days created ahead of today, so that the partition a day's first write needs
# already exists: the write path creates partitions only for late or backfilled data.
DAYS_AHEAD = 2
PARTITION_PREFIX = "inference_metrics_p"
# Retention takes an exclusive lock on the parent to drop partitions. Every query
# that arrives while it waits for running ones queues behind it, so if long queries
# hold it up this long, retention gives up (`StorageError`; the next run retries)
# rather than stall ingest any longer.
RETENTION_LOCK_TIMEOUT_MS = 2_000


class MetricTimeSplit(Protocol):
    """What the metric table's time split asks of the write path and of retention."""

    async def prepare(self, today: date) -> None:
        """At open: learn what exists, and create what is needed ahead of time."""

    async def ensure_days(self, days: Iterable[date], today: date) -> None:
        """Before a write: make sure rows on ``days`` (UTC) have somewhere to go."""

    async def reload(self) -> None:
        """Forget what is known to exist (another replica may have dropped it)."""

    async def drop_before(self, cutoff: datetime, project_id: str) -> int:
        """Drop whole partitions that end at or before ``cutoff`` and hold only
        ``project_id``'s rows; return how many were dropped."""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _upper_bound(day: date) -> sql.Composable:
    """Where the partition of ``day`` ends: the next midnight, or MAXVALUE for
    9999-12-31, the last day API.md admits (Python has no year 10000)."""
    if day == date.max:
        return sql.SQL("MAXVALUE")
    return sql.Literal(_day_start(day + timedelta(days=1)))


def _has_aged_out(day: date, cutoff: datetime) -> bool:
    """Whether every instant of ``day`` is before ``cutoff``."""
    return day < date.max and _day_start(day + timedelta(days=1)) <= cutoff


async def _holds_other_projects(conn: Connection, table: sql.Composable, project_id: str) -> bool:
    """Whether ``table`` has rows of any project but ``project_id``: two probes of the
    btree whose first column is ``project_id``, not a scan."""
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {t} WHERE project_id < %s) "
        "OR EXISTS (SELECT 1 FROM {t} WHERE project_id > %s)"
    ).format(t=table)
    cur = await conn.execute(query, [project_id, project_id])
    row = await cur.fetchone()
    return bool(row and row[0])


class DayPartitions:
    """Native range partitions of ``inference_metrics``, one per UTC day, named
    ``inference_metrics_pYYYYMMDD``."""

    def __init__(self, pool: PostgresPool) -> None:
        self._pool = pool
        self._known: set[date] | None = None
        self._ahead_from: date | None = None

    @property
    def _lock_key(self) -> str:
        return f"monitorx.partitions:{self._pool.schema}"

    async def existing_days(self, conn: Connection | None = None) -> set[date]:
        """The days that have a partition, read from the catalog."""
        if conn is None:
            async with self._pool.connection() as own:
                return await self.existing_days(own)
        cur = await conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'inference_metrics'::regclass"
        )
        days: set[date] = set()
        for (name,) in await cur.fetchall():
            if name.startswith(PARTITION_PREFIX):
                try:
                    days.add(datetime.strptime(name[len(PARTITION_PREFIX) :], "%Y%m%d").date())
                except ValueError:
                    continue  # a partition someone else named: not ours to manage
        return days

    async def prepare(self, today: date) -> None:
        self._known = await self.existing_days()
        await self.ensure_days((), today)

    async def reload(self) -> None:
        self._known = None

    async def ensure_days(self, days: Iterable[date], today: date) -> None:
        wanted = set(days)
        if today != self._ahead_from:
            wanted.update(today + timedelta(days=n) for n in range(DAYS_AHEAD + 1))
        if self._known is None:
            self._known = await self.existing_days()
        if not wanted <= self._known:
            self._known = await self._create(wanted)
        self._ahead_from = today

    async def _create(self, days: set[date]) -> set[date]:
        """Create the partitions of ``days`` that do not exist; return every day that
        has one now.

        ``CREATE TABLE … PARTITION OF`` would take an ACCESS EXCLUSIVE lock on the
        parent, waiting for every running query on it and stalling all that come
        after. Creating a plain table and attaching it takes only SHARE UPDATE
        EXCLUSIVE, which reads and writes do not conflict with.
        """
        async with self._pool.transaction() as conn:
            # Replicas share the schema: one creates, the others wait, then find it.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self._lock_key])
            existing = await self.existing_days(conn)
            created = sorted(days - existing)
            for day in created:
                table = sql.Identifier(f"{PARTITION_PREFIX}{day:%Y%m%d}")
                await conn.execute(
                    sql.SQL(
                        "CREATE TABLE {} (LIKE inference_metrics INCLUDING DEFAULTS "
                        "INCLUDING CONSTRAINTS)"
                    ).format(table)
                )
                attach = (
                    "ALTER TABLE inference_metrics ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
                )
                await conn.execute(
                    sql.SQL(attach).format(table, sql.Literal(_day_start(day)), _upper_bound(day))
                )
        if created:
            logger.info("created metric partitions for %s", ", ".join(map(str, created)))
        return existing | set(created)

    async def drop_before(self, cutoff: datetime, project_id: str) -> int:
        aged = sorted(day for day in await self.existing_days() if _has_aged_out(day, cutoff))
        if not aged:
            return 0
        dropped: list[date] = []
        async with self._pool.transaction() as conn:
            await conn.execute(f"SET LOCAL lock_timeout = {int(RETENTION_LOCK_TIMEOUT_MS)}")
            # Every read and write reaches a partition through the parent, so holding
            # the parent keeps other projects' writers out between check and drop.
            await conn.execute("LOCK TABLE ONLY inference_metrics IN ACCESS EXCLUSIVE MODE")
            for day in aged:
                table = sql.Identifier(f"{PARTITION_PREFIX}{day:%Y%m%d}")
                if await _holds_other_projects(conn, table, project_id):
                    continue
                await conn.execute(sql.SQL("DROP TABLE {}").format(table))
                dropped.append(day)
        if self._known is not None:
            self._known.difference_update(dropped)
        if dropped:
            logger.info("dropped metric partitions for %s", ", ".join(map(str, dropped)))
        return len(dropped)


class HypertableChunks:
    """A TimescaleDB hypertable: TimescaleDB creates chunks as rows arrive, and
    ``drop_chunks`` removes those that have aged out."""

    def __init__(self, pool: PostgresPool, timescale_schema: str) -> None:
        self._pool = pool
        self._functions = sql.Identifier(timescale_schema)

    async def prepare(self, today: date) -> None:
        return None

    async def ensure_days(self, days: Iterable[date], today: date) -> None:
        return None

    async def reload(self) -> None:
        return None

    async def drop_before(self, cutoff: datetime, project_id: str) -> int:
        """``drop_chunks`` removes every chunk that ends before ``cutoff`` at once, so
        it runs only when none of them holds another project's rows; otherwise the
        caller's DELETE removes this project's rows and leaves the chunks."""
        async with self._pool.transaction() as conn:
            await conn.execute(f"SET LOCAL lock_timeout = {int(RETENTION_LOCK_TIMEOUT_MS)}")
            await conn.execute("LOCK TABLE ONLY inference_metrics IN ACCESS EXCLUSIVE MODE")
            cur = await conn.execute(
                sql.SQL(
                    "SELECT chunk::text FROM {}.show_chunks('inference_metrics', "
                    "older_than => %s::timestamptz) AS chunk"
                ).format(self._functions),
                [cutoff],
            )
            chunks = [str(name) for (name,) in await cur.fetchall()]
            if not chunks:
                return 0
            for chunk in chunks:
                # The name comes from the catalog, already quoted as regclass prints it.
                if await _holds_other_projects(conn, sql.SQL(chunk), project_id):
                    return 0
            await conn.execute(
                sql.SQL(
                    "SELECT {}.drop_chunks('inference_metrics', older_than => %s::timestamptz)"
                ).format(self._functions),
                [cutoff],
            )
        logger.info("dropped %d metric chunks older than %s", len(chunks), cutoff.isoformat())
        return len(chunks)
