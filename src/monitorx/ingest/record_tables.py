"""Prediction records sent as a table (Parquet or an Arrow IPC stream) into the table
a JSON records body gives (`monitorx.ingest.records`).

API.md: one column per feature; the optional columns ``request_id``,
``prediction`` and ``timestamp`` (a timestamp type, or epoch seconds) play their
JSON roles. Everything is columnar: the body is read straight to Arrow and each
column checked and cast by Arrow's kernels, never a Python object per row. A bad
column is a 422 that names it (and the first bad row where there is one); nothing
of the body is stored.

Feature columns are read as a reference upload's are (`upload_columns`): numbers,
booleans and decimals as ``float64`` with NaN as null, strings (any Arrow string
or dictionary of strings) as ``string``, dates and times as their text.
"""

from __future__ import annotations

__all__ = ["records_from_table", "records_from_upload"]

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import ValidationError
from monitorx.core.timeparse import MAX_EPOCH_S
from monitorx.ingest.feature_tables import (
    check_column_text,
    numeric_or_string,
    read_upload,
    upload_columns,
)
from monitorx.ingest.records import FEATURE_PREFIX, MAX_REQUEST_ID, RecordColumns

_ROLES = (RecordColumns.REQUEST_ID, RecordColumns.PREDICTION, "timestamp")
_MAX_EPOCH_US = int(MAX_EPOCH_S) * 1_000_000


def records_from_upload(body: bytes, content_type: str, now_us: int) -> pa.Table:
    """A Parquet or Arrow records body as a records table."""
    return records_from_table(read_upload(body, content_type), now_us)


def records_from_table(table: pa.Table, now_us: int) -> pa.Table:
    """A table of records (role columns and features) as the records table JSON
    gives: ``request_id``, ``ts_us``, ``prediction`` (when any is given), then the
    ``f:``-prefixed features."""
    if table.num_rows == 0:
        raise ValidationError("must hold at least one row", "body")
    names = table.column_names
    for role in _ROLES:
        if names.count(role) > 1:
            raise ValidationError("the column appears twice", role)
    rows = table.num_rows
    request_id = (
        _request_ids(table.column(RecordColumns.REQUEST_ID))
        if RecordColumns.REQUEST_ID in names
        else pa.nulls(rows, pa.string())
    )
    timestamps = (
        _timestamps(table.column("timestamp"), now_us)
        if "timestamp" in names
        else pa.array(np.full(rows, now_us, dtype=np.int64))
    )
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        RecordColumns.REQUEST_ID: request_id,
        RecordColumns.TS_US: timestamps,
    }
    if RecordColumns.PREDICTION in names:
        prediction = _prediction(table.column(RecordColumns.PREDICTION))
        if prediction.null_count < rows:
            columns[RecordColumns.PREDICTION] = prediction
    features = table.drop_columns([name for name in _ROLES if name in names])
    feature_names, feature_columns = upload_columns(features, FEATURE_PREFIX)
    if len(set(feature_names)) != len(feature_names):
        raise ValidationError("two feature columns have one name", "body")
    out = pa.table(columns)
    for name, column in zip(feature_names, feature_columns, strict=True):
        out = out.append_column(name, column)
    return out


def _request_ids(column: pa.ChunkedArray) -> pa.ChunkedArray:
    ids = numeric_or_string(column)
    if ids is None or not pa.types.is_string(ids.type):
        raise ValidationError(f"must be a string column (got {column.type})", "request_id")
    if pa.types.is_null(column.type):
        return ids.cast(pa.string())
    check_column_text(RecordColumns.REQUEST_ID, ids)
    lengths = pc.utf8_length(ids)
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > MAX_REQUEST_ID:
        row = pc.index(pc.greater(lengths, MAX_REQUEST_ID), True).as_py()
        raise ValidationError(f"row {row} is longer than {MAX_REQUEST_ID} characters", "request_id")
    return ids


def _prediction(column: pa.ChunkedArray) -> pa.ChunkedArray:
    converted = numeric_or_string(column)
    if converted is None:
        raise ValidationError(
            f"must hold numbers or strings (got {column.type})", RecordColumns.PREDICTION
        )
    _, columns = upload_columns(pa.table([converted], names=[RecordColumns.PREDICTION]))
    return columns[0]


def _timestamps(column: pa.ChunkedArray, now_us: int) -> pa.Array:
    """Each record's time in epoch microseconds; a null one is now."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        # Arrow keeps a timestamp as a count since the epoch in UTC whatever its
        # zone; a naive one is read as UTC (API.md: a missing offset means UTC).
        # Nanoseconds are truncated to microseconds, as stored; a coarser unit is
        # cast safely, so that a value past int64 microseconds is refused.
        try:
            as_us = pc.cast(column, pa.timestamp("us", tz=kind.tz), safe=kind.unit != "ns")
            micros = as_us.cast(pa.int64())
        except pa.ArrowInvalid as exc:
            raise ValidationError(f"cannot be read in microseconds: {exc}", "timestamp") from None
        values = micros.to_numpy(zero_copy_only=False)
        given = ~np.asarray(pc.is_null(micros).to_numpy(zero_copy_only=False), dtype=bool)
        values = np.where(given, values, 0).astype(np.int64)
        out_of_range = given & ((values < 0) | (values > _MAX_EPOCH_US))
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        seconds = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        given = ~np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
        with np.errstate(invalid="ignore"):
            out_of_range = given & ~((seconds >= 0) & (seconds <= MAX_EPOCH_S))
        values = np.rint(np.where(given & ~out_of_range, seconds, 0) * 1_000_000).astype(np.int64)
    elif pa.types.is_null(kind):
        return pa.array(np.full(len(column), now_us, dtype=np.int64))
    else:
        raise ValidationError(
            f"must be a timestamp column or epoch seconds (got {kind})", "timestamp"
        )
    if out_of_range.any():
        row = int(np.argmax(out_of_range))
        raise ValidationError(
            f"row {row} is outside 1970-01-01 … 9999-12-31 (epoch seconds 0 to 253402300799)",
            "timestamp",
        )
    return pa.array(np.where(given, values, now_us).astype(np.int64))
