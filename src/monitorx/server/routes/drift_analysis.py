"""Drift computed by the platform (API.md): a model's reference set, its logged
records and labels, and the analysis of records against the reference."""

from __future__ import annotations

import asyncio

import pyarrow as pa
from fastapi import APIRouter, Request

from monitorx.core import NotFound, ValidationError
from monitorx.core.identifiers import check_identifier, is_identifier
from monitorx.core.timeparse import to_epoch_us
from monitorx.evaluation.registry import ModelRegistry
from monitorx.ingest.feature_tables import (
    TABLE_MEDIA_TYPES,
    decode_json,
    media_type,
    table_from_rows,
    table_from_upload,
)
from monitorx.ingest.record_tables import records_from_upload
from monitorx.ingest.records import decode_labels, decode_records
from monitorx.records.store import RecordStore
from monitorx.server.deps import (
    ClockDep,
    DriftAnalyzerDep,
    RecordsDep,
    RegistryDep,
    StorageDep,
)
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.store import Storage

router = APIRouter(prefix="/models", tags=["drift analysis"])

_JSON_TYPES = ("application/json", "")
_FILE = {"schema": {"type": "string", "format": "binary"}}
_OBJECT = {"schema": {"type": "object"}}
_ARRAY = {"schema": {"type": "array", "items": {"type": "object"}}}
_REFERENCE_BODY = {
    "requestBody": {
        "required": True,
        "description": 'The reference rows: JSON {"rows": [...]}, or a table of one column '
        "per feature as CSV, Parquet or an Arrow IPC stream.",
        "content": {
            "application/json": _OBJECT,
            "text/csv": _FILE,
            "application/vnd.apache.parquet": _FILE,
            "application/vnd.apache.arrow.stream": _FILE,
        },
    }
}
_RECORDS_BODY = {
    "requestBody": {
        "required": True,
        "description": 'Records: a JSON array of {"request_id"?, "features", "prediction"?, '
        '"timestamp"?}, or a table of one column per feature (and the optional '
        "request_id, prediction, timestamp) as Parquet or an Arrow IPC stream.",
        "content": {
            "application/json": _ARRAY,
            "application/vnd.apache.parquet": _FILE,
            "application/vnd.apache.arrow.stream": _FILE,
        },
    }
}


def _reference_body(body: bytes, content_type: str) -> pa.Table:
    """The reference rows of a JSON body ``{"rows": [...]}``, or an upload's table."""
    media = media_type(content_type)
    if media in _JSON_TYPES or media.endswith("+json"):
        parsed = decode_json(body)
        if not isinstance(parsed, dict):
            raise ValidationError('expected a JSON object {"rows": [...]}', "body")
        return table_from_rows(parsed.get("rows"), "rows")
    return table_from_upload(body, content_type)


@router.put("/{model_id}/reference", responses=ERROR_RESPONSES, openapi_extra=_REFERENCE_BODY)
async def put_reference(model_id: str, request: Request, records: RecordsDep) -> JSONResponse:
    """Replace the model's reference set: JSON ``{"rows": [{feature: value}, ...]}``,
    a CSV (``text/csv``) or Parquet (``application/vnd.apache.parquet``) file, or an
    Arrow IPC stream (``application/vnd.apache.arrow.stream``)."""
    check_identifier(model_id, "model_id")
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    table = await asyncio.to_thread(_reference_body, body, content_type)
    await records.put_reference(model_id, table)
    return JSONResponse({"rows": table.num_rows, "columns": table.column_names})


@router.get("/{model_id}/reference", responses=ERROR_RESPONSES)
async def get_reference(model_id: str, records: RecordsDep) -> JSONResponse:
    """How many rows and which columns the model's reference set has; 404 if none."""
    table = await records.reference_table(model_id)
    if table is None:
        raise NotFound(f"model {model_id!r} has no reference set")
    return JSONResponse({"rows": table.num_rows, "columns": table.column_names})


@router.post(
    "/{model_id}/records",
    status_code=202,
    responses=ERROR_RESPONSES,
    openapi_extra=_RECORDS_BODY,
)
async def post_records(
    model_id: str, request: Request, clock: ClockDep, records: RecordsDep
) -> JSONResponse:
    """Log prediction records: a JSON array of ``{"request_id"?, "features": {...},
    "prediction"?, "timestamp"?}``, or a Parquet or Arrow IPC stream table of one
    column per feature and the optional ``request_id``, ``prediction`` and
    ``timestamp``. All or nothing: one bad item or column is a 422."""
    check_identifier(model_id, "model_id")
    body = await request.body()
    now_us = to_epoch_us(clock.now())
    content_type = request.headers.get("content-type", "")
    if media_type(content_type) in TABLE_MEDIA_TYPES:
        table = await asyncio.to_thread(records_from_upload, body, content_type, now_us)
    else:
        table = await asyncio.to_thread(lambda: decode_records(decode_json(body), now_us))
    accepted = await records.log_records(model_id, table)
    return JSONResponse({"accepted": accepted}, status_code=202)


@router.post("/{model_id}/labels", status_code=202, responses=ERROR_RESPONSES)
async def post_labels(model_id: str, request: Request, records: RecordsDep) -> JSONResponse:
    """Log labels, joined to records by ``request_id``: ``[{"request_id", "label"}]``."""
    check_identifier(model_id, "model_id")
    body = await request.body()
    table = await asyncio.to_thread(lambda: decode_labels(decode_json(body)))
    accepted = await records.log_labels(model_id, table)
    return JSONResponse({"accepted": accepted}, status_code=202)


@router.post("/{model_id}/drift/analyze", responses=ERROR_RESPONSES)
async def analyze_drift(
    model_id: str,
    request: Request,
    drift_analyzer: DriftAnalyzerDep,
    registry: RegistryDep,
    records: RecordsDep,
    storage: StorageDep,
) -> JSONResponse:
    """A DriftReport of the model's records in ``[start, end)`` (default: the last
    hour), or of ``{"current": {"rows": [...]}}``, against its reference set.
    ``stattest``, ``threshold`` and the other drift options override the automatic
    choice. 404 for an unknown model, 409 without a reference set or current rows."""
    if not is_identifier(model_id):  # names no model; InfluxQL could not even quote it
        raise NotFound(f"no model with id {model_id!r}: model ids are identifiers")
    body = await request.body()
    parsed = await asyncio.to_thread(decode_json, body) if body else {}
    if not isinstance(parsed, dict):
        raise ValidationError("expected a JSON object", "body")
    if not await _known(registry, records, storage, model_id):
        raise NotFound(f"no model with id {model_id!r}")
    assert drift_analyzer is not None
    result = await drift_analyzer.analyze(model_id, parsed)
    return JSONResponse(result.to_json())


async def _known(
    registry: ModelRegistry, records: RecordStore, storage: Storage, model_id: str
) -> bool:
    """API.md: a model that is registered or has any stored data is known."""
    return (
        registry.get(model_id) is not None
        or await records.has_data(model_id)
        or await storage.has_metrics(model_id)
    )
