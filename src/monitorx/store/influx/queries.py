"""InfluxQL for the store's reads and deletes, and the decoding of their results.

Every statement is scoped to one project by its ``project`` tag, which is how two
storages on one database never see each other's data. Time bounds are integer
nanosecond literals, ``time >= start AND time < end`` for the store's ``[start,
end)`` ranges; at microsecond bounds this takes in every sub-microsecond number a
write used (influx_layout). Bounds outside what InfluxDB can store are clamped.
"""

from __future__ import annotations

__all__ = [
    "DRIFT_SELECT",
    "METRIC_SELECT",
    "ROLLUP_SELECT",
    "arrow",
    "columns",
    "drift_metrics",
    "flags",
    "floats",
    "ident",
    "literal",
    "metrics_table",
    "number",
    "rollups_table",
    "tag_equals",
    "times",
    "where",
]

import base64
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitorx.core import DriftMetric, DriftType, Severity
from monitorx.core.timeparse import EPOCH
from monitorx.store.influx.client import Series
from monitorx.store.influx.layout import METRIC_FIELDS, ROLLUP_FIELDS
from monitorx.store.influx.lines import MAX_NANO_TIME
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA

_ONE_US = timedelta(microseconds=1)
# InfluxDB's first storable instant (models.MinNanoTime).
_MIN_NANO_TIME = -(2**63) + 2


def ident(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# What an InfluxQL string literal cannot hold: its scanner stops at a line break,
# and NUL ends the query.
_UNQUOTABLE = re.compile("[\x00\n\r]")


def tag_equals(key: str, value: str) -> str:
    """``"key" = 'value'``. A value no InfluxQL string can hold (a line break, NUL)
    is matched by an anchored regular expression instead, which spells each such
    character as a Go escape (``\\x{d}``): a filter on any string is a query."""
    if _UNQUOTABLE.search(value) is None:
        return f"{ident(key)} = {literal(value)}"
    pattern = "".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in value)
    return f"{ident(key)} =~ /^{pattern}$/"


def number(value: float) -> str:
    """A finite float as an InfluxQL float literal: plain digits with a decimal
    point, since InfluxQL reads no exponent (``1e-05`` is written ``0.00001``). The
    digits are the shortest that read back as the same float."""
    if not math.isfinite(value):
        raise ValueError(f"InfluxQL has no literal for {value!r}")
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else text + ".0"


def _nanos(when: datetime) -> int:
    us = (when - EPOCH) // _ONE_US
    return max(_MIN_NANO_TIME, min(MAX_NANO_TIME, us * 1000))


def where(
    project: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tags: Mapping[str, str | None] | None = None,
) -> str:
    """A ``WHERE`` clause: this project, the given tag values, ``[start, end)``."""
    terms = [tag_equals("project", project)]
    for key, value in (tags or {}).items():
        if value is not None:
            terms.append(tag_equals(key, value))
    if start is not None:
        terms.append(f"time >= {_nanos(start)}")
    if end is not None:
        terms.append(f"time < {_nanos(end)}")
    return " WHERE " + " AND ".join(terms)


# ``::tag`` reads the tag as a column; every field is named so that a point shows
# its nulls as nulls, whatever other points carried.
METRIC_SELECT = "SELECT {} FROM {}".format(
    ", ".join([f"{ident('model_id')}::tag", *(ident(name) for name, _ in METRIC_FIELDS)]),
    ident("inference"),
)
ROLLUP_SELECT = "SELECT {}".format(
    ", ".join(
        [
            f"{ident('model_id')}::tag",
            f"{ident('metric')}::tag",
            *(ident(name) for name, _ in ROLLUP_FIELDS),
        ]
    )
)
DRIFT_SELECT = "SELECT {} FROM {}".format(
    ", ".join(
        [
            f"{ident('model_id')}::tag",
            *map(ident, ("drift_type", "feature", "score", "confidence", "severity")),
        ]
    ),
    ident("drift"),
)


def columns(series: Sequence[Series], names: Sequence[str]) -> dict[str, list[Any]]:
    """Named columns of ``series`` one after another (None where a series lacks one).

    One ``zip(*rows)`` per series transposes in C; a row-by-row loop in Python
    would cost as much as parsing the JSON.
    """
    found: dict[str, list[Any]] = {name: [] for name in names}
    for s in series:
        if not s.values:
            continue
        transposed = list(zip(*s.values, strict=True))
        for name in names:
            if name in s.columns:
                found[name].extend(transposed[s.columns.index(name)])
            else:
                found[name].extend([None] * len(s.values))
    return found


def arrow(values: list[Any], type_: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``type_`` (JSON gives integral floats as ints)."""
    try:
        return pa.array(values, type_)
    except (pa.ArrowInvalid, OverflowError):
        # Go writes an integral float past 2**63 as a bare integer, which Arrow
        # will not narrow to a float: convert those by hand.
        return pa.array([None if v is None else float(v) for v in values], type_)


def floats(values: list[Any]) -> npt.NDArray[np.float64]:
    """Numbers as floats, NaN where null."""
    return np.asarray(arrow(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64)


def flags(values: list[Any]) -> npt.NDArray[np.bool_]:
    """Booleans, False where null."""
    array = arrow(values, pa.bool_()).fill_null(False)
    return np.asarray(array.to_numpy(zero_copy_only=False), np.bool_)


def times(values: list[Any]) -> npt.NDArray[np.int64]:
    """A ``time`` column (µs, ``epoch=u``) as integers."""
    return np.asarray(values, np.int64).reshape(-1)


def _table(series: Sequence[Series], schema: pa.Schema, time_name: str) -> pa.Table:
    names = [name for name in schema.names if name != time_name]
    found = columns(series, ["time", *names])
    arrays = []
    for field in schema:
        if field.name == time_name:
            arrays.append(pa.array(times(found["time"]), pa.int64()).cast(field.type))
        else:
            arrays.append(arrow(found[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def metrics_table(series: Sequence[Series]) -> pa.Table:
    """``METRIC_SELECT`` results as a ``METRIC_BATCH_SCHEMA`` table, in result order."""
    return _table(series, METRIC_BATCH_SCHEMA, "ts")


def rollups_table(series: Sequence[Series]) -> pa.Table:
    """``ROLLUP_SELECT`` results as a ``ROLLUP_SCHEMA`` table, ordered by bucket,
    then model, metric and tags (InfluxDB orders by time alone)."""
    sketch_at = ROLLUP_SCHEMA.get_field_index("sketch")
    as_text = ROLLUP_SCHEMA.set(sketch_at, pa.field("sketch", pa.string()))
    table = _table(series, as_text, "bucket")
    sketches = [
        None if text is None else base64.b64decode(text)
        for text in table.column("sketch").to_pylist()
    ]
    table = table.set_column(sketch_at, "sketch", pa.array(sketches, pa.binary()))
    order = [(name, "ascending") for name in ("bucket", "model_id", "metric", "tags")]
    return table.sort_by(order)


def drift_metrics(series: Sequence[Series]) -> list[DriftMetric]:
    """``DRIFT_SELECT`` results as drift metrics, in result order."""
    metrics = []
    for s in series:
        for row in s.values:
            item = dict(zip(s.columns, row, strict=True))
            metrics.append(
                DriftMetric(
                    model_id=item["model_id"],
                    drift_type=DriftType(item["drift_type"]),
                    feature=item.get("feature"),
                    score=None if item.get("score") is None else float(item["score"]),
                    confidence=float(item["confidence"]),
                    severity=Severity(item["severity"]),
                    timestamp=EPOCH + int(item["time"]) * _ONE_US,
                )
            )
    return metrics
