"""Logged prediction records and labels (API.md) into Arrow tables.

A records body is a JSON array of ``{"request_id"?, "features": {...},
"prediction"?, "timestamp"?}``; a labels body a JSON array of ``{"request_id",
"label"}``. Both decode as `drift_rows` decodes feature rows: one pyarrow
conversion in C when the body is well formed, a Python walk that names the first
bad item and field (``[3].features.amount``) when it is not. A body with any bad
item is refused whole (422): nothing of it is stored.

The tables use the column names of `RecordColumns`. Feature columns carry a prefix
so that a feature may be called ``prediction`` or ``timestamp`` like any other.
"""

from __future__ import annotations

__all__ = ["FEATURE_PREFIX", "RecordColumns", "decode_labels", "decode_records"]

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import ValidationError
from monitorx.core.timeparse import MAX_EPOCH_S, parse_timestamp, to_epoch_us
from monitorx.ingest.feature_tables import numeric_or_string, table_from_rows

# API.md: request_id is at most 128 characters.
MAX_REQUEST_ID = 128
FEATURE_PREFIX = "f:"
_RECORD_FIELDS = {"request_id", "features", "prediction", "timestamp"}
_LABEL_FIELDS = {"request_id", "label"}


class RecordColumns:
    """Column names of stored records and labels."""

    REQUEST_ID = "request_id"
    TS_US = "ts_us"
    """Microseconds since the Unix epoch, UTC."""
    PREDICTION = "prediction"
    LABEL = "label"


def _list(body: object) -> list[Any]:
    if not isinstance(body, list):
        raise ValidationError("expected a JSON array", "body")
    if not body:
        raise ValidationError("must hold at least one item", "body")
    return body


def decode_records(body: object, now_us: int) -> pa.Table:
    """A records body as a table: request id, time, prediction, ``f:`` features."""
    items = _list(body)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError("expected an object", f"[{index}]")
        unknown = item.keys() - _RECORD_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise ValidationError(
                "unknown field; a record has request_id, features, prediction, timestamp",
                f"[{index}].{name}",
            )
        if not isinstance(item.get("features"), dict):
            raise ValidationError("is required: an object of feature values", f"[{index}].features")
    features = table_from_rows(
        [item["features"] for item in items], "body", lambda index: f"[{index}].features"
    )
    columns = {
        RecordColumns.REQUEST_ID: _request_ids([item.get("request_id") for item in items]),
        RecordColumns.TS_US: _timestamps([item.get("timestamp") for item in items], now_us),
    }
    predictions = [item.get("prediction") for item in items]
    if any(p is not None for p in predictions):
        columns[RecordColumns.PREDICTION] = _values(predictions, "prediction", required=False)
    table = pa.table(columns)
    for name in features.column_names:
        table = table.append_column(FEATURE_PREFIX + name, features.column(name))
    return table


def decode_labels(body: object) -> pa.Table:
    """A labels body as a table of request id and label."""
    items = _list(body)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError("expected an object", f"[{index}]")
        unknown = item.keys() - _LABEL_FIELDS
        if unknown:
            raise ValidationError(
                "unknown field; a label has request_id and label", f"[{index}].{sorted(unknown)[0]}"
            )
        if item.get("request_id") is None:
            raise ValidationError("is required", f"[{index}].request_id")
    return pa.table(
        {
            RecordColumns.REQUEST_ID: _request_ids([item["request_id"] for item in items]),
            RecordColumns.LABEL: _values([item.get("label") for item in items], "label", True),
        }
    )


def _request_ids(values: list[object]) -> pa.Array:
    try:
        ids = pa.array(values, pa.string())
    except (pa.ArrowException, TypeError):
        ids = None
    if ids is not None:
        longest = pc.max(pc.utf8_length(ids)).as_py()
        if longest is None or longest <= MAX_REQUEST_ID:
            return ids
    for index, value in enumerate(values):
        field = f"[{index}].request_id"
        if value is not None and not isinstance(value, str):
            raise ValidationError("must be a string", field)
        if isinstance(value, str) and len(value) > MAX_REQUEST_ID:
            raise ValidationError(f"must be at most {MAX_REQUEST_ID} characters", field)
    raise AssertionError("unreachable: the request ids converted")  # pragma: no cover


def _values(values: list[object], name: str, required: bool) -> pa.Array:
    """A prediction or label column: numbers (booleans count) or strings, never both."""
    try:
        column = numeric_or_string(pa.array(values))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        column = None
    if (
        column is not None
        and not (required and column.null_count)
        and (not pa.types.is_float64(column.type) or _finite(column))
    ):
        return column
    first_kind: tuple[int, bool] | None = None
    for index, value in enumerate(values):
        field = f"[{index}].{name}"
        if value is None:
            if required:
                raise ValidationError("is required", field)
            continue
        is_number = isinstance(value, bool | int | float)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(
                "must be a finite number (NaN and Infinity are not allowed)", field
            )
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1023:
            raise ValidationError("is past the float range", field)
        if not is_number and not isinstance(value, str):
            raise ValidationError("must be a number or a string", field)
        if first_kind is None:
            first_kind = (index, is_number)
        elif first_kind[1] != is_number:
            raise ValidationError(
                f"a {'number' if is_number else 'string'} where [{first_kind[0]}].{name} "
                f"is a {'number' if first_kind[1] else 'string'}; they must be of one kind",
                field,
            )
    floats = [None if v is None else float(v) for v in values]  # type: ignore[arg-type]
    return pa.array(floats, pa.float64())


def _finite(column: pa.Array) -> bool:
    values = column.to_numpy(zero_copy_only=False)
    return int(np.isnan(values).sum()) == column.null_count and bool(
        np.isfinite(values[~np.isnan(values)]).all()
    )


def _timestamps(values: list[object], now_us: int) -> pa.Array:
    """Each record's time in epoch microseconds; a missing one is now."""
    kinds = set(map(type, values))
    if kinds <= {type(None)}:
        return pa.array(np.full(len(values), now_us, dtype=np.int64))
    if kinds <= {float, int, type(None)}:
        seconds = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        given = ~np.isnan(seconds)
        if (seconds[given] >= 0).all() and (seconds[given] <= MAX_EPOCH_S).all():
            micros = np.where(given, np.rint(seconds * 1_000_000), now_us).astype(np.int64)
            return pa.array(micros)
    micros_list = []
    for index, value in enumerate(values):
        if value is None:
            micros_list.append(now_us)
            continue
        field = f"[{index}].timestamp"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not (math.isfinite(value) and 0 <= value <= MAX_EPOCH_S):
                raise ValidationError(
                    "epoch seconds must be between 0 (1970) and 253402300799 (9999-12-31)", field
                )
            micros_list.append(round(float(value) * 1_000_000))
        else:
            micros_list.append(to_epoch_us(parse_timestamp(value, field), field))
    return pa.array(micros_list, pa.int64())
