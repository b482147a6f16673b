"""MonitorX's own metrics for Prometheus: the collector, the request-latency
middleware, the optional per-model series and the per-app registry."""

from monitorx.server.telemetry.collector import MonitorXCollector, SnapshotCollector, families
from monitorx.server.telemetry.models import ModelSeries
from monitorx.server.telemetry.registry import EXPOSITION_CONTENT_TYPE, Telemetry
from monitorx.server.telemetry.requests import (
    ENDPOINT_KEY,
    UNMATCHED,
    RequestLatency,
    RequestMetrics,
    RouteTemplates,
)
from monitorx.server.telemetry.snapshot import ObservedParts, Snapshot, take_snapshot

__all__ = [
    "ENDPOINT_KEY",
    "EXPOSITION_CONTENT_TYPE",
    "UNMATCHED",
    "ModelSeries",
    "MonitorXCollector",
    "ObservedParts",
    "RequestLatency",
    "RequestMetrics",
    "RouteTemplates",
    "Snapshot",
    "SnapshotCollector",
    "Telemetry",
    "families",
    "take_snapshot",
]
