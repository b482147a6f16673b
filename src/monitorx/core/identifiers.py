"""Identifiers: 1–128 characters of ``A–Z a–z 0–9 . _ : -`` (API.md)."""

from __future__ import annotations

__all__ = ["IDENTIFIER_PATTERN", "check_identifier", "is_identifier"]

import re

from monitorx.core.errors import ValidationError

IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def is_identifier(value: str) -> bool:
    return _IDENTIFIER.fullmatch(value) is not None


def check_identifier(value: str, field: str) -> str:
    """Return ``value`` if it is a valid identifier, else raise naming ``field``."""
    if not is_identifier(value):
        raise ValidationError(
            "must be 1–128 characters of A–Z a–z 0–9 . _ : - "
            f"(got {value[:40]!r}{'…' if len(value) > 40 else ''})",
            field,
        )
    return value
