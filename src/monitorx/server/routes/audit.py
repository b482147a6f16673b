"""`/api/v1/audit`: the audit log, for admins (docs/security.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from monitorx.server.deps import StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.params import parse_limit, parse_time_param
from monitorx.server.schemas import AuditEntryOut
from monitorx.store import AuditQuery

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryOut], responses=ERROR_RESPONSES)
async def list_audit(
    storage: StorageDep,
    action: Annotated[str | None, Query(max_length=128)] = None,
    actor: Annotated[str | None, Query(max_length=256)] = None,
    start: str | None = None,
    end: str | None = None,
    limit: int | None = None,
) -> JSONResponse:
    """Changes made through the API and refused credentials, newest first; each
    filter given must match (``start`` inclusive, ``end`` exclusive)."""
    query = AuditQuery(
        limit=parse_limit(limit),
        action=action,
        actor=actor,
        start=None if start is None else parse_time_param(start, "start"),
        end=None if end is None else parse_time_param(end, "end"),
    )
    return JSONResponse([entry.to_json() for entry in await storage.list_audit(query)])
