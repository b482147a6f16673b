"""monitor_inference and track: timing, error flags, and no harm to the caller."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

import monitorx
from monitorx import MonitorX, MonitorXClient, monitor_inference, track
from tests.sdk.conftest import BatchReceiver


@pytest.fixture
def receiver(batch_receiver: BatchReceiver) -> BatchReceiver:
    """The default exporter, delivering to an in-memory batch endpoint."""
    return batch_receiver


class ModelFailure(Exception):
    pass


def test_a_decorated_function_is_timed_and_recorded(receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="fraud-v3", model_type="tabular", tags={"route": "a"})
    def predict(x: int) -> int:
        time.sleep(0.02)  # the work being timed
        return x * 2

    assert predict(21) == 42
    assert monitorx.flush(timeout=10)
    [item] = receiver.items
    assert item["model_id"] == "fraud-v3"
    assert item["model_type"] == "tabular"
    assert item["tags"] == {"route": "a"}
    assert "error" not in item
    assert 20.0 <= float(item["latency"]) < 2000.0  # type: ignore[arg-type]
    assert abs(float(item["timestamp"]) - time.time()) < 60  # type: ignore[arg-type]


def test_the_callers_exception_is_re_raised_unchanged_and_recorded_as_error(
    receiver: BatchReceiver,
) -> None:
    failure = ModelFailure("bad input")

    @monitor_inference(model_id="m")
    def predict() -> None:
        raise failure

    with pytest.raises(ModelFailure) as caught:
        predict()
    assert caught.value is failure
    assert caught.value.__traceback__ is not None
    assert monitorx.flush(timeout=10)
    assert receiver.items[0]["error"] is True


def test_the_decorator_keeps_the_functions_identity() -> None:
    @monitor_inference(model_id="m")
    def predict(x: int) -> int:
        """Predict things."""
        return x

    assert predict.__name__ == "predict"
    assert predict.__doc__ == "Predict things."


async def test_an_async_function_is_timed_until_it_finishes(receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="llm")
    async def generate(prompt: str) -> str:
        await asyncio.sleep(0.02)
        return prompt.upper()

    assert asyncio.iscoroutinefunction(generate)
    assert await generate("hi") == "HI"
    assert monitorx.flush(timeout=10)
    assert float(receiver.items[0]["latency"]) >= 20.0  # type: ignore[arg-type]


async def test_an_async_failure_is_re_raised_and_recorded(receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="llm")
    async def generate() -> None:
        raise ModelFailure("timeout upstream")

    with pytest.raises(ModelFailure, match="timeout upstream"):
        await generate()
    assert monitorx.flush(timeout=10)
    assert receiver.items[0]["error"] is True


def test_track_records_the_block_and_its_error_flag(receiver: BatchReceiver) -> None:
    with track(model_id="cv", request_id="req-1", tags={"camera": "4"}) as t:
        t.error = True
        t.resource_usage["gpu_memory_mb"] = 1024.0
    assert t.latency_ms is not None and t.latency_ms >= 0
    assert monitorx.flush(timeout=10)
    [item] = receiver.items
    assert item["error"] is True
    assert item["request_id"] == "req-1"
    assert item["tags"] == {"camera": "4"}
    assert item["resource_usage"] == {"gpu_memory_mb": 1024.0}


def test_track_lets_exceptions_through_and_flags_them(receiver: BatchReceiver) -> None:
    with pytest.raises(KeyError), track(model_id="cv"):
        raise KeyError("missing")
    assert monitorx.flush(timeout=10)
    assert receiver.items[0]["error"] is True


async def test_track_works_with_async_with(receiver: BatchReceiver) -> None:
    async with track(model_id="llm") as t:
        await asyncio.sleep(0.01)
    assert t.latency_ms is not None and t.latency_ms >= 10.0
    assert monitorx.flush(timeout=10)
    assert receiver.items[0]["model_id"] == "llm"


def test_an_unreachable_server_never_slows_or_breaks_the_caller() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    monitorx.init(url="http://monitorx.test", transport=httpx.MockTransport(down))

    @monitor_inference(model_id="m")
    def predict(x: int) -> int:
        return x

    started = time.perf_counter()
    assert [predict(i) for i in range(200)] == list(range(200))
    assert time.perf_counter() - started < 1.0
    assert not monitorx.flush(timeout=0.1)


def test_a_broken_recording_path_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A URL httpx cannot even parse: creating the default exporter fails on first use.
    monkeypatch.setenv("MONITORX_URL", "http://[::1")

    @monitor_inference(model_id="m")
    def predict() -> str:
        return "ok"

    assert predict() == "ok"
    assert any("could not record" in r.message for r in caplog.records)


def test_client_argument_records_through_that_sync_client() -> None:
    peer = BatchReceiver()
    client = MonitorX("http://monitorx.test", transport=httpx.MockTransport(peer))

    @monitor_inference(model_id="via-client", client=client)
    def predict() -> int:
        return 1

    for _ in range(3):
        predict()
    with track(model_id="via-client", client=client):
        pass
    client.close()  # delivers what was recorded
    assert [item["model_id"] for item in peer.items] == ["via-client"] * 4


async def test_client_argument_records_through_an_async_client_in_the_background() -> None:
    peer = BatchReceiver()
    async with MonitorXClient("http://monitorx.test", transport=httpx.MockTransport(peer)) as c:

        @monitor_inference(model_id="async-client", client=c)
        async def generate() -> int:
            return 1

        for _ in range(3):
            await generate()
        async with track(model_id="async-client", client=c):
            pass
        assert peer.items == []  # nothing was sent on the caller's path
    assert len(peer.items) == 4


async def test_an_async_client_with_the_server_down_never_raises_into_the_caller() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async def no_wait(seconds: float) -> None:
        return None

    async with MonitorXClient(
        "http://monitorx.test",
        max_retries=0,
        timeout=0.3,  # also bounds how long closing waits for undelivered metrics
        transport=httpx.MockTransport(down),
        sleep=no_wait,
    ) as client:

        @monitor_inference(model_id="m", client=client)
        async def generate() -> int:
            return 7

        started = time.perf_counter()
        assert [await generate() for _ in range(5)] == [7] * 5
        assert time.perf_counter() - started < 0.5
