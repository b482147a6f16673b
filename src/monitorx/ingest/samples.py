"""`POST /api/v1/metrics/custom` bodies into `KeyedSamples`: a JSON array of Sample
(API.md), each item valid or rejected on its own, as the inference batch's are.

msgspec checks types and lengths while it parses; names (pattern, reserved) are
checked once per distinct name, values for finiteness over the whole column.
"""

from __future__ import annotations

__all__ = ["SampleWire", "decode_samples"]

import math
import re
from datetime import datetime
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from monitorx.core import ValidationError
from monitorx.core.samples import MAX_UNIT, RESERVED_SAMPLE_NAMES, SAMPLE_NAME_PATTERN
from monitorx.core.text import find_bad_text, may_hold_bad_text
from monitorx.core.timeparse import to_epoch_us
from monitorx.ingest.decode import Rejection, _ts_us, decode_items
from monitorx.ingest.wire import Measured, Tags, Timestamp
from monitorx.store.samples.batch import KeyedSamples

_NAME = re.compile(SAMPLE_NAME_PATTERN)
_BAD_NAME = "must be 1–200 characters of A–Z a–z 0–9 _ : . starting with a letter"


class SampleWire(msgspec.Struct, gc=False):
    """API.md `Sample`. Unknown fields are ignored, for forward compatibility."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    value: Measured
    labels: Tags | None = None
    unit: Annotated[str, Meta(max_length=MAX_UNIT)] | None = None
    timestamp: Timestamp | None = None


def _name_error(name: str) -> str | None:
    if _NAME.fullmatch(name) is None:
        return f"name: {_BAD_NAME}"
    if name in RESERVED_SAMPLE_NAMES:
        return (
            f"name: {name!r} is an inference metric's name; send it as an inference metric "
            "or choose another name"
        )
    return None


def decode_samples(
    body: bytes, now: datetime, max_items: int
) -> tuple[KeyedSamples, list[int], list[Rejection]]:
    """The valid samples, keyed by series, with each row's index in the body, and
    why each other item was refused (sorted by index)."""
    items, rejected = decode_items(body, SampleWire, max_items, "samples")
    # The rule of stored text: labels and units are checked only when the body's
    # bytes say a string could break it (names are held to their pattern anyway).
    suspect = may_hold_bad_text(body)
    now_us = to_epoch_us(now)
    name_errors = {name: _name_error(name) for name in {item.name for _, item in items}}
    # A body repeats its series: each (name, labels as sent) is one key, found by
    # the labels' items in the order the client sent them.
    keys: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    names: list[str] = []
    labels: list[dict[str, str]] = []
    units: list[str | None] = []
    row_key: list[int] = []
    values: list[float] = []
    times: list[int] = []
    indices: list[int] = []
    for index, item in items:
        error = name_errors[item.name]
        if error is None and not math.isfinite(item.value):
            error = "value: must be a finite number"
        if error is None and suspect:
            bad = find_bad_text(item.labels, "labels") if item.labels else None
            bad = bad or (find_bad_text(item.unit, "unit") if item.unit else None)
            error = None if bad is None else str(bad)
        if error is None:
            try:
                ts_us = _ts_us(item.timestamp, now_us)
            except ValidationError as exc:
                error = str(exc)
        if error is not None:
            rejected.append(Rejection(index, error))
            continue
        item_labels = item.labels or {}
        ident = (item.name, tuple(item_labels.items()))
        key = keys.get(ident)
        if key is None:
            key = keys[ident] = len(names)
            names.append(item.name)
            labels.append(dict(item_labels))
            units.append(item.unit)
        row_key.append(key)
        values.append(float(item.value))
        times.append(ts_us)
        indices.append(index)
    rejected.sort(key=lambda r: r.index)
    samples = KeyedSamples(
        names,
        labels,
        units,
        np.asarray(row_key, np.int64),
        np.asarray(times, np.int64),
        np.asarray(values, np.float64),
    )
    return samples, indices, rejected
