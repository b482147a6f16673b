"""JSON read leniently, so that a validator can name the field of a bad number.

orjson and msgspec refuse ``NaN``, ``Infinity`` and ``1e400`` as malformed JSON
(400) before any field is known. Bodies that a record validates itself, and the
slow paths of the fast decoders, are read with the standard library instead, which
turns those into floats; the validator then refuses the non-finite value by its
field name (API.md: 422).

Integers are read as orjson reads them: as ``int`` while they fit 64 bits, as
``float`` past that (``1e400``-sized ones become infinity, refused by name like
``1e400``). Every stored document can then be written back as JSON: orjson, the
server's encoder, cannot write a larger integer.
"""

from __future__ import annotations

__all__ = ["loads_lenient"]

import json
from typing import Any

_INT_MIN = -(2**63)
_INT_END = 2**64  # orjson writes integers in [-2**63, 2**64)


def _integer(text: str) -> int | float:
    # Past 21 characters it cannot fit; float() also reads the digits int() refuses
    # to convert (more than 4,300 of them).
    if len(text) <= 21:
        value = int(text)
        if _INT_MIN <= value < _INT_END:
            return value
    return float(text)  # 2**70 stays 1.2e21; 10**400 becomes infinity, refused by name


def loads_lenient(body: bytes | str) -> Any:
    """Parse ``body`` as JSON; raises ``ValueError`` (or ``RecursionError``) when it
    is not JSON, as `json.loads` does."""
    return json.loads(body, parse_int=_integer)
