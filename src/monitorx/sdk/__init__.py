"""The Python SDK: clients, decorators and the background exporter (SDK.md).

It depends on ``monitorx.core`` and httpx only, so that ``pip install monitorx``
stays light inside inference services.

    MonitorXClient / MonitorX   async / sync clients (client.py, sync_client.py)
    DriftReport                 what ``analyze`` returns; drift data calls send
                                DataFrames as Arrow (drift_data.py, drift_report.py)
    monitor_inference, track    timing where inference happens (decorators.py),
                                streams included (streaming.py)
    LLMPricing                  token prices that give an LLM call its cost (llm.py)
    init, flush, shutdown       the default background exporter (exporter.py)
    DiskSpool                   the bounded on-disk spool behind ``spool_dir`` (spool.py)
    ResourceSampler             process and GPU figures sampled in the background (resources.py)
    monitorx.sdk.instrument     in-process counters, gauges, histograms, timers, health checks

Under them: sans-IO operations shared by both clients (effects.py, delivery.py,
endpoints.py), the retry policy (retry.py), circuit breaker (breaker.py), buffer
(buffer.py) and the batching workers (worker.py, async_recorder.py).
"""

from monitorx.core.errors import (
    Conflict,
    DeliveryError,
    FieldError,
    Forbidden,
    MalformedPayload,
    MonitorXError,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from monitorx.sdk.breaker import CircuitBreaker, CircuitState
from monitorx.sdk.buffer import MetricBuffer
from monitorx.sdk.client import MonitorXClient
from monitorx.sdk.decorators import Tracking, monitor_inference, track
from monitorx.sdk.drift_report import DriftReport
from monitorx.sdk.errors import CircuitOpenError, MissingDependency
from monitorx.sdk.exporter import Exporter, default_exporter, flush, init, shutdown
from monitorx.sdk.llm import LLMPricing
from monitorx.sdk.resources import GpuSample, ResourceSample, ResourceSampler
from monitorx.sdk.results import RejectedMetric, WorkerStats, WriteResult
from monitorx.sdk.retry import RetryPolicy
from monitorx.sdk.spool import DiskSpool, SpoolLocked
from monitorx.sdk.sync_client import MonitorX

__all__ = [
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "Conflict",
    "DeliveryError",
    "DiskSpool",
    "DriftReport",
    "Exporter",
    "FieldError",
    "Forbidden",
    "GpuSample",
    "LLMPricing",
    "MalformedPayload",
    "MetricBuffer",
    "MissingDependency",
    "MonitorX",
    "MonitorXClient",
    "MonitorXError",
    "NotFound",
    "PayloadTooLarge",
    "RejectedMetric",
    "ResourceSample",
    "ResourceSampler",
    "RetryPolicy",
    "ServerError",
    "SpoolLocked",
    "Tracking",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
    "WorkerStats",
    "WriteResult",
    "default_exporter",
    "flush",
    "init",
    "monitor_inference",
    "shutdown",
    "track",
]
