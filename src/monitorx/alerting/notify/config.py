"""The alerting configuration of a project: channels, routes and silences.

Kept in the store as documents (kinds ``channel``, ``route``, ``silence``) and held
in memory for the dispatcher. Every change is written to the store before it takes
effect, so what the API acknowledged survives a restart. A channel's config is
sealed with the secret keys before it is stored (`ChannelRecord.stored`); channels
an earlier version stored in plaintext are sealed when the configuration loads.

Integrity: a route may only name channels that exist, and a channel that a route
names cannot be deleted (409, naming the route) — the same guarantees Alertmanager's
config loader gives, checked per request instead of per file.
"""

from __future__ import annotations

__all__ = ["AlertingConfig"]

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TypeVar

import httpx

from monitorx.alerting.notify.channel_secrets import CHANNEL, seal_plaintext_channels
from monitorx.alerting.notify.channels.base import Channel
from monitorx.alerting.notify.channels.registry import DEFAULT_RATE_LIMITS, build_channel
from monitorx.alerting.notify.definitions import (
    ChannelRecord,
    RouteRecord,
    is_plaintext_channel,
    silence_from_stored,
    silence_json,
)
from monitorx.alerting.notify.rate_limits import RateLimit, RateLimits
from monitorx.alerting.notify.routing import Route
from monitorx.alerting.notify.silences import Silence, SilenceState
from monitorx.core import Clock, Conflict, NotFound, ValidationError
from monitorx.store import DocumentStore
from monitorx.store.config_changes import in_held_order
from monitorx.store.secret_keys import SecretKeyRing, SecretUnreadable

ROUTE, SILENCE = "route", "silence"
T = TypeVar("T")
logger = logging.getLogger("monitorx.alerting.notify.config")


class AlertingConfig:
    def __init__(
        self,
        storage: DocumentStore,
        clock: Clock,
        http: httpx.AsyncClient,
        keys: SecretKeyRing,
        default_limit: RateLimit | None = None,
    ) -> None:
        """``keys`` seal channel configs in the store and open them again;
        ``default_limit``, when set, replaces the channel types' own default rate
        limits for every channel that sets none."""
        self._storage = storage
        self._keys = keys
        self._clock = clock
        self._http = http
        self._default_limit = default_limit
        self.channels: dict[str, ChannelRecord] = {}
        # Live mappings the delivery queue reads: enabled channels, their rate limits.
        self.senders: dict[str, Channel] = {}
        self.limits: dict[str, RateLimits] = {}
        self.routes: dict[str, RouteRecord] = {}  # in creation order
        self.silences: dict[str, Silence] = {}
        self._listeners: list[Callable[[], None]] = []
        # A load and a change made here never interleave: a load that read the
        # store before a change was stored would otherwise undo it in memory.
        self._lock = asyncio.Lock()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after channels or routes change."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    async def load(self) -> None:
        """Read everything stored, in place of what was held: at start-up, and again
        when another replica changed it. `SecretUnreadable`, naming every channel
        whose config none of the keys opens, before anything is installed."""
        async with self._lock:
            await self._load_channels()
            routes: dict[str, RouteRecord] = {}
            for _, body in await self._storage.list_documents(ROUTE):
                record = RouteRecord.from_body(json.loads(body))
                routes[record.id] = record
            silences: dict[str, Silence] = {}
            for _, body in await self._storage.list_documents(SILENCE):
                silence = silence_from_stored(json.loads(body))
                silences[silence.id] = silence
            # In place: the dispatcher and the delivery queue hold these mappings.
            _replace(self.routes, in_held_order(self.routes, routes))
            _replace(self.silences, in_held_order(self.silences, silences))
            self._changed()

    # Channels ------------------------------------------------------------------------

    async def _load_channels(self) -> None:
        records: list[ChannelRecord] = []
        unreadable: dict[str, str] = {}
        plaintext = 0
        for key, body in await self._storage.list_documents(CHANNEL):
            data = json.loads(body)
            try:
                records.append(ChannelRecord.from_stored(data, self._keys))
            except SecretUnreadable as exc:
                unreadable[key] = exc.key_id or "?"
            plaintext += is_plaintext_channel(data)
        if unreadable:
            listing = ", ".join(f"{c!r} (key {k})" for c, k in sorted(unreadable.items()))
            raise SecretUnreadable(
                f"the secrets of {len(unreadable)} channel(s) are sealed with a key that "
                f"is not configured: {listing}; configured: {', '.join(self._keys.key_ids)}"
            )
        for gone in set(self.channels) - {record.id for record in records}:
            self._uninstall(gone)
        for record in records:
            if self.channels.get(record.id) != record:  # an unchanged one keeps its sender
                self._install(record)
        if plaintext:
            sealed = await seal_plaintext_channels(self._storage, self._keys)
            # A warning: the rows replaced may linger in the database's free space.
            logger.warning(
                "%d channel(s) were stored in plaintext by an earlier version: sealed "
                "them with key %s; the replaced rows may linger in free database pages "
                "until purged (docs/security.md, 'Upgrading from plaintext')",
                sealed,
                self._keys.key_id,
            )

    def channel(self, channel_id: str) -> ChannelRecord:
        record = self.channels.get(channel_id)
        if record is None:
            raise NotFound(f"no channel with id {channel_id!r}")
        return record

    def sender(self, channel_id: str) -> Channel:
        """The channel's sender, enabled or not (a test send works on both)."""
        record = self.channel(channel_id)
        return self.senders.get(channel_id) or build_channel(record.type, record.config, self._http)

    def _install(self, record: ChannelRecord) -> None:
        self.channels[record.id] = record
        self.senders.pop(record.id, None)
        self.limits.pop(record.id, None)
        if record.enabled:
            self.senders[record.id] = build_channel(record.type, record.config, self._http)
        self.limits[record.id] = self._limits_of(record)

    def _uninstall(self, channel_id: str) -> None:
        self.channels.pop(channel_id, None)
        self.senders.pop(channel_id, None)
        self.limits.pop(channel_id, None)

    def _limits_of(self, record: ChannelRecord) -> RateLimits:
        if record.rate_limit is not None:
            return (record.rate_limit,)
        if self._default_limit is not None:
            return (self._default_limit,)
        return DEFAULT_RATE_LIMITS.get(record.type, ())

    async def put_channel(self, record: ChannelRecord) -> bool:
        """Create or replace a channel; True when it was created."""
        build_channel(record.type, record.config, self._http)  # refuse before storing
        body = json.dumps(record.stored(self._keys))
        async with self._lock:
            created = await self._storage.put_document(CHANNEL, record.id, body)
            self._install(record)
            self._changed()
        return created

    async def delete_channel(self, channel_id: str) -> None:
        self.channel(channel_id)
        users = [r.id for r in self.routes.values() if channel_id in r.referenced_channels()]
        if users:
            raise Conflict(
                f"channel {channel_id!r} is used by route(s) {', '.join(users)}; "
                "change or delete them first"
            )
        async with self._lock:
            await self._storage.delete_document(CHANNEL, channel_id)
            self._uninstall(channel_id)
            self._changed()

    def send_resolved(self) -> dict[str, bool]:
        return {cid: record.send_resolved for cid, record in self.channels.items()}

    # Routes --------------------------------------------------------------------------

    def route(self, route_id: str) -> RouteRecord:
        record = self.routes.get(route_id)
        if record is None:
            raise NotFound(f"no route with id {route_id!r}")
        return record

    async def put_route(self, record: RouteRecord) -> bool:
        missing = sorted(record.referenced_channels() - set(self.channels))
        if missing:
            raise ValidationError(f"no channel with id {missing[0]!r}; create it first", "channels")
        async with self._lock:
            created = await self._storage.put_document(ROUTE, record.id, json.dumps(record.body))
            self.routes[record.id] = record
            self._changed()
        return created

    async def delete_route(self, route_id: str) -> None:
        self.route(route_id)
        async with self._lock:
            await self._storage.delete_document(ROUTE, route_id)
            self.routes.pop(route_id, None)
            self._changed()

    def route_tree(self) -> tuple[Route, ...]:
        return tuple(r.route for r in self.routes.values())

    # Silences ------------------------------------------------------------------------

    def silence(self, silence_id: str) -> Silence:
        found = self.silences.get(silence_id)
        if found is None:
            raise NotFound(f"no silence with id {silence_id!r}")
        return found

    async def add_silence(self, silence: Silence) -> None:
        await self._save_silence(silence)

    async def expire_silence(self, silence_id: str) -> Silence:
        expired = self.silence(silence_id).expired(self._clock.now())
        await self._save_silence(expired)
        return expired

    async def _save_silence(self, silence: Silence) -> None:
        async with self._lock:
            body = json.dumps(silence_json(silence))
            await self._storage.put_document(SILENCE, silence.id, body)
            self.silences[silence.id] = silence

    def list_silences(self, state: SilenceState | None = None) -> list[Silence]:
        now = self._clock.now()
        found = [s for s in self.silences.values() if state is None or s.state(now) is state]
        return sorted(found, key=lambda s: (s.starts_at, s.id), reverse=True)


def _replace(held: dict[str, T], found: dict[str, T]) -> None:
    """Make ``held`` hold ``found``, in its order, without replacing the dict."""
    held.clear()
    held.update(found)
