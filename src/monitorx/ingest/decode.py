"""Bodies in, validated columns out: the hot path of ingestion.

A batch is parsed once by msgspec straight into typed structs. Only when that
fails does the slow path run, item by item, to say which items are wrong and keep
the rest. Bodies with ``NaN`` or ``Infinity`` (which strict JSON parsers refuse)
are re-read leniently so that the answer names the field instead of calling the
whole body malformed.
"""

from __future__ import annotations

__all__ = ["Rejection", "decode_drift", "decode_metric", "decode_metric_batch"]

import functools
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import numpy as np
import orjson

from monitorx.core import (
    LLM_FIELDS,
    DriftMetric,
    DriftType,
    FieldError,
    MalformedPayload,
    MetricColumns,
    PayloadTooLarge,
    Severity,
    ValidationError,
)
from monitorx.core.identifiers import IDENTIFIER_PATTERN, check_identifier, is_identifier
from monitorx.core.lenient_json import loads_lenient
from monitorx.core.pii import PiiMasker
from monitorx.core.severity import severity_for_confidence
from monitorx.core.text import check_text, find_bad_text, may_hold_bad_text
from monitorx.core.timeparse import MAX_EPOCH_S, parse_timestamp, to_epoch_us
from monitorx.ingest.masking import mask_tags_json
from monitorx.ingest.wire import DriftWire, MetricWire, ResourceUsageWire

S = TypeVar("S", bound=msgspec.Struct)

_ITEM = msgspec.json.Decoder(MetricWire)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_DRIFT = msgspec.json.Decoder(DriftWire)
_BAD_ID = "must be 1–128 characters of A–Z a–z 0–9 . _ : -"
_PATH = re.compile(r"\s*- at (?:`key` in )?`\$(?:\[(\d+)\])?\.?(.*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the batch item at ``index`` was not stored."""

    index: int
    error: str


def _field_error(exc: msgspec.ValidationError) -> FieldError:
    """msgspec's 'Expected … - at `$[3].latency`' as a named field and a message."""
    text = str(exc)
    match = _PATH.search(text)
    missing = _MISSING.search(text)
    if match is None:
        return FieldError(missing.group(1) if missing else "body", text)
    path = match.group(2).replace("[...]", "")
    message = text[: match.start()].strip()
    if missing is not None:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    if "matching regex" in message and IDENTIFIER_PATTERN in message:
        message = _BAD_ID
    return FieldError(path or "body", message)


def _lenient_json(body: bytes) -> Any:
    """Parse JSON that may hold NaN/Infinity; raise `MalformedPayload` if it is not JSON."""
    try:
        return loads_lenient(body)
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
    except UnicodeEncodeError:
        # A lone surrogate (which only this lenient path lets through) where msgspec
        # compares text: a literal or a constrained string.
        text = find_bad_text(obj)
        raise ValidationError([text] if text else "holds a lone surrogate", "body") from None


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


def _request_ids(given: list[str | None]) -> list[str]:
    """Each metric's request id; those that came without one get a random batch prefix
    and a counter, which costs far less than a UUID each."""
    if all(r is not None for r in given):
        return given  # type: ignore[return-value]
    prefix = secrets.token_hex(8)
    return [r if r is not None else f"{prefix}-{i}" for i, r in enumerate(given)]


def _resource(usages: list[ResourceUsageWire | None], name: str) -> list[float | None]:
    return [None if u is None else getattr(u, name) for u in usages]


def _llm(items: list[MetricWire], name: str) -> list[Any]:
    return [None if m.llm is None else getattr(m.llm, name) for m in items]


def _columns(
    items: list[MetricWire], ts_us: list[int], masker: PiiMasker | None = None
) -> MetricColumns:
    """Columns from validated items, each with its timestamp already resolved, their
    tags masked by ``masker`` (none: stored as sent)."""
    usages = [m.resource_usage for m in items]
    no_usage = all(u is None for u in usages)
    nones: list[float | None] = [None] * len(items)
    no_llm = all(m.llm is None for m in items)
    # Left out when no item has one: MetricColumns fills them with None.
    llm = {} if no_llm else {name: _llm(items, name) for name in LLM_FIELDS}
    return MetricColumns(
        model_id=[m.model_id for m in items],
        model_type=[m.model_type for m in items],
        request_id=_request_ids([m.request_id for m in items]),
        ts_us=ts_us,
        latency=[m.latency for m in items],
        throughput=[m.throughput for m in items],
        error_rate=[m.error_rate for m in items],
        error=[m.error for m in items],
        gpu_memory_mb=nones if no_usage else _resource(usages, "gpu_memory_mb"),
        gpu_utilization=nones if no_usage else _resource(usages, "gpu_utilization"),
        cpu_percent=nones if no_usage else _resource(usages, "cpu_percent"),
        memory_mb=nones if no_usage else _resource(usages, "memory_mb"),
        tags_json=_tags_json(items, masker),
        **llm,
    )


def _tags_json(items: list[MetricWire], masker: PiiMasker | None) -> list[str | None]:
    dumps = orjson.dumps
    if masker is None:
        return [dumps(t).decode() if t else None for t in (m.tags for m in items)]
    tags = [m.tags for m in items]
    return mask_tags_json(masker, [dumps(t).decode() if t else None for t in tags], tags)


def _timestamps(
    items: list[tuple[int, MetricWire]], now_us: int, rejected: list[Rejection]
) -> tuple[list[MetricWire], list[int]]:
    """Resolve every item's timestamp; items with a bad one are rejected."""
    raw = [m.timestamp for _, m in items]
    kinds = set(map(type, raw))
    if kinds == {type(None)}:
        return [m for _, m in items], [now_us] * len(items)
    if kinds == {float}:
        seconds = np.array(raw, dtype=np.float64)
        if seconds.min() >= 0 and seconds.max() <= MAX_EPOCH_S:
            micros = np.rint(seconds * 1_000_000).astype(np.int64)
            return [m for _, m in items], micros.tolist()
    kept: list[MetricWire] = []
    ts_us: list[int] = []
    for index, item in items:
        try:
            ts_us.append(_ts_us(item.timestamp, now_us))
        except ValidationError as exc:
            rejected.append(Rejection(index, str(exc)))
        else:
            kept.append(item)
    return kept, ts_us


def decode_metric(body: bytes, now: datetime, masker: PiiMasker | None = None) -> MetricColumns:
    """One metric (``POST /metrics/inference``), its tags masked by ``masker``;
    raises `ValidationError` naming the field."""
    item = _decode_one(body, _ITEM, MetricWire)
    check_identifier(item.model_id, "model_id")
    if may_hold_bad_text(body):
        bad = _bad_text(item)
        if bad is not None:
            raise ValidationError([bad])
    return _columns([item], [_ts_us(item.timestamp, to_epoch_us(now))], masker)


@functools.cache
def _decoders(kind: type[S]) -> tuple[msgspec.json.Decoder[list[S]], msgspec.json.Decoder[S]]:
    return msgspec.json.Decoder(list[kind]), msgspec.json.Decoder(kind)  # type: ignore[valid-type]


def decode_items(
    body: bytes, kind: type[S], max_items: int, noun: str
) -> tuple[list[tuple[int, S]], list[Rejection]]:
    """A JSON array body of ``kind`` items (``noun`` names them in errors): every item
    that parsed, with its index, and why each other did not.

    The whole array is parsed in one call when it is valid; otherwise item by item,
    so that one bad item is refused alone — NaN or Infinity (read leniently, then
    refused by field name), bytes that are not UTF-8, a field of the wrong type.
    A body that is not a JSON array, or is empty or too long, raises."""
    batch, one = _decoders(kind)
    rejected: list[Rejection] = []
    try:
        fast = batch.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        fast = None
    if fast is not None:
        _check_count(len(fast), max_items, noun)
        return list(enumerate(fast)), rejected
    valid: list[tuple[int, S]] = []
    try:
        raws = _RAW_LIST.decode(body)
    except msgspec.ValidationError:
        _lenient_json(body)  # malformed JSON says so, before "not an array"
        raise ValidationError(f"expected a JSON array of {noun}", "body") from None
    except msgspec.DecodeError:
        obj = _lenient_json(body)
        if not isinstance(obj, list):
            raise ValidationError(f"expected a JSON array of {noun}", "body") from None
        _check_count(len(obj), max_items, noun)
        for index, entry in enumerate(obj):
            try:
                valid.append((index, _convert_lenient(entry, kind)))
            except ValidationError as exc:
                rejected.append(Rejection(index, str(exc)))
        return valid, rejected
    _check_count(len(raws), max_items, noun)
    for index, raw in enumerate(raws):
        try:
            valid.append((index, one.decode(raw)))
        except msgspec.ValidationError as exc:
            rejected.append(Rejection(index, str(_field_error(exc))))
        except msgspec.DecodeError:
            # Bytes that are not UTF-8 (skipped unread in the array): this item
            # alone is read leniently, and refused if it is not text.
            try:
                valid.append((index, _decode_one(bytes(raw), one, kind)))
            except (ValidationError, MalformedPayload) as exc:
                rejected.append(Rejection(index, str(exc)))
    return valid, rejected


def decode_metric_batch(
    body: bytes, now: datetime, max_items: int, masker: PiiMasker | None = None
) -> tuple[MetricColumns, list[Rejection]]:
    """A batch: the valid items as columns (tags masked by ``masker``), and why each
    other item was refused."""
    now_us = to_epoch_us(now)
    valid, rejected = decode_items(body, MetricWire, max_items, "metrics")
    bad_ids = {m for m in {item.model_id for _, item in valid} if not is_identifier(m)}
    if bad_ids:
        valid = _reject_bad_ids(valid, bad_ids, rejected)
    if may_hold_bad_text(body):
        valid = _reject_bad_text(valid, rejected)
    kept, ts_us = _timestamps(valid, now_us, rejected)
    rejected.sort(key=lambda r: r.index)
    return _columns(kept, ts_us, masker), rejected


def _reject_bad_ids(
    items: list[tuple[int, MetricWire]], bad_ids: set[str], rejected: list[Rejection]
) -> list[tuple[int, MetricWire]]:
    kept = []
    for index, item in items:
        if item.model_id in bad_ids:
            rejected.append(Rejection(index, f"model_id: {_BAD_ID}"))
        else:
            kept.append((index, item))
    return kept


def _bad_text(item: MetricWire) -> FieldError | None:
    """The first of the metric's strings that may not be stored (`monitorx.core.text`);
    its model id is an identifier, checked on its own."""
    if item.request_id is not None:
        bad = find_bad_text(item.request_id, "request_id")
        if bad is not None:
            return bad
    return find_bad_text(item.tags, "tags") if item.tags else None


def _reject_bad_text(
    items: list[tuple[int, MetricWire]], rejected: list[Rejection]
) -> list[tuple[int, MetricWire]]:
    kept = []
    for index, item in items:
        bad = _bad_text(item)
        if bad is None:
            kept.append((index, item))
        else:
            rejected.append(Rejection(index, str(bad)))
    return kept


def _check_count(count: int, max_items: int, noun: str = "metrics") -> None:
    if count == 0:
        raise ValidationError(f"batch is empty; send 1 to {max_items:,} {noun}", "body")
    if count > max_items:
        raise PayloadTooLarge(
            f"batch has {count} items; at most {max_items} are accepted per request", "body"
        )


def decode_drift(body: bytes, now: datetime) -> DriftMetric:
    """One client-reported drift metric; severity from confidence when absent (API.md)."""
    item = _decode_one(body, _DRIFT, DriftWire)
    if item.score is not None and not math.isfinite(item.score):
        raise ValidationError("must be a finite number", "score")
    if item.feature is not None:
        check_text(item.feature, "feature")
    ts = now if item.timestamp is None else parse_timestamp(item.timestamp)
    to_epoch_us(ts)
    severity = (
        Severity(item.severity)
        if item.severity is not None
        else severity_for_confidence(item.confidence)
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
