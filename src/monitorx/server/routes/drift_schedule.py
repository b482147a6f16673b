"""`/api/v1/models/{id}/drift-schedule` and `/drift/report.html`: scheduled drift
runs per model, and a downloadable HTML drift report of a window.

docs/quality.md describes both; the runs live in `monitorx.evaluation.drift_runs`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from monitorx.core import NotFound
from monitorx.core.identifiers import check_identifier
from monitorx.evaluation.drift_report import render_window_report
from monitorx.evaluation.drift_runs import DriftSchedule, ScheduledDriftRuns
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import (
    ClockDep,
    DriftRunsDep,
    RecordsDep,
)
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.params import parse_range

router = APIRouter(prefix="/models", tags=["drift"])
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the report, one HTML page"}
}


_DURATION = {"oneOf": [{"type": "number"}, {"type": "string"}], "description": "e.g. 15m"}
_SCHEDULE = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["window", "interval"],
                    "properties": {
                        "window": _DURATION,
                        "interval": _DURATION,
                        "stattest": {"type": "string"},
                        "threshold": {"type": "number", "minimum": 0},
                    },
                    "additionalProperties": True,
                    "description": "plus any option of POST /drift/analyze",
                }
            }
        },
    }
}


def _schedule_json(runs: ScheduledDriftRuns, model_id: str, schedule: DriftSchedule) -> object:
    status = runs.status(model_id)
    return schedule.to_json() | {"last_run": None if status is None else status.to_json()}


@router.put("/{model_id}/drift-schedule", responses=PUT_RESPONSES, openapi_extra=_SCHEDULE)
async def put_drift_schedule(model_id: str, request: Request, runs: DriftRunsDep) -> JSONResponse:
    """Run the model's drift every ``interval`` over the last ``window`` (201 when
    new). The first run is on the next scheduler tick."""
    check_identifier(model_id, "model_id")
    schedule = DriftSchedule.from_json(await read_checked_json(request))
    runs.check_options(schedule)
    created = await runs.schedules.put(model_id, schedule)
    runs.forget(model_id)
    return JSONResponse(
        _schedule_json(runs, model_id, schedule), status_code=201 if created else 200
    )


@router.get("/{model_id}/drift-schedule", responses=ERROR_RESPONSES)
async def get_drift_schedule(model_id: str, runs: DriftRunsDep) -> JSONResponse:
    """The schedule, and its ``last_run`` since the server started (or null)."""
    schedule = runs.schedules.get(check_identifier(model_id, "model_id"))
    if schedule is None:
        raise NotFound(f"model {model_id!r} has no drift schedule")
    return JSONResponse(_schedule_json(runs, model_id, schedule))


@router.delete("/{model_id}/drift-schedule", status_code=204, responses=ERROR_RESPONSES)
async def delete_drift_schedule(model_id: str, runs: DriftRunsDep) -> Response:
    if not await runs.schedules.delete(check_identifier(model_id, "model_id")):
        raise NotFound(f"model {model_id!r} has no drift schedule")
    runs.forget(model_id)
    return Response(status_code=204)


@router.get(
    "/{model_id}/drift/report.html",
    response_class=Response,
    responses=ERROR_RESPONSES | _HTML,
)
async def drift_report_html(
    model_id: str,
    records: RecordsDep,
    clock: ClockDep,
    drift_runs: DriftRunsDep,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """The drift of the records in ``[start, end)`` against the reference, with the
    options of the model's drift schedule, as one self-contained HTML page (409
    without a reference or records, as the analyze endpoint)."""
    check_identifier(model_id, "model_id")
    span = parse_range(start, end, clock.now())
    schedule = drift_runs.schedules.get(model_id)
    options = {} if schedule is None else schedule.options
    assert records is not None, "create_app wires the drift data"
    page = await render_window_report(records, model_id, span.start, span.end, options)
    filename = f"drift-{model_id}-{span.start:%Y%m%dT%H%M%SZ}.html"
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
