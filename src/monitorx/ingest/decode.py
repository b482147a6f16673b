"""Bodies in, validated columns out: the hot path of ingestion.

A batch is parsed once by msgspec straight into typed structs. Only when that
fails does the slow path run, item by item, to say which items are wrong and keep
the rest. Bodies with ``NaN`` or ``Infinity`` (which strict JSON parsers refuse)
are re-read leniently so that the answer names the field instead of calling the
whole body malformed.
"""

from __future__ import annotations

__all__ = ["Rejection", "decode_drift", "decode_metric", "decode_metric_batch"]

import json
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import orjson

from monitorx.core import (
    DriftMetric,
    DriftType,
    FieldError,
    MalformedPayload,
    MetricColumns,
    PayloadTooLarge,
    Severity,
    ValidationError,
)
from monitorx.core.severity import severity_for_confidence
from monitorx.core.timeparse import MAX_EPOCH_S, parse_timestamp, to_epoch_us
from monitorx.ingest.wire import DriftWire, MetricWire

S = TypeVar("S", bound=msgspec.Struct)

_ITEM = msgspec.json.Decoder(MetricWire)
_BATCH = msgspec.json.Decoder(list[MetricWire])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_DRIFT = msgspec.json.Decoder(DriftWire)
_PATH = re.compile(r"\s*- at `\$(?:\[(\d+)\])?\.?(.*)`$")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the batch item at ``index`` was not stored."""

    index: int
    error: str


def _field_error(exc: msgspec.ValidationError) -> FieldError:
    """msgspec's 'Expected … - at `$[3].latency`' as a named field and a message."""
    text = str(exc)
    match = _PATH.search(text)
    if match is None:
        return FieldError("", text)
    path = match.group(2).replace("[...]", "")
    return FieldError(path or "body", text[: match.start()].strip())


def _lenient_json(body: bytes) -> Any:
    """Parse JSON that may hold NaN/Infinity; raise `MalformedPayload` if it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from None


def _non_finite_field(obj: Any, prefix: str = "") -> str | None:
    """The path of the first NaN/Infinity number in a parsed JSON value, if any."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return prefix or "body"
    if isinstance(obj, dict):
        for key, value in obj.items():
            found = _non_finite_field(value, f"{prefix}.{key}" if prefix else str(key))
            if found:
                return found
    return None


def _convert_lenient(obj: Any, kind: type[S]) -> S:
    """Validate one leniently parsed item, refusing non-finite numbers by name."""
    bad = _non_finite_field(obj)
    if bad is not None:
        raise ValidationError("must be a finite number (NaN and Infinity are not allowed)", bad)
    try:
        return msgspec.convert(obj, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationError([_field_error(exc)]) from None


def _decode_one(body: bytes, decoder: msgspec.json.Decoder[S], kind: type[S]) -> S:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationError([_field_error(exc)]) from None
    except msgspec.DecodeError:
        obj = _lenient_json(body)
        if not isinstance(obj, dict):
            raise ValidationError("expected a JSON object", "body") from None
        return _convert_lenient(obj, kind)


def _ts_us(value: float | str | None, now_us: int) -> int:
    if value is None:
        return now_us
    if isinstance(value, float | int):
        seconds = float(value)
        if seconds < 0 or seconds > MAX_EPOCH_S:
            raise ValidationError(
                "epoch seconds must be between 0 (1970) and 253402300799 (9999-12-31)",
                "timestamp",
            )
        return round(seconds * 1_000_000)
    return to_epoch_us(parse_timestamp(value))


class _RequestIds:
    """Ids for metrics that came without one: a random prefix per batch and a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        return f"{self._prefix}-{self._next}"


def _columns(items: Iterable[tuple[MetricWire, int]]) -> MetricColumns:
    """Columns from validated items, each with its timestamp already resolved."""
    cols = MetricColumns()
    new_id = _RequestIds()
    dumps = orjson.dumps
    for m, ts in items:
        cols.model_id.append(m.model_id)
        cols.model_type.append(m.model_type)
        cols.request_id.append(m.request_id if m.request_id is not None else new_id())
        cols.ts_us.append(ts)
        cols.latency.append(m.latency)
        cols.throughput.append(m.throughput)
        cols.error_rate.append(m.error_rate)
        cols.error.append(m.error)
        ru = m.resource_usage
        if ru is None:
            cols.gpu_memory_mb.append(None)
            cols.gpu_utilization.append(None)
            cols.cpu_percent.append(None)
            cols.memory_mb.append(None)
        else:
            cols.gpu_memory_mb.append(ru.gpu_memory_mb)
            cols.gpu_utilization.append(ru.gpu_utilization)
            cols.cpu_percent.append(ru.cpu_percent)
            cols.memory_mb.append(ru.memory_mb)
        cols.tags_json.append(dumps(m.tags).decode() if m.tags else None)
    return cols


def _with_timestamps(
    items: list[tuple[int, MetricWire]], now_us: int, rejected: list[Rejection]
) -> list[tuple[MetricWire, int]]:
    kept: list[tuple[MetricWire, int]] = []
    for index, item in items:
        try:
            kept.append((item, _ts_us(item.timestamp, now_us)))
        except ValidationError as exc:
            rejected.append(Rejection(index, str(exc)))
    return kept


def decode_metric(body: bytes, now: datetime) -> MetricColumns:
    """One metric (``POST /metrics/inference``); raises `ValidationError` naming the field."""
    item = _decode_one(body, _ITEM, MetricWire)
    return _columns([(item, _ts_us(item.timestamp, to_epoch_us(now)))])


def decode_metric_batch(
    body: bytes, now: datetime, max_items: int
) -> tuple[MetricColumns, list[Rejection]]:
    """A batch: the valid items as columns, and why each other item was refused."""
    now_us = to_epoch_us(now)
    rejected: list[Rejection] = []
    try:
        fast = _BATCH.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        fast = None
    if fast is not None:
        _check_count(len(fast), max_items)
        kept = _with_timestamps(list(enumerate(fast)), now_us, rejected)
        return _columns(kept), rejected

    valid: list[tuple[int, MetricWire]] = []
    try:
        raws = _RAW_LIST.decode(body)
    except msgspec.ValidationError:
        raise ValidationError("expected a JSON array of metrics", "body") from None
    except msgspec.DecodeError:
        obj = _lenient_json(body)
        if not isinstance(obj, list):
            raise ValidationError("expected a JSON array of metrics", "body") from None
        _check_count(len(obj), max_items)
        for index, entry in enumerate(obj):
            try:
                valid.append((index, _convert_lenient(entry, MetricWire)))
            except ValidationError as exc:
                rejected.append(Rejection(index, str(exc)))
    else:
        _check_count(len(raws), max_items)
        for index, raw in enumerate(raws):
            try:
                valid.append((index, _ITEM.decode(raw)))
            except msgspec.ValidationError as exc:
                rejected.append(Rejection(index, str(_field_error(exc))))
    kept = _with_timestamps(valid, now_us, rejected)
    rejected.sort(key=lambda r: r.index)
    return _columns(kept), rejected


def _check_count(count: int, max_items: int) -> None:
    if count == 0:
        raise ValidationError("batch is empty; send 1 to 10,000 metrics", "body")
    if count > max_items:
        raise PayloadTooLarge(
            f"batch has {count} items; at most {max_items} are accepted per request", "body"
        )


def decode_drift(body: bytes, now: datetime) -> DriftMetric:
    """One client-reported drift metric; severity from confidence when absent (API.md)."""
    item = _decode_one(body, _DRIFT, DriftWire)
    if item.score is not None and not math.isfinite(item.score):
        raise ValidationError("must be a finite number", "score")
    ts = now if item.timestamp is None else parse_timestamp(item.timestamp)
    to_epoch_us(ts)
    severity = (
        Severity(item.severity) if item.severity is not None else severity_for_confidence(item.confidence)
    )
    return DriftMetric(
        model_id=item.model_id,
        drift_type=DriftType(item.drift_type),
        confidence=item.confidence,
        severity=severity,
        timestamp=ts,
        feature=item.feature,
        score=item.score,
    )
