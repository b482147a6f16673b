"""A plain line-protocol body decoded as a whole, column by column, in Arrow.

Most bodies a collector sends are plain: no backslash, no double quote, one space
between the series key, the fields and the time, numbers InfluxDB takes. Such a
body is split and parsed by Arrow's compute kernels (C++, no Python per line), and
only what repeats — a series key, a field name — is looked at in Python, once a
body. Anything else (an escape, a string field, a malformed line, a field given
twice in a line, a comment among the lines is fine) answers None, and the caller
decodes the body line by line, where every refusal is named in InfluxDB's words:
this path never refuses a line, so what it keeps is exactly what the careful
decoder keeps.
"""

from __future__ import annotations

__all__ = ["PlainBody", "SeriesField", "decode_plain_body"]

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.ingest.sample_rules import MAX_TS_US
from monitorx.store.samples.batch import F64, I64, KeyedSamples

# What InfluxDB reads as a number, in the forms this path takes: a decimal float
# (no sign but minus, no underscore, no inf/nan), an integer ``12i`` / ``12u``, and
# the spellings of true and false.
_FLOAT = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
_INT = r"^-?[0-9]+i$"
_UINT = r"^[0-9]+u$"
# The bytes of a plain decimal float, and of a plain integer: a field or timestamp
# made of other bytes goes through the regular expressions above. A text made only
# of these bytes that is still no number (``1-2``, ``e``) fails Arrow's cast.
_FLOAT_BYTES = np.zeros(256, np.bool_)
_FLOAT_BYTES[np.frombuffer(b"0123456789.eE-", np.uint8)] = True
_DIGIT_BYTES = np.zeros(256, np.bool_)
_DIGIT_BYTES[np.frombuffer(b"0123456789", np.uint8)] = True
_TRUE = pa.array(["t", "T", "true", "True", "TRUE"])
_FALSE = pa.array(["f", "F", "false", "False", "FALSE"])
_MAX_FLOAT = np.finfo(np.float64).max


@dataclass(frozen=True, slots=True)
class PlainBody:
    """A plain body's samples, the line (from 1) each came from, and its points."""

    samples: KeyedSamples
    line_of_row: I64
    points: int


class _NotPlain(Exception):
    """The body needs the line-by-line decoder."""


def _holds(mask: pa.Array) -> bool:
    """Whether a boolean array is true everywhere."""
    return bool(pc.all(mask).as_py())


def _none_empty(texts: pa.Array) -> bool:
    return _holds(pc.not_equal(texts, ""))


def _only(texts: pa.Array, allowed: np.ndarray) -> bool:
    """Whether every byte of every text is one of the ``allowed`` (a table of 256),
    read from the array's data buffer at once (no text is looked at alone)."""
    if texts.type != pa.string() or texts.null_count:
        return False
    _, offsets, data = texts.buffers()
    if data is None:  # only empty texts
        return True
    bounds = np.frombuffer(offsets, np.int32)[texts.offset : texts.offset + len(texts) + 1]
    content = np.frombuffer(data, np.uint8)[bounds[0] : bounds[-1]]
    return bool(allowed[content].all())


def _plain_floats(text: pa.Array) -> F64 | None:
    """The values when every text is a plain decimal float, else None."""
    if not _only(text, _FLOAT_BYTES) or not _none_empty(text):
        return None
    try:
        values: F64 = pc.cast(text, pa.float64()).to_numpy()
    except pa.ArrowInvalid:
        return None
    return values


def _numbers(text: pa.Array) -> F64:
    """Field values as floats; `_NotPlain` for any InfluxDB would not read as one,
    or read otherwise, or that would not fit."""
    values: F64
    plain = _plain_floats(text)
    is_float = None if plain is not None else pc.match_substring_regex(text, _FLOAT)
    if plain is not None:
        values = plain
    elif _holds(is_float):
        values = pc.cast(text, pa.float64()).to_numpy()
    else:
        values = np.empty(len(text))
        masks = {
            "float": is_float,
            "int": pc.match_substring_regex(text, _INT),
            "uint": pc.match_substring_regex(text, _UINT),
            "true": pc.is_in(text, value_set=_TRUE),
            "false": pc.is_in(text, value_set=_FALSE),
        }
        covered = np.zeros(len(text), np.bool_)
        for kind, mask in masks.items():
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            covered[rows] = True
            if not rows.size:
                continue
            chosen = text.take(pa.array(rows))
            if kind == "float":
                values[rows] = pc.cast(chosen, pa.float64()).to_numpy()
            elif kind in ("int", "uint"):
                digits = pc.utf8_slice_codeunits(chosen, 0, -1)
                whole = pa.int64() if kind == "int" else pa.uint64()
                values[rows] = pc.cast(pc.cast(digits, whole), pa.float64()).to_numpy()
            else:
                values[rows] = 1.0 if kind == "true" else 0.0
        if not covered.all():
            raise _NotPlain
    if not np.all(np.abs(values) <= _MAX_FLOAT):
        raise _NotPlain
    return values


def _times(stamps: pa.Array, has_time: np.ndarray, now_us: int, scale: tuple[int, int]) -> I64:
    """Each line's time in epoch µs: its timestamp at the precision, else now."""
    ts_us = np.full(len(stamps), now_us, np.int64)
    rows = np.flatnonzero(has_time)
    if not rows.size:
        return ts_us
    given = stamps.take(pa.array(rows))
    if not _only(given, _DIGIT_BYTES):
        raise _NotPlain
    raw = pc.cast(given, pa.int64()).to_numpy()  # past int64: ArrowInvalid
    multiply, divide = scale
    if raw.size and int(raw.max()) > (MAX_TS_US - 1) * divide // multiply:
        raise _NotPlain
    ts_us[rows] = raw * multiply // divide
    return ts_us


def _lines(body: str) -> tuple[pa.Array, I64]:
    """The body's lines that are not blank or comments, trimmed, and their numbers."""
    whole = pc.split_pattern(pa.array([body], pa.string()), "\n")
    lines = pc.utf8_trim(pc.list_flatten(whole), characters=" \r")
    keep = pc.and_(pc.not_equal(lines, ""), pc.invert(pc.starts_with(lines, "#")))
    numbers = np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + 1
    return lines.filter(keep), numbers


def _parts(lines: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, np.ndarray]:
    """Each line's series key, field set and timestamp text (null when absent),
    and whether it has a timestamp."""
    parts = pc.split_pattern(lines, " ")
    counts = pc.list_value_length(parts).to_numpy()
    if not np.all((counts == 2) | (counts == 3)):
        raise _NotPlain
    if not _none_empty(pc.list_flatten(parts)):
        raise _NotPlain  # two spaces in a row
    has_time = counts == 3
    stamps = pc.list_element(parts, 2) if has_time.all() else _third(parts, has_time)
    return pc.list_element(parts, 0), pc.list_element(parts, 1), stamps, has_time


def _third(parts: pa.Array, has_time: np.ndarray) -> pa.Array:
    """The third part of the lines that have one, null for the others."""
    padded = pc.list_slice(parts, 0, 3, return_fixed_size_list=True)
    return pc.list_element(padded, 2) if has_time.any() else pa.nulls(len(parts), pa.string())


SeriesField = Callable[[str, str], tuple[str, dict[str, str]] | None]
"""Given a series key's text and a field name: the sample name and labels, or None
when the careful decoder would refuse the line."""


def decode_plain_body(
    body: str, now_us: int, scale: tuple[int, int], series_field: SeriesField
) -> PlainBody | None:
    """The samples of a plain ``body``, or None when it is not plain (see the module
    docstring); ``scale``: the precision's (multiply, divide) to epoch µs."""
    if "\\" in body or '"' in body:
        return None
    try:
        return _decode(body, now_us, scale, series_field)
    except (_NotPlain, pa.ArrowInvalid):
        return None


def _decode(body: str, now_us: int, scale: tuple[int, int], series_field: SeriesField) -> PlainBody:
    lines, numbers = _lines(body)
    keys, fields, stamps, has_time = _parts(lines)
    line_ts = _times(stamps, has_time, now_us, scale)
    keys_encoded = pc.dictionary_encode(keys)
    line_key = keys_encoded.indices.to_numpy()
    distinct_keys = keys_encoded.dictionary.to_pylist()
    # Each field of each line: its line, its name and its value text.
    items = pc.split_pattern(fields, ",")
    item_line = pc.list_parent_indices(items).to_numpy()
    pairs = pc.split_pattern(pc.list_flatten(items), "=", max_splits=1)
    if not np.all(pc.list_value_length(pairs).to_numpy() == 2):
        raise _NotPlain
    field_names = pc.list_element(pairs, 0)
    texts = pc.list_element(pairs, 1)
    if not (
        pc.all(pc.not_equal(field_names, "")).as_py() and pc.all(pc.not_equal(texts, "")).as_py()
    ):
        raise _NotPlain
    names_encoded = pc.dictionary_encode(field_names)
    field_index = names_encoded.indices.to_numpy().astype(np.int64)
    distinct_fields = names_encoded.dictionary.to_pylist()
    if item_line.size != len(lines):  # some line has several fields
        per_line = item_line * len(distinct_fields) + field_index
        if np.unique(per_line).size != per_line.size:
            raise _NotPlain  # a field given twice: the careful decoder keeps the last
    values = _numbers(texts)
    # The samples' series: one per (series key, field name) met in the body.
    combined = line_key[item_line].astype(np.int64) * len(distinct_fields) + field_index
    unique, row_key = np.unique(combined, return_inverse=True)
    names: list[str] = []
    labels: list[dict[str, str]] = []
    for pair in unique.tolist():
        key, field = divmod(pair, len(distinct_fields))
        found = series_field(distinct_keys[key], distinct_fields[field])
        if found is None:
            raise _NotPlain  # the careful decoder names why
        names.append(found[0])
        labels.append(found[1])
    samples = KeyedSamples(
        names, labels, [None] * len(names), row_key.astype(np.int64), line_ts[item_line], values
    )
    return PlainBody(samples, numbers[item_line], len(lines))
