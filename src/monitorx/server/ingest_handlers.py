"""Accepting inference metrics: shared by the FastAPI routes and the fast path."""

from __future__ import annotations

__all__ = ["accept_batch", "accept_metric"]

from monitorx.ingest.decode import decode_metric
from monitorx.server.deps import Services
from monitorx.server.responses import JSONResponse


async def accept_metric(services: Services, body: bytes) -> JSONResponse:
    """Store one metric; 202 once it is durable."""
    metric = decode_metric(body, services.clock.now())
    await services.storage.write_metrics(metric)
    services.evaluator.submit(metric)
    return JSONResponse({"accepted": 1}, status_code=202)


async def accept_batch(services: Services, body: bytes) -> JSONResponse:
    """Store the valid items of a batch; 422 when none is valid."""
    table, rejected = await services.decoder.decode(
        body, services.clock.now(), services.settings.max_batch_items
    )
    rejected_json = [{"index": r.index, "error": r.error} for r in rejected]
    if table.num_rows == 0:
        return JSONResponse(
            {
                "error": "validation_error",
                "detail": f"none of the {len(rejected)} metrics is valid",
                "accepted": 0,
                "rejected": rejected_json,
            },
            status_code=422,
        )
    await services.storage.write_metrics(table)
    services.evaluator.submit(table)
    return JSONResponse({"accepted": table.num_rows, "rejected": rejected_json}, status_code=202)
