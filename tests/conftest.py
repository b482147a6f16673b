"""Shared fixtures: a real MonitorX server on 127.0.0.1, in a thread, per test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from monitorx.core import Clock, FakeClock
from monitorx.server.app import create_app
from monitorx.server.deps import Services, services_of
from monitorx.server.settings import Settings
from monitorx.store.secret_keys import generate_secret_key
from tests.backends import api_backend, backend_url
from tests.http_receiver import HttpReceiver, closed_port_url

T = TypeVar("T")
# The key servers on PostgreSQL share in the tests (MONITORX_SECRET_KEYS).
TEST_SECRET_KEY = generate_secret_key()


@dataclass
class LiveServer:
    """A server started by a test: its base URL (no path) and its data directory;
    its app and event loop, so that a test can read what the server itself stored."""

    url: str
    data_dir: Path
    settings: Settings
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def services(self) -> Services:
        """The services the running app was built with (its store among them)."""
        return services_of(self.app)

    def on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the server's event loop, where its store's connections
        live, and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=60)


class _Server(uvicorn.Server):
    """uvicorn's server, keeping the event loop it serves on."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_server(
    settings: Settings, clock: Clock | None = None, port: int | None = None
) -> Iterator[LiveServer]:
    """Serve ``create_app(settings)`` with uvicorn in a thread until the block ends, on
    ``port`` when given (chosen beforehand, so that clients can wait for it)."""
    port = port or free_port()
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    assert server.loop is not None
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings.data_dir, settings, app, server.loop)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    # In-process decoding: spawning a decoder process per test server costs ~0.5 s.
    # The worker-process path has its own tests and runs in every system test.
    values: dict[str, object] = {"data_dir": data_dir, "auth_enabled": False, "ingest_workers": 0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _storage_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """With ``MONITORX_TEST_BACKEND=postgres|influx``, every server a test starts
    (in a thread or as a process) keeps its data in a fresh store of that backend;
    on PostgreSQL with the shared secret key that such a server requires."""
    name = api_backend()
    if name == "duckdb":
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    with backend_url(name, tmp_path) as url:
        monkeypatch.setenv("MONITORX_STORAGE_URL", url)
        if name == "postgres":
            monkeypatch.setenv("MONITORX_SECRET_KEYS", TEST_SECRET_KEY)
        yield


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """A fake clock at the test module's ``NOW``, else at the current whole second."""
    now = getattr(request.module, "NOW", None) or datetime.now(UTC).replace(microsecond=0)
    return FakeClock(now)


@pytest.fixture
def server_settings() -> dict[str, object]:
    """Settings `live_server` runs with besides `make_settings`' own: a test module
    overrides this fixture to change them (a faster scheduler tick, a smaller cap)."""
    return {}


@pytest.fixture
def server_clock() -> Clock | None:
    """The clock `live_server` reads: the system's, unless a test module overrides this
    fixture (usually with its `clock`, so that the test steps time)."""
    return None


@pytest.fixture
def live_server(
    tmp_path: Path, server_settings: dict[str, object], server_clock: Clock | None
) -> Iterator[LiveServer]:
    """A fresh server with auth disabled and its own data directory."""
    with run_server(make_settings(tmp_path / "data", **server_settings), server_clock) as server:
        yield server


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client whose base URL is the live server's ``/api/v1``."""
    with httpx.Client(base_url=live_server.api, timeout=60) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A local HTTP receiver (a webhook's, Slack's or PagerDuty's stand-in) on 127.0.0.1."""
    server = HttpReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def down_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: a receiver that is down."""
    return closed_port_url()
