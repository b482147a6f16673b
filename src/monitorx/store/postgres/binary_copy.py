"""Arrow tables as PostgreSQL's binary COPY format, built column-wise, no loop per row.

Why binary: ingest is bound by the server's CPU, and binary spares it parsing
timestamps and floats from text. Measured on the 2-vCPU development machine, a
100,000-row metric batch costs the server about 0.25 s into a bare table in binary
against about 0.6 s as CSV (0.85 s against 1.3 s with the table's indexes); the
numpy/Arrow encoding here takes about 0.1 s, less than pyarrow's CSV writer.

The format (PostgreSQL docs, "COPY … Binary Format"): a fixed header; then per row
a big-endian int16 field count and, per field, a big-endian int32 byte length (-1
for NULL) followed by the value in the type's binary send format; then an int16 -1.

How it is built: every column becomes two Arrow binary arrays, its length words
(-1 where NULL) and its values' bytes (numpy writes fixed-width values big-endian,
strings keep their own bytes), NULL where the value is; Arrow's
``binary_join_element_wise`` then concatenates all of them row by row, in C++,
writing a NULL as nothing, and the joined array's data buffer is exactly the rows
of the COPY stream.

Arrow type → column type: string → text, binary → bytea, float64 → float8, int64 →
int8, bool → boolean, timestamp("us") → timestamptz (a naive timestamp holds UTC).
"""

from __future__ import annotations

__all__ = ["COPY_HEADER", "COPY_TRAILER", "encode_binary_copy", "encode_binary_rows"]

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

COPY_HEADER = memoryview(
    b"PGCOPY\n\xff\r\n\x00" + bytes(4) + bytes(4)
)  # signature, flags, extension
COPY_TRAILER = memoryview(b"\xff\xff")
_LENGTH_BYTES = 4
_NULL_LENGTH = -1
# timestamptz is sent as microseconds since 2000-01-01 00:00:00 UTC.
_POSTGRES_EPOCH_US = 946_684_800_000_000
# Large (64-bit offset) binary, so that a batch past 2 GiB cannot overflow offsets.
_BYTES = pa.large_binary()


def _byte_rows(
    data: npt.NDArray[np.generic], validity: pa.Buffer | None = None, null_count: int = 0
) -> pa.Array:
    """An Arrow binary array whose row ``i`` is the bytes of ``data[i]`` (already in
    its wire dtype), NULL where ``validity`` (an Arrow bitmap) says so."""
    data = np.ascontiguousarray(data)
    width = data.dtype.itemsize
    offsets = np.arange(0, (len(data) + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(
        _BYTES,
        len(data),
        [validity, pa.py_buffer(offsets), pa.py_buffer(data.view(np.uint8))],
        null_count=null_count,
    )


def _fixed_parts(array: pa.Array, values: npt.NDArray[np.generic]) -> list[pa.Array]:
    """A fixed-width column: the length word (-1 for NULL), then the value, whose
    NULLs the join writes as nothing."""
    width = values.dtype.itemsize
    if array.null_count == 0:
        return [_byte_rows(np.full(len(values), width, ">i4")), _byte_rows(values)]
    valid = pc.is_valid(array)
    lengths = np.where(valid.to_numpy(zero_copy_only=False), width, _NULL_LENGTH)
    return [
        _byte_rows(lengths.astype(">i4")),
        _byte_rows(values, valid.buffers()[1], array.null_count),
    ]


def _field_parts(array: pa.Array) -> list[pa.Array]:
    """The binary arrays that, joined, make this column's field in every row."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_binary(kind):
        lengths = pc.fill_null(pc.binary_length(array), _NULL_LENGTH).to_numpy()
        return [_byte_rows(lengths.astype(">i4")), array.cast(_BYTES)]
    if pa.types.is_timestamp(kind) and kind.unit == "us":
        micros = _numbers(array.cast(pa.int64()), 0)
        return _fixed_parts(array, (micros - _POSTGRES_EPOCH_US).astype(">i8"))
    if pa.types.is_float64(kind):
        return _fixed_parts(array, _numbers(array, 0.0).astype(">f8"))
    if pa.types.is_int64(kind):
        return _fixed_parts(array, _numbers(array, 0).astype(">i8"))
    if pa.types.is_boolean(kind):
        return _fixed_parts(array, _numbers(array, False).astype("u1"))
    raise TypeError(f"no binary COPY encoding for Arrow type {kind}")


def _numbers(array: pa.Array, fill: object) -> npt.NDArray[np.generic]:
    """The values as numpy, NULLs filled with ``fill`` (their bytes are not sent)."""
    if array.null_count:
        array = pc.fill_null(array, fill)
    values: npt.NDArray[np.generic] = array.to_numpy(zero_copy_only=False)
    return values


def encode_binary_rows(table: pa.Table) -> memoryview:
    """The rows of ``table`` in binary COPY format, without header or trailer (so a
    batch can be sent in pieces); the COPY statement must name columns of the
    matching types, in order."""
    count = table.num_rows
    if count == 0:
        return memoryview(b"")
    parts = [_byte_rows(np.full(count, table.num_columns, dtype=">i2"))]
    for column in table.columns:
        parts.extend(_field_parts(column.combine_chunks()))
    # A NULL string's bytes are nothing: its length word (-1) already says NULL.
    rows = pc.binary_join_element_wise(
        *parts, pa.scalar(b"", _BYTES), null_handling="replace", null_replacement=b""
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[
        rows.offset : rows.offset + count + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    return memoryview(rows.buffers()[2].slice(start, end - start))


def encode_binary_copy(table: pa.Table) -> list[memoryview]:
    """The whole binary COPY stream for ``table``, as consecutive buffers to send."""
    return [COPY_HEADER, encode_binary_rows(table), COPY_TRAILER]
