"""`/api/v1/slos`: service level objectives, their error budgets and burn rates.

The SLO object and the status fields are described in docs/alerts.md ("SLOs and
burn-rate alerts"); the arithmetic lives in `monitorx.alerting.slo.objective`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from monitorx.alerting.slo.catalog import SLOCatalog
from monitorx.alerting.slo.evaluation import SLOStatus
from monitorx.alerting.slo.objective import SLO, duration_text
from monitorx.core import NotFound, ValidationError
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import SLOsDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse, alert_json
from monitorx.server.schemas import ErrorOut

router = APIRouter(prefix="/slos", tags=["slos"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "an SLO with this id exists"}
}


async def _body(request: Request) -> object:
    # As every stored document's body: NaN and 1e400 refused by field name, and the
    # rule of stored text (a lone surrogate is a 422, not malformed JSON).
    return await read_checked_json(request)


def _get(catalog: SLOCatalog, slo_id: str) -> SLO:
    slo = catalog.get(slo_id)
    if slo is None:
        raise NotFound(f"no SLO with id {slo_id!r}")
    return slo


def status_json(status: SLOStatus) -> dict[str, Any]:
    """The wire form of an SLO's status (docs/alerts.md)."""
    slo, budget = status.slo, status.budget
    return {
        "slo_id": slo.id,
        "model_id": slo.model_id,
        "objective": slo.objective.value,
        "target": slo.target,
        "evaluated_at": status.evaluated_at,
        "window": duration_text(slo.window_s),
        "measured_window": duration_text(status.measured_s),
        "window_clipped": status.window_clipped,
        "total": status.counts.total,
        "bad": status.counts.bad,
        "sli": status.counts.sli,
        "error_budget": {
            "allowed": budget.allowed,
            "consumed": budget.consumed,
            "remaining": budget.remaining,
        },
        "burn_rates": [
            {
                "window": duration_text(w.window_s),
                "window_seconds": w.window_s,
                "total": w.counts.total,
                "bad": w.counts.bad,
                "burn_rate": w.burn_rate,
            }
            for w in status.windows
        ],
        "conditions": [
            {
                "alert": c.windows.kind.value,
                "factor": c.windows.factor,
                "long_window": duration_text(c.windows.long_s),
                "short_window": duration_text(c.windows.short_s),
                "long_burn_rate": c.long_rate,
                "short_burn_rate": c.short_rate,
                "firing": c.firing,
            }
            for c in status.verdict.conditions
        ],
        "firing": None if status.firing is None else status.firing.value,
        "alert": None if status.alert is None else alert_json(status.alert),
    }


@router.post("", status_code=201, responses=ERROR_RESPONSES | _CONFLICT)
async def create_slo(request: Request, slos: SLOsDep) -> JSONResponse:
    """Add an SLO; 409 if its id exists."""
    slo = SLO.from_dict(await _body(request))
    await slos.create(slo)
    return JSONResponse(slo.to_dict(), status_code=201)


@router.get("", responses=ERROR_RESPONSES)
async def list_slos(slos: SLOsDep) -> JSONResponse:
    """Every SLO, oldest first, each with its current ``status``."""
    statuses = await slos.evaluator.statuses()
    return JSONResponse([s.slo.to_dict() | {"status": status_json(s)} for s in statuses])


@router.get("/{slo_id}", responses=ERROR_RESPONSES)
async def get_slo(slo_id: str, slos: SLOsDep) -> JSONResponse:
    return JSONResponse(_get(slos, slo_id).to_dict())


@router.put("/{slo_id}", responses=PUT_RESPONSES)
async def put_slo(slo_id: str, request: Request, slos: SLOsDep) -> JSONResponse:
    """Create (201) or replace (200). A body ``id`` must equal the path's."""
    body = await _body(request)
    if isinstance(body, dict) and body.setdefault("id", slo_id) != slo_id:
        raise ValidationError(f"body id {body['id']!r} differs from the path's", "id")
    slo = SLO.from_dict(body)
    created = await slos.put(slo)
    return JSONResponse(slo.to_dict(), status_code=201 if created else 200)


@router.delete("/{slo_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_slo(slo_id: str, slos: SLOsDep) -> Response:
    """Remove an SLO; its open slo_burn alert is resolved."""
    if not await slos.delete(slo_id):
        raise NotFound(f"no SLO with id {slo_id!r}")
    return Response(status_code=204)


@router.get("/{slo_id}/status", responses=ERROR_RESPONSES)
async def slo_status(slo_id: str, catalog: SLOsDep) -> JSONResponse:
    """SLI and error budget over the SLO window, burn rate per window, what fires."""
    _get(catalog, slo_id)
    return JSONResponse(status_json(await catalog.evaluator.status(slo_id)))
