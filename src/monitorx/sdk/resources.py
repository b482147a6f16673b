"""Resource capture: process CPU and memory, GPU memory and utilization, sampled in the background.

    sampler = ResourceSampler(interval_s=1.0)      # psutil; NVML when gpu=True
    sampler.start()
    @monitor_inference(model_id="m", resources=sampler)
    def predict(x): ...

A daemon thread samples every ``interval_s``; the hot path only reads
:attr:`ResourceSampler.latest`, an attribute holding the last frozen
:class:`ResourceSample`. ``psutil`` and NVML (``nvidia-ml-py``, imported as
``pynvml``) are imported when the sampler starts, never at ``import monitorx``:
install them with ``pip install monitorx[gpu]`` (or ``[resources]`` for psutil
alone). When one is missing, or there is no GPU or driver, its fields stay empty
(``None``, no devices) and nothing fails; the reason is logged once.

What the fields mean, as API.md's ``resource_usage`` names them:

    cpu_percent     this process's CPU use since the previous sample, in percent of
                    one core (psutil's ``Process.cpu_percent``: 200 = two cores busy)
    memory_mb       this process's resident set size (RSS), in MiB
    gpu_memory_mb   device memory in use on the sampled GPUs, summed, in MiB (NVML
                    counts every process on the device, not only this one)
    gpu_utilization mean over the sampled GPUs of the percent of time a kernel ran
                    during NVML's last sample period

Per-device figures are on :attr:`ResourceSample.gpus`.
"""

from __future__ import annotations

__all__ = ["GpuSample", "ResourceSample", "ResourceSampler"]

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

logger = logging.getLogger("monitorx.sdk")

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One GPU as NVML saw it at the sample."""

    index: int
    name: str
    memory_used_mb: float
    memory_total_mb: float
    utilization_percent: float


@dataclass(frozen=True, slots=True)
class ResourceSample:
    """The figures of one sample; ``None`` (or no GPUs) where they could not be read."""

    cpu_percent: float | None = None
    memory_mb: float | None = None
    gpus: tuple[GpuSample, ...] = field(default=())

    @property
    def gpu_memory_mb(self) -> float | None:
        """Memory used on the sampled GPUs together, in MiB."""
        return sum(g.memory_used_mb for g in self.gpus) if self.gpus else None

    @property
    def gpu_utilization(self) -> float | None:
        """Mean utilization of the sampled GPUs, in percent."""
        return sum(g.utilization_percent for g in self.gpus) / len(self.gpus) if self.gpus else None

    def resource_usage(self) -> dict[str, float]:
        """API.md's ``resource_usage`` object: only the fields that were read."""
        values = {
            "cpu_percent": self.cpu_percent,
            "memory_mb": self.memory_mb,
            "gpu_memory_mb": self.gpu_memory_mb,
            "gpu_utilization": self.gpu_utilization,
        }
        return {name: value for name, value in values.items() if value is not None}


EMPTY_SAMPLE = ResourceSample()


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        logger.info("MonitorX resource capture without %s: %s", name, exc)
        return None


class _ProcessReader:
    """psutil's view of this process."""

    def __init__(self, psutil: Any) -> None:
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only sets the baseline

    def read(self) -> tuple[float, float]:
        with self._process.oneshot():
            return float(self._process.cpu_percent(None)), self._process.memory_info().rss / _MIB


class _GpuReader:
    """NVML's view of the selected devices (all of them by default)."""

    def __init__(self, nvml: Any, devices: Sequence[int] | None) -> None:
        self._nvml = nvml
        nvml.nvmlInit()
        indexes = range(nvml.nvmlDeviceGetCount()) if devices is None else devices
        self._handles = [(i, nvml.nvmlDeviceGetHandleByIndex(i)) for i in indexes]
        self._names = {i: self._name(handle) for i, handle in self._handles}

    def _name(self, handle: Any) -> str:
        name = self._nvml.nvmlDeviceGetName(handle)
        return name.decode() if isinstance(name, bytes) else str(name)

    def read(self) -> tuple[GpuSample, ...]:
        samples = []
        for index, handle in self._handles:
            memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            rates = self._nvml.nvmlDeviceGetUtilizationRates(handle)
            samples.append(
                GpuSample(
                    index=index,
                    name=self._names[index],
                    memory_used_mb=memory.used / _MIB,
                    memory_total_mb=memory.total / _MIB,
                    utilization_percent=float(rates.gpu),
                )
            )
        return tuple(samples)

    def close(self) -> None:
        self._nvml.nvmlShutdown()


class ResourceSampler:
    """Samples process and GPU figures on a daemon thread; :attr:`latest` is the last one.

    ``cpu`` and ``gpu`` choose what is read; ``gpu_devices`` limits NVML to those
    indexes. ``nvml`` and ``psutil`` replace the modules imported on start (tests,
    or a wrapper that filters devices). Call :meth:`sample` to read once without
    the thread.
    """

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        cpu: bool = True,
        gpu: bool = True,
        gpu_devices: Sequence[int] | None = None,
        psutil: ModuleType | None = None,
        nvml: ModuleType | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.interval_s = interval_s
        self._want_cpu = cpu
        self._want_gpu = gpu
        self._gpu_devices = gpu_devices
        self._psutil = psutil
        self._nvml = nvml
        self._process: _ProcessReader | None = None
        self._gpus: _GpuReader | None = None
        self._opened = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: ResourceSample = EMPTY_SAMPLE
        """The last sample; reading it costs an attribute lookup."""
        self.latest_usage: dict[str, float] = {}
        """The last sample as API.md's ``resource_usage``; shared, do not change it."""
        self._listeners: list[Callable[[dict[str, float]], None]] = []

    def add_listener(self, listener: Callable[[dict[str, float]], None]) -> None:
        """Have ``listener(latest_usage)`` called after every sample, on the sampling thread.

        An exporter keeps the usage its recordings carry this way, instead of asking
        on the caller's thread. It must be quick and must not raise.
        """
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: Callable[[dict[str, float]], None]) -> None:
        """Stop calling ``listener``; one that was never added is ignored."""
        with self._lock:
            self._listeners = [known for known in self._listeners if known != listener]

    def _open(self) -> None:
        # Called with the lock held, once: imports happen here, never at import time.
        self._opened = True
        if self._want_cpu:
            psutil = self._psutil or _import("psutil")
            if psutil is not None:
                try:
                    self._process = _ProcessReader(psutil)
                except Exception as exc:  # e.g. a sandbox without /proc
                    logger.warning("MonitorX cannot read process resources: %s", exc)
        if self._want_gpu:
            nvml = self._nvml or _import("pynvml")
            if nvml is not None:
                try:
                    self._gpus = _GpuReader(nvml, self._gpu_devices)
                except Exception as exc:  # no driver, no device: NVMLError_*
                    logger.info("MonitorX resource capture without GPUs: %s", exc)

    def sample(self) -> ResourceSample:
        """Read the figures now, store them as :attr:`latest` and return them."""
        with self._lock:
            if not self._opened:
                self._open()
            cpu_percent = memory_mb = None
            gpus: tuple[GpuSample, ...] = ()
            if self._process is not None:
                try:
                    cpu_percent, memory_mb = self._process.read()
                except Exception as exc:
                    logger.warning("MonitorX could not read process resources: %s", exc)
            if self._gpus is not None:
                try:
                    gpus = self._gpus.read()
                except Exception as exc:
                    logger.warning("MonitorX could not read GPU resources: %s", exc)
            sample = self.latest = ResourceSample(cpu_percent, memory_mb, gpus)
            usage = self.latest_usage = sample.resource_usage()
            listeners = self._listeners
        for listener in listeners:
            try:
                listener(usage)
            except Exception:  # one listener's bug must not stop the sampling
                logger.exception("MonitorX resource listener failed")
        return sample

    @property
    def running(self) -> bool:
        """Whether the background thread samples."""
        return self._thread is not None

    def start(self) -> ResourceSampler:
        """Take a first sample, then one every ``interval_s`` on a daemon thread."""
        with self._lock:
            if self._thread is not None:
                return self
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="monitorx-resources", daemon=True
            )
        self.sample()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # the thread must outlive any bug
                logger.exception("MonitorX resource sampling failed")

    def stop(self) -> None:
        """Stop the thread and release NVML; :attr:`latest` keeps the last sample."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.interval_s + 1.0)
        with self._lock:
            if self._gpus is not None:
                try:
                    self._gpus.close()
                except Exception as exc:
                    logger.warning("MonitorX could not shut NVML down: %s", exc)
                self._gpus = None
            self._opened = False
