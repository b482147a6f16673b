"""`/api/v1/threshold-profiles`: default thresholds per model type and environment,
fixed or learned; and `/api/v1/models/{id}/thresholds`: what a model is checked
against, and where each value came from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from monitorx.alerting.profiles.profile import (
    LEARNABLE_FIELDS,
    THRESHOLD_FIELDS,
    ThresholdProfile,
)
from monitorx.core import NotFound
from monitorx.core.identifiers import is_identifier
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import (
    RegistryDep,
    StorageDep,
    ThresholdProfilesDep,
)
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.store import Aggregation

router = APIRouter(tags=["threshold profiles"])

_LEARN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "aggregation": {"enum": [a.value for a in Aggregation if a is not Aggregation.COUNT]},
        "factor": {"type": "number", "exclusiveMinimum": 0},
        "window": {"oneOf": [{"type": "number"}, {"type": "string"}], "description": "≤ 7 days"},
    },
}
_WITH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "thresholds": {
                            "type": "object",
                            "properties": {f: {"type": "number"} for f in THRESHOLD_FIELDS},
                        },
                        "learn": {
                            "type": "object",
                            "properties": {f: _LEARN for f in LEARNABLE_FIELDS},
                        },
                    },
                }
            }
        },
    }
}


@router.get("/threshold-profiles")
async def list_profiles(threshold_profiles: ThresholdProfilesDep) -> JSONResponse:
    return JSONResponse([p.to_json() for p in threshold_profiles.all()])


@router.get("/threshold-profiles/{model_type}/{environment}", responses=ERROR_RESPONSES)
async def get_profile(
    model_type: str, environment: str, threshold_profiles: ThresholdProfilesDep
) -> JSONResponse:
    return JSONResponse(threshold_profiles.get(model_type, environment).to_json())


@router.put(
    "/threshold-profiles/{model_type}/{environment}",
    responses=PUT_RESPONSES,
    openapi_extra=_WITH_BODY,
)
async def put_profile(
    model_type: str,
    environment: str,
    request: Request,
    catalog: ThresholdProfilesDep,
    registry: RegistryDep,
) -> JSONResponse:
    """Create (201) or replace (200) the profile of one model type in one environment:
    ``{"thresholds": {"latency_ms": 250, ...}?, "learn": {"latency_ms": {"aggregation":
    "p99", "factor": 1.5, "window": "7d"}}?}``. Fields a profile learns are learned
    for its models at once, where they have enough history."""
    profile = ThresholdProfile.from_body(await read_checked_json(request), model_type, environment)
    created = await catalog.put(profile)
    await catalog.learn_once(registry.all())
    return JSONResponse(profile.to_json(), status_code=201 if created else 200)


@router.delete(
    "/threshold-profiles/{model_type}/{environment}", status_code=204, responses=ERROR_RESPONSES
)
async def delete_profile(
    model_type: str,
    environment: str,
    catalog: ThresholdProfilesDep,
    registry: RegistryDep,
) -> Response:
    await catalog.delete(model_type, environment)
    await catalog.learn_once(registry.all())  # forget what it learned
    return Response(status_code=204)


@router.get("/models/{model_id}/thresholds", responses=ERROR_RESPONSES)
async def model_thresholds(
    model_id: str,
    catalog: ThresholdProfilesDep,
    registry: RegistryDep,
    storage: StorageDep,
) -> JSONResponse:
    """The thresholds a model is checked against, per field: ``{"value", "source":
    "model" | "profile" | "learned", ...}``; a learned field also shows how it is
    learned and from how many points (``value`` null until there are enough). A
    model with data but not registered has none; an unknown model is 404."""
    model = registry.get(model_id)
    if model is None:
        # A model id that is no identifier names no model (and InfluxQL could not
        # quote every such string).
        if is_identifier(model_id) and await storage.has_metrics(model_id):
            return JSONResponse({})
        raise NotFound(f"no model with id {model_id!r}")
    effective = catalog.effective(model)
    return JSONResponse({k: e.to_json(catalog.min_points) for k, e in effective.items()})
