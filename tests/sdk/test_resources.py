"""Resource capture: psutil and NVML read in the background, attached to metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import monitorx
from monitorx.sdk.resources import ResourceSampler
from tests.conftest import LiveServer


def rss_mb_from_proc() -> float:
    with open("/proc/self/statm") as file:
        resident_pages = int(file.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def test_process_cpu_and_rss_are_read() -> None:
    sampler = ResourceSampler(gpu=False)
    sum(i * i for i in range(200_000))  # some CPU time between baseline and sample
    sample = sampler.sample()
    assert sample.cpu_percent is not None and sample.cpu_percent >= 0
    assert sample.memory_mb == pytest.approx(rss_mb_from_proc(), rel=0.1)
    assert set(sampler.latest_usage) == {"cpu_percent", "memory_mb"}
    assert sampler.latest is sample


def test_without_a_gpu_the_gpu_fields_stay_empty_and_nothing_fails() -> None:
    # nvidia-ml-py is installed here, but there is no driver: nvmlInit raises.
    sampler = ResourceSampler(gpu=True)
    sample = sampler.sample()
    assert sample.gpus == ()
    assert sample.gpu_memory_mb is None and sample.gpu_utilization is None
    assert "gpu_memory_mb" not in sampler.latest_usage
    assert "memory_mb" in sampler.latest_usage
    sampler.stop()


def test_a_missing_psutil_leaves_the_process_fields_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    sample = ResourceSampler(gpu=False).sample()
    assert (sample.cpu_percent, sample.memory_mb) == (None, None)


@dataclass
class _Memory:
    used: int
    total: int


@dataclass
class _Rates:
    gpu: int


def stand_in_nvml(used_mib: list[int], busy: list[int]) -> types.ModuleType:
    """NVML's calls as pynvml names them, for devices this machine does not have.

    The real library is checked against PyTorch by bench/gpu_check.py on a machine with
    a GPU (docs/performance.md says whether that has happened).
    """
    nvml: Any = types.ModuleType("pynvml")
    nvml.calls = []
    nvml.nvmlInit = lambda: nvml.calls.append("init")
    nvml.nvmlShutdown = lambda: nvml.calls.append("shutdown")
    nvml.nvmlDeviceGetCount = lambda: len(used_mib)
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetName = lambda i: f"GPU {i}".encode()
    nvml.nvmlDeviceGetMemoryInfo = lambda i: _Memory(used_mib[i] << 20, 80 << 30)
    nvml.nvmlDeviceGetUtilizationRates = lambda i: _Rates(busy[i])
    return nvml  # type: ignore[no-any-return]


def test_gpu_memory_and_utilization_per_device_and_together() -> None:
    nvml = stand_in_nvml(used_mib=[1000, 3000], busy=[20, 60])
    sampler = ResourceSampler(cpu=False, nvml=nvml)
    sample = sampler.sample()
    assert [(g.index, g.name, g.memory_used_mb, g.utilization_percent) for g in sample.gpus] == [
        (0, "GPU 0", 1000.0, 20.0),
        (1, "GPU 1", 3000.0, 60.0),
    ]
    assert sampler.latest_usage == {"gpu_memory_mb": 4000.0, "gpu_utilization": 40.0}
    sampler.stop()
    assert nvml.calls == ["init", "shutdown"]


def test_gpu_devices_limits_the_sampled_devices() -> None:
    nvml = stand_in_nvml(used_mib=[1000, 3000], busy=[20, 60])
    sample = ResourceSampler(cpu=False, gpu_devices=[1], nvml=nvml).sample()
    assert [g.index for g in sample.gpus] == [1]
    assert sample.gpu_memory_mb == 3000.0


def test_the_background_thread_refreshes_the_latest_sample() -> None:
    used = [1000]
    sampler = ResourceSampler(0.01, cpu=False, nvml=stand_in_nvml(used, [10])).start()
    try:
        assert sampler.latest.gpu_memory_mb == 1000.0  # start() samples at once
        used[0] = 2000
        deadline = time.monotonic() + 5
        while sampler.latest.gpu_memory_mb != 2000.0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        sampler.stop()


def test_importing_monitorx_loads_neither_psutil_nor_nvml() -> None:
    code = "import sys, monitorx; print(sorted({'psutil', 'pynvml'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_metrics_reach_the_server_with_the_processs_resources(
    live_server: LiveServer, api: httpx.Client
) -> None:
    exporter = monitorx.init(url=live_server.url, resources=True)
    assert exporter.resources is not None

    @monitorx.monitor_inference(model_id="with-resources")
    def predict(x: int) -> int:
        return x

    for x in range(5):
        predict(x)
    assert monitorx.flush(timeout=10)
    params = {"model_id": "with-resources", "metric": "memory_mb", "agg": "max", "interval": "1h"}
    points = api.get("/metrics/aggregate", params=params).json()
    assert len(points) == 1
    assert points[0]["value"] == pytest.approx(rss_mb_from_proc(), rel=0.2)
    monitorx.shutdown()
    assert not exporter.resources.running  # the exporter stopped the sampler it started
