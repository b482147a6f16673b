"""What the projects of one server process share, built once: the decoder pool, the
HTTP client of the channels, and who a caller is — the keys of every project, the
access tokens of every project's users, single sign-on — and the rate limits in
front of them all (`SharedParts`). `monitorx.server.assembly` builds each project's
parts over them.
"""

from __future__ import annotations

__all__ = ["SharedParts"]

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from monitorx.core import Clock
from monitorx.ingest.pool import BatchDecoder
from monitorx.server.auth import Authenticator
from monitorx.server.keys import KeyRing
from monitorx.server.rate_limits import Buckets, MemoryBuckets
from monitorx.server.settings import Settings
from monitorx.server.tokens import ProjectTokens, load_signing_key
from monitorx.store import Storage
from monitorx.store.leases import holder_id

if TYPE_CHECKING:
    from monitorx.server.live_relay import LiveRelay
    from monitorx.server.oidc import OidcLogin


@dataclass(frozen=True, slots=True)
class SharedParts:
    """What the projects of one process share: built once, started before and
    stopped after every project's parts."""

    decoder: BatchDecoder
    http: httpx.AsyncClient
    keyring: KeyRing
    """The live keys of every project (each project's ring is a view of it)."""
    auth: Authenticator
    tokens: ProjectTokens
    """The access tokens of every project, each verified by its project's service."""
    signing_key: bytes
    """The key of every project's access tokens (and of SSO's state cookie)."""
    sso: OidcLogin | None
    rate_limits: Buckets | None
    lease_holder: str
    """This process as the holder of leases (store.leases), where replicas share
    the store."""
    live_relay: LiveRelay | None = None
    """The live feed across replicas (in a cluster, ``Settings.distributed``)."""

    @classmethod
    def build(cls, settings: Settings, store: Storage, clock: Clock) -> SharedParts:
        keyring = KeyRing(store, clock, store.project_id)
        tokens = ProjectTokens()
        signing_key = load_signing_key(settings)
        return cls(
            decoder=BatchDecoder(settings.ingest_workers),
            # One client for every channel of every project: pooled connections, no
            # redirects (a webhook's 3xx must not carry its secret elsewhere).
            http=httpx.AsyncClient(timeout=settings.notify_timeout_s, follow_redirects=False),
            keyring=keyring,
            auth=_authenticator(settings, keyring, tokens),
            tokens=tokens,
            signing_key=signing_key,
            sso=_sso(settings, clock, signing_key),
            rate_limits=_rate_limits(settings),
            lease_holder=holder_id(),
            live_relay=_live_relay(settings),
        )


def _authenticator(settings: Settings, keyring: KeyRing, tokens: ProjectTokens) -> Authenticator:
    return Authenticator(
        settings.auth_enabled,
        [k.get_secret_value() for k in settings.api_keys],
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
        keyring,
        tokens,
        settings.project_id,
    )


def _rate_limits(settings: Settings) -> Buckets | None:
    """The buckets requests take from: none without a rate, Redis's with a URL."""
    if settings.rate_limit_per_s <= 0:
        return None
    if settings.redis_url is None:
        return MemoryBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)
    # Imported here: a server without Redis never loads its client.
    from monitorx.server.rate_limits.redis_buckets import RedisBuckets

    return RedisBuckets.from_url(
        settings.redis_url.get_secret_value(),
        settings.redis_prefix,
        settings.rate_limit_per_s,
        settings.rate_limit_burst,
    )


def _live_relay(settings: Settings) -> LiveRelay | None:
    """The Redis relay of the live feed, in a cluster only: one process' feed needs none."""
    if not settings.distributed or settings.redis_url is None:
        return None
    from monitorx.server.live_relay import LiveRelay

    return LiveRelay.from_url(settings.redis_url.get_secret_value(), settings.redis_prefix)


def _sso(settings: Settings, clock: Clock, signing_key: bytes) -> OidcLogin | None:
    """Single sign-on through the OpenID provider the settings name, if any."""
    if settings.oidc_issuer is None:
        return None
    # Imported here: a server without SSO never loads authlib.
    from monitorx.server.oidc import OidcLogin

    return OidcLogin(settings, clock, signing_key)
