"""The embedded store's schema, as an ordered list of migrations.

A database remembers the last migration it ran in ``schema_migrations``; opening it
runs the ones after that, so a file created by an older release upgrades in place.
Timestamps are stored as ``TIMESTAMP`` holding UTC.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "migrate"]

from collections.abc import Callable
from typing import Any

from monitorx.store.sql import rows
from monitorx.store.sql.registry import identities_to_backfill


def _rollup_table(name: str) -> str:
    return f"""
        CREATE TABLE {name} (
            project_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            tags VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            bucket TIMESTAMP NOT NULL,
            count BIGINT NOT NULL,
            sum DOUBLE NOT NULL,
            min DOUBLE NOT NULL,
            max DOUBLE NOT NULL,
            sketch BLOB NOT NULL
        );
    """


_MARKERS = """
    CREATE TABLE markers (
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        PRIMARY KEY (project_id, name)
    );
"""

# The alerting engine's documents and delivery log (store.duckdb_documents). A
# sequence numbers log entries, so that they read back in the order they were
# appended even when they share a timestamp. (``attempted_at``, not ``at``, which
# DuckDB's grammar reserves.)
_DOCUMENTS = """
    CREATE TABLE documents (
        project_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        body VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (project_id, kind, key)
    );
    CREATE SEQUENCE delivery_log_seq;
    CREATE TABLE delivery_log (
        project_id VARCHAR NOT NULL,
        alert_id VARCHAR NOT NULL,
        seq BIGINT NOT NULL DEFAULT nextval('delivery_log_seq'),
        attempted_at TIMESTAMP NOT NULL,
        body VARCHAR NOT NULL
    );
"""

# Blobs: opaque bytes named by a kind and a key (store.duckdb_blobs), such as the
# Parquet files of a model's drift reference set and logged records.
_BLOBS = """
    CREATE TABLE blobs (
        project_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        data BLOB NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (project_id, kind, key)
    );
"""

# The LLM fields of an inference (API.md's ``llm`` object), after ``tags``.
_LLM_COLUMNS = """
    ALTER TABLE inference_metrics ADD COLUMN prompt_tokens BIGINT;
    ALTER TABLE inference_metrics ADD COLUMN completion_tokens BIGINT;
    ALTER TABLE inference_metrics ADD COLUMN time_to_first_token_ms DOUBLE;
    ALTER TABLE inference_metrics ADD COLUMN cost_usd DOUBLE;
"""


# The audit log (store.sql.audit): appended, read newest first.
_AUDIT_LOG = """
    CREATE TABLE audit_log (
        project_id VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        source_ip VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL
    );
"""


# API keys (store.sql.keys): the hash of each, never the key; all projects.
_API_KEYS = """
    CREATE TABLE api_keys (
        id VARCHAR PRIMARY KEY,
        project_id VARCHAR NOT NULL,
        role VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP,
        key_hash VARCHAR NOT NULL UNIQUE
    );
"""


# Users (store.sql.users): password hashes and sealed TOTP secrets, never either
# in clear; refresh tokens as their hashes, grouped in families by login.
_USERS = """
    CREATE TABLE users (
        id VARCHAR PRIMARY KEY,
        project_id VARCHAR NOT NULL,
        username VARCHAR NOT NULL,
        role VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        disabled_at TIMESTAMP,
        totp_enabled BOOLEAN NOT NULL,
        password_hash VARCHAR NOT NULL,
        totp_secret VARCHAR,
        totp_last_step BIGINT,
        UNIQUE (project_id, username)
    );
    CREATE TABLE refresh_tokens (
        id VARCHAR PRIMARY KEY,
        family VARCHAR NOT NULL,
        user_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        used_at TIMESTAMP,
        revoked_at TIMESTAMP,
        token_hash VARCHAR NOT NULL UNIQUE
    );
"""


# Custom metrics (store.duckdb.samples): each series once, its samples by id, and
# rollups per series (store.samples.rollups).
def _sample_rollup_table(name: str) -> str:
    return f"""
        CREATE TABLE {name} (
            project_id VARCHAR NOT NULL,
            series_id BIGINT NOT NULL,
            bucket TIMESTAMP NOT NULL,
            count BIGINT NOT NULL,
            sum DOUBLE NOT NULL,
            min DOUBLE NOT NULL,
            max DOUBLE NOT NULL,
            last DOUBLE NOT NULL,
            last_ts TIMESTAMP NOT NULL,
            increase DOUBLE NOT NULL,
            sketch BLOB NOT NULL
        );
    """


_SAMPLES = (
    """
    CREATE TABLE sample_series (
        project_id VARCHAR NOT NULL,
        series_id BIGINT NOT NULL,
        name VARCHAR NOT NULL,
        labels VARCHAR NOT NULL,
        unit VARCHAR,
        last_seen TIMESTAMP NOT NULL,
        PRIMARY KEY (project_id, series_id)
    );
    CREATE TABLE samples (
        project_id VARCHAR NOT NULL,
        series_id BIGINT NOT NULL,
        ts TIMESTAMP NOT NULL,
        value DOUBLE NOT NULL
    );
    """
    + _sample_rollup_table("sample_rollups_1m")
    + _sample_rollup_table("sample_rollups_1h")
)


def _alert_identity_and_leases(con: Any) -> None:
    """Version 12: alerts keep their identity (`Alert.identity`), one open alert per
    identity (older duplicates resolved), and the leases table (store.sql.leases)."""
    con.execute("ALTER TABLE alerts ADD COLUMN identity VARCHAR DEFAULT ''")
    found = con.execute(
        f"SELECT project_id, {rows.ALERT_COLUMNS} FROM alerts WHERE status <> 'resolved' "
        "ORDER BY started_at DESC, id"
    ).fetchall()
    for project, identity, alert_id, merged in identities_to_backfill(found):
        status = ", status = 'resolved', resolved_at = now(), updated_at = now()"
        con.execute(
            f"UPDATE alerts SET identity = ?{status if merged else ''} "
            "WHERE project_id = ? AND id = ?",
            [identity, project, alert_id],
        )
    con.execute(
        """
        CREATE TABLE leases (
            project_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            holder VARCHAR NOT NULL,
            token BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (project_id, name)
        );
        """
    )


# (version, DDL or a step run with the connection). Append only.
# Spans of traces (store.sql.spans), appended as Arrow batches in this column order.
# No index: DuckDB's zone maps serve the time ranges, and an ART index would slow
# every append.
_SPANS = """
CREATE TABLE spans (
    project_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name VARCHAR NOT NULL,
    kind BIGINT NOT NULL,
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    status_message VARCHAR,
    model_id VARCHAR,
    session_id VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    attributes VARCHAR NOT NULL,
    resource VARCHAR NOT NULL,
    events VARCHAR NOT NULL
);
"""

# Events and logs (store.sql.events); ``log_words`` is the logs' word index
# (store.duckdb.logs): one row per distinct word of each message.
_EVENTS_AND_LOGS = """
    CREATE TABLE events (
        project_id VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        time_end TIMESTAMP,
        event_type VARCHAR NOT NULL,
        model_id VARCHAR,
        severity INTEGER NOT NULL,
        source VARCHAR,
        message VARCHAR NOT NULL,
        attributes VARCHAR NOT NULL,
        trace_id VARCHAR,
        tags VARCHAR NOT NULL
    );
    CREATE TABLE logs (
        project_id VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        level INTEGER NOT NULL,
        model_id VARCHAR,
        message VARCHAR NOT NULL,
        attributes VARCHAR NOT NULL,
        trace_id VARCHAR,
        span_id VARCHAR
    );
    CREATE TABLE log_words (
        project_id VARCHAR NOT NULL,
        log_id VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL,
        word VARCHAR NOT NULL
    );
"""


MIGRATIONS: list[tuple[int, str | Callable[[Any], None]]] = [
    (
        1,
        """
        CREATE TABLE inference_metrics (
            project_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            model_type VARCHAR,
            request_id VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            latency DOUBLE NOT NULL,
            throughput DOUBLE,
            error_rate DOUBLE,
            error BOOLEAN NOT NULL,
            gpu_memory_mb DOUBLE,
            gpu_utilization DOUBLE,
            cpu_percent DOUBLE,
            memory_mb DOUBLE,
            tags VARCHAR
        );
        CREATE TABLE drift_metrics (
            project_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            drift_type VARCHAR NOT NULL,
            feature VARCHAR,
            score DOUBLE,
            confidence DOUBLE NOT NULL,
            severity VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL
        );
        CREATE TABLE models (
            project_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            config VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (project_id, model_id)
        );
        CREATE TABLE alerts (
            project_id VARCHAR NOT NULL,
            id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            alert_type VARCHAR NOT NULL,
            severity VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            value DOUBLE NOT NULL,
            threshold DOUBLE NOT NULL,
            started_at TIMESTAMP NOT NULL,
            last_breach_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            resolved_at TIMESTAMP,
            acknowledged BOOLEAN NOT NULL,
            acknowledged_at TIMESTAMP,
            labels VARCHAR NOT NULL,
            PRIMARY KEY (project_id, id)
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE metric_log_flushed (segment BIGINT PRIMARY KEY);
        """,
    ),
    (3, _rollup_table("rollups_1m") + _rollup_table("rollups_1h") + _MARKERS),
    (4, _DOCUMENTS),
    (5, _BLOBS),
    (6, _LLM_COLUMNS),
    # The lifecycle markers keep when they were set, as on PostgreSQL (store.sql.markers).
    (7, "ALTER TABLE markers ADD COLUMN updated_at TIMESTAMP;"),
    (8, _SAMPLES),
    (9, _AUDIT_LOG),
    (10, _API_KEYS),
    (11, _USERS),
    (12, _alert_identity_and_leases),
    (13, _SPANS),
    (14, _EVENTS_AND_LOGS),
    # Blobs as files beside the database (store.duckdb.blob_files): the row names its
    # file; ``data`` stays empty, or holds the bytes of a row written before.
    (15, "ALTER TABLE blobs ADD COLUMN file VARCHAR;"),
]


def migrate(con: Any) -> int:
    """Run the migrations this database has not seen; return its schema version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    ((version_now,),) = con.execute(
        "SELECT coalesce(max(version), 0) FROM schema_migrations"
    ).fetchall()
    current = int(version_now)
    for version, ddl in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            if callable(ddl):
                ddl(con)
            else:
                con.execute(ddl)
            con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        current = version
    return current
