"""Query parameters as API.md defines them: time ranges, windows, limits."""

from __future__ import annotations

__all__ = [
    "AggregationParam",
    "MetricParam",
    "TimeRange",
    "parse_limit",
    "parse_range",
    "parse_time_param",
]

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitorx.core import ValidationError
from monitorx.core.timeparse import parse_timestamp, to_epoch_us

# The `metric` and `agg` query parameters of the aggregate routes (API.md).
MetricParam = Literal[
    "latency",
    "throughput",
    "error_rate",
    "gpu_memory_mb",
    "gpu_utilization",
    "cpu_percent",
    "memory_mb",
    "prompt_tokens",
    "completion_tokens",
    "time_to_first_token_ms",
    "cost_usd",
]
AggregationParam = Literal["count", "sum", "mean", "min", "max", "p50", "p90", "p95", "p99"]

_SPACED_OFFSET = re.compile(r"(?<=\d) (\d\d:?\d\d)$")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
DEFAULT_RANGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime


def parse_time_param(value: str, field: str) -> datetime:
    """A query-string timestamp: epoch seconds if it is a number, else RFC 3339."""
    text = value.strip()
    if _SPACED_OFFSET.search(text):
        # An unencoded "+02:00" in a query string arrives as " 02:00".
        text = _SPACED_OFFSET.sub(r"+\1", text)
    try:
        number: float | None = float(text)
    except ValueError:
        number = None
    parsed = parse_timestamp(number if number is not None else text, field)
    to_epoch_us(parsed, field)
    return parsed


def parse_range(start: str | None, end: str | None, now: datetime) -> TimeRange:
    """``start`` inclusive, ``end`` exclusive; defaults end = now, start = end − 1 h."""
    end_at = now if end is None else parse_time_param(end, "end")
    start_at = end_at - DEFAULT_RANGE if start is None else parse_time_param(start, "start")
    if start_at > end_at:
        raise ValidationError("start must not be after end", "start")
    return TimeRange(start_at, end_at)


def parse_limit(value: int | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError(f"must be between 1 and {MAX_LIMIT:,}", "limit")
    return value
