"""Where MonitorX keeps its data: the `Storage` protocol and its backends."""

from __future__ import annotations

from pathlib import Path

from monitorx.core import Clock, ValidationError
from monitorx.store.cold_tier import ColdTier
from monitorx.store.duckdb.storage import DuckDBStorage
from monitorx.store.duckdb.writer import DEFAULT_FLUSH_INTERVAL_S, DEFAULT_FLUSH_ROWS
from monitorx.store.lifecycle import DataLifecycle, LifecycleReport, RetentionPolicy
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA, metric_table
from monitorx.store.spans import SPAN_SCHEMA, TraceQuery
from monitorx.store.storage import (
    BLOB_MODEL_SEPARATOR,
    Aggregation,
    AlertQuery,
    AuditQuery,
    AuditStore,
    BlobStore,
    BreachRule,
    Bucket,
    DeliveryLogEntry,
    DocumentStore,
    ErrorWindow,
    EventStore,
    KeyStore,
    LeaseStore,
    LifecycleStore,
    LogStore,
    MetricQuery,
    MetricStore,
    ModelWindowStats,
    QueryAggregation,
    RegistryStore,
    Resolution,
    SpanStore,
    Storage,
    StoreConnection,
    TagBreachCounts,
    UserStore,
)
from monitorx.store.tiered_reads import AggregateResult, TieredReads

__all__ = [
    "BLOB_MODEL_SEPARATOR",
    "METRIC_BATCH_SCHEMA",
    "ROLLUP_SCHEMA",
    "SPAN_SCHEMA",
    "AggregateResult",
    "Aggregation",
    "AlertQuery",
    "AuditQuery",
    "AuditStore",
    "BlobStore",
    "BreachRule",
    "Bucket",
    "ColdTier",
    "DataLifecycle",
    "DeliveryLogEntry",
    "DocumentStore",
    "DuckDBStorage",
    "ErrorWindow",
    "EventStore",
    "KeyStore",
    "LeaseStore",
    "LifecycleReport",
    "LifecycleStore",
    "LogStore",
    "MetricQuery",
    "MetricStore",
    "ModelWindowStats",
    "QueryAggregation",
    "RegistryStore",
    "Resolution",
    "RetentionPolicy",
    "SpanStore",
    "Storage",
    "StoreConnection",
    "TagBreachCounts",
    "TieredReads",
    "TraceQuery",
    "UserStore",
    "metric_table",
    "open_storage",
]


def open_storage(
    url: str,
    project_id: str = "default",
    clock: Clock | None = None,
    *,
    data_dir: Path | None = None,
    hot_retention_s: float = 24 * 3600,
    hot_max_points: int = 5_000_000,
    flush_rows: int = DEFAULT_FLUSH_ROWS,
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
) -> Storage:
    """The backend a storage URL names (the one place that names backends).

    ``duckdb:///path/to/file.db`` (or ``duckdb:///:memory:``) is the embedded store;
    its hot tier keeps the last ``hot_retention_s`` of points in memory, at most
    ``hot_max_points`` of them; logged metrics move into the database every
    ``flush_rows`` rows or ``flush_interval_s`` seconds.

    ``postgresql://user@host:5432/db`` (``?schema=name`` to use a schema other than
    ``public``) keeps everything in PostgreSQL; ``influxdb://host:8086/db`` keeps the
    series in InfluxDB (v1 HTTP API) and the registry and alerts in a small DuckDB
    file under ``data_dir``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValidationError(f"not a storage URL: {url!r}", "storage_url")
    if scheme == "duckdb":
        path = rest[1:] if rest.startswith("/") else rest
        if path != ":memory:":
            path = str(Path(path))
        return DuckDBStorage(
            path, project_id, hot_retention_s, hot_max_points, clock, flush_rows, flush_interval_s
        )
    if scheme in ("postgresql", "postgres"):
        from monitorx.store.postgres.storage import PostgresStorage

        return PostgresStorage(url, project_id, clock)
    if scheme in ("influxdb", "influx"):
        from monitorx.store.influx.storage import InfluxStorage

        side = (data_dir or Path("./data")) / "influx-records.duckdb"
        return InfluxStorage(url, project_id, clock, side)
    raise ValidationError(
        f"unsupported storage backend {scheme!r}: use duckdb://, postgresql:// or influxdb://",
        "storage_url",
    )
