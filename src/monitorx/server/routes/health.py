"""`/api/v1/health`, `/health/live`, `/health/ready`: never behind auth."""

from __future__ import annotations

import os
import time

import psutil
from fastapi import APIRouter, Request

import monitorx
from monitorx.core import MonitorXError
from monitorx.core.health import Check, Health, worst
from monitorx.server.config_sync import ConfigSync
from monitorx.server.deps import (
    ClusterDep,
    DecoderDep,
    EngineDep,
    EvaluatorDep,
    LiveDep,
    NotifierDep,
    RateLimitsDep,
    SchedulerDep,
    SettingsDep,
    StorageDep,
)
from monitorx.server.responses import JSONResponse
from monitorx.server.schemas import HealthOut
from monitorx.store import Storage

router = APIRouter(prefix="/health", tags=["health"])

# A storage round trip slower than this makes the server "degraded".
SLOW_STORAGE_MS = 500.0


async def _storage_check(storage: Storage) -> Check:
    started = time.perf_counter()
    try:
        await storage.ping()
    except MonitorXError as exc:
        return Check(Health.UNHEALTHY, f"storage does not answer: {exc}")
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    if latency_ms >= SLOW_STORAGE_MS:
        reason = f"a storage round trip took {latency_ms:.0f} ms"
        return Check(Health.DEGRADED, reason, {"latency_ms": latency_ms})
    return Check(Health.HEALTHY, "", {"latency_ms": latency_ms})


_PROCESS = psutil.Process()


def _process_check() -> Check:
    """This server process: its pid (which of a machine's workers or a cluster's
    replicas answered), memory, CPU since the last look, threads."""
    with _PROCESS.oneshot():
        measured = {
            "pid": os.getpid(),
            "rss_mb": round(_PROCESS.memory_info().rss / 1024 / 1024, 1),
            "cpu_percent": _PROCESS.cpu_percent(interval=None),
            "threads": _PROCESS.num_threads(),
        }
    return Check(Health.HEALTHY, "", measured)


@router.get("", response_model=HealthOut)
async def health(
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    engine: EngineDep,
    evaluator: EvaluatorDep,
    notifier: NotifierDep,
    scheduler: SchedulerDep,
    decoder: DecoderDep,
    rate_limits: RateLimitsDep,
    cluster: ClusterDep,
    live: LiveDep,
) -> JSONResponse:
    """Every part, measured: ``degraded`` when its work is overdue by more than three
    of its intervals or its last three attempts failed, or when the Redis that rate
    limits or (in a cluster) the live feed are shared through does not answer;
    ``unhealthy`` when storage does not answer; each not-healthy check says why.
    The status is the worst. On a store that replicas share, ``config_sync`` says
    whether changes made through other replicas are heard as they happen, and when
    configuration was last read; ``cluster`` which leases this replica holds."""
    evaluation = evaluator.health()
    alerting = Check(
        evaluation.status,
        evaluation.reason,
        evaluation.measured | {"active_alerts": sum(engine.active_counts().values())},
    )
    notifications = (
        notifier.health()
        if settings.notify_enabled
        else Check(Health.HEALTHY, "", {"enabled": False})
    )
    checks = {
        "storage": await _storage_check(storage),
        "ingest": decoder.health(),
        "alerting": alerting,
        "notifications": notifications,
        "scheduler": scheduler.health(),
        "process": _process_check(),
        "rate_limits": (
            Check(Health.HEALTHY, "", {"enabled": False})
            if rate_limits is None
            else await rate_limits.check()
        ),
    }
    if cluster is not None:
        checks["cluster"] = cluster.health()  # the leases this replica holds
    config_sync: ConfigSync | None = request.app.state.config_sync
    if config_sync is not None:
        checks["config_sync"] = config_sync.health()
    if live.relay is not None:
        # In a cluster: Redis away leaves each replica's live feed its own.
        checks["redis"] = await live.relay.check()
    overall = worst(c.status for c in checks.values())
    return JSONResponse(
        {
            "status": overall.value,
            "version": monitorx.__version__,
            "checks": {name: check.to_json() for name, check in checks.items()},
        }
    )


@router.get("/live")
async def live() -> JSONResponse:
    """200 while the process runs."""
    return JSONResponse({"status": "alive"})


@router.get("/ready", responses={503: {"description": "cannot serve"}})
async def ready(storage: StorageDep) -> JSONResponse:
    """200 while the server can serve; 503 only when it cannot (storage does not
    answer) — never merely because a part is degraded, so that one failing webhook
    does not take a replica out of its load balancer."""
    check = await _storage_check(storage)
    status = 503 if check.status is Health.UNHEALTHY else 200
    body = {"status": "ready" if status == 200 else "not ready", "storage": check.to_json()}
    return JSONResponse(body, status_code=status)
