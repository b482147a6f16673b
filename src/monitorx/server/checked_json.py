"""JSON bodies whose numbers are checked field by field after parsing.

API.md: NaN, Infinity and numbers past the float range are 422, naming the field.
orjson refuses them as malformed JSON (400) before any field is known, so bodies
that a record checks itself (rules, threshold profiles) are parsed with the
standard library, which reads them as floats; the record's check then refuses the
non-finite value by its field name. These bodies are small: speed does not matter.
"""

from __future__ import annotations

__all__ = ["read_checked_json"]

import json

from fastapi import Request

from monitorx.core import MalformedPayload


async def read_checked_json(request: Request) -> object:
    """The request's JSON body, non-finite numbers read as floats; 400 if not JSON."""
    body = await request.body()
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from None
