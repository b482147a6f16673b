"""`/api/v1/keys`: the project's API keys, for admins (docs/security.md#api-keys)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitorx.core import ValidationError
from monitorx.core.access import parse_role
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import KeysDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.schemas import ApiKeyOut, NewApiKeyOut

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", status_code=201, response_model=NewApiKeyOut, responses=ERROR_RESPONSES)
async def create_key(request: Request, keys: KeysDep) -> JSONResponse:
    """``{"role": "ingest" | "viewer" | "editor" | "admin", "name"?}``. The key is in
    this answer only: the server keeps its hash."""
    body = await read_checked_json(request)
    if not isinstance(body, dict):
        raise ValidationError("must be an object", "body")
    role_text = body.get("role")
    if not isinstance(role_text, str):
        raise ValidationError("is required: ingest, viewer, editor or admin", "role")
    role, legacy = parse_role(role_text)
    if legacy:
        raise ValidationError("use ingest, viewer, editor or admin", "role")
    name = body.get("name", "")
    if not isinstance(name, str):
        raise ValidationError("must be a string", "name")
    record, key = await keys.create(role, name)
    return JSONResponse(
        {"id": record.id, "key": key, "project": record.project, "role": role.value, "name": name},
        status_code=201,
    )


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(keys: KeysDep) -> JSONResponse:
    """The project's keys, revoked ones included, oldest first; never a secret."""
    return JSONResponse([record.to_json() for record in await keys.list()])


@router.delete("/{key_id}", status_code=204, responses=ERROR_RESPONSES)
async def revoke_key(key_id: str, keys: KeysDep) -> Response:
    """Revoke: the key stops working at once."""
    await keys.revoke(key_id)
    return Response(status_code=204)
