"""A JSON body's nesting depth, measured from its bytes without parsing them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorx.ingest.json_depth import MAX_JSON_DEPTH, json_depth, nests_deeper_than


def parsed_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(parsed_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(parsed_depth, value), default=0)
    return 0


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"12", 0),
        (b'"[[[{"', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        # Closing brackets in a string must not hide the nesting after them.
        (b'["]]]]]]]]", [[[[[]]]]]]', 6),
        (b'["\\"]]]]", [[[]]]]', 4),  # an escaped quote does not end the string
        (b'["\\\\", [[]]]', 3),  # an escaped backslash does not escape the quote
        (b'["\\\\\\"[[[[", []]', 2),
        (b"[" * 10_000 + b"]" * 10_000, 10_000),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 10_000),
    ],
)
def test_depth_counts_nested_arrays_and_objects_outside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth
    assert nests_deeper_than(body, depth - 1) if depth else not nests_deeper_than(body, 0)
    assert not nests_deeper_than(body, depth)


def test_the_limit_is_64_levels() -> None:
    assert MAX_JSON_DEPTH == 64
    assert not nests_deeper_than(b"[" * 64 + b"]" * 64)
    assert nests_deeper_than(b"[" * 65 + b"]" * 65)


TEXT = st.text(st.sampled_from(list('[]{}"\\/u0aé\n')) | st.characters(), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=500)
@given(VALUES, st.booleans())
def test_depth_equals_the_parsed_depth_of_any_json(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert json_depth(body) == parsed_depth(value)
