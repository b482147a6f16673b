"""InfluxDB line protocol, encoded a whole Arrow batch at a time.

A line is ``measurement,tag=value,... field=value,... timestamp`` (alerting-anchors
§4.3). Formatting point by point in Python costs microseconds a point, as much as
InfluxDB spends storing it. Here each column is formatted by one Arrow kernel, and
the lines are assembled from a pool of strings (`_Pool`) by one ``take`` and one
``binary_join``, whatever the number of fields; the HTTP bodies are slices of the
result's buffer, which already holds the lines joined.

The rules, and why:

- Floats are always written as floats, an integral value as ``12.0``: InfluxDB fixes
  a field's type at its first write to a shard, and ``12i`` would make an integer
  field that later ``12.5`` writes conflict with. Values are formatted
  shortest-round-trip (Arrow's formatter), so they read back bit for bit. NaN and
  infinity have no line-protocol form; they are refused, not dropped.
- A null field is left out of its line: InfluxDB has no null.
- Strings are double-quoted, with ``\\`` and ``"`` escaped. A newline stays as it
  is: InfluxDB 1.x and 2.x (one Go parser) read it as part of the quoted string,
  while ``\\n`` would be stored as a backslash and an ``n``.
- Tag values escape commas, equals signs and spaces. A tag value cannot hold a
  newline, end in a backslash or be empty (InfluxDB drops empty tags, which would
  merge series), so such values are refused; MonitorX identifiers never are.
- Tags are written sorted by key, as InfluxDB asks of writers.
"""

from __future__ import annotations

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_NANO_TIME",
    "FieldKind",
    "LineField",
    "bodies",
    "encode_lines",
    "escape_tag_value",
    "format_line",
]

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import ValidationError

# The last instant InfluxDB stores (models.MaxNanoTime, 2262-04-11T23:47:16Z).
MAX_NANO_TIME = 2**63 - 2

FieldKind = Literal["float", "int", "bool", "string"]
TagValues: TypeAlias = "str | pa.Array | pa.ChunkedArray | None"
I64 = npt.NDArray[np.int64]
_NONE = -1


@dataclass(frozen=True, slots=True)
class LineField:
    """One field column: its key, its line-protocol type, and its values (a null is
    left out of its line). ``repeats`` says a string column holds few distinct
    values (a model type, a tag set), which are then escaped once each."""

    name: str
    kind: FieldKind
    values: pa.Array | pa.ChunkedArray
    repeats: bool = False


def escape_tag_value(value: str) -> str:
    """A tag value as line protocol writes it (commas, equals, spaces escaped)."""
    if not value or "\n" in value or value.endswith("\\"):
        raise ValidationError(
            f"{value[:40]!r} cannot be an InfluxDB tag value (empty, a newline, or a "
            "trailing backslash)",
            "tag",
        )
    return value.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def _escape_string(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    escaped = pc.replace_substring(values, "\\", "\\\\")
    return pc.replace_substring(escaped, '"', '\\"')


class _Pool:
    """Every string the lines are made of, in one array: constant tokens
    (``,latency=``, ``true``, ``.0``) and whole columns of values. A line is a run
    of indices into the pool."""

    def __init__(self) -> None:
        self._parts: list[pa.Array] = []
        self._size = 0
        self._tokens: dict[str, int] = {}

    def token(self, text: str) -> int:
        if text not in self._tokens:
            self._tokens[text] = self.add(pa.array([text], pa.string()))
        return self._tokens[text]

    def add(self, values: pa.Array | pa.ChunkedArray) -> int:
        """Append ``values``; the pool index of the first."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        first = self._size
        self._parts.append(values if values.type == pa.string() else values.cast(pa.string()))
        self._size += len(values)
        return first

    def array(self) -> pa.Array:
        return pa.concat_arrays(self._parts)


def _codes(values: pa.Array | pa.ChunkedArray) -> tuple[list[str | None], I64]:
    """The distinct values of a column, and each row's index among them (-1: null)."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = encoded.indices.fill_null(_NONE).to_numpy(zero_copy_only=False)
    return encoded.dictionary.to_pylist(), codes.astype(np.int64)


def _heads(pool: _Pool, measurement: str, tags: Mapping[str, TagValues], rows: int) -> I64:
    """Each row's ``measurement,tag=value,...`` as a pool index: one string per
    distinct tag set, built once. A null in a tag column leaves the tag off."""
    columns: dict[str, tuple[list[str | None], I64]] = {}
    for key, value in tags.items():
        if value is not None and not isinstance(value, str):
            columns[key] = _codes(value)
    # One number per row for its combination of codes (mixed radix): the distinct
    # combinations are few, far from overflowing 64 bits.
    combined = np.zeros(rows, np.int64)
    for distinct, codes in columns.values():
        combined = combined * (len(distinct) + 1) + (codes + 1)
    keys, inverse = np.unique(combined, return_inverse=True)
    heads = []
    for key in keys.tolist():
        chosen: dict[str, str | None] = {}
        for name, (distinct, _) in reversed(columns.items()):
            key, code = divmod(key, len(distinct) + 1)
            chosen[name] = distinct[code - 1] if code else None
        head = measurement
        for name in sorted(tags):
            value = chosen[name] if name in columns else tags[name]
            if isinstance(value, str):
                head += f",{name}={escape_tag_value(value)}"
        heads.append(head)
    return pool.add(pa.array(heads, pa.string())) + inverse.reshape(-1).astype(np.int64)


def _field_slots(pool: _Pool, field: LineField) -> tuple[I64, I64, I64, int]:
    """A field's token slots per row (key, value, suffix), ``_NONE`` where unused,
    and the token its key takes when it is a line's first field. Keys carry the
    separator before them, and the opening quote of a string."""
    values = field.values
    rows = len(values)
    quote = '"' if field.kind == "string" else ""
    key, first_key = (pool.token(f"{sep}{field.name}={quote}") for sep in (",", " "))
    suffix = np.full(rows, _NONE, np.int64)
    if field.kind == "bool":
        flags = pc.fill_null(values, False).to_numpy(zero_copy_only=False)
        value = np.where(flags, pool.token("true"), pool.token("false"))
    elif field.kind == "string" and field.repeats:
        distinct, codes = _codes(values)
        value = pool.add(_escape_string(pa.array(distinct, pa.string()))) + codes
        suffix[:] = pool.token('"')
    else:
        value = np.arange(rows, dtype=np.int64)
        if field.kind == "float":
            numbers = values if values.type == pa.float64() else pc.cast(values, pa.float64())
            if numbers.null_count < rows and not pc.all(pc.is_finite(numbers)).as_py():
                raise ValidationError("InfluxDB cannot store NaN or infinity", field.name)
            text = pc.cast(numbers, pa.string())
            value += pool.add(text)
            whole = pc.fill_null(pc.equal(pc.floor(numbers), numbers), False)
            if pc.any(whole).as_py():
                # Arrow formats 12.0 as "12"; 1e+20 is a float to InfluxDB as it is.
                bare = pc.invert(
                    pc.or_(pc.match_substring(text, "."), pc.match_substring(text, "e"))
                )
                needs = pc.fill_null(pc.and_(whole, bare), False)
                suffix[needs.to_numpy(zero_copy_only=False)] = pool.token(".0")
        elif field.kind == "int":
            value += pool.add(pc.cast(values, pa.string()))
            suffix[:] = pool.token("i")
        else:
            text = values if values.type == pa.string() else pc.cast(values, pa.string())
            value += pool.add(_escape_string(text))
            suffix[:] = pool.token('"')
    valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
    keys = np.where(valid, key, _NONE)
    return keys, np.where(valid, value, _NONE), np.where(valid, suffix, _NONE), first_key


def encode_lines(
    measurement: str,
    tags: Mapping[str, TagValues],
    fields: Sequence[LineField],
    time_ns: pa.Array | I64,
) -> pa.Array:
    """One line per row, each ending in a newline, as an Arrow string array.

    ``tags`` maps a key to a constant value or a column (a null in a column leaves
    the tag off that row; a None constant leaves it off every row); ``time_ns`` is
    nanoseconds since the epoch. Every row needs at least one non-null field.
    """
    rows = len(time_ns)
    pool = _Pool()
    # int32 indices: a pool never holds 2**31 strings (bodies are sliced far below).
    grid = np.empty((rows, 3 * len(fields) + 4), np.int32)
    grid[:, 0] = _heads(pool, measurement, tags, rows)
    first_keys = np.empty(len(fields), np.int32)
    for index, field in enumerate(fields):
        *slots, first_keys[index] = _field_slots(pool, field)
        grid[:, 1 + 3 * index : 4 + 3 * index] = np.stack(slots, axis=1)
    # The first field present on a line follows a space, not a comma.
    keys = grid[:, 1 : 1 + 3 * len(fields) : 3]
    present = keys != _NONE
    if not present.any(axis=1).all():
        raise ValidationError("a point needs at least one non-null field", fields[0].name)
    first = present.argmax(axis=1)
    keys[np.arange(rows), first] = first_keys[first]
    grid[:, 1 : 1 + 3 * len(fields) : 3] = keys
    grid[:, -3] = pool.token(" ")
    grid[:, -2] = pool.add(pc.cast(pa.array(time_ns, pa.int64()), pa.string())) + np.arange(rows)
    grid[:, -1] = pool.token("\n")
    used = grid != _NONE
    offsets = np.zeros(rows + 1, np.int32)
    np.cumsum(used.sum(axis=1), out=offsets[1:])
    parts = pc.take(pool.array(), pa.array(grid[used]))
    lines = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), parts), "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    return lines


# InfluxDB 1.x refuses bodies past ``max-body-size`` (25 MB by default): lines with
# long strings are cut into bodies well below it.
MAX_BODY_BYTES = 8_000_000


def bodies(
    lines: pa.Array, lines_per_body: int, max_bytes: int = MAX_BODY_BYTES
) -> Iterator[bytes]:
    """Request bodies of at most ``lines_per_body`` lines and (unless one line is
    longer) ``max_bytes`` bytes each: slices of the lines' own buffer, which already
    is the lines joined."""
    if lines.null_count:
        raise ValueError("a line cannot be null")
    end = lines.offset + len(lines) + 1
    offsets = np.frombuffer(lines.buffers()[1], np.int32)[lines.offset : end].astype(np.int64)
    data = lines.buffers()[2]
    first = 0
    while first < len(lines):
        last = min(first + lines_per_body, len(lines))
        fits = int(np.searchsorted(offsets, offsets[first] + max_bytes, side="right")) - 1
        last = max(first + 1, min(last, fits))
        yield data[int(offsets[first]) : int(offsets[last])].to_pybytes()
        first = last


def format_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | bool | str | None],
    time_ns: int,
) -> bytes:
    """One point as a line, for single writes; the same rules as `encode_lines`."""
    columns = []
    for name, value in fields.items():
        if isinstance(value, bool):
            kind: FieldKind = "bool"
        elif isinstance(value, int):
            kind = "int"
        elif isinstance(value, float):
            kind = "float"
        else:
            kind = "string"
        typed = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}.get(
            kind, pa.string()
        )
        columns.append(LineField(name, kind, pa.array([value], typed)))
    lines = encode_lines(measurement, dict(tags), columns, np.array([time_ns], np.int64))
    return next(bodies(lines, 1))
