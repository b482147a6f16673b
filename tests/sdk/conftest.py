"""SDK fixtures: an isolated default exporter, fake sleeps and clocks, a server on a chosen port."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import monitorx
from tests.conftest import LiveServer, make_settings, run_server


@pytest.fixture(autouse=True)
def isolated_default_exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test inherits or leaves behind a default exporter or MONITORX_* settings."""
    monkeypatch.delenv("MONITORX_URL", raising=False)
    monkeypatch.delenv("MONITORX_API_KEY", raising=False)
    monitorx.shutdown(timeout=0)
    yield
    monitorx.shutdown(timeout=0)


@dataclass
class FakeSleep:
    """Records the waits a client asks for instead of waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class AsyncFakeSleep:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def async_fake_sleep() -> AsyncFakeSleep:
    return AsyncFakeSleep()


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Peer:
    """An ``httpx.MockTransport`` peer that answers from a script and logs requests."""

    answers: list[httpx.Response | Exception]
    default: Callable[[], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else self.default and self.default()
        if answer is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


def summary(api: httpx.Client, model_id: str) -> dict[str, Any]:
    """A model's summary over the last hour, asserted to be there."""
    response = api.get(f"/models/{model_id}/summary", params={"window": "1h"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class CountingTransport(httpx.HTTPTransport):
    """The real network transport, counting the requests that go through it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return super().handle_request(request)


def serve_at(port: int, data_dir: Path) -> AbstractContextManager[LiveServer]:
    """A real MonitorX server on a port chosen beforehand (so clients can wait for it)."""
    return run_server(make_settings(data_dir), port=port)


class BatchReceiver:
    """A batch endpoint in memory: the metrics the default exporter delivered."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        with self.lock:
            self.items.extend(batch)
        return httpx.Response(202, json={"accepted": len(batch), "rejected": []})

    def delivered(self) -> list[dict[str, Any]]:
        """Everything recorded so far, once the default exporter has flushed it."""
        assert monitorx.flush(timeout=10)
        with self.lock:
            return list(self.items)


@pytest.fixture
def batch_receiver() -> BatchReceiver:
    """The default exporter, delivering to a :class:`BatchReceiver`."""
    peer = BatchReceiver()
    monitorx.init(url="http://monitorx.test", transport=httpx.MockTransport(peer))
    return peer


class FakePerfCounter(ManualClock):
    """``perf_counter`` for the decorators and streams: time moves when a test says so."""


@pytest.fixture
def perf_clock(monkeypatch: pytest.MonkeyPatch) -> FakePerfCounter:
    fake = FakePerfCounter()
    monkeypatch.setattr("monitorx.sdk.decorators.perf_counter", fake)
    monkeypatch.setattr("monitorx.sdk.streaming.perf_counter", fake)
    return fake
