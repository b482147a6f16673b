"""Historical metrics from CSV or Parquet files, validated as API batches are.

A file has one row per inference metric and API.md's `InferenceMetric` fields as
flat columns: ``model_id``, ``latency`` and ``timestamp`` (RFC 3339 text, epoch
seconds, or a timestamp column), and optionally ``model_type``, ``request_id``,
``throughput``, ``error_rate``, ``error``, ``gpu_memory_mb``, ``gpu_utilization``,
``cpu_percent``, ``memory_mb``, ``tags`` (a JSON object as text) and the LLM fields
``prompt_tokens``, ``completion_tokens``, ``time_to_first_token_ms`` and
``cost_usd`` (so the cold tier's Parquet files import as they are). Other columns
are ignored. Rows are read in chunks and go through the same decoder as
``POST /metrics/inference/batch``, so a row the API would refuse is refused here,
with its row number and the reason, and the others are kept.
"""

from __future__ import annotations

__all__ = ["ImportChunk", "read_metric_file"]

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from monitorx.core import LLM_FIELDS, MetricColumns, ValidationError
from monitorx.core.pii import PiiMasker
from monitorx.ingest.decode import Rejection, decode_metric_batch

CHUNK_ROWS = 10_000
REQUIRED = ("model_id", "latency", "timestamp")
_RESOURCES = ("gpu_memory_mb", "gpu_utilization", "cpu_percent", "memory_mb")
_PLAIN = ("model_id", "latency", "model_type", "request_id", "throughput", "error_rate", "error")


@dataclass(frozen=True, slots=True)
class ImportChunk:
    """The valid rows of one chunk as columns, and the refused ones (file row numbers,
    counting the first data row as 1)."""

    columns: MetricColumns
    rejected: list[Rejection]


def _open_batches(path: Path) -> Iterator[pa.RecordBatch]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS)
        elif suffix in (".csv", ".tsv"):
            options = pacsv.ReadOptions(block_size=1 << 22)
            parse = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            convert = pacsv.ConvertOptions(
                column_types={
                    "model_id": pa.string(),
                    "request_id": pa.string(),
                    "tags": pa.string(),
                },
                strings_can_be_null=True,
            )
            reader = pacsv.open_csv(path, options, parse, convert)
            yield from reader
        else:
            raise ValidationError(f"{path.name}: expected a .csv, .tsv or .parquet file", "file")
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationError(f"{path.name}: cannot read: {exc}", "file") from exc


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return value


def _count(value: Any) -> Any:
    """A whole float as an int: a token column with gaps reads as floats (pandas)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _wire_item(row: dict[str, Any]) -> dict[str, Any]:
    """A flat file row as the JSON object API.md's batch endpoint takes."""
    item = {name: row[name] for name in _PLAIN if row.get(name) is not None}
    item["timestamp"] = _timestamp(row.get("timestamp"))
    resources = {name: row[name] for name in _RESOURCES if row.get(name) is not None}
    if resources:
        item["resource_usage"] = resources
    llm = {name: _count(row[name]) for name in LLM_FIELDS if row.get(name) is not None}
    if llm:
        item["llm"] = llm
    tags = row.get("tags")
    if isinstance(tags, str) and tags:
        try:
            item["tags"] = orjson.loads(tags)
        except orjson.JSONDecodeError:
            item["tags"] = tags  # refused by the decoder, naming the field
    return item


def read_metric_file(
    path: Path, now: datetime, masker: PiiMasker | None = None
) -> Iterator[ImportChunk]:
    """The file's metrics, chunk by chunk, tags masked by ``masker``; raises
    `ValidationError` when the file cannot be read or lacks a required column."""
    first_row = 1
    for batch in _open_batches(path):
        missing = [name for name in REQUIRED if name not in batch.schema.names]
        if missing:
            raise ValidationError(f"{path.name}: missing column(s) {', '.join(missing)}", "file")
        rows = batch.to_pylist()
        body = orjson.dumps([_wire_item(r) for r in rows], option=orjson.OPT_SERIALIZE_NUMPY)
        try:
            columns, rejected = decode_metric_batch(body, now, len(rows), masker)
        except ValidationError as exc:  # every row of the chunk refused
            columns, rejected = MetricColumns(), [Rejection(0, str(exc))]
        yield ImportChunk(columns, [Rejection(r.index + first_row, r.error) for r in rejected])
        first_row += len(rows)
