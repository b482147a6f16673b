"""The SDK against a real MonitorX server (uvicorn on 127.0.0.1, DuckDB in a temp dir)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import monitorx
from monitorx import MonitorX, MonitorXClient, NotFound, ValidationError, monitor_inference, track
from tests.conftest import LiveServer, free_port
from tests.sdk.conftest import CountingTransport, FakeSleep, ManualClock, serve_at, summary


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll the server for something it does asynchronously (alerts within a second)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_decorated_calls_reach_the_server_with_their_errors(
    live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url)

    @monitor_inference(model_id="fraud-v3")
    def predict(x: int) -> int:
        if x % 5 == 0:
            raise ValueError("bad row")
        return x

    for x in range(1, 21):
        with contextlib.suppress(ValueError):
            predict(x)
    assert monitorx.flush(timeout=10)
    body = summary(api, "fraud-v3")
    assert body["count"] == 20
    assert body["error_rate"] == pytest.approx(4 / 20)


async def test_track_with_and_async_with_reach_the_server(live_server: LiveServer) -> None:
    monitorx.init(url=live_server.url)
    with track(model_id="cv", tags={"camera": "4"}) as t:
        t.error = True
    async with track(model_id="cv"):
        await asyncio.sleep(0.005)
    assert await asyncio.to_thread(monitorx.flush, 10)
    async with httpx.AsyncClient(base_url=live_server.api) as api:
        rows = (await api.get("/metrics/inference", params={"model_id": "cv"})).json()
        body = (await api.get("/models/cv/summary")).json()
    assert sorted(row.get("error", False) for row in rows) == [False, True]
    assert body["latency"]["max"] >= 5.0


def test_default_exporter_reads_monitorx_url(
    live_server: LiveServer, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORX_URL", live_server.url)

    @monitor_inference(model_id="env-configured")
    def predict() -> None:
        return None

    predict()
    assert monitorx.flush(timeout=10)
    assert summary(api, "env-configured")["count"] == 1


def test_sync_client_round_trip(live_server: LiveServer, api: httpx.Client) -> None:
    with MonitorX(live_server.url) as client:
        first = client.register_model("fraud-v3", "tabular", thresholds={"latency_ms": 250.0})
        again = client.register_model("fraud-v3", "tabular", thresholds={"latency_ms": 250.0})
        assert first == again
        assert first["thresholds"]["latency_ms"] == 250.0
        assert api.get("/models/fraud-v3").json()["model_type"] == "tabular"

        assert client.collect_inference_metric(model_id="fraud-v3", latency=40.0).accepted == 1
        result = client.collect_inference_metrics_batch(
            [
                {"model_id": "fraud-v3", "latency": 20.0},
                {"model_id": "fraud-v3", "latency": -1.0},
                {"model_id": "fraud-v3", "latency": 60.0, "timestamp": time.time()},
            ]
        )
        assert result.accepted == 2
        assert [r.index for r in result.rejected] == [1]
        assert "latency" in result.rejected[0].error
        assert client.collect_drift_metric("fraud-v3", "data", confidence=0.5).accepted == 1

        one = client.get_summary(model_id="fraud-v3")
        assert one["count"] == 3
        assert one["latency"]["mean"] == pytest.approx(40.0)
        everything = client.get_summary(window="1h")
        assert [m["model_id"] for m in everything["models"]] == ["fraud-v3"]
        assert client.health()["status"] in {"healthy", "degraded"}


def test_alerts_can_be_listed_acknowledged_and_resolved(live_server: LiveServer) -> None:
    with MonitorX(live_server.url) as client:
        client.register_model("slow", "llm", thresholds={"latency_ms": 100.0})
        client.collect_inference_metric(model_id="slow", latency=320.0)
        alerts = wait_for(lambda: client.get_alerts(model_id="slow", status="firing"))
        assert alerts, "no alert fired for a latency breach"
        alert = alerts[0]
        assert alert["alert_type"] == "latency"
        assert client.acknowledge_alert(alert["id"])["acknowledged"] is True
        resolved = client.resolve_alert(alert["id"])
        assert resolved["status"] == "resolved" and resolved["resolved"] is True
        with pytest.raises(NotFound, match="no alert"):
            client.resolve_alert("no-such-alert")


async def test_async_client_round_trip(live_server: LiveServer) -> None:
    async with MonitorXClient(live_server.url) as client:
        await client.register_model("chat-llm", "llm", environment="staging")
        latencies = [float(v) for v in range(1, 1001)]
        result = await client.collect_inference_metrics_batch(
            [{"model_id": "chat-llm", "latency": v} for v in latencies]
        )
        assert result.accepted == 1000 and not result.rejected
        await client.collect_inference_metric(model_id="chat-llm", latency=5000.0, error=True)
        body = await client.get_summary(model_id="chat-llm")
        assert body["count"] == 1001
        assert body["latency"]["max"] == 5000.0
        assert body["latency"]["p50"] == pytest.approx(501.0)
        assert body["error_rate"] == pytest.approx(1 / 1001)
        assert await client.get_alerts(model_id="chat-llm") == []
        with pytest.raises(NotFound):
            await client.get_summary(model_id="never-seen")


def test_a_422_raises_validation_error_without_retrying(
    live_server: LiveServer, fake_sleep: FakeSleep
) -> None:
    transport = CountingTransport()
    with (
        MonitorX(live_server.url, transport=transport, sleep=fake_sleep) as client,
        pytest.raises(ValidationError) as caught,
    ):
        client.collect_inference_metric(model_id="m", latency=-5.0)
    assert transport.count == 1
    assert fake_sleep.waits == []
    assert caught.value.errors[0].field == "latency"


def test_the_exporter_delivers_every_metric_exactly_once_from_8_threads(
    live_server: LiveServer, api: httpx.Client
) -> None:
    exporter = monitorx.init(url=live_server.url)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            start.wait()
            for i in range(1000):
                with track(model_id="threads", request_id=f"t{thread}-{i}"):
                    pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert monitorx.flush(timeout=30)
    stats = exporter.stats
    assert (stats.recorded, stats.delivered, stats.dropped) == (8000, 8000, 0)
    rows = api.get("/metrics/inference", params={"model_id": "threads", "limit": 10000}).json()
    ids = [row["request_id"] for row in rows]
    assert len(ids) == 8000
    assert set(ids) == {f"t{n}-{i}" for n in range(8) for i in range(1000)}
    assert summary(api, "threads")["count"] == 8000


def test_while_the_server_is_down_nothing_raises_and_everything_arrives_later(
    tmp_path: Path, fake_sleep: FakeSleep, clock: ManualClock
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monitorx.init(url=url, max_retries=1, retry_backoff=0.02, recovery_time=0.1)
    client = MonitorX(
        url, max_retries=0, failure_threshold=2, sleep=fake_sleep, clock=clock, timeout=2.0
    )
    client.enable_buffering()

    @monitor_inference(model_id="resilient")
    def predict(x: int) -> int:
        return x

    started = time.perf_counter()
    assert [predict(x) for x in range(50)] == list(range(50))
    assert time.perf_counter() - started < 1.0
    for latency in range(10):
        result = client.collect_inference_metric(model_id="buffered", latency=float(latency))
        assert result.buffered == 1
    assert not monitorx.flush(timeout=0.3)

    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        assert monitorx.flush(timeout=20)
        assert summary(api, "resilient")["count"] == 50
        clock.advance(30)  # the client's breaker lets a trial through
        assert client.flush_buffer().accepted == 10
        assert client.buffered == 0
        assert summary(api, "buffered")["count"] == 10
    client.close()


def test_a_forked_child_gets_its_own_worker(live_server: LiveServer, api: httpx.Client) -> None:
    exporter = monitorx.init(url=live_server.url)
    exporter.record({"model_id": "parent", "latency": 1.0})
    assert monitorx.flush(timeout=10)
    exporter.record({"model_id": "parent", "latency": 2.0})  # queued when the fork happens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, Python 3.12+
        pid = os.fork()
    if pid == 0:  # the child: record, flush, report through the exit status
        code = 1
        try:
            for i in range(5):
                exporter.record({"model_id": "child", "latency": float(i)})
            code = 0 if exporter.flush(timeout=10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert monitorx.flush(timeout=10)
    assert summary(api, "child")["count"] == 5
    assert summary(api, "parent")["count"] == 2  # the child did not send the parent's queue


def test_the_exporter_delivers_every_metric_exactly_once_from_asyncio_tasks(
    live_server: LiveServer, api: httpx.Client
) -> None:
    exporter = monitorx.init(url=live_server.url)

    @monitor_inference(model_id="tasks-inner")
    async def predict(x: int) -> int:
        await asyncio.sleep(0)
        return x

    async def work(task: int) -> None:
        for i in range(500):
            async with track(model_id="tasks", request_id=f"t{task}-{i}"):
                await predict(i)

    async def main() -> None:
        await asyncio.gather(*(work(n) for n in range(8)))

    asyncio.run(main())
    assert monitorx.flush(timeout=30)
    stats = exporter.stats
    assert (stats.recorded, stats.delivered, stats.dropped) == (8000, 8000, 0)
    rows = api.get("/metrics/inference", params={"model_id": "tasks", "limit": 10000}).json()
    ids = [row["request_id"] for row in rows]
    assert sorted(ids) == sorted(f"t{n}-{i}" for n in range(8) for i in range(500))
    assert summary(api, "tasks")["count"] == 4000
    assert summary(api, "tasks-inner")["count"] == 4000
