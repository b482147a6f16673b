"""The OpenAPI document: FastAPI's, plus the schemas of bodies parsed by msgspec."""

from __future__ import annotations

__all__ = [
    "CREDENTIAL_PATHS",
    "ERROR_RESPONSES",
    "PUT_RESPONSES",
    "SECURITY_SCHEMES",
    "build_openapi",
    "json_body",
]

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
# A PUT answers 201 when it created what it names, 200 when it replaced it.
PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    201: {"description": "Created"},
}

# How a caller authenticates (server/auth.py); either one will do. With them in the
# schema, /docs has an Authorize button and its "Try it out" sends the credential.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "APIKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key; the first start with auth on writes the admin key "
        "to `<data-dir>/admin-api-key`.",
    },
    "BearerJWT": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An HS256 JWT signed with `MONITORX_JWT_SECRET`; its `role` claim "
        "is `read`, `write` or `admin`.",
    },
}


# Logging in and out: the body is the credential (permissions.CREDENTIAL_ROUTES).
CREDENTIAL_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/auth/revoke"})


def _needs_auth(path: str) -> bool:
    """With auth on, every endpoint but the health checks and logging in and out
    wants a credential."""
    return not path.startswith("/api/v1/health") and path not in CREDENTIAL_PATHS


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
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            _document_errors(path, operation)
            if _needs_auth(path):
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
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


# What a 429 carries (server/rate_limits); answers that are not refused carry the
# X-RateLimit-* three as well while limits are on.
_INTEGER = {"type": "integer"}
_RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "seconds until a request is admitted", "schema": _INTEGER},
    "X-RateLimit-Limit": {"description": "the bucket's size (burst)", "schema": _INTEGER},
    "X-RateLimit-Remaining": {"description": "requests it admits now", "schema": _INTEGER},
    "X-RateLimit-Reset": {"description": "Unix seconds when it is full", "schema": _INTEGER},
}


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    """Every API operation answers errors in the one error shape (server/errors.py)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = ["422"]
    if _needs_auth(path):
        codes += ["401", "403", "429"]
    if "{" in path:
        codes.append("404")
    for code in codes:
        responses[code] = {"description": _ERROR_WORDS[code], "content": _ERROR_REF}
    if "429" in responses:
        responses["429"]["headers"] = _RATE_LIMIT_HEADERS
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            response["content"] = _ERROR_REF
