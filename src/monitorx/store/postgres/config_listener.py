"""`ConfigChanges` on PostgreSQL: LISTEN on the schema's configuration channel.

Every write of configuration notifies the channel in its own transaction (the
triggers of migration 10, `postgres_schema`), with the project id as payload; a
notification is delivered only once its transaction committed, so a listener that
reads the store on hearing it sees the change. The listener keeps one connection of
its own, outside the pool (a pooled connection cannot wait for notifications).
After each (re)connection it says `everything`: what was written while it was away
was never heard. A lost connection is noticed by the error it raises, or, on a
network that went silent, by the probe run whenever `PROBE_S` pass without a
notification; it is retried with backoff.
"""

from __future__ import annotations

__all__ = ["CHANNEL_PREFIX", "PROBE_S", "RECONNECT", "PostgresConfigListener", "config_channel"]

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql

from monitorx.core.backoff import Backoff
from monitorx.store.config_changes import ConfigChange
from monitorx.store.postgres.connection import CONNECT_TIMEOUT_S, PostgresTarget

logger = logging.getLogger("monitorx.store")

CHANNEL_PREFIX = "monitorx_config_"
PROBE_S = 10.0
"""Seconds without a notification after which the connection is probed (SELECT 1)."""
RECONNECT = Backoff(initial_s=0.2, max_s=10.0, jitter=0.2)
"""Waits between attempts to reconnect: quick after a blip, at most 10 s apart."""


def config_channel(schema: str) -> str:
    """The channel the triggers of ``schema`` notify (the same expression in SQL)."""
    return CHANNEL_PREFIX + hashlib.md5(schema.encode(), usedforsecurity=False).hexdigest()


class PostgresConfigListener:
    """The configuration changes of one schema, heard on one dedicated connection."""

    def __init__(
        self,
        target: PostgresTarget,
        backoff: Backoff = RECONNECT,
        probe_s: float = PROBE_S,
    ) -> None:
        self._target = target
        self._backoff = backoff
        self._probe_s = probe_s
        self._connected = False
        self.connections = 0
        """How many times the listener has (re)connected."""

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def channel(self) -> str:
        return config_channel(self._target.schema)

    async def listen(self) -> AsyncIterator[ConfigChange]:
        failures = 0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._target.conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    fallback_application_name="monitorx-config-listener",
                )
            except psycopg.Error as exc:
                self._log_failure(failures, "cannot connect", exc)
            else:
                try:
                    async with conn:
                        await conn.execute(
                            sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
                        )
                        self._connected = True
                        self.connections += 1
                        if failures:
                            logger.info(
                                "configuration listener on %s is back", self._target.display
                            )
                        failures = 0
                        yield ConfigChange(everything=True)
                        async for change in self._heard(conn):
                            yield change
                except psycopg.Error as exc:
                    self._log_failure(failures, "lost its connection", exc)
                finally:
                    self._connected = False
            await asyncio.sleep(self._backoff.delay_s(min(failures, 16)))
            failures += 1

    async def _heard(self, conn: psycopg.AsyncConnection[object]) -> AsyncIterator[ConfigChange]:
        while True:
            async for notify in conn.notifies(timeout=self._probe_s):
                yield ConfigChange(frozenset({notify.payload}))
            # Quiet for a while: a connection whose peer vanished without a word
            # (a network partition) fails here instead of waiting forever.
            await conn.execute("SELECT 1")

    def _log_failure(self, failures: int, what: str, exc: psycopg.Error) -> None:
        # Once per outage at warning: a server down for an hour is one line, not 400.
        level = logging.WARNING if failures == 0 else logging.DEBUG
        logger.log(
            level,
            "configuration listener on %s %s (%s); changes of other replicas arrive "
            "by the periodic full reload until it is back",
            self._target.display,
            what,
            exc,
        )
