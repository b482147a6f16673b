"""One Prometheus registry per server, never prometheus_client's global one.

Tests start many servers in one process, and an app must not report another
app's numbers: `Telemetry.build` makes a fresh `CollectorRegistry` for each app,
with MonitorX's collector and the process collector (CPU, memory, open files of
this process, as ``monitorx_process_*``).

A scrape copies the parts' counters on the event loop and builds the text from the
copy in a worker thread: with per-model series on, the text of a thousand models
takes about 0.1 s to build, which must not hold up requests.
"""

from __future__ import annotations

__all__ = ["EXPOSITION_CONTENT_TYPE", "Telemetry"]

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from monitorx.server.telemetry.collector import MonitorXCollector, SnapshotCollector
from monitorx.server.telemetry.requests import RequestLatency
from monitorx.server.telemetry.snapshot import ObservedParts, take_snapshot

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format, which every scraper reads."""


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A server's registry, and the request latency its middleware counts into."""

    registry: CollectorRegistry
    parts: ObservedParts
    process: ProcessCollector

    @classmethod
    def build(cls, parts: ObservedParts) -> Telemetry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MonitorXCollector(parts))
        process = ProcessCollector(namespace="monitorx", registry=registry)
        return cls(registry, parts, process)

    @property
    def requests(self) -> RequestLatency:
        return self.parts.requests

    async def exposition(self) -> bytes:
        """Every family in the text exposition format (a scrape's body): the
        counters copied here, on the event loop, the text built in a thread."""
        scrape = _Scrape(SnapshotCollector(take_snapshot(self.parts)), self.process)
        return await asyncio.to_thread(generate_latest, scrape)


@dataclass(frozen=True, slots=True)
class _Scrape:
    """What one scrape collects: the registry's collectors, MonitorX's as copied."""

    monitorx: SnapshotCollector
    process: ProcessCollector

    def collect(self) -> Iterator[Metric]:
        yield from self.monitorx.collect()
        yield from self.process.collect()
