"""Parquet parts of logged records and reference sets: encoding, decoding, reading
chosen rows one row group at a time, and joining parts whose columns differ."""

from __future__ import annotations

__all__ = ["ROW_GROUP_ROWS", "read_parquet", "take_rows", "to_parquet", "unify"]

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

# Rows per Parquet row group: a part is read a group at a time, so sampling a
# bucket never holds more than the rows it keeps plus one group.
ROW_GROUP_ROWS = 16_384
# zstd at its fastest level: feature values are mostly noise to a compressor, and
# compaction rewrites up to a bucket's cap of rows at a time.
_COMPRESSION = "zstd"
_COMPRESSION_LEVEL = 1


# The one column whose min and max per row group are worth writing: record time.
_STATISTICS_COLUMNS = ("ts_us",)


def to_parquet(table: pa.Table) -> bytes:
    """The table as Parquet. Only string columns are dictionary-encoded (categories
    repeat; a float feature's values rarely do, and trying a dictionary on each
    doubled the time of writing a batch), and only record time gets statistics:
    50,000 records of 60 features are written in 0.06 s instead of 0.18 s."""
    sink = io.BytesIO()
    names = table.column_names
    pq.write_table(
        table,
        sink,
        compression=_COMPRESSION,
        compression_level=_COMPRESSION_LEVEL,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=[f.name for f in table.schema if not _is_number(f.type)],
        write_statistics=[name for name in _STATISTICS_COLUMNS if name in names] or False,
    )
    return sink.getvalue()


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_floating(kind) or pa.types.is_integer(kind))


def read_parquet(data: bytes, columns: Sequence[str] | None = None) -> pa.Table:
    return pq.read_table(io.BytesIO(data), columns=None if columns is None else list(columns))


def take_rows(data: bytes, rows: npt.NDArray[np.int64], columns: Sequence[str] | None) -> pa.Table:
    """The given rows (sorted) of a Parquet part, read one row group at a time."""
    parquet = pq.ParquetFile(io.BytesIO(data))
    present = parquet.schema_arrow.names
    wanted = present if columns is None else [c for c in columns if c in present]
    if len(rows) == parquet.metadata.num_rows:  # every row: one (threaded) read
        return parquet.read(columns=wanted)
    pieces = []
    start = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        lo, hi = np.searchsorted(rows, [start, start + size])
        if hi > lo:
            piece = parquet.read_row_group(group, columns=wanted)
            pieces.append(piece.take(pa.array(rows[lo:hi] - start)))
        start += size
    if not pieces:
        return parquet.schema_arrow.empty_table().select(wanted)
    return pa.concat_tables(pieces)


def unify(tables: list[pa.Table]) -> pa.Table:
    """Concatenate parts whose columns may differ: a missing column is null; a column
    that is numbers in one part and strings in another becomes strings."""
    if tables and all(t.schema.equals(tables[0].schema) for t in tables[1:]):
        return pa.concat_tables(tables)  # the usual case: no copy
    kinds: dict[str, pa.DataType] = {}
    for table in tables:
        for f in table.schema:
            known = kinds.get(f.name)
            if known is None or pa.types.is_null(known):
                kinds[f.name] = f.type
            elif known != f.type and not pa.types.is_null(f.type):
                kinds[f.name] = pa.string()
    schema = pa.schema([pa.field(name, kind) for name, kind in kinds.items()])
    aligned = []
    for table in tables:
        columns = []
        for f in schema:
            if f.name in table.column_names:
                columns.append(table.column(f.name).cast(f.type))
            else:
                columns.append(pa.nulls(table.num_rows, f.type))
        aligned.append(pa.table(columns, schema=schema))
    return pa.concat_tables(aligned) if aligned else schema.empty_table()
