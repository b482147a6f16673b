"""The `Storage` protocol every backend implements, composed of one small protocol
per concern, so that a part of MonitorX can name just the concern it uses:

- `StoreConnection`: open, close, ping, and the configuration changes other
  processes make (`config_changes`);
- `MetricStore`: inference and drift metrics — writes, pages, aggregates, windows;
- `RegistryStore`: the model registry and the alerts;
- `DocumentStore`: small JSON documents (alerting configuration and state) and the
  delivery log;
- `BlobStore`: opaque bytes (the Parquet parts of logged records and reference sets);
- `LifecycleStore`: what rollups, retention and the cold tier need;
- `SampleStore`: custom metrics — the series and their samples, raw and rolled up;
- `LeaseStore`: leases, so that replicas sharing a store do a thing once;
- `SpanStore`: the spans of traces.
- `EventStore` and `LogStore`: events (deploys, config changes) and searchable logs.

Each concern has its conformance tests in ``tests/store/conformance``, run on every
backend. Every method is safe to call concurrently. A write returns only once its
data is committed: after a crash it is still there. Times are aware UTC datetimes;
ranges are ``[start, end)``.
"""

from __future__ import annotations

__all__ = [
    "BLOB_MODEL_SEPARATOR",
    "Aggregation",
    "AlertQuery",
    "AuditQuery",
    "AuditStore",
    "BlobStore",
    "BreachRule",
    "Bucket",
    "DeliveryLogEntry",
    "DocumentStore",
    "ErrorWindow",
    "EventStore",
    "GroupedSampleReads",
    "KeyStore",
    "LeaseStore",
    "LifecycleStore",
    "LogStore",
    "MetricQuery",
    "MetricStore",
    "ModelWindowStats",
    "QueryAggregation",
    "RegistryStore",
    "Resolution",
    "SampleStore",
    "SpanStore",
    "Storage",
    "StoreConnection",
    "TagBreachCounts",
    "UserStore",
]

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import pyarrow as pa

from monitorx.core import (
    Alert,
    DriftMetric,
    InferenceMetric,
    MetricColumns,
    MetricName,
    ModelConfig,
)
from monitorx.core.audit import AuditEntry
from monitorx.core.events import Event, EventQuery, LogEntry, LogQuery
from monitorx.core.keys import ApiKeyRecord
from monitorx.core.samples import SeriesInfo
from monitorx.core.traces import StoredSpan, TraceSummary
from monitorx.core.users import RefreshTokenRecord, StoredUser, UserRecord
from monitorx.store.config_changes import ConfigChanges
from monitorx.store.leases import Fence
from monitorx.store.queries import (
    BLOB_MODEL_SEPARATOR,
    Aggregation,
    AlertQuery,
    AuditQuery,
    BreachRule,
    Bucket,
    DeliveryLogEntry,
    ErrorWindow,
    MetricQuery,
    ModelWindowStats,
    QueryAggregation,
    Resolution,
)
from monitorx.store.samples.batch import SampleBatch
from monitorx.store.spans import TraceQuery


class StoreConnection(Protocol):
    async def open(self) -> None:
        """Connect, create or migrate the schema."""

    async def close(self) -> None:
        """Finish pending writes and release the backend."""

    async def ping(self) -> None:
        """Raise `StorageError` if the backend cannot serve."""

    @property
    def project_id(self) -> str:
        """The project whose data this store reads and writes."""

    def for_project(self, project_id: str) -> Storage:
        """The store of another project on the same backend, sharing this one's
        connections (and threads): one server serves several projects with one
        pool. Open it after this store and close it before; closing it leaves this
        store open."""

    def config_changes(self) -> ConfigChanges | None:
        """Where to hear that another process (a replica, the CLI) changed this
        store's configuration (`store.config_changes`); None when no other process
        can (a store file one process holds)."""

    async def stored_projects(self) -> set[str]:
        """Every project with models, alerts or alerting configuration here (a
        server starts their background work: `monitorx.server.projects`)."""


class MetricStore(Protocol):
    """Inference metrics and the drift metrics clients report."""

    async def write_metrics(self, batch: pa.Table | MetricColumns) -> None:
        """Append a batch (an Arrow table of ``METRIC_BATCH_SCHEMA``, or columns);
        return once it is committed."""

    async def query_metrics(self, query: MetricQuery) -> list[InferenceMetric]: ...

    async def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
    ) -> list[Bucket]: ...

    async def window_stats(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> list[ModelWindowStats]: ...

    async def error_window(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        latency_over: float | None = None,
    ) -> ErrorWindow:
        """Count and error rate of a model's metrics in ``[start, end)``; with
        ``latency_over``, also how many of them had a latency strictly above it."""

    async def has_metrics(self, model_id: str) -> bool: ...

    async def write_drift(self, metric: DriftMetric) -> None: ...

    async def query_drift(self, query: MetricQuery) -> list[DriftMetric]: ...


class RegistryStore(Protocol):
    """The model registry and the alerts: the store's non-series records."""

    async def save_model(self, model: ModelConfig) -> bool:
        """Insert or replace; True when it was created."""

    async def get_model(self, model_id: str) -> ModelConfig | None: ...

    async def list_models(self) -> list[ModelConfig]: ...

    async def delete_model(self, model_id: str) -> bool: ...

    async def save_alert(self, alert: Alert) -> None: ...

    async def save_alerts(self, alerts: Sequence[Alert]) -> None:
        """Save several alerts in one transaction (an alert storm: one commit)."""

    async def get_alert(self, alert_id: str) -> Alert | None: ...

    async def list_alerts(self, query: AlertQuery) -> list[Alert]: ...

    async def active_alerts(self) -> list[Alert]: ...

    async def open_or_update_alerts(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        """For each alert as a new breach would open it (one per identity): where an
        unresolved alert of its identity (`Alert.identity`) is stored, that alert
        after the breach (`Alert.absorb`), else the alert itself, stored — all in
        one transaction, and atomic per identity: stores shared by replicas keep at
        most one unresolved alert per identity however many breach it at once.
        ``(alert as stored, True when opened)``, in the order given."""

    async def resolve_alerts(
        self, alert_ids: Sequence[str], at: datetime, breached_before: datetime | None = None
    ) -> list[Alert]:
        """Resolve those of these alerts that are not resolved (with
        ``breached_before``: and whose last breach is not later), in one step: of
        callers racing to resolve an alert, one gets it back. The alerts resolved."""

    async def acknowledge_alert(self, alert_id: str, at: datetime) -> Alert | None:
        """Acknowledge an alert that is not; the alert as this call acknowledged it,
        or None (acknowledged already, or no such alert)."""

    async def alerts_updated_since(self, since: datetime) -> list[Alert]:
        """Every alert updated at or after ``since``, oldest update first."""

    async def purge_model_data(self, model_id: str) -> None:
        """Delete everything kept of a model but its registry entry: metrics, drift,
        rollups, its alerts and their delivery log, its blobs (`BLOB_MODEL_SEPARATOR`),
        and its events and logs."""


class DocumentStore(Protocol):
    """Documents: small JSON texts the alerting engine keeps, its configuration and
    state (channels, routes, rules, silences, threshold profiles, SLOs, the
    notification log, pending deliveries), each named by a ``kind`` and a ``key``
    unique within the kind. The store does not read the bodies. And the delivery
    log: each notification attempt, kept per alert."""

    async def put_document(self, kind: str, key: str, body: str) -> bool:
        """Insert or replace; True when it was created. On replace ``created_at`` is
        kept (the document keeps its place in `list_documents`); ``updated_at`` is
        set to the clock's now either way."""

    async def get_document(self, kind: str, key: str) -> str | None:
        """The body of a document, or None when there is none."""

    async def list_documents(self, kind: str) -> list[tuple[str, str]]:
        """(key, body) of every document of a kind, oldest created first, then by key."""

    async def delete_document(self, kind: str, key: str) -> bool:
        """Remove a document; True when it existed."""

    async def apply_documents(
        self,
        puts: Sequence[tuple[str, str, str]] = (),
        deletes: Sequence[tuple[str, str]] = (),
        log: Sequence[DeliveryLogEntry] = (),
        fence: Fence | None = None,
    ) -> None:
        """Put ``(kind, key, body)`` documents (as `put_document`), delete ``(kind, key)``
        ones and append delivery log entries, all in one transaction — with a
        ``fence``, only while that lease is still its holder's (else `LeaseLost`,
        nothing written)."""

    async def append_delivery_log(self, alert_ids: Sequence[str], at: datetime, body: str) -> None:
        """Record one attempt: one entry per alert id (a notification may carry many
        alerts), each with the same ``at`` and ``body`` (a JSON text)."""

    async def list_delivery_log(self, alert_id: str, limit: int = 1000) -> list[str]:
        """The bodies logged for an alert in the order they were appended (oldest
        first): the newest ``limit`` of them when there are more."""


class LeaseStore(Protocol):
    """Leases (`store.leases`): one holder at a time per name and project, for a
    bounded time, by the database's clock, with a fencing token that grows each
    time the lease changes hands."""

    async def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take the lease, or renew it, for ``ttl_s`` from now: its token, or None
        while another holder's lease runs."""

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up now, if ``holder`` has it."""

    async def lease_holder(self, name: str) -> tuple[str, int] | None:
        """(holder, token) of the unexpired lease, or None."""


class BlobStore(Protocol):
    """Blobs: opaque bytes (Parquet files of drift reference sets and logged
    records), each named by a ``kind`` and a ``key`` unique within the kind. A blob
    whose key is a model id, or starts with a model id and `BLOB_MODEL_SEPARATOR`,
    belongs to that model: `RegistryStore.purge_model_data` deletes it."""

    async def put_blob(self, kind: str, key: str, data: bytes) -> None:
        """Insert or replace; return once committed."""

    async def get_blob(self, kind: str, key: str) -> bytes | None:
        """The bytes of a blob, or None when there is none."""

    async def list_blob_keys(self, kind: str, prefix: str = "") -> list[str]:
        """The keys of a kind's blobs that start with ``prefix``, in code-point order."""

    async def delete_blobs(self, kind: str, prefix: str) -> int:
        """Delete a kind's blobs whose key starts with ``prefix``; return how many."""


class LifecycleStore(Protocol):
    """What rollups, retention and the cold tier need of a backend. Rollup tables
    hold ``ROLLUP_SCHEMA`` rows (store.metric_batch); ``bucket`` is the start of the
    minute or hour. Backends store them; `store.rollups` computes."""

    async def read_metrics_table(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> pa.Table:
        """Raw metrics in ``[start, end)`` as a ``METRIC_BATCH_SCHEMA`` table, oldest first."""

    async def metric_time_bounds(self) -> tuple[datetime, datetime] | None:
        """The oldest and newest raw metric timestamps, or None when there are none."""

    async def delete_metrics_before(self, cutoff: datetime) -> None:
        """Drop raw inference metrics (and client drift metrics) older than ``cutoff``."""

    async def write_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        """Append rollup rows (``ROLLUP_SCHEMA``); return once committed."""

    async def read_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        model_id: str | None = None,
        metric: MetricName | None = None,
    ) -> pa.Table:
        """Rollup rows with ``bucket`` in ``[start, end)``, ordered by bucket."""

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        """Drop rollup rows with ``bucket`` in ``[start, end)``."""

    async def get_marker(self, name: str) -> str | None:
        """A small named value the lifecycle jobs keep (watermarks), or None."""

    async def set_marker(self, name: str, value: str) -> None: ...


class SampleStore(Protocol):
    """Custom metrics: each series kept once (`SeriesInfo`), its samples referring to
    it by id. Rollup rows hold ``SAMPLE_ROLLUP_SCHEMA``, like the inference metrics'
    rollups but per series, with a counter's increase and the last value."""

    @property
    def latest_sample_us(self) -> int:
        """The last sample time (epoch µs) this store keeps: 9999-12-31 for the SQL
        stores, 2262-04-11 for InfluxDB (nanoseconds in 64 bits). Later rows are
        refused before `write_samples`, each with why."""

    async def write_samples(self, batch: SampleBatch) -> None:
        """Record the batch's new series and append its rows (``SAMPLE_SCHEMA``), in
        one transaction; return once committed."""

    async def list_series(self) -> list[tuple[SeriesInfo, int]]:
        """Every series, with when it was last written as far as the store was told
        (`touch_series`), in epoch µs."""

    async def touch_series(self, last_seen_us: Mapping[int, int]) -> None:
        """Keep each series' latest sample time (it only moves forward)."""

    async def read_samples(
        self, start: datetime, end: datetime, series_ids: Sequence[int] | None = None
    ) -> pa.Table:
        """Samples in ``[start, end)`` (of the given series, else all), ordered by
        series then time, as ``SAMPLE_SCHEMA``."""

    async def sample_time_bounds(self) -> tuple[datetime, datetime] | None:
        """The oldest and newest sample timestamps, or None when there are none."""

    async def delete_samples_before(self, cutoff: datetime) -> None: ...

    async def write_sample_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        """Append rollup rows (``SAMPLE_ROLLUP_SCHEMA``); return once committed."""

    async def read_sample_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        series_ids: Sequence[int] | None = None,
    ) -> pa.Table:
        """Rollup rows with ``bucket`` in ``[start, end)``, ordered by series, bucket."""

    async def delete_sample_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> None: ...


class AuditStore(Protocol):
    """The audit log: who changed what, kept under its own retention."""

    async def write_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries; return once committed."""

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        """The project's entries that match, newest first, at most ``query.limit``."""

    async def delete_audit_before(self, cutoff: datetime) -> None: ...


class KeyStore(Protocol):
    """API keys: each kept as its hash, with its project and role."""

    async def save_key(self, record: ApiKeyRecord, key_hash: str) -> None: ...

    async def all_keys(self) -> list[tuple[ApiKeyRecord, str]]:
        """Every key of every project (a key names its project), with its hash."""

    async def list_keys(self) -> list[ApiKeyRecord]:
        """This project's keys, revoked ones included, oldest first."""

    async def revoke_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key of this project; False when there is none not yet revoked."""


class UserStore(Protocol):
    """Users (password hashes, sealed TOTP secrets) and their refresh tokens (as
    hashes), within the project."""

    async def save_user(self, record: UserRecord, password_hash: str) -> None: ...

    async def find_user(self, username: str) -> StoredUser | None:
        """The project's user of that username."""

    async def get_user(self, user_id: str) -> StoredUser | None: ...

    async def list_users(self) -> list[UserRecord]:
        """The project's users, oldest first."""

    async def delete_user(self, user_id: str, when: datetime) -> bool:
        """Delete a user and revoke its refresh tokens; False when there is none."""

    async def disable_user(self, user_id: str, when: datetime) -> bool:
        """Disable a user and revoke its refresh tokens; False when there is none
        not yet disabled."""

    async def set_user_totp(self, user_id: str, sealed_secret: str | None, enabled: bool) -> None:
        """Keep a (sealed) TOTP secret, pending or enabled; forget the last step."""

    async def accept_totp_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as the user's last accepted TOTP step, only when it is
        later than the one recorded: False means a replayed code."""

    async def save_refresh_token(self, record: RefreshTokenRecord, token_hash: str) -> None: ...

    async def spend_refresh_token(
        self, token_hash: str, when: datetime
    ) -> tuple[RefreshTokenRecord, bool] | None:
        """Mark the token of that hash used, atomically: its record and True when
        this call spent it, False when it was already used or revoked; None when
        the project has no such token."""

    async def revoke_refresh_family(self, family: str, when: datetime) -> None: ...


class SpanStore(Protocol):
    """The spans of traces (OTLP's, decoded: `core.traces`), kept per project and
    retained like raw metrics."""

    async def write_spans(self, table: pa.Table) -> None:
        """Append spans (an Arrow table of ``SPAN_SCHEMA``, `store.spans`) in one
        transaction; return once committed."""

    async def list_traces(self, query: TraceQuery) -> list[TraceSummary]:
        """The traces with a span starting in the query's range that pass its
        filters, each summed up from those spans, newest first, at most
        ``query.limit``."""

    async def get_trace(self, trace_id: str) -> list[StoredSpan]:
        """A trace's spans, earliest start first (none: no such trace here)."""

    async def delete_spans_before(self, cutoff: datetime) -> None:
        """Drop the spans that started before ``cutoff``."""


class EventStore(Protocol):
    """Events (`core.events.Event`): appended, listed newest first, retained like
    raw metrics."""

    async def write_events(self, events: Sequence[Event]) -> None:
        """Append events (their ids new); return once committed."""

    async def list_events(self, query: EventQuery) -> list[Event]:
        """The project's events that match, newest first, at most ``query.limit``."""

    async def delete_events_before(self, cutoff: datetime) -> None: ...


class LogStore(Protocol):
    """Logs (`core.events.LogEntry`), searchable by the words of their message
    (`core.events.search_words`: every word must occur), retained like raw metrics."""

    async def write_logs(self, logs: Sequence[LogEntry]) -> None:
        """Append log entries (their ids new); return once committed."""

    async def search_logs(self, query: LogQuery) -> list[LogEntry]:
        """The project's logs that match, newest first, at most ``query.limit``."""

    async def delete_logs_before(self, cutoff: datetime) -> None: ...


@runtime_checkable
class GroupedSampleReads(Protocol):
    """A store that aggregates raw samples per group and bucket itself, so that a
    query over a range the hot tier does not hold reads a few thousand rows, not
    millions (the embedded store). Stores without it are read point by point."""

    async def aggregate_samples(
        self,
        start: datetime,
        end: datetime,
        group_of: Mapping[int, int],
        agg: QueryAggregation,
        interval_us: int,
    ) -> pa.Table:
        """``agg`` (any but ``rate``) over the samples in ``[start, end)`` of the
        series in ``group_of``, per group and bucket (``ts // interval_us``):
        columns ``group_index``, ``bucket`` (int64), ``value``; ordered by group,
        bucket."""


@runtime_checkable
class TagBreachCounts(Protocol):
    """A store that counts a model's points per tag set, breaching or not, itself
    (the SQL stores: one GROUP BY), for an alert's label ranking. Stores without it
    are read as an Arrow table of the window and counted there."""

    async def tag_breach_counts(
        self, model_id: str, start: datetime, end: datetime, rule: BreachRule
    ) -> list[tuple[str | None, bool, int]]:
        """``(tags as JSON text or None, breaching, points)`` of the model's inference
        points in ``[start, end)``; a point without a latency never breaches a
        latency rule."""


class Storage(
    StoreConnection,
    MetricStore,
    RegistryStore,
    DocumentStore,
    BlobStore,
    LifecycleStore,
    SampleStore,
    AuditStore,
    KeyStore,
    UserStore,
    LeaseStore,
    SpanStore,
    EventStore,
    LogStore,
    Protocol,
):
    """Where MonitorX keeps everything: every concern above, on one backend."""
