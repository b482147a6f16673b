"""`/api/v1/health`, `/health/live`, `/health/ready`: never behind auth."""

from __future__ import annotations

import time
from typing import Any

import psutil
from fastapi import APIRouter

import monitorx
from monitorx.core import MonitorXError
from monitorx.server.deps import EngineDep, StorageDep
from monitorx.server.responses import JSONResponse
from monitorx.server.schemas import HealthOut
from monitorx.store import Storage

router = APIRouter(prefix="/health", tags=["health"])

# A storage round trip slower than this makes the server "degraded".
SLOW_STORAGE_MS = 500.0


async def _storage_check(storage: Storage) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await storage.ping()
    except MonitorXError as exc:
        return {"status": "unhealthy", "error": str(exc)}
    latency_ms = (time.perf_counter() - started) * 1000
    status = "healthy" if latency_ms < SLOW_STORAGE_MS else "degraded"
    return {"status": status, "latency_ms": round(latency_ms, 3)}


_PROCESS = psutil.Process()


def _process_check() -> dict[str, Any]:
    """This server process: memory, CPU since the last look, threads."""
    with _PROCESS.oneshot():
        return {
            "status": "healthy",
            "rss_mb": round(_PROCESS.memory_info().rss / 1024 / 1024, 1),
            "cpu_percent": _PROCESS.cpu_percent(interval=None),
            "threads": _PROCESS.num_threads(),
        }


@router.get("", response_model=HealthOut)
async def health(storage: StorageDep, engine: EngineDep) -> JSONResponse:
    """Overall status from every check: the worst of them."""
    checks = {
        "storage": await _storage_check(storage),
        "alerting": {
            "status": "healthy",
            "active_alerts": sum(engine.active_counts().values()),
        },
        "process": _process_check(),
    }
    statuses = {c["status"] for c in checks.values()}
    overall = next(
        s for s in ("unhealthy", "degraded", "healthy") if s in statuses or s == "healthy"
    )
    return JSONResponse({"status": overall, "version": monitorx.__version__, "checks": checks})


@router.get("/live")
async def live() -> JSONResponse:
    """200 while the process runs."""
    return JSONResponse({"status": "alive"})


@router.get("/ready", responses={503: {"description": "cannot serve"}})
async def ready(storage: StorageDep) -> JSONResponse:
    """200 when the store answers, else 503."""
    check = await _storage_check(storage)
    status = 200 if check["status"] != "unhealthy" else 503
    return JSONResponse(
        {"status": "ready" if status == 200 else "not ready", "storage": check}, status_code=status
    )
