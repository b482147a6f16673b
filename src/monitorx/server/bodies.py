"""JSON bodies that routes read themselves (free-form objects such as channel configs)."""

from __future__ import annotations

__all__ = ["read_json"]

import orjson
from fastapi import Request

from monitorx.core import MalformedPayload


async def read_json(request: Request) -> object:
    """The request's JSON body; `MalformedPayload` (400) when it is not JSON."""
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from None
