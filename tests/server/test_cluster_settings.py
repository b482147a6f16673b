"""What a cluster's settings change: no hot tier (a replica's memory holds only what
it ingested), and `monitorx serve --workers` only where processes share the store."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitorx.cli.serving import check_workers
from monitorx.core import MonitorXError
from monitorx.server.settings import Settings

PG = "postgresql://monitorx@db.internal:5432/monitorx"
REDIS = SecretStr("redis://:secret@redis.internal:6379/0")


def test_a_cluster_has_no_hot_tier() -> None:
    cluster = Settings(storage_url=PG, redis_url=REDIS, hot_retention_s=3600)
    assert cluster.distributed and cluster.effective_hot_retention_s == 0
    alone = Settings(storage_url=PG, hot_retention_s=3600)
    assert not alone.distributed and alone.effective_hot_retention_s == 3600


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (Settings(), "embedded DuckDB store is opened by one process only"),
        (Settings(storage_url="influxdb://influx:8086/mx"), "local DuckDB file"),
        (Settings(storage_url=PG), "also needs Redis (MONITORX_REDIS_URL)"),
        (
            Settings(storage_url=PG, redis_url=REDIS, otlp_grpc_port=4317),
            "OTLP/gRPC (--otlp-grpc-port) is not supported",
        ),
    ],
)
def test_workers_are_refused_where_processes_cannot_share(settings: Settings, why: str) -> None:
    with pytest.raises(MonitorXError, match="--workers 2") as refused:
        check_workers(settings, 2)
    assert why in str(refused.value)
    assert "secret" not in str(refused.value)
    check_workers(settings, 1)  # one process is always fine


def test_workers_on_postgresql_with_redis_are_allowed() -> None:
    check_workers(Settings(storage_url=PG, redis_url=REDIS), 4)
