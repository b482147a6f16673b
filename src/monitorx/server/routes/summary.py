"""`/api/v1/summary` and `/api/v1/models/{id}/summary`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from monitorx.core import NotFound
from monitorx.core.identifiers import is_identifier
from monitorx.core.timeparse import parse_duration
from monitorx.server.deps import ClockDep, EngineDep, RegistryDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.metrics import number_or_text
from monitorx.server.schemas import ModelSummary, Summary
from monitorx.store import ModelWindowStats

router = APIRouter(tags=["summary"])
_Window = Annotated[str, Query(description="seconds or e.g. '5m', '1h'; default 1h")]


def _model_summary(
    model_id: str, stats: ModelWindowStats | None, window_s: float, active: int
) -> dict[str, Any]:
    if stats is None or stats.count == 0:
        return {
            "model_id": model_id,
            "count": 0,
            "latency": {"mean": None, "p50": None, "p95": None, "p99": None, "max": None},
            "error_rate": None,
            "throughput": 0.0,
            "active_alerts": active,
        }
    return {
        "model_id": model_id,
        "count": stats.count,
        "latency": {
            "mean": stats.latency_mean,
            "p50": stats.latency_p50,
            "p95": stats.latency_p95,
            "p99": stats.latency_p99,
            "max": stats.latency_max,
        },
        "error_rate": stats.error_rate,
        "throughput": stats.count / window_s,
        "active_alerts": active,
    }


@router.get("/summary", response_model=Summary, responses=ERROR_RESPONSES)
async def summary(
    clock: ClockDep,
    engine: EngineDep,
    storage: StorageDep,
    registry: RegistryDep,
    window: _Window = "1h",
) -> JSONResponse:
    """Per model over the window: count, latency statistics, error rate, throughput
    (count / window) and unresolved alerts. Registered models appear even without data."""
    window_s = parse_duration(number_or_text(window), "window")
    end = clock.now()
    stats = {
        s.model_id: s for s in await storage.window_stats(end - timedelta(seconds=window_s), end)
    }
    active = engine.active_counts()
    model_ids = sorted({m.id for m in registry.all()} | stats.keys() | active.keys())
    models = [_model_summary(m, stats.get(m), window_s, active.get(m, 0)) for m in model_ids]
    window_out = int(window_s) if window_s.is_integer() else window_s
    return JSONResponse({"window_seconds": window_out, "models": models})


@router.get("/models/{model_id}/summary", response_model=ModelSummary, responses=ERROR_RESPONSES)
async def model_summary(
    model_id: str,
    clock: ClockDep,
    storage: StorageDep,
    registry: RegistryDep,
    engine: EngineDep,
    window: _Window = "1h",
) -> JSONResponse:
    """One model's summary; 404 for a model neither registered nor seen in the data."""
    if not is_identifier(model_id):  # names no model; InfluxQL could not even quote it
        raise NotFound(f"no model with id {model_id!r}: model ids are identifiers")
    window_s = parse_duration(number_or_text(window), "window")
    end = clock.now()
    found = await storage.window_stats(end - timedelta(seconds=window_s), end, model_id=model_id)
    known = bool(found) or registry.get(model_id) is not None or await storage.has_metrics(model_id)
    if not known:
        raise NotFound(f"no model with id {model_id!r} is registered or has data")
    stats = found[0] if found else None
    return JSONResponse(_model_summary(model_id, stats, window_s, engine.active_count(model_id)))
