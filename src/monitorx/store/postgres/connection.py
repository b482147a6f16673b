"""One PostgreSQL database as MonitorX uses it: a pool of connections pinned to a schema.

The storage URL is libpq's (``postgresql://user:password@host:5432/db``) plus one
parameter of ours, ``?schema=NAME``, which is stripped before libpq sees the URL and
becomes the ``search_path`` of every connection. Every connection also runs with
``TimeZone = 'UTC'``, so that timestamps come back in UTC and day boundaries (the
metric partitions) are UTC days.

Connections run in autocommit: a read is one round trip, a multi-statement write
opens an explicit transaction. Driver errors are translated to `StorageError` here,
where they occur, so no psycopg exception crosses the store's boundary; those that
mean the server cannot be reached (down, restarting, the connection cut, no
connection to be had) become `StorageUnavailable`, which clients are told to retry.

A server that goes away and comes back (a restart, a failover) is used again
without restarting MonitorX: the pool replaces dead connections, gives up on a
connection attempt after `RECONNECT_GIVE_UP_S` instead of backing off for minutes,
and opens a fresh one when the next query asks. While the server is known to be
unreachable, queries wait `UNREACHABLE_WAIT_S` for a connection, not
`ACQUIRE_TIMEOUT_S`, so that clients get their 503 promptly.
"""

from __future__ import annotations

__all__ = ["PostgresPool", "PostgresTarget", "parse_postgres_url"]

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from monitorx.core import StorageError
from monitorx.core.errors import StorageUnavailable

logger = logging.getLogger("monitorx.store")

Connection = psycopg.AsyncConnection[TupleRow]

DEFAULT_SCHEMA = "public"
# How long one attempt to reach the server may take: long enough for a busy server
# across a network, short enough that a wrong URL fails `open()` promptly.
CONNECT_TIMEOUT_S = 10
# How long a query waits for a pooled connection before it fails: the wait of a
# request when every connection is busy, and how long a server that has gone away
# takes to surface as `StorageError` (the pool keeps trying to reconnect meanwhile).
ACQUIRE_TIMEOUT_S = 10.0
# A health check must answer quickly even when the server does not.
PING_TIMEOUT_S = 5.0
# psycopg_pool retries a failed connection attempt with exponential backoff for
# `reconnect_timeout` (5 minutes by default): after an outage of T seconds its next
# try may come T seconds late. Giving up early lets the next query that needs a
# connection start a fresh attempt at once, so recovery takes about a second.
RECONNECT_GIVE_UP_S = 2.0
# How long a query waits for a connection while every attempt to connect fails.
UNREACHABLE_WAIT_S = 2.0
# libpq parameters for every connection; the application name (unless the URL sets
# one) lets an operator find MonitorX's sessions in pg_stat_activity.
_CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "fallback_application_name": "monitorx",
}


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """Where a storage URL points: what libpq connects to, and which schema we use."""

    conninfo: str
    schema: str
    display: str
    """The URL without its password, for messages and logs."""


def parse_postgres_url(url: str) -> PostgresTarget:
    """Split ``?schema=`` off a ``postgresql://`` URL; keep every other parameter for libpq."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in params if key == "schema"]
    kept = [(key, value) for key, value in params if key != "schema"]
    schema = schemas[-1] if schemas and schemas[-1] else DEFAULT_SCHEMA
    conninfo = urlunsplit(parts._replace(query=urlencode(kept)))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    display = urlunsplit(parts._replace(netloc=netloc, query=urlencode(kept)))
    return PostgresTarget(conninfo, schema, f"{display} (schema {schema})")


class PostgresPool:
    """An `AsyncConnectionPool` on one database and schema, with error translation."""

    def __init__(self, url: str, min_size: int = 1, max_size: int = 10) -> None:
        self.target = parse_postgres_url(url)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: AsyncConnectionPool[Connection] | None = None
        # Set when the pool gave up connecting; cleared by the next connection made
        # and by the next query that succeeds.
        self._unreachable = False

    @property
    def schema(self) -> str:
        return self.target.schema

    def error(self, what: str, exc: BaseException) -> StorageError:
        """The `StorageError` for a driver failure while doing ``what``:
        `StorageUnavailable` for an `OperationalError` (the server is down or
        unreachable, the connection was cut, the pool had none to give) or an
        `InterfaceError` (a connection found closed)."""
        lost = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        kind = StorageUnavailable if lost else StorageError
        return kind(f"PostgreSQL {what} failed ({self.target.display}): {exc}")

    async def configure(self, conn: Connection) -> None:
        """Pin a new connection to our schema and to UTC (the pool runs this on each)."""
        self._unreachable = False
        await conn.execute(
            sql.SQL("SET search_path TO {}; SET TimeZone TO 'UTC'").format(
                sql.Identifier(self.schema)
            )
        )

    @asynccontextmanager
    async def dedicated(self) -> AsyncIterator[Connection]:
        """A connection outside the pool, for schema migrations at start-up.

        Connecting directly (rather than waiting for the pool) makes a wrong URL or a
        server that is down fail at once with the server's own message.
        """
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.target.conninfo, autocommit=True, **_CONNECT_OPTIONS
            )
        except psycopg.Error as exc:
            raise self.error("connect", exc) from exc
        try:
            async with conn:
                await self.configure(conn)
                yield conn
        except psycopg.Error as exc:
            raise self.error("schema setup", exc) from exc

    async def open(self) -> None:
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self.target.conninfo,
            kwargs={"autocommit": True, **_CONNECT_OPTIONS},
            min_size=self._min_size,
            max_size=self._max_size,
            configure=self.configure,
            # One empty round trip on checkout, so a connection the server dropped
            # (restart, failover) is replaced instead of failing the caller's query.
            check=AsyncConnectionPool.check_connection,
            timeout=ACQUIRE_TIMEOUT_S,
            reconnect_timeout=RECONNECT_GIVE_UP_S,
            reconnect_failed=self._gave_up_connecting,
            name="monitorx",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            await pool.close()
            raise self.error("connection pool start", exc) from exc
        self._pool = pool

    def _gave_up_connecting(self, pool: AsyncConnectionPool[Connection]) -> None:
        self._unreachable = True

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def connection(self, wait_s: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection (waiting at most ``wait_s`` for one); driver errors in
        the block become `StorageError`."""
        pool = self._pool
        if pool is None:
            raise StorageError("storage is not open")
        if self._unreachable:
            wait_s = min(wait_s or ACQUIRE_TIMEOUT_S, UNREACHABLE_WAIT_S)
        try:
            async with pool.connection(wait_s) as conn:
                yield conn
            self._unreachable = False
        except psycopg.Error as exc:
            raise self.error("query", exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction, committed when the block ends."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetch(
        self, query: sql.SQL | sql.Composed | str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[Any]:
        """All rows of one statement."""
        async with self.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()

    async def execute(
        self, query: sql.SQL | sql.Composed | str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> int:
        """Run one statement on its own (autocommit); return the rows it touched."""
        async with self.connection() as conn:
            cur = await conn.execute(query, params)
            return cur.rowcount

    async def ping(self) -> None:
        async with self.connection(PING_TIMEOUT_S) as conn:
            await conn.execute("SELECT 1")
