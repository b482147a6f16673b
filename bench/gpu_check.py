"""The SDK's GPU figures beside PyTorch and NVML, on a machine with an NVIDIA GPU.

    python bench/gpu_check.py [--device 0] [--steps-gib 1,2,4,8] [--busy-s 3]

Needs ``torch`` (a CUDA build) and ``nvidia-ml-py``. It starts a
:class:`monitorx.sdk.resources.ResourceSampler` on the device, then:

1. allocates ``--steps-gib`` more GiB at each step with PyTorch and, once the
   sampler has taken two samples since, prints the sampler's ``memory_used_mb``
   beside NVML's own reading of the device, NVML's figure for this process, and
   ``torch.cuda.memory_allocated`` / ``memory_reserved``;
2. runs bf16 matrix products for ``--busy-s`` seconds and prints the sampler's
   utilization over that time (and while idle before it).

Checks (exit status 1 when one fails): the sampler agrees with NVML's device
reading within 64 MiB at every step; what the sampler saw grow since the first
step equals what PyTorch reserved since then within 2 % + 64 MiB (NVML counts the
CUDA context and every process on the device, PyTorch only its own tensors, so the
totals differ but the growth must not); utilization while busy is above 50 % and
above the idle figure. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from monitorx.sdk.resources import ResourceSampler

_MIB = 1024 * 1024
_GIB = 1024 * _MIB
INTERVAL_S = 0.2


def _wait_for_fresh_sample(sampler: ResourceSampler) -> None:
    """Return once the sampler has taken two samples after this call began."""
    seen = sampler.latest
    fresh = 0
    deadline = time.monotonic() + 20 * INTERVAL_S
    while fresh < 2 and time.monotonic() < deadline:
        time.sleep(INTERVAL_S / 4)
        if sampler.latest is not seen:
            seen, fresh = sampler.latest, fresh + 1


def _process_mib(nvml: Any, handle: Any) -> float | None:
    """NVML's memory figure for this process on the device (None where not shown)."""
    for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
        if process.pid == os.getpid() and process.usedGpuMemory is not None:
            return float(process.usedGpuMemory) / _MIB
    return None


def _memory_steps(
    torch: Any, nvml: Any, sampler: ResourceSampler, device: int, steps_gib: list[float]
) -> list[dict[str, Any]]:
    handle = nvml.nvmlDeviceGetHandleByIndex(device)
    held = []
    rows: list[dict[str, Any]] = []
    print(
        f"{'step GiB':>9} {'sampler MiB':>12} {'NVML MiB':>10} {'NVML proc':>10} "
        f"{'torch alloc':>12} {'torch resv':>11}"
    )
    for gib in [0.0, *steps_gib]:
        if gib:
            held.append(torch.empty(int(gib * _GIB), dtype=torch.uint8, device=f"cuda:{device}"))
        torch.cuda.synchronize(device)
        _wait_for_fresh_sample(sampler)
        (gpu,) = sampler.latest.gpus
        row = {
            "step_gib": gib,
            "sampler_mib": gpu.memory_used_mb,
            "nvml_mib": nvml.nvmlDeviceGetMemoryInfo(handle).used / _MIB,
            "nvml_process_mib": _process_mib(nvml, handle),
            "torch_allocated_mib": torch.cuda.memory_allocated(device) / _MIB,
            "torch_reserved_mib": torch.cuda.memory_reserved(device) / _MIB,
        }
        rows.append(row)
        process = row["nvml_process_mib"]
        print(
            f"{gib:>9g} {gpu.memory_used_mb:>12.0f} {row['nvml_mib']:>10.0f} "
            f"{'n/a' if process is None else f'{process:.0f}':>10} "
            f"{row['torch_allocated_mib']:>12.0f} {row['torch_reserved_mib']:>11.0f}"
        )
    return rows


def _utilization(
    torch: Any, sampler: ResourceSampler, device: int, seconds: float
) -> tuple[float, float]:
    """Mean utilization the sampler saw while idle, then while multiplying matrices."""

    def mean_over(seconds: float, work: Any) -> float:
        seen, figures = sampler.latest, []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            work()
            if sampler.latest is not seen:
                seen = sampler.latest
                figures.append(seen.gpus[0].utilization_percent)
        return sum(figures) / len(figures) if figures else float("nan")

    a = torch.randn(8192, 8192, dtype=torch.bfloat16, device=f"cuda:{device}")

    def multiply() -> None:
        for _ in range(20):
            a @ a  # the product is the work
        torch.cuda.synchronize(device)

    idle = mean_over(seconds, lambda: time.sleep(INTERVAL_S / 4))
    multiply()  # warm-up: cuBLAS picks its kernels
    busy = mean_over(seconds, multiply)
    return idle, busy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--steps-gib", default="1,2,4,8")
    parser.add_argument("--busy-s", type=float, default=3.0)
    args = parser.parse_args()
    try:
        import pynvml
        import torch
    except ImportError as exc:
        print(f"gpu_check needs torch and nvidia-ml-py: {exc}")
        return 2
    if not torch.cuda.is_available():
        print("gpu_check: PyTorch sees no CUDA device")
        return 2

    torch.cuda.init()
    torch.zeros(1, device=f"cuda:{args.device}")  # the CUDA context, before the baseline
    pynvml.nvmlInit()
    sampler = ResourceSampler(interval_s=INTERVAL_S, cpu=False, gpu_devices=[args.device])
    sampler.start()
    try:
        if len(sampler.latest.gpus) != 1:
            print("gpu_check: the sampler read no GPU through NVML (see the log above)")
            return 2
        (gpu,) = sampler.latest.gpus
        print(f"device {gpu.index}: {gpu.name}, {gpu.memory_total_mb:,.0f} MiB")
        steps = [float(s) for s in args.steps_gib.split(",") if s]
        rows = _memory_steps(torch, pynvml, sampler, args.device, steps)
        idle, busy = _utilization(torch, sampler, args.device, args.busy_s)
    finally:
        sampler.stop()
    print(f"utilization: idle {idle:.0f} %, under bf16 matmuls {busy:.0f} %")

    failures = []
    for row in rows:
        gap = abs(row["sampler_mib"] - row["nvml_mib"])
        if gap > 64:
            failures.append(f"step {row['step_gib']} GiB: sampler and NVML differ by {gap:.0f} MiB")
    first, last = rows[0], rows[-1]
    grown = last["sampler_mib"] - first["sampler_mib"]
    reserved = last["torch_reserved_mib"] - first["torch_reserved_mib"]
    if abs(grown - reserved) > 0.02 * reserved + 64:
        failures.append(f"the sampler saw {grown:.0f} MiB more, PyTorch reserved {reserved:.0f}")
    if not busy > max(50.0, idle):
        failures.append(f"utilization under load {busy:.0f} % (idle {idle:.0f} %)")
    for failure in failures:
        print("FAIL:", failure)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    print(
        json.dumps(
            {
                "device": gpu.name,
                "steps": rows,
                "sampler_growth_mib": grown,
                "torch_reserved_growth_mib": reserved,
                "utilization_idle": idle,
                "utilization_busy": busy,
                "failures": failures,
            }
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
