"""InfluxDB line protocol in, samples out.

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

Each numeric field of a line is one sample (API.md): the field ``value`` is named
as the measurement, any other field ``f`` as ``<measurement>_<f>``; the tags are
its labels. Floats, integers (``12i``), unsigned integers (``12u``) and booleans
(``t``/``T``/``true``/``True``/``TRUE`` is 1, the same spellings of false 0) count;
string fields are ignored. A line without a timestamp takes the server's time.

Speed matters (a collector sends thousands of lines a request), so a line is cut
with ``str.split`` unless it has a backslash or a double quote, and a series key
(measurement and tags), which repeats from line to line, is parsed and checked
once per body. The lines that need it go through the careful scanner of
`monitorx.ingest.line_protocol_escapes`. A malformed line is reported with its
number and why, in InfluxDB's words, and the body's other lines still count: the
route stores them and answers 400 naming the bad ones (InfluxDB's partial write).
"""

from __future__ import annotations

__all__ = ["PRECISIONS", "DecodedLines", "LineError", "decode_lines"]

import functools
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from monitorx.core.samples import SampleColumns, sample_name_from
from monitorx.ingest.line_protocol_columns import decode_plain_body
from monitorx.ingest.line_protocol_escapes import Unterminated, split_escaped_line
from monitorx.ingest.sample_rules import (
    MAX_TS_US,
    label_problem,
    name_problem,
)
from monitorx.store.samples.batch import I64, KeyedSamples

# Timestamp precision → (multiply, divide) to epoch microseconds. /write (v1) takes
# n, u, ms, s, m, h; /api/v2/write takes ns, us, ms, s. Both spellings are here.
PRECISIONS: dict[str, tuple[int, int]] = {
    "n": (1, 1000),
    "ns": (1, 1000),
    "u": (1, 1),
    "us": (1, 1),
    "µ": (1, 1),
    "ms": (1000, 1),
    "s": (1_000_000, 1),
    "m": (60_000_000, 1),
    "h": (3_600_000_000, 1),
}
_BOOLEANS = {
    "t": 1.0, "T": 1.0, "true": 1.0, "True": 1.0, "TRUE": 1.0,
    "f": 0.0, "F": 0.0, "false": 0.0, "False": 0.0, "FALSE": 0.0,
}  # fmt: skip
_FLOAT_START = frozenset("0123456789-.")
_FLOAT_END = frozenset("0123456789.")
_MAX_FLOAT = sys.float_info.max
_INT_LIMITS = {"i": (-(2**63), 2**63 - 1), "u": (0, 2**64 - 1)}
# A line quoted in an error message is cut to this many characters.
_QUOTED_LINE = 200


@dataclass(frozen=True, slots=True)
class LineError:
    """Why the line numbered ``line`` (from 1) was refused; ``text`` is the line, or
    "" for a well-formed line the store refused."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        if not self.text:
            return f"line {self.line}: {self.reason}"
        text = self.text if len(self.text) <= _QUOTED_LINE else self.text[:_QUOTED_LINE] + "…"
        return f"line {self.line}: unable to parse '{text}': {self.reason}"


@dataclass(frozen=True, slots=True)
class DecodedLines:
    """A body's samples, the line each sample came from, and the refused lines."""

    samples: KeyedSamples
    line_of_row: I64
    errors: list[LineError]
    points: int
    """Well-formed lines (InfluxDB's points), string-only ones included."""


class _LineRefused(Exception):
    """A malformed line; ``taken``: the lines after it that its string field took."""

    def __init__(self, reason: str, taken: int = 0) -> None:
        super().__init__(reason)
        self.taken = taken


def _number(text: str) -> float:
    """A field value that is not a string, as InfluxDB reads it."""
    boolean = _BOOLEANS.get(text)
    if boolean is not None:
        return boolean
    suffix = text[-1]
    if suffix == "i" or suffix == "u":
        digits = text[:-1]
        bare = digits[1:] if digits[:1] == "-" and suffix == "i" else digits
        if not (bare.isdigit() and bare.isascii()):
            raise _LineRefused("invalid number")
        number = int(digits)
        low, high = _INT_LIMITS[suffix]
        if not low <= number <= high:
            raise _LineRefused(f"integer {digits} is out of range")
        return float(number)
    if text[0] not in _FLOAT_START or "_" in text:
        raise _LineRefused("invalid number")
    try:
        value = float(text)
    except ValueError:
        raise _LineRefused("invalid number") from None
    if not math.isfinite(value):
        raise _LineRefused(f"{text} is out of range")
    return value


def _timestamp_us(text: str, scale: tuple[int, int]) -> int:
    bare = text[1:] if text[:1] == "-" else text
    if not (bare.isdigit() and bare.isascii()):
        raise _LineRefused("bad timestamp")
    multiply, divide = scale
    ts_us = int(text) * multiply // divide
    if ts_us < 0:
        raise _LineRefused("timestamp before 1970")
    if ts_us >= MAX_TS_US:
        raise _LineRefused("timestamp after 9999-12-31")
    return ts_us


def _field_name(measurement: str, key: str) -> str:
    """The sample name of field ``key`` of ``measurement``, or why there is none."""
    name = sample_name_from(measurement if key == "value" else f"{measurement}_{key}")
    problem = name_problem(name)
    if problem:
        raise _LineRefused(problem)
    return name


def _labels(tags: list[tuple[str, str]]) -> dict[str, str]:
    labels = dict(tags)
    problem = label_problem(labels)
    if problem:
        raise _LineRefused(problem)
    return labels


class _Series:
    """A series key parsed once a body: its measurement, its labels (one dict that
    all its samples share) and the sample names of the fields seen with it."""

    __slots__ = ("labels", "measurement", "names")

    def __init__(self, measurement: str, labels: dict[str, str]) -> None:
        self.measurement = measurement
        self.labels = labels
        self.names: dict[str, str] = {}

    def name(self, key: str) -> str:
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = _field_name(self.measurement, key)
        return name


@functools.lru_cache(maxsize=16_384)
def _plain_series(key: str) -> _Series:
    """The series of a key without escapes. Kept across bodies: a collector sends
    the same series keys request after request (a `_Series` is never changed but
    for the sample names it adds, and its labels dict is never written to)."""
    parts = key.split(",")
    measurement = parts[0]
    if not measurement:
        raise _LineRefused("missing measurement")
    tags = []
    for part in parts[1:]:
        tag_key, equals, tag_value = part.partition("=")
        if not equals or not tag_value:
            raise _LineRefused("missing tag value")
        if not tag_key:
            raise _LineRefused("missing tag key")
        if "=" in tag_value:
            raise _LineRefused("invalid tag format")
        tags.append((tag_key, tag_value))
    return _Series(measurement, _labels(tags))


def _series_field(key: str, field_key: str) -> tuple[str, dict[str, str]] | None:
    """The sample name and labels of a field of a plain series key, or None when
    the line would be refused (the careful decoder then names why)."""
    try:
        series = _plain_series(key)
        return series.name(field_key), series.labels
    except _LineRefused:
        return None


def _escaped_line(
    line: str, lines: Iterator[str], scale: tuple[int, int], now_us: int
) -> tuple[_Series, list[tuple[str, float]], int, int]:
    """A line with backslashes or quotes (and the lines its string field goes on in):
    its series, numeric fields, time, and how many more lines it took."""
    taken = 0
    while True:
        try:
            split = split_escaped_line(line)
            break
        except Unterminated:
            more = next(lines, None)
            if more is None:
                raise _LineRefused("unbalanced quotes", taken) from None
            taken += 1
            line = f"{line}\n{more.rstrip(chr(13))}"
        except ValueError as malformed:
            raise _LineRefused(str(malformed), taken) from None
    try:
        series = _Series(split.measurement, _labels(split.tags))
        ts_us = _timestamp_us(split.timestamp, scale) if split.timestamp else now_us
        fields = list({k: _number(v) for k, v in split.fields if v is not None}.items())
    except _LineRefused as refused:
        refused.taken = taken
        raise
    return series, fields, ts_us, taken


def _cut(line: str) -> tuple[str, str, str | None]:
    """Series key, field set and timestamp of a line without escapes."""
    parts = [p for p in line.split(" ") if p]
    if len(parts) == 2:
        return parts[0], parts[1], None
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise _LineRefused("missing fields" if len(parts) < 2 else "invalid field format")


def decode_lines(body: str, now_us: int, precision: str = "n") -> DecodedLines:
    """Every line of ``body``: its samples, or why it was refused.

    ``precision`` is a key of `PRECISIONS` (the route checks it); a line without a
    timestamp is at ``now_us``. A plain body is decoded as a whole, in Arrow
    (`monitorx.ingest.line_protocol_columns`); any other line by line."""
    scale = PRECISIONS[precision]
    plain = decode_plain_body(body, now_us, scale, _series_field)
    if plain is not None:
        return DecodedLines(plain.samples, plain.line_of_row, [], plain.points)
    return _decode_line_by_line(body, now_us, scale)


def _decode_line_by_line(body: str, now_us: int, scale: tuple[int, int]) -> DecodedLines:
    samples = SampleColumns()
    errors: list[LineError] = []
    points = 0
    names, values, times = samples.name, samples.value, samples.ts_us
    add_name, add_value = names.append, values.append
    labels_of, units = samples.labels, samples.unit
    line_of_row: list[int] = []
    add_time, add_labels, add_line = times.append, labels_of.append, line_of_row.append
    multiply, divide = scale
    # Most bodies have no backslash or quote at all: then no line needs looking at.
    careful = "\\" in body or '"' in body
    lines = iter(body.split("\n"))
    number = 0
    for raw in lines:
        number += 1
        line = raw.strip(" \r")
        if not line or line[0] == "#":
            continue
        first, line_no = len(names), number
        try:
            if careful and ("\\" in line or '"' in line):
                series, fields, ts_us, taken = _escaped_line(line, lines, scale, now_us)
                for key, value in fields:
                    add_name(series.name(key))
                    add_value(value)
                number += taken
            else:
                parts = line.split(" ")
                if len(parts) == 3 and "  " not in line:
                    key, field_text, ts_text = parts
                    if ts_text.isascii() and ts_text.isdigit():
                        ts_us = int(ts_text) * multiply // divide
                        if ts_us >= MAX_TS_US:
                            raise _LineRefused("timestamp after 9999-12-31")
                    else:
                        ts_us = _timestamp_us(ts_text, scale)
                elif len(parts) == 2:
                    key, field_text = parts
                    ts_us = now_us
                else:
                    key, field_text, stamp = _cut(line)
                    ts_us = now_us if stamp is None else _timestamp_us(stamp, scale)
                series = _plain_series(key)  # cached across bodies
                field_names = series.names
                for item in field_text.split(","):
                    field_key, _, text = item.partition("=")
                    if not text or not field_key:
                        raise _LineRefused(
                            "missing field value" if field_key else "missing field key"
                        )
                    if text[-1] in _FLOAT_END and text[0] in _FLOAT_START and "_" not in text:
                        try:
                            value = float(text)
                        except ValueError:
                            raise _LineRefused("invalid number") from None
                        if not -_MAX_FLOAT <= value <= _MAX_FLOAT:
                            raise _LineRefused(f"{text} is out of range")
                    else:
                        value = _number(text)
                    add_name(field_names.get(field_key) or series.name(field_key))
                    add_value(value)
                if len(names) - first > 1:
                    _keep_last_of_each_field(names, values, first)
        except _LineRefused as refused:
            del names[first:], values[first:]
            errors.append(LineError(line_no, line, str(refused)))
            number += refused.taken
            continue
        points += 1
        count = len(names) - first
        if count == 1:
            add_time(ts_us)
            add_labels(series.labels)
            units.append(None)
            add_line(line_no)
            continue
        times.extend([ts_us] * count)
        labels_of.extend([series.labels] * count)
        units.extend([None] * count)
        line_of_row.extend([line_no] * count)
    return DecodedLines(KeyedSamples.of(samples), np.asarray(line_of_row, np.int64), errors, points)


def _keep_last_of_each_field(names: list[str], values: list[float], first: int) -> None:
    """A field given twice in a line counts once, with its last value (as in InfluxDB)."""
    if len(set(names[first:])) == len(names) - first:
        return
    last = dict(zip(names[first:], values[first:], strict=True))
    del names[first:], values[first:]
    names.extend(last)
    values.extend(last.values())
