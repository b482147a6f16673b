"""`monitorx serve --workers N`: N processes on one port, as replicas of a cluster on
PostgreSQL and Redis; refused, with the reason and what to do, where processes
cannot share the store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from monitorx.store.secret_keys import generate_secret_key
from tests.backends import backend_url
from tests.conftest import free_port
from tests.redis_peer import shared_redis
from tests.system.conftest import start_server

pytestmark = pytest.mark.system


def test_two_workers_on_postgresql_and_redis_both_answer(tmp_path: Path) -> None:
    with backend_url("postgres", tmp_path) as storage_url, shared_redis() as (url, prefix):
        env = {
            "MONITORX_STORAGE_URL": storage_url,
            "MONITORX_REDIS_URL": url,
            "MONITORX_REDIS_PREFIX": prefix,
            "MONITORX_SECRET_KEYS": generate_secret_key(),
            "MONITORX_INGEST_WORKERS": "0",
        }
        # Each worker imports and starts the whole server: on a loaded machine that
        # takes a while, twice.
        server = start_server(tmp_path / "data", env, ["--workers", "2"], ready_timeout_s=120)
        try:
            workers = {child.pid for child in psutil.Process(server.process.pid).children()}
            seen: set[int] = set()
            deadline = time.monotonic() + 90
            # Each answer comes from whichever worker accepted the connection.
            while len(seen) < 2:
                assert time.monotonic() < deadline, f"only worker(s) {seen} answered"
                with httpx.Client(timeout=10) as client:  # a new connection each time
                    body = client.get(f"{server.api}/health").json()
                assert body["checks"]["redis"]["status"] == "healthy"
                seen.add(body["checks"]["process"]["pid"])
            assert seen <= workers and server.process.pid not in seen

            # What one worker stores, every worker reads: they share the store.
            posted = httpx.post(
                f"{server.api}/metrics/inference",
                json={"model_id": "shared", "latency": 12.5},
                timeout=10,
            )
            assert posted.status_code == 202
            for _ in range(6):
                with httpx.Client(timeout=10) as client:
                    listed = client.get(f"{server.api}/metrics/inference?model_id=shared")
                assert [m["latency"] for m in listed.json()] == [12.5]
        finally:
            server.stop()
        assert server.process.returncode == 0


def serve_refused(
    tmp_path: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITORX_")}
    return subprocess.run(
        [sys.executable, "-m", "monitorx", "serve", "--data-dir", str(tmp_path), *args],
        env={**clean, "MONITORX_AUTH_ENABLED": "false", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_workers_on_the_embedded_store_are_refused_with_the_reason(tmp_path: Path) -> None:
    done = serve_refused(tmp_path, {}, "--workers", "2")
    assert done.returncode == 2
    assert "embedded DuckDB store is opened by one process only" in done.stderr
    assert "without --workers" in done.stderr and "MONITORX_REDIS_URL" in done.stderr
    assert not (tmp_path / "monitorx.duckdb").exists()  # refused before anything opened


def test_workers_on_influxdb_are_refused_with_the_reason(tmp_path: Path) -> None:
    done = serve_refused(
        tmp_path, {"MONITORX_STORAGE_URL": "influxdb://127.0.0.1:8086/monitorx"}, "--workers", "3"
    )
    assert done.returncode == 2
    assert "InfluxDB store keeps its registry and alerts in a local DuckDB file" in done.stderr


def test_workers_on_postgresql_without_redis_name_what_is_missing(tmp_path: Path) -> None:
    env = {"MONITORX_STORAGE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    done = serve_refused(tmp_path, env, "--workers", "2")
    assert done.returncode == 2
    assert "also needs Redis (MONITORX_REDIS_URL)" in done.stderr


def test_workers_whose_store_does_not_answer_stop_with_one_line(tmp_path: Path) -> None:
    env = {
        "MONITORX_STORAGE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/test",
        "MONITORX_REDIS_URL": "redis://127.0.0.1:6379/0",
        "MONITORX_SECRET_KEYS": generate_secret_key(),
    }
    done = serve_refused(tmp_path, env, "--workers", "2")
    assert done.returncode == 2
    assert "PostgreSQL connect failed" in done.stderr and "Traceback" not in done.stderr
    assert "worker" not in done.stdout  # refused before any worker started
