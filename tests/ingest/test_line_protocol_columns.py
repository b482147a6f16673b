"""The whole-body (Arrow) decoding of plain line protocol keeps exactly what the
line-by-line decoder keeps, and hands a body it cannot read plainly to it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorx.ingest.line_protocol import PRECISIONS, _decode_line_by_line, decode_lines
from monitorx.ingest.line_protocol_columns import decode_plain_body

NOW_US = 1_767_225_600_000_000

_word = st.sampled_from(["cpu", "gpu", "queue", "disk-io", "2xx", "lat.ms", "温度"])
_tag = st.tuples(
    st.sampled_from(["host", "region", "gpu", "zone"]), st.sampled_from(["a", "eu", "0", "x-y"])
)
_number = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: f"{i}i"),
    st.integers(0, 2**64 - 1).map(lambda i: f"{i}u"),
    st.sampled_from(["t", "F", "true", "FALSE", "01", ".5", "5.", "1E-2", "-0"]),
)
_field = st.tuples(st.sampled_from(["value", "used", "temp", "free"]), _number)
_stamp = st.one_of(st.none(), st.integers(0, 2**62).map(str))


@st.composite
def _line(draw: st.DrawFn) -> str:
    tags = dict(draw(st.lists(_tag, max_size=3)))
    key = ",".join([draw(_word), *(f"{k}={v}" for k, v in tags.items())])
    fields = dict(draw(st.lists(_field, min_size=1, max_size=4)))
    stamp = draw(_stamp)
    text = f"{key} {','.join(f'{k}={v}' for k, v in fields.items())}"
    return text if stamp is None else f"{text} {stamp}"


_plain_body = st.lists(
    st.one_of(_line(), st.sampled_from(["", "# comment", "  "])), min_size=1, max_size=30
).map(lambda lines: "\r\n".join(lines) if len(lines) % 2 else "\n".join(lines))


def _same(body: str, precision: str) -> None:
    scale = PRECISIONS[precision]
    careful = _decode_line_by_line(body, NOW_US, scale)
    plain = decode_plain_body(body, NOW_US, scale, lambda k, f: _series_field(k, f, precision))
    if plain is None:
        return
    assert careful.errors == []
    assert plain.samples.columns() == careful.samples.columns()
    assert plain.line_of_row.tolist() == careful.line_of_row.tolist()
    assert plain.points == careful.points


def _series_field(key: str, field: str, precision: str) -> tuple[str, dict[str, str]] | None:
    """decode_lines' own callback, reached through a one-line body."""
    decoded = decode_lines(f"{key} {field}=1", NOW_US, precision)
    if decoded.errors:
        return None
    rows = decoded.samples.columns()
    return rows.name[0], rows.labels[0]


@settings(max_examples=300, deadline=None)
@given(body=_plain_body, precision=st.sampled_from(sorted(PRECISIONS)))
def test_a_plain_body_decodes_as_the_careful_decoder_does(body: str, precision: str) -> None:
    _same(body, precision)


@settings(max_examples=300, deadline=None)
@given(
    body=_plain_body,
    at=st.integers(0, 10_000),
    fault=st.sampled_from([" ", ",", "=", "  ", "x", "-", "+", "_", "i", "e", "\t", "\u00b2"]),
)
def test_a_body_with_a_fault_anywhere_is_kept_as_the_careful_decoder_keeps_it(
    body: str, at: int, fault: str
) -> None:
    at %= len(body) + 1
    _same(body[:at] + fault + body[at:], "n")


@pytest.mark.parametrize(
    "body",
    [
        "cpu,host=a usage=1.5,idle=98i,up=t 1700000000000000000\n"
        "cpu,host=b usage=2 1700000000000000001",
        "m value=1\n# a comment\n\nm value=2 5\r\n",
    ],
)
def test_a_collectors_body_takes_the_plain_path(body: str) -> None:
    plain = decode_plain_body(body, NOW_US, PRECISIONS["n"], lambda k, f: _series_field(k, f, "n"))
    assert plain is not None
    _same(body, "n")


@pytest.mark.parametrize(
    "body",
    [
        'm s="text",value=1',  # a string field
        r"m,host=a\ b value=1",  # an escape
        "m value=1,value=2",  # a field given twice: the last counts
        "m value=1 -5",  # refused: the careful decoder names it
        "m value=nan",
    ],
)
def test_what_is_not_plain_goes_line_by_line(body: str) -> None:
    assert (
        decode_plain_body(body, NOW_US, PRECISIONS["n"], lambda k, f: _series_field(k, f, "n"))
        is None
    )
