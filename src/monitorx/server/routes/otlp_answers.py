"""What the OTLP/HTTP routes (metrics, traces: routes.otlp; logs: routes.otlp_logs)
answer alike: their OpenAPI request body and answers, a message in the request's
content type, a ``google.rpc.Status`` for a refused body or content type."""

from __future__ import annotations

__all__ = ["JSON", "PROTOBUF", "answers", "encode", "refusal", "request_body", "unsupported"]

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from starlette.responses import Response

from monitorx.core import MonitorXError, PayloadTooLarge

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# google.rpc.Code values for the Status of an error answer.
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8


def request_body(request: str) -> dict[str, Any]:
    """OpenAPI's request body of an OTLP export (``request``: its message's name)."""
    return {
        "requestBody": {
            "required": True,
            "description": f"An OTLP {request}; Content-Encoding gzip or none.",
            "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}, JSON: {}},
        }
    }


def answers(response: str, rejected: str) -> dict[int | str, dict[str, object]]:
    """OpenAPI's answers of an OTLP export (``rejected``: what partial_success counts)."""
    return {
        200: {
            "description": f"An {response} in the request's content type; "
            f"partial_success counts the rejected {rejected}",
            "content": {PROTOBUF: {}, JSON: {}},
        },
        400: {"description": "not an OTLP request; a google.rpc.Status says why"},
        413: {"description": "body too large, as sent or decompressed"},
        415: {"description": "neither application/x-protobuf nor application/json"},
    }


def encode(message: Message, as_json: bool, status: int) -> Response:
    if as_json:
        text = json_format.MessageToJson(message, indent=None)
        return Response(text, status_code=status, media_type=JSON)
    return Response(message.SerializeToString(), status_code=status, media_type=PROTOBUF)


def unsupported(media: str) -> Response:
    status = Status(
        code=_INVALID_ARGUMENT,
        message=f"Content-Type {media or 'none'!r} is not supported; send {PROTOBUF} or {JSON}",
    )
    return encode(status, True, 415)


def refusal(exc: MonitorXError, as_json: bool) -> Response:
    too_large = isinstance(exc, PayloadTooLarge)
    code = _RESOURCE_EXHAUSTED if too_large else _INVALID_ARGUMENT
    return encode(Status(code=code, message=str(exc)), as_json, 413 if too_large else 400)
