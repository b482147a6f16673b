"""Timestamps and durations as API.md defines them.

Timestamps arrive as RFC 3339 strings (no offset means UTC) or Unix epoch seconds;
durations as whole seconds or strings such as ``90s``, ``5m``, ``1h``, ``7d``.
"""

from __future__ import annotations

__all__ = [
    "EPOCH",
    "MAX_DURATION_S",
    "MAX_EPOCH_S",
    "from_epoch_us",
    "parse_duration",
    "parse_timestamp",
    "to_epoch_us",
]

import math
import re
from datetime import UTC, datetime, timedelta

from monitorx.core.errors import ValidationError

# 9999-12-31T23:59:59Z, the last whole second API.md admits (a float cannot hold
# the microseconds after it exactly).
MAX_EPOCH_S = 253402300799.0
# `window` and `interval` are at most 400 days.
MAX_DURATION_S = 400 * 86400

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def parse_timestamp(value: object, field: str = "timestamp") -> datetime:
    """Parse an RFC 3339 string or epoch seconds into an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValidationError("expected an RFC 3339 string or epoch seconds, got a boolean", field)
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_EPOCH_S:
            raise ValidationError(
                "epoch seconds must be finite and between 1970 and 9999-12-31", field
            )
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):
            raise ValidationError("timestamp out of range (1970 to 9999-12-31)", field) from None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            raise ValidationError("not an RFC 3339 timestamp", field)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"not an RFC 3339 timestamp: {text!r}", field) from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("timestamp out of range (1970 to 9999-12-31)", field) from None
    raise ValidationError("expected an RFC 3339 string or epoch seconds", field)


def to_epoch_us(when: datetime, field: str = "timestamp") -> int:
    """Microseconds since the epoch; refuses instants before 1970."""
    us = (when - EPOCH) // _ONE_US
    if us < 0:
        raise ValidationError("timestamp before 1970 is not allowed", field)
    return int(us)


def from_epoch_us(us: int) -> datetime:
    """The aware UTC instant ``us`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=us)


def parse_duration(value: object, field: str) -> float:
    """Parse ``90``, ``"90s"``, ``"5m"``, ``"1h"``, ``"7d"`` into seconds (> 0, ≤ 400 days)."""
    if isinstance(value, bool):
        raise ValidationError("expected seconds or a duration such as '5m'", field)
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer past the float range
            raise ValidationError("must be at most 400 days", field) from None
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValidationError(
                f"not a duration: {value[:40]!r}; use seconds or a string such as '90s', '5m', "
                "'1h', '7d'",
                field,
            )
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    else:
        raise ValidationError("expected seconds or a duration such as '5m'", field)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValidationError("must be greater than 0", field)
    if seconds > MAX_DURATION_S:
        raise ValidationError("must be at most 400 days", field)
    return seconds


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The Unix epoch, an aware UTC datetime: epoch microseconds are offsets from it."""
_ONE_US = timedelta(microseconds=1)
