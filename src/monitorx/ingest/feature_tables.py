"""Rows of features, as clients send them, into Arrow tables (one column a feature).

API.md: a string is categorical, a number numerical. Here that becomes the column's
Arrow type: ``float64`` (numbers and booleans, as pandas and Evidently count them,
null as null) or ``string``. One column never mixes the two within one body.

Decoding is columnar and in C wherever the input is well formed: orjson parses the
body, ``pyarrow.array`` turns the list of objects into one struct array. Only when
that refuses the input (a NaN, a nested value, a string among numbers, a row that is
not an object) does a Python pass walk the rows to name the first offending item and
field in a 422. Nothing is stored from a body that is refused.

Reference sets may also arrive as CSV, Parquet or an Arrow IPC stream, and records
as Parquet or Arrow: `read_upload` reads such a body straight to Arrow (no Python
object per row) and `upload_columns` converts its columns to the same two types.
"""

from __future__ import annotations

__all__ = [
    "MAX_FEATURE_NAME",
    "TABLE_MEDIA_TYPES",
    "Columns",
    "ItemPath",
    "check_column_text",
    "conform_table",
    "decode_json",
    "media_type",
    "numeric_or_string",
    "read_upload",
    "table_columns",
    "table_from_rows",
    "table_from_upload",
    "upload_columns",
]

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from monitorx.core import MalformedPayload, ValidationError
from monitorx.core.lenient_json import loads_lenient
from monitorx.core.text import check_json_text, forbidden_class, printable, text_problem

# A feature name is at most 256 characters (API.md "String lengths").
MAX_FEATURE_NAME = 256

ItemPath = Callable[[int], str]
Columns = Mapping[str, npt.NDArray[Any]]
"""Column name → 1-D numpy array: float64 with NaN for null (numerical), or an
object array of str and None (categorical), as `analysis.drift` reads them."""

_CSV_TYPES = ("text/csv", "application/csv")
_PARQUET_TYPES = ("application/vnd.apache.parquet", "application/octet-stream")
_ARROW_TYPES = ("application/vnd.apache.arrow.stream",)
TABLE_MEDIA_TYPES = frozenset(_PARQUET_TYPES + _ARROW_TYPES)
"""The media types of a table body (Parquet, Arrow IPC stream) on ``/reference``
and ``/records``."""


def decode_json(body: bytes) -> Any:
    """Parse a JSON body fast; NaN and Infinity parse (as floats) so that the field
    holding them can be named in a 422. Not JSON at all: 400. A string that may not
    be stored (`monitorx.core.text`) is a 422 naming its field."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            value = loads_lenient(body)
        except (ValueError, RecursionError) as exc:
            raise MalformedPayload(f"the body is not valid JSON: {exc}") from None
    check_json_text(body, value)
    return value


def numeric_or_string(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """The column as ``float64`` or ``string``, or None when its type is neither a
    number, a boolean, a string nor all null."""
    kind = array.type
    if pa.types.is_null(kind):
        return array.cast(pa.float64())
    if (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
    ):
        # Unsafe: an integer past 2**53 becomes the nearest float, as float() makes
        # it (a safe cast refuses it, and that was a 500).
        return array.cast(pa.float64(), safe=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_string_view(kind):
        return array.cast(pa.string())
    if pa.types.is_dictionary(kind):
        return numeric_or_string(array.cast(kind.value_type))
    return None


def _is_string_view(kind: pa.DataType) -> bool:
    # Polars hands Arrow its strings as string_view (pyarrow 16 and later know it).
    is_view = getattr(pa.types, "is_string_view", None)
    return bool(is_view is not None and is_view(kind))


def _check_names(names: list[str], where: str) -> None:
    for name in names:
        if not name or len(name) > MAX_FEATURE_NAME:
            raise ValidationError(
                f"a feature name must be 1–{MAX_FEATURE_NAME} characters "
                f"(got {name[:40]!r}{'…' if len(name) > 40 else ''})",
                where,
            )


def table_from_rows(rows: object, where: str, item: ItemPath | None = None) -> pa.Table:
    """A JSON array of ``{feature: value}`` objects as a table; 422 naming the first
    bad item and field. ``where`` is the array's path (``current.rows``); ``item``
    gives the path of the i-th object when it is not ``where[i]``."""
    if not isinstance(rows, list):
        raise ValidationError("expected a JSON array of objects", where)
    if not rows:
        raise ValidationError("must hold at least one row", where)
    table = _fast_table(rows)
    if table is None:
        table = _checked_table(rows, item or (lambda index: f"{where}[{index}]"))
    _check_names(table.column_names, where)
    return table


def _fast_table(rows: list[Any]) -> pa.Table | None:
    """Well-formed rows through pyarrow's C conversion; None when anything is off."""
    try:
        struct = _typed_struct(rows)
        if struct is None:
            struct = pa.array(rows)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    if not pa.types.is_struct(struct.type) or struct.null_count:
        return None
    names: list[str] = []
    columns: list[pa.Array] = []
    for index in range(struct.type.num_fields):
        field = struct.type.field(index)
        column = numeric_or_string(struct.field(index))
        if column is None:
            return None
        if pa.types.is_float64(column.type) and _has_non_finite(column):
            return None
        names.append(field.name)
        columns.append(column)
    return pa.table(columns, names=names)


def _typed_struct(rows: list[Any]) -> pa.StructArray | None:
    """The usual body, whose rows all have the first row's features, converted with
    the types the first row's values give (a number ``float64``, a string
    ``string``): half the time of letting pyarrow infer them. None when the rows
    differ in their names or the first has a null or another kind of value (then
    pyarrow infers); a value of another type in a later row raises."""
    first = rows[0]
    if not isinstance(first, dict) or not first:
        return None
    fields = []
    for name, value in first.items():
        if isinstance(value, str):
            fields.append(pa.field(name, pa.string()))
        elif isinstance(value, bool | int | float):
            fields.append(pa.field(name, pa.float64()))
        else:
            return None
    # Every row an object of as many names as the first (checked in C) ...
    if not all(type(row) is dict for row in rows) or set(map(len, rows)) != {len(fields)}:
        return None
    try:
        struct: pa.StructArray = pa.array(rows, type=pa.struct(fields))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None  # a later row's value of another kind: let pyarrow infer and say
    # ... so a row with another name lacks one of the first's, which is then null:
    # with no null at all, every row has the first's names. (A conversion with a
    # type leaves out names the type does not have.)
    if any(struct.field(i).null_count for i in range(len(fields))):
        names = first.keys()
        if any(row.keys() != names for row in rows):
            return None
    return struct


def _has_non_finite(column: pa.Array | pa.ChunkedArray) -> bool:
    values = column.to_numpy(zero_copy_only=False)
    return not bool(np.isfinite(values[~np.isnan(values)]).all()) or bool(
        np.isnan(values).sum() > column.null_count
    )


def _checked_table(rows: list[Any], item: ItemPath) -> pa.Table:
    """The slow path: walk every value, refuse the first bad one by item and field."""
    numeric: dict[str, bool] = {}
    first_row: dict[str, int] = {}
    values: dict[str, list[object]] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationError("expected an object of feature values", item(index))
        for name, value in row.items():
            field = f"{item(index)}.{name}"
            is_number = _number_kind(value, field)
            if value is None:
                pass
            elif name not in numeric:
                numeric[name] = is_number
                first_row[name] = index
            elif numeric[name] != is_number:
                had = "numbers" if numeric[name] else "strings"
                raise ValidationError(
                    f"a {'number' if is_number else 'string'} in a column of {had} "
                    f"(as {item(first_row[name])}.{name}); a column holds one kind",
                    field,
                )
            values.setdefault(name, [])
    names = list(values)
    columns = []
    for name in names:
        column = [row.get(name) for row in rows]
        if numeric.get(name, True):
            floats = [None if v is None else float(v) for v in column]
            columns.append(pa.array(floats, pa.float64()))
        else:
            columns.append(pa.array(column, pa.string()))
    return pa.table(columns, names=names)


def _number_kind(value: object, field: str) -> bool:
    """True for a number or boolean, False for a string or null; 422 otherwise."""
    if value is None or isinstance(value, str):
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            raise ValidationError("is past the float range", field) from None
        return True
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(
                "must be a finite number (NaN and Infinity are not allowed)", field
            )
        return True
    raise ValidationError("must be a number, a string or null (not an object or array)", field)


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def read_upload(body: bytes, content_type: str) -> pa.Table:
    """A CSV, Parquet or Arrow IPC stream body as it is, read straight to Arrow;
    422 when it cannot be read or holds no row."""
    media = media_type(content_type)
    kind = "table"
    try:
        if media in _CSV_TYPES:
            kind = "CSV"
            options = pa_csv.ConvertOptions(strings_can_be_null=True)
            table = pa_csv.read_csv(io.BytesIO(body), convert_options=options)
        elif media in _PARQUET_TYPES:
            kind = "Parquet"
            table = pq.read_table(pa.BufferReader(body))
        elif media in _ARROW_TYPES:
            kind = "Arrow IPC stream"
            with pa.ipc.open_stream(pa.BufferReader(body)) as reader:
                table = reader.read_all()
        else:
            raise ValidationError(f"unsupported upload type {media!r}", "Content-Type")
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"cannot read the {kind} body: {exc}", "body") from None
    if table.num_rows == 0:
        raise ValidationError("must hold at least one row", "body")
    return table


def upload_columns(table: pa.Table, prefix: str = "") -> tuple[list[str], list[pa.ChunkedArray]]:
    """An upload's columns as ``float64`` (NaN and infinities as null) or ``string``
    (dates and times as their text); 422 naming a column of another type, a bad
    name or text that may not be stored. ``prefix`` is put before each name
    returned (not before the names in errors)."""
    names: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for index, name in enumerate(table.column_names):
        column = table.column(index)  # by position: a name may appear twice
        converted = numeric_or_string(column)
        if converted is None:
            # Dates, times and the like: their text, a category each.
            converted = pc.cast(column, pa.string()) if _castable(column) else None
        if converted is None:
            raise ValidationError(
                f"column type {column.type} is neither a number nor a string", str(name)
            )
        if pa.types.is_float64(converted.type):
            converted = _nan_as_null(converted)
        check_column_text(str(name), converted)
        names.append(str(name))
        columns.append(converted)
    _check_names(names, "body")
    return [prefix + name for name in names], columns


def table_from_upload(body: bytes, content_type: str) -> pa.Table:
    """A CSV, Parquet or Arrow upload as a table of ``float64`` and ``string`` columns."""
    table = read_upload(body, content_type)
    names, columns = upload_columns(table)
    if len(set(names)) != len(names):
        raise ValidationError("two columns have one name", "body")
    return pa.table(columns, names=names)


# The rule of stored text (`monitorx.core.text`) in RE2's syntax, for Arrow's
# kernels; valid UTF-8 cannot hold a surrogate.
_FORBIDDEN_UTF8 = forbidden_class(surrogates=False)


def check_column_text(name: str, column: pa.ChunkedArray | pa.Array) -> None:
    """An upload's column name and strings follow the rule of stored text, as a JSON
    body's do; a Parquet or Arrow body may also hold bytes that are not UTF-8."""
    problem = text_problem(name)
    if problem is not None:
        raise ValidationError(f"the column name {problem}", printable(name))
    if not pa.types.is_string(column.type):
        return
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        raise ValidationError("holds text that is not valid UTF-8", name) from None
    # Categories repeat: the distinct values are checked, and the rows only when
    # one of them is bad (to name the first bad row).
    distinct = pc.unique(column)
    if not pc.any(pc.match_substring_regex(distinct, _FORBIDDEN_UTF8)).as_py():
        return
    bad = pc.match_substring_regex(column, _FORBIDDEN_UTF8)
    if pc.any(bad).as_py():
        row = pc.index(bad, True).as_py()
        raise ValidationError(f"row {row} {text_problem(column[row].as_py())}", name)


def _castable(column: pa.ChunkedArray) -> bool:
    try:
        pc.cast(column.slice(0, 1), pa.string())
    except pa.ArrowException:
        return False
    return True


def _nan_as_null(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Parquet and CSV may hold NaN and ±inf; for drift they are missing values."""
    values = column.to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(values)
    if not bad.any():
        return column
    return pa.array(values, pa.float64(), mask=bad)


def table_columns(table: pa.Table) -> dict[str, npt.NDArray[Any]]:
    """A table's columns as `Columns`: float64 with NaN for null, or object arrays."""
    out: dict[str, npt.NDArray[Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            out[name] = _category_objects(column)
        else:
            out[name] = column.to_numpy(zero_copy_only=False)
    return out


def _category_objects(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    """A text column as an object array (None for null) whose equal values are one
    Python object: made from the column's distinct values, not a new str per row
    — half the time, and what drift counts next hashes and compares faster."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    indices = encoded.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False)
    found: npt.NDArray[Any] = words[indices]
    return found


def conform_table(table: pa.Table, kinds: Mapping[str, pa.DataType]) -> pa.Table:
    """Cast columns to the kinds a reference gives them (names absent stay as they
    are): strings in a numerical column become numbers where they parse and null
    where not; numbers in a categorical column become their text."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        wanted = kinds.get(name)
        if wanted is not None and column.type != wanted:
            if pa.types.is_float64(wanted):
                column = _strings_as_numbers(column)
            else:
                column = pc.cast(column, pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _strings_as_numbers(column: pa.ChunkedArray) -> pa.Array:
    numbers = []
    for value in column.to_pylist():
        try:
            number = float(value) if value is not None else None
        except ValueError:
            number = None
        numbers.append(number if number is not None and math.isfinite(number) else None)
    return pa.array(numbers, pa.float64())
