"""A store made by an older release (0.1.0: schema migrations 1–2; then 3, rollups
and markers) upgrades in place: its metrics, models, alerts and logged-but-unflushed
batches are all there afterwards, and the new tables work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from monitorx.core import AlertStatus, FakeClock, MetricName
from monitorx.store import (
    ROLLUP_SCHEMA,
    Aggregation,
    AlertQuery,
    DuckDBStorage,
    MetricQuery,
    Resolution,
)
from monitorx.store.duckdb.schema import MIGRATIONS

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PREVIOUS_RELEASE_VERSION = 2  # the last migration 0.1.0 shipped


def store_at_version(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A new store file as a release whose last migration was ``version`` made it."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for number, ddl in MIGRATIONS[:version]:
        con.execute(ddl)
        con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [number])
    return con


def make_previous_release_store(path: Path) -> None:
    """The file 0.1.0 leaves behind: its DDL, and rows in its column layout."""
    con = store_at_version(path, PREVIOUS_RELEASE_VERSION)
    ts = NOW.replace(tzinfo=None) - timedelta(minutes=5)
    for i in range(10):
        con.execute(
            "INSERT INTO inference_metrics VALUES "
            "('default', 'old-model', 'tabular', ?, ?, ?, NULL, NULL, false, 1200.0, "
            'NULL, NULL, NULL, \'{"env": "prod"}\')',
            [f"r{i}", ts + timedelta(seconds=i), 10.0 + i],
        )
    con.execute(
        "INSERT INTO models VALUES ('default', 'old-model', ?, ?, ?)",
        [
            '{"id": "old-model", "name": "Old", "model_type": "tabular", "version": "1", '
            '"environment": "prod", "thresholds": {"latency_ms": 100.0, '
            '"error_rate": null, "gpu_memory_mb": null, "cpu_percent": null, "memory_mb": null, '
            '"drift_confidence": null}, "tags": {}}',
            ts,
            ts,
        ],
    )
    con.execute(
        "INSERT INTO alerts VALUES ('default', 'a1', 'old-model', 'latency', 'high', 'firing', "
        "'p95 above threshold', 150.0, 100.0, ?, ?, ?, NULL, false, NULL, '{}')",
        [ts, ts, ts],
    )
    con.close()


async def test_previous_release_store_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "monitorx.duckdb"
    make_previous_release_store(path)

    store = DuckDBStorage(path, clock=FakeClock(NOW))
    await store.open()
    try:
        metrics = await store.query_metrics(MetricQuery(NOW - timedelta(hours=1), NOW, 100))
        assert len(metrics) == 10
        assert metrics[0].tags == {"env": "prod"}
        assert metrics[0].resource_usage == {"gpu_memory_mb": 1200.0}
        model = await store.get_model("old-model")
        assert model is not None and model.thresholds.latency_ms == 100.0
        (alert,) = await store.list_alerts(AlertQuery())
        assert alert.status is AlertStatus.FIRING and alert.value == 150.0
        buckets = await store.aggregate(
            "old-model", MetricName.LATENCY, Aggregation.MEAN, 3600, NOW - timedelta(hours=1), NOW
        )
        assert [b.value for b in buckets] == [sum(10.0 + i for i in range(10)) / 10]

        # What this release added works on the upgraded file.
        await store.set_marker("probe", "1")
        row = pa.Table.from_pylist(
            [
                {
                    "model_id": "old-model",
                    "tags": "{}",
                    "metric": "latency",
                    "bucket": datetime(2026, 6, 1, 11),
                    "count": 1,
                    "sum": 1.0,
                    "min": 1.0,
                    "max": 1.0,
                    "sketch": b"x",
                }
            ],
            schema=ROLLUP_SCHEMA,
        )
        await store.write_rollups(Resolution.MINUTE, row)
        assert (
            await store.read_rollups(Resolution.MINUTE, NOW - timedelta(days=1), NOW)
        ).num_rows == 1
        assert await store.put_document("channel", "ops-hook", '{"type": "webhook"}') is True
        assert await store.list_documents("channel") == [("ops-hook", '{"type": "webhook"}')]
        await store.append_delivery_log(["a1"], NOW, '{"ok": true}')
        assert await store.list_delivery_log("a1") == ['{"ok": true}']
        window = await store.error_window("old-model", NOW - timedelta(hours=1), NOW, 14.5)
        assert (window.count, window.slow) == (10, 5)  # latencies 15..19 of 10..19
    finally:
        await store.close()

    con = duckdb.connect(str(path), read_only=True)
    versions = [
        v for (v,) in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    ]
    con.close()
    assert versions == [version for version, _ in MIGRATIONS]

    # Opening again runs nothing twice.
    again = DuckDBStorage(path, clock=FakeClock(NOW))
    await again.open()
    assert await again.get_marker("probe") == "1"
    assert await again.get_document("channel", "ops-hook") == '{"type": "webhook"}'
    await again.append_delivery_log(["a1"], NOW, '{"ok": false}')
    assert await again.list_delivery_log("a1") == ['{"ok": true}', '{"ok": false}']
    await again.close()


async def test_a_store_of_schema_version_3_gains_the_alerting_tables(tmp_path: Path) -> None:
    path = tmp_path / "monitorx.duckdb"
    con = store_at_version(path, 3)
    con.execute("INSERT INTO markers VALUES ('default', 'rollup:1m', 'kept')")
    con.close()

    store = DuckDBStorage(path, clock=FakeClock(NOW))
    await store.open()
    try:
        assert await store.get_marker("rollup:1m") == "kept"
        assert await store.put_document("route", "default", "{}") is True
        assert await store.put_document("route", "default", '{"x": 1}') is False
        await store.append_delivery_log(["a1", "a2"], NOW, "{}")
        assert await store.list_delivery_log("a2") == ["{}"]
    finally:
        await store.close()
