"""The `Storage` conformance suite: one set of tests, run unchanged on every backend.

``storage`` is parametrized over the backends a server can run on:

- ``duckdb``: the embedded default store, its in-memory hot tier active. The
  clock stands at `NOW`, just after every point the tests write, and the tier keeps
  `HOT_RETENTION_S` before it, so aggregates and summaries are answered from memory;
- ``duckdb-sql``: the same store without a hot tier (``hot_max_points=0``), so
  every query is SQL over DuckDB;
- ``postgres`` and ``influx``: real servers (tests/backends.py); a missing server,
  or a backend module not written yet, skips locally and fails under ``CI=true``.

Each test gets a fresh, empty `StorePlace`: a storage URL and data directory where
it may open stores of several projects, and reopen them to prove that what was
written survives a restart.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from monitorx.core import FakeClock
from monitorx.store import Storage
from tests.backends import backend_url, unavailable
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import (
    BACKENDS,
    HOT_RETENTION_S,
    PROJECT,
    StorePlace,
)

# Re-exported for test_lifecycle_jobs.py, which imports them from here.
__all__ = ["HOT_RETENTION_S", "PROJECT"]

# Modules of the backends outside the embedded store, which may not be installed.
_BACKEND_MODULES = {
    "postgres": "monitorx.store.postgres.storage",
    "influx": "monitorx.store.influx.storage",
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    module = _BACKEND_MODULES.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        unavailable(f"the {name} backend ({module})")
    return name


@pytest.fixture
def clock() -> FakeClock:
    """The clock every store of the test reads: `NOW`, just after all test data."""
    return FakeClock(NOW)


@pytest.fixture
async def place(backend: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[StorePlace]:
    with backend_url(backend.removesuffix("-sql"), tmp_path) as url:
        opened = StorePlace(backend, url, tmp_path, clock)
        try:
            yield opened
        finally:
            await opened.close_all()


@pytest.fixture
async def storage(place: StorePlace) -> Storage:
    """An opened, empty store of project `PROJECT`; closed after the test."""
    return await place.open()


@pytest.fixture
def reopen(place: StorePlace) -> Callable[[Storage], Awaitable[Storage]]:
    """Close a store and open its project again on the same URL and data directory."""
    return place.reopen


@pytest.fixture
def open_project(place: StorePlace) -> Callable[[str], Awaitable[Storage]]:
    """Open a store of another project on the same URL and data directory."""
    return place.open
