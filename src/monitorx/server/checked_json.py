"""JSON bodies whose numbers are checked field by field after parsing.

API.md: NaN, Infinity and numbers past the float range are 422, naming the field.
orjson refuses them as malformed JSON (400) before any field is known, so bodies
that a record checks itself (rules, threshold profiles) are parsed with the
standard library, which reads them as floats; the record's check then refuses the
non-finite value by its field name. These bodies are small: speed does not matter.
Their strings follow the one rule of stored text (`monitorx.core.text`), checked
here for every such body at once.
"""

from __future__ import annotations

__all__ = ["read_checked_json"]


from fastapi import Request

from monitorx.core import MalformedPayload
from monitorx.core.lenient_json import loads_lenient
from monitorx.core.text import check_json_text


async def read_checked_json(request: Request) -> object:
    """The request's JSON body, non-finite numbers read as floats; 400 if not JSON;
    422 naming the field of a string that may not be stored (`monitorx.core.text`)."""
    body = await request.body()
    try:
        value = loads_lenient(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from None
    check_json_text(body, value)
    return value
