"""The PostgreSQL store's schema, as an ordered list of migrations.

A schema remembers the last migration it ran in ``schema_migrations``; opening it
runs the ones after that, under an advisory lock so that replicas starting together
migrate once. A schema created by an older release therefore upgrades in place.

``inference_metrics`` is laid out one of two ways, chosen once when the table is
created and read back from the catalog afterwards (`MetricLayout`):

- TimescaleDB, when the server offers the extension: a hypertable with 1-day
  chunks, which TimescaleDB creates as rows arrive and ``drop_chunks`` removes.
- Otherwise native declarative partitioning, ``PARTITION BY RANGE (ts)`` with one
  partition per UTC day that the store creates itself (`postgres_partitions`).

Timestamps are ``timestamptz``; connections run in UTC (`postgres_connection`).
"""

from __future__ import annotations

__all__ = [
    "METRIC_COLUMNS",
    "MIGRATIONS",
    "NOTIFIER_STATE_KINDS",
    "MetricLayout",
    "SchemaState",
    "migrate",
]

import logging
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from psycopg import sql

from monitorx.core import StorageError
from monitorx.store.postgres.connection import Connection
from monitorx.store.sql import rows
from monitorx.store.sql.registry import identities_to_backfill

logger = logging.getLogger("monitorx.store")

TIMESCALE = "timescaledb"
# `create_hypertable(relation, by_range(...))` replaced the column-name form in 2.13.
_BY_RANGE_SINCE = (2, 13)

# Column order of ``inference_metrics``: ``project_id`` then METRIC_BATCH_SCHEMA's.
METRIC_COLUMNS = (
    "project_id",
    "model_id",
    "model_type",
    "request_id",
    "ts",
    "latency",
    "throughput",
    "error_rate",
    "error",
    "gpu_memory_mb",
    "gpu_utilization",
    "cpu_percent",
    "memory_mb",
    "tags",
    "prompt_tokens",
    "completion_tokens",
    "time_to_first_token_ms",
    "cost_usd",
)


class MetricLayout(StrEnum):
    """How ``inference_metrics`` is split by time."""

    PARTITIONED = "partitioned"
    """Native range partitioning, one partition per UTC day."""
    HYPERTABLE = "hypertable"
    """A TimescaleDB hypertable with 1-day chunks."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What `migrate` leaves behind: the schema version and how metrics are laid out."""

    version: int
    layout: MetricLayout
    timescale_schema: str | None
    """Where the TimescaleDB functions live, when the layout is a hypertable."""


# Tags are text, not jsonb: no query filters on them, and parsing JSON on every
# COPYed row would cost ingest throughput for nothing. Identifiers are COLLATE "C":
# they sort in code-point order, as DuckDB sorts, whatever the database's locale,
# and byte comparison makes every btree insert on ingest cheaper than a locale's.
_METRICS_TABLE = """
CREATE TABLE inference_metrics (
    project_id text COLLATE "C" NOT NULL,
    model_id text COLLATE "C" NOT NULL,
    model_type text,
    request_id text NOT NULL,
    ts timestamptz NOT NULL,
    latency double precision NOT NULL,
    throughput double precision,
    error_rate double precision,
    error boolean NOT NULL,
    gpu_memory_mb double precision,
    gpu_utilization double precision,
    cpu_percent double precision,
    memory_mb double precision,
    tags text COLLATE "C"
)"""

# Indexes, chosen for the queries. Every query on a model (aggregate, error_window,
# query_metrics with a model, has_metrics, purge) is an equality on project and
# model plus a range on ts: the btree serves all of them, in ts order. Queries over
# every model of a window (window_stats, read_metrics_table, retention's DELETE) are
# a range on ts alone; metrics arrive roughly in time order, so a BRIN index on ts
# narrows them to the right blocks at a tiny fraction of a btree's size and write
# cost. Both are declared on the parent, so every partition or chunk gets its own.
_METRICS_INDEXES = """
CREATE INDEX inference_metrics_model_ts ON inference_metrics (project_id, model_id, ts);
CREATE INDEX inference_metrics_ts_brin ON inference_metrics USING brin (ts);
"""

_RECORD_TABLES = """
CREATE TABLE drift_metrics (
    project_id text COLLATE "C" NOT NULL,
    model_id text COLLATE "C" NOT NULL,
    drift_type text NOT NULL,
    feature text,
    score double precision,
    confidence double precision NOT NULL,
    severity text NOT NULL,
    ts timestamptz NOT NULL
);
CREATE INDEX drift_metrics_model_ts ON drift_metrics (project_id, model_id, ts);
CREATE INDEX drift_metrics_ts ON drift_metrics (project_id, ts);
CREATE TABLE models (
    project_id text COLLATE "C" NOT NULL,
    model_id text COLLATE "C" NOT NULL,
    config text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, model_id)
);
CREATE TABLE alerts (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    model_id text COLLATE "C" NOT NULL,
    alert_type text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    message text NOT NULL,
    value double precision NOT NULL,
    threshold double precision NOT NULL,
    started_at timestamptz NOT NULL,
    last_breach_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    resolved_at timestamptz,
    acknowledged boolean NOT NULL,
    acknowledged_at timestamptz,
    labels text NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX alerts_started ON alerts (project_id, started_at);
"""

# Rollups of every resolution share one table; ``resolution`` is a `Resolution`
# value. Rollups are small next to raw points, so no partitioning.
_LIFECYCLE_TABLES = """
CREATE TABLE rollups (
    project_id text COLLATE "C" NOT NULL,
    resolution text COLLATE "C" NOT NULL,
    model_id text COLLATE "C" NOT NULL,
    tags text COLLATE "C" NOT NULL,
    metric text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    count bigint NOT NULL,
    sum double precision,
    min double precision,
    max double precision,
    sketch bytea
);
CREATE INDEX rollups_bucket ON rollups (project_id, resolution, bucket);
CREATE INDEX rollups_model ON rollups (project_id, model_id, resolution, bucket);
CREATE TABLE markers (
    project_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name)
);
"""

# The audit log (store.sql.audit), read newest first per project.
_AUDIT_LOG = """
CREATE TABLE audit_log (
    project_id text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    source_ip text NOT NULL,
    outcome text NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (project_id, time DESC);
"""

# API keys (store.sql.keys): the hash of each, never the key; all projects.
_API_KEYS = """
CREATE TABLE api_keys (
    id text COLLATE "C" PRIMARY KEY,
    project_id text COLLATE "C" NOT NULL,
    role text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    key_hash text NOT NULL UNIQUE
);
"""

# Users (store.sql.users): password hashes and sealed TOTP secrets, never either
# in clear; refresh tokens as their hashes, grouped in families by login.
_USERS = """
CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY,
    project_id text COLLATE "C" NOT NULL,
    username text COLLATE "C" NOT NULL,
    role text NOT NULL,
    created_at timestamptz NOT NULL,
    disabled_at timestamptz,
    totp_enabled boolean NOT NULL,
    password_hash text NOT NULL,
    totp_secret text,
    totp_last_step bigint,
    UNIQUE (project_id, username)
);
CREATE TABLE refresh_tokens (
    id text COLLATE "C" PRIMARY KEY,
    family text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    project_id text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    token_hash text NOT NULL UNIQUE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (project_id, family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (project_id, user_id);
"""

# The alerting engine's documents and delivery log (postgres_documents).
_DOCUMENT_TABLES = """
CREATE TABLE documents (
    project_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, kind, key)
);
CREATE TABLE delivery_log (
    project_id text COLLATE "C" NOT NULL,
    alert_id text COLLATE "C" NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    attempted_at timestamptz NOT NULL,
    body text NOT NULL
);
CREATE INDEX delivery_log_alert ON delivery_log (project_id, alert_id, seq);
"""


# Blobs: opaque bytes such as the Parquet files of drift reference sets and
# logged records (postgres_blobs). BYTEA holds up to 1 GB a value.
_BLOB_TABLE = """
CREATE TABLE blobs (
    project_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    data bytea NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, kind, key)
);
"""


# The LLM fields of an inference (API.md's ``llm`` object), after ``tags``. Added
# on the parent, they reach every partition (or hypertable chunk); without a
# default, adding a nullable column rewrites nothing.
_LLM_COLUMNS = """
ALTER TABLE inference_metrics
    ADD COLUMN prompt_tokens bigint,
    ADD COLUMN completion_tokens bigint,
    ADD COLUMN time_to_first_token_ms double precision,
    ADD COLUMN cost_usd double precision;
"""


# Custom metrics (postgres.samples): each series once, its samples by id, rollups per
# series. Samples are read by series and time; retention deletes by time.
_SAMPLE_TABLES = """
CREATE TABLE sample_series (
    project_id text COLLATE "C" NOT NULL,
    series_id bigint NOT NULL,
    name text COLLATE "C" NOT NULL,
    labels text NOT NULL,
    unit text,
    last_seen timestamptz NOT NULL,
    PRIMARY KEY (project_id, series_id)
);
CREATE TABLE samples (
    project_id text COLLATE "C" NOT NULL,
    series_id bigint NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL
);
CREATE INDEX samples_series_ts ON samples (project_id, series_id, ts);
CREATE INDEX samples_ts ON samples USING brin (ts);
CREATE TABLE sample_rollups (
    project_id text COLLATE "C" NOT NULL,
    resolution text COLLATE "C" NOT NULL,
    series_id bigint NOT NULL,
    bucket timestamptz NOT NULL,
    count bigint NOT NULL,
    sum double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    last double precision NOT NULL,
    last_ts timestamptz NOT NULL,
    increase double precision NOT NULL,
    sketch bytea NOT NULL
);
CREATE INDEX sample_rollups_series ON sample_rollups (project_id, resolution, series_id, bucket);
CREATE INDEX sample_rollups_bucket ON sample_rollups (project_id, resolution, bucket);
"""


# Configuration written in a transaction tells every listening replica, once the
# transaction commits (NOTIFY is transactional), which project's configuration to
# read again (`postgres.config_listener`). The channel is the schema's own, so that
# two MonitorX schemas in one database do not wake each other; md5 keeps it within
# PostgreSQL's 63-byte names. Documents of the notifier's own state, written at
# every notification, are not configuration: they wake nobody (the kinds are
# alerting.notify.documents'; a test holds the two lists together). Nor is a user's
# last accepted TOTP step, written at every login.
_CONFIG_NOTIFY = """
CREATE FUNCTION notify_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_project text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_project := OLD.project_id;
    ELSE
        changed_project := NEW.project_id;
    END IF;
    PERFORM pg_notify('monitorx_config_' || md5(TG_TABLE_SCHEMA), changed_project);
    RETURN NULL;
END
$$;
CREATE TRIGGER models_config_changed AFTER INSERT OR UPDATE OR DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER api_keys_config_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER users_config_changed
    AFTER INSERT OR DELETE OR UPDATE OF project_id, username, role, created_at, disabled_at,
        totp_enabled, password_hash, totp_secret
    ON users FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER documents_config_written AFTER INSERT OR UPDATE ON documents
    FOR EACH ROW WHEN (NEW.kind NOT IN ('delivery_job', 'nflog', 'escalation'))
    EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER documents_config_deleted AFTER DELETE ON documents
    FOR EACH ROW WHEN (OLD.kind NOT IN ('delivery_job', 'nflog', 'escalation'))
    EXECUTE FUNCTION notify_config_change();
"""
NOTIFIER_STATE_KINDS = ("delivery_job", "nflog", "escalation")
"""Document kinds whose writes notify nobody (`_CONFIG_NOTIFY`)."""


async def _create_metrics_table(conn: Connection, timescale_schema: str | None) -> None:
    if timescale_schema is None:
        await conn.execute(_METRICS_TABLE + " PARTITION BY RANGE (ts)")
    else:
        await conn.execute(_METRICS_TABLE)
        await _make_hypertable(conn, timescale_schema)
    await conn.execute(_METRICS_INDEXES)


_ALERT_IDENTITY_AND_LEASES = """
CREATE UNIQUE INDEX alerts_open_identity ON alerts (project_id, identity)
    WHERE status <> 'resolved';
CREATE INDEX alerts_updated ON alerts (project_id, updated_at);
CREATE TABLE leases (
    project_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    holder text NOT NULL,
    token bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, name)
);
"""


async def _v1_metrics_and_records(conn: Connection, timescale_schema: str | None) -> None:
    await _create_metrics_table(conn, timescale_schema)
    await conn.execute(_RECORD_TABLES)


async def _v2_lifecycle(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_LIFECYCLE_TABLES)


async def _v3_documents(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_DOCUMENT_TABLES)


async def _v4_blobs(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_BLOB_TABLE)


async def _v5_llm_fields(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_LLM_COLUMNS)


async def _v6_samples(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_SAMPLE_TABLES)


async def _v7_audit_log(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_AUDIT_LOG)


async def _v8_api_keys(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_API_KEYS)


async def _v9_users(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_USERS)


async def _v10_alert_identity_and_leases(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(
        "ALTER TABLE alerts ADD COLUMN identity text COLLATE \"C\" NOT NULL DEFAULT ''"
    )
    cur = await conn.execute(
        f"SELECT project_id, {rows.ALERT_COLUMNS} FROM alerts WHERE status <> 'resolved' "
        "ORDER BY started_at DESC, id"
    )
    for project, identity, alert_id, merged in identities_to_backfill(await cur.fetchall()):
        if merged:  # an older duplicate of an open alert, from before this index
            await conn.execute(
                "UPDATE alerts SET status = 'resolved', resolved_at = now(), "
                "updated_at = now() WHERE project_id = %s AND id = %s",
                [project, alert_id],
            )
        await conn.execute(
            "UPDATE alerts SET identity = %s WHERE project_id = %s AND id = %s",
            [identity, project, alert_id],
        )
    await conn.execute(_ALERT_IDENTITY_AND_LEASES)


async def _v11_config_notify(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_CONFIG_NOTIFY)


# Events and logs (store.sql.events); a log's words as a tsvector under a GIN
# index (store.postgres.logs).
_EVENTS_AND_LOGS = """
CREATE TABLE events (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    time_end timestamptz,
    event_type text NOT NULL,
    model_id text COLLATE "C",
    severity integer NOT NULL,
    source text,
    message text NOT NULL,
    attributes text NOT NULL,
    trace_id text,
    tags text NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX events_time ON events (project_id, time DESC);
CREATE TABLE logs (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    level integer NOT NULL,
    model_id text COLLATE "C",
    message text NOT NULL,
    attributes text NOT NULL,
    trace_id text COLLATE "C",
    span_id text,
    search tsvector NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX logs_time ON logs (project_id, time DESC);
CREATE INDEX logs_trace ON logs (project_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_search ON logs USING gin (search);
"""


async def _v13_events_and_logs(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_EVENTS_AND_LOGS)


# (version, what it does, the step). Append only: a released step never changes.
# Spans of traces (store.sql.spans), written by binary COPY; the trace list reads a
# project's time range, a trace its spans.
_SPANS = """
CREATE TABLE spans (
    project_id text COLLATE "C" NOT NULL,
    trace_id text COLLATE "C" NOT NULL,
    span_id text COLLATE "C" NOT NULL,
    parent_span_id text COLLATE "C",
    name text NOT NULL,
    kind bigint NOT NULL,
    start_ts timestamptz NOT NULL,
    end_ts timestamptz NOT NULL,
    status text NOT NULL,
    status_message text,
    model_id text COLLATE "C",
    session_id text,
    input_tokens bigint,
    output_tokens bigint,
    attributes text NOT NULL,
    resource text NOT NULL,
    events text NOT NULL
);
CREATE INDEX spans_time ON spans (project_id, start_ts DESC);
CREATE INDEX spans_trace ON spans (project_id, trace_id);
"""


async def _v12_spans(conn: Connection, timescale_schema: str | None) -> None:
    await conn.execute(_SPANS)


MIGRATIONS = [
    (1, "inference and drift metrics, models, alerts", _v1_metrics_and_records),
    (2, "rollups and lifecycle markers", _v2_lifecycle),
    (3, "alerting documents and delivery log", _v3_documents),
    (4, "blobs", _v4_blobs),
    (5, "LLM fields of inference metrics", _v5_llm_fields),
    (6, "custom metrics: series, samples, rollups", _v6_samples),
    (7, "audit log", _v7_audit_log),
    (8, "API keys", _v8_api_keys),
    (9, "users and refresh tokens", _v9_users),
    (10, "one open alert per identity; leases", _v10_alert_identity_and_leases),
    (11, "notify listeners of configuration changes", _v11_config_notify),
    (12, "spans of traces", _v12_spans),
    (13, "events and logs", _v13_events_and_logs),
]


async def migrate(conn: Connection, schema: str, max_version: int | None = None) -> SchemaState:
    """Create ``schema`` if needed and run the migrations it has not seen.

    ``max_version`` stops early (tests use it to build an "older release" schema).
    """
    await _ensure_schema(conn, schema)
    lock_key = f"monitorx.migrate:{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock_key])
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        timescale_schema = await _timescale_schema(conn, create=current == 0)
        for version, summary, step in MIGRATIONS:
            if version <= current or (max_version is not None and version > max_version):
                continue
            async with conn.transaction():
                await step(conn, timescale_schema)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", [version])
            logger.info("PostgreSQL schema %s migrated to %d: %s", schema, version, summary)
            current = version
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock_key])
    layout = await _metric_layout(conn, schema)
    if layout is MetricLayout.HYPERTABLE and timescale_schema is None:
        timescale_schema = await _timescale_schema(conn, create=False)
    return SchemaState(current, layout, timescale_schema)


async def _ensure_schema(conn: Connection, schema: str) -> None:
    """Create the schema unless it exists (checked first: a role may use a schema it
    was given without the right to create schemas in the database)."""
    cur = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    if await cur.fetchone() is None:
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


async def _timescale_schema(conn: Connection, create: bool) -> str | None:
    """The schema of the TimescaleDB extension, installing it first when ``create``
    and the server offers it; None when it is not there (native partitioning)."""
    installed = await _installed_timescale(conn)
    if installed is not None or not create:
        return installed
    cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [TIMESCALE])
    if await cur.fetchone() is None:
        return None
    try:
        async with conn.transaction():
            # Into public, not our schema: extensions are per database, and dropping
            # one MonitorX schema must not take TimescaleDB away from the others.
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public")
    except psycopg.Error as exc:
        # Offered but unusable (not in shared_preload_libraries, or no privilege):
        # native partitioning does the same job, so say so and carry on.
        logger.warning(
            "TimescaleDB is available but cannot be enabled (%s); using native partitioning", exc
        )
        return None
    return await _installed_timescale(conn)


async def _installed_timescale(conn: Connection) -> str | None:
    cur = await conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %s",
        [TIMESCALE],
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def _make_hypertable(conn: Connection, timescale_schema: str) -> None:
    """Turn the fresh ``inference_metrics`` into a hypertable with 1-day chunks,
    without TimescaleDB's default index (ours are created next)."""
    cur = await conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", [TIMESCALE])
    row = await cur.fetchone()
    version = _version_tuple(str(row[0])) if row else (0,)
    ts = sql.Identifier(timescale_schema)
    if version >= _BY_RANGE_SINCE:
        query = sql.SQL(
            "SELECT {}.create_hypertable('inference_metrics', {}.by_range('ts', INTERVAL '1 day'), "
            "create_default_indexes => false)"
        ).format(ts, ts)
    else:
        query = sql.SQL(
            "SELECT {}.create_hypertable('inference_metrics', 'ts', "
            "chunk_time_interval => INTERVAL '1 day', create_default_indexes => false)"
        ).format(ts)
    await conn.execute(query)


def _version_tuple(text: str) -> tuple[int, ...]:
    """``"2.14.2"`` → ``(2, 14, 2)``; a suffix such as ``-dev`` is ignored."""
    numbers: list[int] = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


async def _metric_layout(conn: Connection, schema: str) -> MetricLayout:
    """Read the layout back from the catalog: a partitioned table or a hypertable."""
    cur = await conn.execute(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = 'inference_metrics'",
        [schema],
    )
    row = await cur.fetchone()
    if row is None:
        raise StorageError(f"inference_metrics is missing from PostgreSQL schema {schema}")
    return MetricLayout.PARTITIONED if row[0] == "p" else MetricLayout.HYPERTABLE
