"""One Prometheus registry per server, never prometheus_client's global one.

Tests start many servers in one process, and an app must not report another
app's numbers: `Telemetry.build` makes a fresh `CollectorRegistry` for each app,
with MonitorX's collector and the process collector (CPU, memory, open files of
this process, as ``monitorx_process_*``).
"""

from __future__ import annotations

__all__ = ["EXPOSITION_CONTENT_TYPE", "Telemetry"]

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest

from monitorx.server.telemetry.collector import MonitorXCollector, ObservedParts
from monitorx.server.telemetry.requests import RequestLatency

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format, which every scraper reads."""


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A server's registry, and the request latency its middleware counts into."""

    registry: CollectorRegistry
    requests: RequestLatency

    @classmethod
    def build(cls, parts: ObservedParts) -> Telemetry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MonitorXCollector(parts))
        ProcessCollector(namespace="monitorx", registry=registry)
        return cls(registry, parts.requests)

    def exposition(self) -> bytes:
        """Every family in the text exposition format (a scrape's body)."""
        return generate_latest(self.registry)
