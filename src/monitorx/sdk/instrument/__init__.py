"""In-process instrumentation for any Python service (DESIGN.md: ``sdk.instrument``).

metrics.py      counters, gauges, histograms and timers, with labels
collector.py    MemoryCollector (direct), NullCollector (disabled)
health.py       HealthCheckManager: checks, timeouts, caching, roll-up
exposition.py   Prometheus text exposition of a collector
publishing.py   event_driven sinks: Redis, the MonitorX server
modes.py        the monitoring mode from settings: create_collector()
"""

from monitorx.sdk.instrument.collector import Collector, MemoryCollector, NullCollector
from monitorx.sdk.instrument.exposition import CONTENT_TYPE, to_prometheus_text
from monitorx.sdk.instrument.health import (
    CheckResult,
    HealthCheckManager,
    HealthReport,
    HealthStatus,
)
from monitorx.sdk.instrument.metrics import (
    DEFAULT_BUCKETS,
    Counter,
    Gauge,
    Histogram,
    HistogramSnapshot,
    InstrumentEvent,
    MetricKind,
)
from monitorx.sdk.instrument.modes import (
    EventTarget,
    InstrumentSettings,
    MonitoringMode,
    create_collector,
)
from monitorx.sdk.instrument.publishing import (
    PublisherStats,
    RedisEventPublisher,
    ServerEventSink,
)

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "CheckResult",
    "Collector",
    "Counter",
    "EventTarget",
    "Gauge",
    "HealthCheckManager",
    "HealthReport",
    "HealthStatus",
    "Histogram",
    "HistogramSnapshot",
    "InstrumentEvent",
    "InstrumentSettings",
    "MemoryCollector",
    "MetricKind",
    "MonitoringMode",
    "NullCollector",
    "PublisherStats",
    "RedisEventPublisher",
    "ServerEventSink",
    "create_collector",
    "to_prometheus_text",
]
