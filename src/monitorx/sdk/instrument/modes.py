"""Monitoring modes, chosen by settings: ``disabled``, ``direct`` or ``event_driven``.

    collector = create_collector(InstrumentSettings.from_env())
    # MONITORX_MONITORING_MODE = disabled | direct | event_driven   (default direct)
    # MONITORX_EVENTS_TO       = server | redis                     (event_driven only)
    # MONITORX_URL, MONITORX_API_KEY, MONITORX_SERVICE              (server)
    # MONITORX_REDIS_URL, MONITORX_REDIS_CHANNEL                    (redis)

``disabled``: a :class:`NullCollector`; every metric call is a no-op that stores
nothing. ``direct``: a :class:`MemoryCollector`, queryable and exposable to
Prometheus. ``event_driven``: the same collector, and every update published as it
happens (publishing.py) to the MonitorX server or to Redis.
"""

from __future__ import annotations

__all__ = ["EventTarget", "InstrumentSettings", "MonitoringMode", "create_collector"]

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from monitorx.core.errors import ValidationError
from monitorx.sdk.config import DEFAULT_URL
from monitorx.sdk.exporter import Exporter
from monitorx.sdk.instrument.collector import Collector, MemoryCollector, NullCollector
from monitorx.sdk.instrument.publishing import (
    DEFAULT_CHANNEL,
    DEFAULT_REDIS_URL,
    RedisEventPublisher,
    ServerEventSink,
)


class MonitoringMode(StrEnum):
    """How much in-process instrumentation does."""

    DISABLED = "disabled"
    DIRECT = "direct"
    EVENT_DRIVEN = "event_driven"


class EventTarget(StrEnum):
    """Where ``event_driven`` mode publishes."""

    SERVER = "server"
    REDIS = "redis"


@dataclass(frozen=True, slots=True)
class InstrumentSettings:
    """The instrumentation settings; :meth:`from_env` reads them from ``MONITORX_*``."""

    mode: MonitoringMode = MonitoringMode.DIRECT
    events_to: EventTarget = EventTarget.SERVER
    service: str = "service"
    url: str = DEFAULT_URL
    api_key: str | None = None
    redis_url: str = DEFAULT_REDIS_URL
    redis_channel: str = DEFAULT_CHANNEL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InstrumentSettings:
        """Settings from the environment; an unknown mode or target is ValidationError."""
        env = os.environ if environ is None else environ
        mode = env.get("MONITORX_MONITORING_MODE", MonitoringMode.DIRECT.value)
        target = env.get("MONITORX_EVENTS_TO", EventTarget.SERVER.value)
        try:
            parsed_mode = MonitoringMode(mode)
        except ValueError:
            raise ValidationError(f"unknown monitoring mode {mode!r}", "mode") from None
        try:
            parsed_target = EventTarget(target)
        except ValueError:
            raise ValidationError(f"unknown event target {target!r}", "events_to") from None
        return cls(
            mode=parsed_mode,
            events_to=parsed_target,
            service=env.get("MONITORX_SERVICE", "service"),
            url=env.get("MONITORX_URL", DEFAULT_URL),
            api_key=env.get("MONITORX_API_KEY") or None,
            redis_url=env.get("MONITORX_REDIS_URL", DEFAULT_REDIS_URL),
            redis_channel=env.get("MONITORX_REDIS_CHANNEL", DEFAULT_CHANNEL),
        )


def create_collector(settings: InstrumentSettings | None = None) -> Collector:
    """The collector for ``settings`` (from the environment when None).

    In ``event_driven`` mode the returned collector's ``sink`` is the publisher:
    call ``collector.sink.flush()`` / ``.close()`` to drain it at shutdown.
    """
    settings = settings or InstrumentSettings.from_env()
    if settings.mode is MonitoringMode.DISABLED:
        return NullCollector()
    if settings.mode is MonitoringMode.DIRECT:
        return MemoryCollector()
    if settings.events_to is EventTarget.REDIS:
        return MemoryCollector(RedisEventPublisher(settings.redis_url, settings.redis_channel))
    exporter = Exporter(settings.url, settings.api_key)
    return MemoryCollector(ServerEventSink(exporter, settings.service))
