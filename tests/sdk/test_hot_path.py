"""``@monitor_inference``'s hot path: a lock-free ring on the caller's thread, the metric's
dict and wall-clock timestamp made on the exporter's (ring.py)."""

from __future__ import annotations

import os
import threading
import time
import warnings
from datetime import datetime
from time import perf_counter_ns, time_ns
from typing import Any

import httpx
import pytest

import monitorx
from monitorx import monitor_inference
from monitorx.sdk.resources import ResourceSampler
from monitorx.sdk.ring import metrics_from, wall_offset_ns
from tests.conftest import LiveServer
from tests.sdk.conftest import BatchReceiver, summary
from tests.sdk.test_resources import stand_in_nvml


def stored(api: httpx.Client, model_id: str) -> list[dict[str, Any]]:
    response = api.get("/metrics/inference", params={"model_id": model_id, "limit": 10000})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def epoch_s(value: str | float) -> float:
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def test_decorated_calls_reach_a_real_server_with_their_start_time_latency_and_tags(
    live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url)

    @monitor_inference(model_id="hot", model_type="tabular", tags={"route": "fast"})
    def predict(x: int) -> int:
        time.sleep(0.03)
        if x < 0:
            raise ValueError("negative")
        return x

    before = time.time()
    assert predict(1) == 1
    with pytest.raises(ValueError, match="negative"):
        predict(-1)
    after = time.time()
    assert monitorx.flush(timeout=10)

    rows = sorted(stored(api, "hot"), key=lambda row: epoch_s(row["timestamp"]))
    assert len(rows) == 2
    for row in rows:
        assert row["model_type"] == "tabular"
        assert row["tags"] == {"route": "fast"}
        assert 30.0 <= row["latency"] < 1000.0
    assert [bool(row.get("error")) for row in rows] == [False, True]
    first, second = (epoch_s(row["timestamp"]) for row in rows)
    # Each timestamp is its call's start: the first within the run, the second at
    # least the first call's 30 ms later.
    assert before - 0.001 <= first <= second - 0.029
    assert second <= after - 0.029


def test_the_wall_clock_timestamp_is_the_calls_start_and_the_latency_its_duration() -> None:
    wall_before = time_ns()
    started = perf_counter_ns()
    wall_after = time_ns()
    [metric] = metrics_from([({"model_id": "m"}, started, started + 1_500_000, None)])
    assert metric == {"model_id": "m", "latency": 1.5, "timestamp": metric["timestamp"]}
    assert wall_before / 1e9 - 0.001 <= metric["timestamp"] <= wall_after / 1e9 + 0.001
    offset = time_ns() - perf_counter_ns()
    assert abs(wall_offset_ns() - offset) < 1_000_000  # 1 ms, however loaded the machine


def test_metric_dicts_pass_through_the_ring_unchanged() -> None:
    metric = {"model_id": "m", "latency": 2.0, "request_id": "r1"}
    assert metrics_from([metric]) == [metric]


def test_a_full_ring_evicts_the_oldest_without_a_lock_and_counts_them() -> None:
    release = threading.Event()
    entered = threading.Event()
    receiver = BatchReceiver()

    def blocked(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(timeout=10)
        return receiver(request)

    exporter = monitorx.init(
        url="http://monitorx.test",
        transport=httpx.MockTransport(blocked),
        queue_size=10,
        flush_interval=0.001,
    )
    calls = [monitor_inference(model_id=f"m{i}")(lambda: None) for i in range(26)]
    calls[0]()
    assert entered.wait(timeout=5)  # m0 is in flight; the worker sends, it does not wait
    for call in calls[1:]:
        call()
    stats = exporter.stats
    assert (stats.recorded, stats.queued, stats.dropped) == (26, 10, 15)
    release.set()
    assert not monitorx.flush(timeout=10)  # what was kept arrived, but 15 were lost
    kept = [item["model_id"] for item in receiver.items]
    assert kept == ["m0"] + [f"m{i}" for i in range(16, 26)]
    calls[0]()
    assert monitorx.flush(timeout=10)  # nothing lost since the previous flush
    assert exporter.stats.delivered == 12


def test_a_full_batch_wakes_the_worker_before_its_interval() -> None:
    receiver = BatchReceiver()
    arrived = threading.Event()

    def deliver(request: httpx.Request) -> httpx.Response:
        response = receiver(request)
        arrived.set()
        return response

    monitorx.init(
        url="http://monitorx.test",
        transport=httpx.MockTransport(deliver),
        batch_size=50,
        flush_interval=60,
    )
    predict = monitor_inference(model_id="m")(lambda: None)
    predict()  # starts the worker, which then sleeps for up to 60 s
    time.sleep(0.05)
    for _ in range(49):
        predict()
    assert arrived.wait(timeout=10)  # the 50th call woke it: no flush, no 60 s
    assert len(receiver.items) == 50


def test_decorated_calls_from_8_threads_arrive_exactly_once(
    live_server: LiveServer, api: httpx.Client
) -> None:
    exporter = monitorx.init(url=live_server.url)
    predict = monitor_inference(model_id="hot-threads")(lambda x: x)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for i in range(1000):
            predict(i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert monitorx.flush(timeout=30)
    stats = exporter.stats
    assert (stats.recorded, stats.delivered, stats.dropped) == (8000, 8000, 0)
    assert summary(api, "hot-threads")["count"] == 8000


def test_a_forked_child_records_decorated_calls_through_its_own_ring(
    live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url, flush_interval=5)
    parent = monitor_inference(model_id="hot-parent")(lambda: None)
    child = monitor_inference(model_id="hot-child")(lambda: None)
    parent()
    assert monitorx.flush(timeout=10)
    parent()  # in the ring when the fork happens: the parent's to send, not the child's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, Python 3.12+
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for _ in range(5):
                child()
            code = 0 if monitorx.flush(timeout=10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert monitorx.flush(timeout=10)
    assert summary(api, "hot-child")["count"] == 5
    assert summary(api, "hot-parent")["count"] == 2


def test_decorated_calls_carry_the_samplers_latest_resources() -> None:
    used = [1000]
    sampler = ResourceSampler(0.01, cpu=False, nvml=stand_in_nvml(used, [10])).start()
    receiver = BatchReceiver()
    exporter = monitorx.init(
        url="http://monitorx.test", transport=httpx.MockTransport(receiver), resources=sampler
    )
    predict = monitor_inference(model_id="m")(lambda: None)
    try:
        predict()
        used[0] = 3000
        deadline = time.monotonic() + 5
        while exporter.ring.usage != {"gpu_memory_mb": 3000.0, "gpu_utilization": 10.0}:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        predict()
        assert [item["resource_usage"]["gpu_memory_mb"] for item in receiver.delivered()] == [
            1000.0,
            3000.0,
        ]
    finally:
        monitorx.shutdown()
        sampler.stop()


def test_records_after_shutdown_through_a_held_ring_are_counted_dropped() -> None:
    receiver = BatchReceiver()
    exporter = monitorx.init(url="http://monitorx.test", transport=httpx.MockTransport(receiver))
    ring = exporter.ring
    monitor_inference(model_id="m")(lambda: None)()
    assert exporter.shutdown()
    assert ring.limit == 0  # every record now takes the worker's slow path
    assert not ring.overflow(({"model_id": "m"}, 0, 1, None))
    assert exporter.stats.dropped == 1
    assert len(receiver.items) == 1
