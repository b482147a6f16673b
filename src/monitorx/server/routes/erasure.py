"""Erasure of a data subject's drift data (docs/security.md): the records and labels
of request ids, or of a value, deleted from every backend's store.

The body is JSON, not a query string: a value to erase is personal data, and a
URL is written to access logs and proxies' logs. The audit log records every
erasure (who, when, from where, the outcome); what it removed — counts and the
column, never the value or the ids — is also logged on the ``monitorx.audit``
logger.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Request

from monitorx.records.erasure import Erasure
from monitorx.server.audit_trail import PRINCIPAL_STATE
from monitorx.server.deps import RecordsDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.schemas import ErasureIn, ErasureOut

router = APIRouter(prefix="/records", tags=["drift analysis"])
audit = logging.getLogger("monitorx.audit")


@router.post(
    "/erase", response_model=ErasureOut, responses=ERROR_RESPONSES, summary="Erase records"
)
async def erase_records(
    body: Annotated[ErasureIn, Body()], request: Request, records: RecordsDep
) -> JSONResponse:
    """Delete the records and labels of ``request_ids`` — or those whose ``column``
    equals ``value``, and the reference rows holding it — in ``model_id``, or in
    every model. The value is matched as sent and as masked (mode ``hash``)."""
    erasure = Erasure(
        request_ids=frozenset(body.request_ids or ()),
        column=body.column,
        values=frozenset([body.value]) if body.value is not None else frozenset(),
        model_id=body.model_id,
    )
    erased = await records.erase(erasure)
    client = request.client.host if request.client else "unknown"
    asked = (
        f"{len(erasure.request_ids)} request id(s)"
        if erasure.request_ids
        else f"a value of column {erasure.column!r}"
    )
    # WARNING, so that the default log level keeps it.
    audit.warning(
        "erasure by %s from %s of %s in %s: %d record(s), %d label(s), %d reference "
        "row(s) deleted, models %s",
        getattr(getattr(request.state, PRINCIPAL_STATE, None), "name", "anonymous"),
        client,
        asked,
        f"model {erasure.model_id!r}" if erasure.model_id else "every model",
        erased.records,
        erased.labels,
        erased.reference_rows,
        erased.models,
    )
    return JSONResponse(erased.to_json())
