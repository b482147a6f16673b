"""Fixtures for the alerting tests: an in-memory store and an alert engine on the
test module's fake clock (`clock`, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from monitorx.alerting.engine import AlertEngine
from monitorx.core import FakeClock
from monitorx.store import DuckDBStorage, Storage


@pytest.fixture
async def storage(clock: FakeClock) -> AsyncIterator[DuckDBStorage]:
    store = DuckDBStorage(":memory:", clock=clock)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def engine(storage: Storage, clock: FakeClock) -> AlertEngine:
    return AlertEngine(storage, clock, clear_period_s=300)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client
