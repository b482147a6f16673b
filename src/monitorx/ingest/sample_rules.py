"""The rules a sample from another system must keep, checked where it is decoded.

OTLP, line protocol and remote_write each name their series in their own way; once
a name has gone through `sample_name_from` it has the right characters, but it may
still be a reserved inference metric name, its labels may break the rules of tags,
its value may not be finite, its time may be outside what API.md admits. Each check
answers the reason as a sentence (None: fine), so that every decoder can report it
in its protocol's own error shape, naming the line, point or series it refused.
"""

from __future__ import annotations

__all__ = [
    "MAX_TS_US",
    "label_problem",
    "name_problem",
    "sample_name_with_suffix",
    "time_problem",
    "unit_or_none",
]

from collections.abc import Mapping

from monitorx.core.samples import (
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_SAMPLE_NAME,
    MAX_UNIT,
    RESERVED_SAMPLE_NAMES,
    sample_name_from,
)
from monitorx.core.timeparse import MAX_EPOCH_S

# One past the last microsecond API.md admits (9999-12-31T23:59:59.999999Z).
MAX_TS_US = (int(MAX_EPOCH_S) + 1) * 1_000_000


def name_problem(name: str) -> str | None:
    """Why a (valid-charactered) sample name is refused: only the reserved names are."""
    if name in RESERVED_SAMPLE_NAMES:
        return f"metric name {name!r} is reserved for inference metrics"
    return None


def label_problem(labels: Mapping[str, str]) -> str | None:
    """Why a label set breaks the rules of tags (API.md), or None."""
    if len(labels) > MAX_LABELS:
        return f"{len(labels)} labels; at most {MAX_LABELS} are allowed"
    for key, value in labels.items():
        if not key:
            return "a label key is empty"
        if len(key) > MAX_LABEL_KEY:
            return f"label key {key[:40]!r}… is over {MAX_LABEL_KEY} characters"
        if len(value) > MAX_LABEL_VALUE:
            return f"the value of label {key!r} is over {MAX_LABEL_VALUE:,} characters"
    return None


def time_problem(ts_us: int) -> str | None:
    """Why a sample time (epoch µs) is refused: before 1970 or after 9999-12-31."""
    if ts_us < 0:
        return "timestamp before 1970"
    if ts_us >= MAX_TS_US:
        return "timestamp after 9999-12-31"
    return None


def sample_name_with_suffix(raw: str, suffix: str) -> str:
    """``sample_name_from(raw)`` followed by ``suffix`` (``.count``, ``.p99``, ``_used``),
    the base shortened so that the suffix always survives the length limit."""
    base = sample_name_from(raw)
    return base[: MAX_SAMPLE_NAME - len(suffix)] + suffix


def unit_or_none(unit: str) -> str | None:
    """A unit as stored: None when empty, cut to the 32-character limit."""
    return unit[:MAX_UNIT] or None
