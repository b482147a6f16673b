"""`/api/v1/models/{model_id}/concept-drift`: a model's streaming concept-drift monitor.

``PUT`` with ``{"detector": "adwin"|"ddm"|"page_hinkley"|"kswin", "metric":
"error"|"latency", "params": {...}}`` (metric defaults to ``error``, params to
river's defaults) starts or restarts the monitor: 201 when created, 200 when
replaced. ``GET`` returns the config with every parameter filled in and what the
monitor has seen since it started; ``DELETE`` stops it. Semantics in docs/anomaly.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from monitorx.analysis.concept_drift import (
    DriftDetectorName,
    StreamMetric,
    parse_concept_drift_config,
)
from monitorx.core import NotFound
from monitorx.core.identifiers import check_identifier
from monitorx.core.timeparse import from_epoch_us
from monitorx.evaluation.concept_drift_feed import ConceptDriftStatus
from monitorx.evaluation.registry import ModelRegistry
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import ConceptDriftDep, RegistryDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/models", tags=["concept-drift"])


def _known_model(registry: ModelRegistry, model_id: str) -> None:
    check_identifier(model_id, "model_id")
    if registry.get(model_id) is None:
        raise NotFound(f"no model with id {model_id!r}")


def status_json(model_id: str, status: ConceptDriftStatus) -> dict[str, Any]:
    last = status.last_detection
    return {
        "model_id": model_id,
        **status.config.to_dict(),
        "points_seen": status.points_seen,
        "batches_dropped": status.batches_dropped,
        "detections": status.detections,
        "last_detection": None
        if last is None
        else {
            "index": last.index,
            "timestamp": _timestamp(last.ts_us),
            "mean_before": last.mean_before,
            "mean_recent": last.mean_recent,
        },
    }


def _timestamp(ts_us: int) -> str:
    return from_epoch_us(ts_us).isoformat().replace("+00:00", "Z")


# The body is read and checked by `parse_concept_drift_config`; this documents it.
_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detector"],
    "properties": {
        "detector": {"enum": [d.value for d in DriftDetectorName]},
        "metric": {"enum": [m.value for m in StreamMetric], "default": "error"},
        "params": {"type": "object", "description": "the detector's parameters (river's)"},
    },
}


@router.put(
    "/{model_id}/concept-drift",
    responses=PUT_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        }
    },
)
async def put_concept_drift(
    model_id: str,
    request: Request,
    feed: ConceptDriftDep,
    registry: RegistryDep,
) -> JSONResponse:
    """Configure (201) or reconfigure (200) a model's concept-drift monitor."""
    _known_model(registry, model_id)
    config = parse_concept_drift_config(await read_checked_json(request))
    created = await feed.configure(model_id, config)
    status = feed.status(model_id)
    assert status is not None
    return JSONResponse(status_json(model_id, status), status_code=201 if created else 200)


@router.get("/{model_id}/concept-drift", responses=ERROR_RESPONSES)
async def get_concept_drift(
    model_id: str, registry: RegistryDep, concept_drift: ConceptDriftDep
) -> JSONResponse:
    """The monitor's config and what it has seen; 404 when none is configured."""
    _known_model(registry, model_id)
    status = concept_drift.status(model_id)
    if status is None:
        raise NotFound(f"model {model_id!r} has no concept-drift monitor")
    return JSONResponse(status_json(model_id, status))


@router.delete("/{model_id}/concept-drift", status_code=204, responses=ERROR_RESPONSES)
async def delete_concept_drift(
    model_id: str, registry: RegistryDep, concept_drift: ConceptDriftDep
) -> Response:
    """Stop monitoring; 404 when none is configured."""
    _known_model(registry, model_id)
    if not await concept_drift.remove(model_id):
        raise NotFound(f"model {model_id!r} has no concept-drift monitor")
    return Response(status_code=204)
