"""`/api/v1/models`: the model registry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response

from monitorx.core import (
    Conflict,
    Environment,
    ModelConfig,
    ModelType,
    NotFound,
    Thresholds,
    ValidationError,
)
from monitorx.core.identifiers import check_identifier
from monitorx.server.deps import (
    EngineDep,
    RegistryDep,
    StorageDep,
)
from monitorx.server.responses import JSONResponse
from monitorx.server.schemas import ErrorOut, ModelConfigBody, ModelConfigOut

router = APIRouter(prefix="/models", tags=["models"])


def _config(model_id: str, body: ModelConfigBody) -> ModelConfig:
    return ModelConfig(
        id=model_id,
        name=body.name or model_id,
        model_type=ModelType(body.model_type),
        version=body.version,
        environment=Environment(body.environment),
        thresholds=Thresholds(**body.thresholds.model_dump()),
        tags=dict(body.tags),
    )


@router.post(
    "",
    status_code=201,
    response_model=ModelConfigOut,
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def create_model(
    body: Annotated[ModelConfigBody, Body()], registry: RegistryDep
) -> JSONResponse:
    """Register a model. 409 if the id exists."""
    if body.id is None:
        raise ValidationError("is required", "id")
    if registry.get(body.id) is not None:
        raise Conflict(f"model {body.id!r} already exists; use PUT /api/v1/models/{body.id}")
    model = _config(body.id, body)
    await registry.save(model)
    return JSONResponse(model.to_dict(), status_code=201)


@router.put(
    "/{model_id}", response_model=ModelConfigOut, responses={201: {"model": ModelConfigOut}}
)
async def put_model(
    model_id: str, body: Annotated[ModelConfigBody, Body()], registry: RegistryDep
) -> JSONResponse:
    """Create (201) or replace (200) a model. A body ``id`` must equal the path's."""
    check_identifier(model_id, "model_id")
    if body.id is not None and body.id != model_id:
        raise ValidationError(f"body id {body.id!r} differs from the path's {model_id!r}", "id")
    model = _config(model_id, body)
    created = await registry.save(model)
    return JSONResponse(model.to_dict(), status_code=201 if created else 200)


@router.get("", response_model=list[ModelConfigOut])
async def list_models(
    registry: RegistryDep,
    environment: Annotated[Literal["dev", "staging", "prod"] | None, Query()] = None,
    model_type: Annotated[Literal["llm", "cv", "tabular"] | None, Query()] = None,
) -> JSONResponse:
    models = [
        m.to_dict()
        for m in registry.all()
        if (environment is None or m.environment.value == environment)
        and (model_type is None or m.model_type.value == model_type)
    ]
    return JSONResponse(models)


@router.get("/{model_id}", response_model=ModelConfigOut, responses={404: {"model": ErrorOut}})
async def get_model(model_id: str, registry: RegistryDep) -> JSONResponse:
    model = registry.get(model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id!r}")
    return JSONResponse(model.to_dict())


@router.delete("/{model_id}", status_code=204, responses={404: {"model": ErrorOut}})
async def delete_model(
    model_id: str,
    engine: EngineDep,
    registry: RegistryDep,
    storage: StorageDep,
    purge: Annotated[bool, Query(description="also delete the model's stored data")] = False,
) -> Response:
    """Unregister a model. Its metrics, drift figures and alerts stay unless ``purge``."""
    if not await registry.delete(model_id):
        raise NotFound(f"no model with id {model_id!r}")
    if purge:
        await storage.purge_model_data(model_id)
        engine.forget_model(model_id)
    return Response(status_code=204)
