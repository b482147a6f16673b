"""The OpenAPI document: FastAPI's, plus the schemas of bodies parsed by msgspec."""

from __future__ import annotations

__all__ = ["ERROR_RESPONSES", "build_openapi", "json_body"]

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from monitorx.server.schemas import DriftMetricIn, ErrorOut, InferenceMetricIn

# Bodies that routes read raw for speed; their schemas are added to the components.
_RAW_BODIES: tuple[type[BaseModel], ...] = (InferenceMetricIn, DriftMetricIn)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "not JSON"},
    413: {"model": ErrorOut, "description": "body or batch too large"},
    415: {"model": ErrorOut, "description": "not application/json"},
    422: {"model": ErrorOut, "description": "invalid; names the field"},
}


def json_body(schema: str, array: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{schema}"}
    if array:
        ref = {"type": "array", "items": ref, "minItems": 1, "maxItems": 10_000}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    documented: tuple[type[BaseModel], ...] = (*_RAW_BODIES, ErrorOut)
    for model in documented:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            _document_errors(path, operation)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    app.openapi_schema = doc
    return doc


_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
_ERROR_WORDS = {
    "401": "missing or bad credentials",
    "403": "the credentials lack the right",
    "404": "unknown resource",
    "422": "invalid; names the field",
    "429": "too many requests; see Retry-After",
}


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    """Every API operation answers errors in the one error shape (server/errors.py)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = ["422"]
    if "/health" not in path:
        codes += ["401", "403", "429"]
    if "{" in path:
        codes.append("404")
    for code in codes:
        responses[code] = {"description": _ERROR_WORDS[code], "content": _ERROR_REF}
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            response["content"] = _ERROR_REF
