"""`GET /metrics`: MonitorX's own metrics in Prometheus' text exposition format.

At the server root, where scrapers look by default, behind the same auth as the
API's reads (a scraper sends its key as ``Authorization: Bearer``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from monitorx.server.deps import TelemetryDep
from monitorx.server.telemetry import EXPOSITION_CONTENT_TYPE

router = APIRouter(tags=["prometheus"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Every monitorx_* family (docs/prometheus.md)",
            "content": {EXPOSITION_CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(telemetry: TelemetryDep) -> Response:
    """MonitorX's own metrics, every family ``monitorx_…``."""
    return Response(await telemetry.exposition(), media_type=EXPOSITION_CONTENT_TYPE)
