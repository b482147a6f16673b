"""How MonitorX's series map onto InfluxDB measurements, tags and fields.

Measurements and their tags (InfluxDB indexes tags, one series per distinct tag set,
so only low-cardinality values are tags):

- ``inference``: ``project``, ``model_id``. Every other column of
  ``METRIC_BATCH_SCHEMA`` is a field, ``request_id`` and the user's ``tags`` (one
  JSON string) included: as tags they would make a series per request.
- ``drift``: ``project``, ``model_id``; fields ``drift_type``, ``feature``,
  ``score``, ``confidence``, ``severity``.
- ``rollup_1m`` / ``rollup_1h``: ``project``, ``model_id``, ``metric``, ``tagset``
  (a short hash of the tags JSON, so that rows of different tag sets in one bucket
  are different series); fields ``count`` (integer), ``sum``, ``min``, ``max``,
  ``tags`` (the JSON) and ``sketch`` (base64).

Timestamps. InfluxDB keeps one point per series and timestamp: a second write with
the same measurement, tag set and time overwrites the first. Two metrics of one model
in the same microsecond are normal (one batch from an SDK), so writes use nanosecond
precision and put a number in the three sub-microsecond digits: the point's rank
among the batch's points of the same model and microsecond, plus a running counter
per storage (`NanoCounter`) that moves past every number a batch used, so that the
next batches do not reuse them. Reads ask for ``epoch=u``, which truncates the
digits again: callers see their own microsecond timestamps. What remains possible,
and unlikely: the counter wraps after a thousand numbers, so a batch could meet a
point of the same model and microsecond written a thousand numbers earlier; and two
processes writing one model share no counter (each starts at a random value).

A thousand numbers fit in the digits. The rare point past that (more than a
thousand points of one model in one microsecond of one batch) is kept apart by one
more tag, ``seq`` (the thousands), which only such points carry; queries never
group by it, so it changes nothing a reader sees. Rollup rows need none of this:
their natural key is the series and the bucket, and a rewrite replacing the row is
what the rollup job wants.
"""

from __future__ import annotations

__all__ = [
    "DRIFT",
    "INFERENCE",
    "MAX_US",
    "METRIC_FIELDS",
    "ROLLUP_FIELDS",
    "NanoCounter",
    "drift_line",
    "metric_lines",
    "rollup_lines",
    "rollup_measurement",
    "tagset_hash",
]

import base64
import hashlib
import secrets
import threading

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import DriftMetric, ValidationError
from monitorx.core.timeparse import to_epoch_us
from monitorx.store.influx.lines import (
    MAX_NANO_TIME,
    FieldKind,
    LineField,
    encode_lines,
    format_line,
)
from monitorx.store.queries import Resolution

INFERENCE = "inference"
DRIFT = "drift"
# The fields of an ``inference`` point, latency (never null) first.
METRIC_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("latency", "float"),
    ("throughput", "float"),
    ("error_rate", "float"),
    ("error", "bool"),
    ("gpu_memory_mb", "float"),
    ("gpu_utilization", "float"),
    ("cpu_percent", "float"),
    ("memory_mb", "float"),
    ("prompt_tokens", "int"),
    ("completion_tokens", "int"),
    ("time_to_first_token_ms", "float"),
    ("cost_usd", "float"),
    ("model_type", "string"),
    ("request_id", "string"),
    ("tags", "string"),
)
# String fields with few distinct values in a batch, escaped once per value.
_REPEATING = frozenset({"model_type", "tags"})
# The fields of a rollup point: the aggregates, the tag set's JSON, the sketch.
ROLLUP_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("count", "int"),
    ("sum", "float"),
    ("min", "float"),
    ("max", "float"),
    ("tags", "string"),
    ("sketch", "string"),
)
_NANOS_PER_US = 1000
MAX_US = (MAX_NANO_TIME - (_NANOS_PER_US - 1)) // _NANOS_PER_US
"""The last microsecond InfluxDB stores."""
# 16 hex digits: a clash between two tag sets of one model, metric and bucket would
# take billions of tag sets.
_TAGSET_BYTES = 8


class NanoCounter:
    """The running counter whose value fills a write's sub-microsecond digits."""

    def __init__(self, start: int | None = None) -> None:
        self._next = secrets.randbelow(_NANOS_PER_US) if start is None else start % _NANOS_PER_US
        self._lock = threading.Lock()

    def reserve(self, count: int) -> int:
        """Take ``count`` consecutive numbers (mod 1000); the first one."""
        with self._lock:
            first = self._next
            self._next = (first + count) % _NANOS_PER_US
            return first


def rollup_measurement(resolution: Resolution) -> str:
    if resolution is Resolution.RAW:
        raise ValueError("raw points are not rollups")
    return f"rollup_{resolution.value}"


def _check_us(ts_us: npt.NDArray[np.int64], field: str) -> None:
    if ts_us.size and (int(ts_us.min()) < 0 or int(ts_us.max()) > MAX_US):
        raise ValidationError(
            "InfluxDB stores times from 1970 up to 2262-04-11T23:47:16Z only", field
        )


def _ranks(ts_us: npt.NDArray[np.int64], series: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each point's rank among the points with the same series and microsecond."""
    n = ts_us.size
    if n < 2 or bool(np.all(np.diff(ts_us) > 0)):
        return np.zeros(n, np.int64)
    order = np.lexsort((series, ts_us))
    ts_sorted, series_sorted = ts_us[order], series[order]
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = (ts_sorted[1:] != ts_sorted[:-1]) | (series_sorted[1:] != series_sorted[:-1])
    index = np.arange(n)
    group_start = np.maximum.accumulate(np.where(new, index, 0))
    ranks = np.empty(n, np.int64)
    ranks[order] = index - group_start
    return ranks


def metric_lines(table: pa.Table, project: str, counter: NanoCounter) -> pa.Array:
    """The ``inference`` lines of a ``METRIC_BATCH_SCHEMA`` table."""
    ts_us = table.column("ts").cast(pa.int64()).to_numpy().astype(np.int64, copy=False)
    _check_us(ts_us, "timestamp")
    models = pc.dictionary_encode(table.column("model_id")).combine_chunks()
    ranks = _ranks(ts_us, models.indices.to_numpy(zero_copy_only=False).astype(np.int64))
    numbers = counter.reserve(int(ranks.max()) + 1 if ranks.size else 1) + ranks
    time_ns = ts_us * _NANOS_PER_US + numbers % _NANOS_PER_US
    thousands = numbers // _NANOS_PER_US
    seq = None
    if thousands.any():
        seq = pa.array(thousands, pa.int64(), mask=thousands == 0).cast(pa.string())
    fields = [
        LineField(name, kind, table.column(name), repeats=name in _REPEATING)
        for name, kind in METRIC_FIELDS
    ]
    tags = {"project": project, "model_id": table.column("model_id"), "seq": seq}
    return encode_lines(INFERENCE, tags, fields, time_ns)


def drift_line(metric: DriftMetric, project: str, counter: NanoCounter) -> bytes:
    """The ``drift`` line of one client drift metric."""
    ts_us = np.array([to_epoch_us(metric.timestamp)], np.int64)
    _check_us(ts_us, "timestamp")
    time_ns = int(ts_us[0]) * _NANOS_PER_US + counter.reserve(1)
    fields: dict[str, float | str | None] = {
        "drift_type": metric.drift_type.value,
        "feature": metric.feature,
        "score": None if metric.score is None else float(metric.score),
        "confidence": float(metric.confidence),
        "severity": metric.severity.value,
    }
    return format_line(DRIFT, {"project": project, "model_id": metric.model_id}, fields, time_ns)


def tagset_hash(tags_json: str) -> str:
    """The ``tagset`` tag of a rollup row: a short hash of its canonical tags JSON."""
    return hashlib.blake2b(tags_json.encode(), digest_size=_TAGSET_BYTES).hexdigest()


def rollup_lines(table: pa.Table, project: str, resolution: Resolution) -> pa.Array:
    """The rollup lines of a ``ROLLUP_SCHEMA`` table (one point per row). The sketch
    bytes are written base64-encoded: line protocol has no binary type."""
    ts_us = table.column("bucket").cast(pa.int64()).to_numpy().astype(np.int64, copy=False)
    _check_us(ts_us, "bucket")
    tags_json = pc.fill_null(table.column("tags"), "{}")
    encoded = pc.dictionary_encode(tags_json).combine_chunks()
    hashes = pa.array([tagset_hash(t) for t in encoded.dictionary.to_pylist()], pa.string())
    columns = {
        "tags": tags_json,
        "sketch": pa.array(
            [
                None if s is None else base64.b64encode(s).decode("ascii")
                for s in table.column("sketch").to_pylist()
            ],
            pa.string(),
        ),
    }
    fields = [
        LineField(name, kind, columns.get(name, table.column(name)), repeats=name == "tags")
        for name, kind in ROLLUP_FIELDS
    ]
    tags = {
        "project": project,
        "model_id": table.column("model_id"),
        "metric": table.column("metric"),
        "tagset": pc.take(hashes, encoded.indices),
    }
    return encode_lines(rollup_measurement(resolution), tags, fields, ts_us * _NANOS_PER_US)
