"""The storage backends tests run against, each a real server on 127.0.0.1.

`backend_url(name, tmp_path)` gives a fresh, empty place for one test: a DuckDB
file, a PostgreSQL schema in database ``test``, or an InfluxDB database on the
``influxd`` the tests start (tests/influxd.py). A server that is missing skips the
test on a developer's machine and fails it under ``CI=true``.

``MONITORX_TEST_BACKEND`` (duckdb | postgres | influx) picks the backend that
API-level tests (tests/conftest.py ``make_settings``) run their servers on.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BACKENDS = ("duckdb", "postgres", "influx")
POSTGRES_URL = os.environ.get(
    "MONITORX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def api_backend() -> str:
    """The backend API-level tests use (``MONITORX_TEST_BACKEND``, default duckdb)."""
    name = os.environ.get("MONITORX_TEST_BACKEND", "duckdb")
    if name not in BACKENDS:
        raise ValueError(f"MONITORX_TEST_BACKEND must be one of {BACKENDS}, not {name!r}")
    return name


def unavailable(what: str) -> None:
    """Skip locally, fail in CI: integration tests never silently skip there."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not available, and CI=true requires it")
    pytest.skip(f"{what} is not available")


@contextmanager
def backend_url(name: str, tmp_path: Path) -> Iterator[str]:
    """A storage URL naming a fresh, empty store of backend ``name``; removed after."""
    if name == "duckdb":
        yield f"duckdb:///{(tmp_path / 'store.duckdb').as_posix()}"
    elif name == "postgres":
        with _postgres_schema() as url:
            yield url
    elif name == "influx":
        with _influx_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {name!r}")


@contextmanager
def _postgres_schema() -> Iterator[str]:
    import psycopg

    schema = f"mx_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {POSTGRES_URL} ({exc})")
        raise
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def _influx_database() -> Iterator[str]:
    import httpx

    from tests.influxd import influxd_url

    base = influxd_url()
    database = f"mx_{uuid.uuid4().hex[:12]}"
    try:
        yield f"influxdb://{base.removeprefix('http://')}/{database}"
    finally:
        httpx.post(f"{base}/query", params={"q": f'DROP DATABASE "{database}"'}, timeout=30)
