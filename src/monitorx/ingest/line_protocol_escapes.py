"""The careful half of the line protocol parser: lines with backslashes or quotes.

Most lines a collector sends have neither, and `monitorx.ingest.line_protocol`
splits those with ``str.split``. A line with a backslash may escape a comma, space
or equals sign in its measurement, tag keys, tag values and field keys; a line with
a double quote has a string field, which may hold commas, spaces, equals signs,
escaped quotes and even newlines. Those lines come here and are scanned character
by character, with InfluxDB's rules (checked against ``influxd``):

- measurement, tag keys, tag values and field keys: ``\\,``, ``\\ `` and ``\\=``
  stand for the character; a backslash before anything else is kept as it is
  (``a\\\\b`` stays two backslashes, as in InfluxDB);
- string field values: ``\\"`` and ``\\\\`` stand for ``"`` and ``\\``; the value
  ends at the first unescaped quote.
"""

from __future__ import annotations

__all__ = ["SplitLine", "Unterminated", "split_escaped_line", "unescape"]

from dataclasses import dataclass

_ESCAPABLE = frozenset(", =")


class Unterminated(Exception):
    """The line ends inside a quoted string: its string field goes on in the next line."""


@dataclass(frozen=True, slots=True)
class SplitLine:
    """One line cut into its parts, unescaped. ``fields`` holds ``(key, raw value)``;
    a string field's value is given as ``None`` (strings are not stored)."""

    measurement: str
    tags: list[tuple[str, str]]
    fields: list[tuple[str, str | None]]
    timestamp: str


def unescape(text: str) -> str:
    """``\\,``, ``\\ `` and ``\\=`` as the characters they stand for."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in _ESCAPABLE:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _split_unescaped(text: str, sep: str) -> list[str]:
    """``text`` cut at each ``sep`` that no backslash escapes."""
    parts: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _partition_unescaped(text: str, sep: str) -> tuple[str, str] | None:
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == sep:
            return text[:i], text[i + 1 :]
        i += 1
    return None


def _key_end(line: str) -> int:
    """Where the series key (measurement and tags) ends: the first unescaped space."""
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == " ":
            return i
        i += 1
    return n


def _fields_end(line: str, start: int) -> tuple[int, list[tuple[int, int]]]:
    """Where the field set that begins at ``start`` ends (an unescaped space outside
    quotes), and the spans of its fields (split at unescaped commas outside quotes)."""
    spans: list[tuple[int, int]] = []
    i, n = start, len(line)
    field_start = start
    quoted = False
    while i < n:
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char == ",":
                spans.append((field_start, i))
                field_start = i + 1
            elif char == " ":
                break
        i += 1
    if quoted:
        raise Unterminated
    spans.append((field_start, min(i, n)))
    return i, spans


def _field(text: str) -> tuple[str, str | None]:
    parts = _partition_unescaped(text, "=")
    if parts is None:
        raise ValueError("missing field value")
    key, value = parts
    if not key:
        raise ValueError("missing field key")
    if not value:
        raise ValueError("missing field value")
    if value[0] == '"':
        if len(value) < 2 or value[-1] != '"':
            raise ValueError("invalid string field")
        return unescape(key), None
    return unescape(key), value


def split_escaped_line(line: str) -> SplitLine:
    """Cut a line that has backslashes or quotes into its parts.

    Raises `Unterminated` when a quoted string runs past the end of the line, and
    `ValueError` with InfluxDB's wording for a malformed line."""
    key_end = _key_end(line)
    key = line[:key_end]
    parts = _split_unescaped(key, ",")
    measurement = unescape(parts[0])
    if not measurement:
        raise ValueError("missing measurement")
    tags: list[tuple[str, str]] = []
    for part in parts[1:]:
        pair = _partition_unescaped(part, "=")
        if pair is None:
            raise ValueError("missing tag value")
        tag_key, tag_value = pair
        if not tag_key:
            raise ValueError("missing tag key")
        if not tag_value:
            raise ValueError("missing tag value")
        if _partition_unescaped(tag_value, "=") is not None:
            raise ValueError("invalid tag format")
        tags.append((unescape(tag_key), unescape(tag_value)))
    start = key_end
    while start < len(line) and line[start] == " ":
        start += 1
    if start >= len(line):
        raise ValueError("missing fields")
    end, spans = _fields_end(line, start)
    fields = [_field(line[a:b]) for a, b in spans]
    return SplitLine(measurement, tags, fields, line[end:].strip(" "))
