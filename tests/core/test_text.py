"""The rule of stored text: which characters are refused, how the field is named, and
that the cheap look at a body's bytes never misses a string the rule refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitorx.core import FieldError, ValidationError
from monitorx.core.text import (
    check_json_text,
    check_text,
    find_bad_text,
    may_hold_bad_text,
    printable,
    text_problem,
)


@pytest.mark.parametrize(
    "text",
    ["", "fraud-v3", "a\tb", "line\nbreak", "windows\r\n", "é ü ß 中文 🙂", "\u00a0", "\ufffe"],
)
def test_ordinary_text_tabs_and_line_breaks_may_be_stored(text: str) -> None:
    assert text_problem(text) is None
    assert check_text(text, "name") == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a\x00b", "U+0000"),
        ("\x01", "U+0001"),
        ("bell\x07", "U+0007"),
        ("\x0b", "U+000B"),
        ("\x0c", "U+000C"),
        ("esc\x1b[31m", "U+001B"),
        ("\x1f", "U+001F"),
        ("del\x7f", "U+007F"),
        ("next line\x85", "U+0085"),
        ("\x9f", "U+009F"),
        ("\ud800", "lone surrogate"),
        ("x\udfff", "lone surrogate"),
    ],
)
def test_control_characters_and_lone_surrogates_are_refused_by_field(text: str, says: str) -> None:
    problem = text_problem(text)
    assert problem is not None and says in problem
    with pytest.raises(ValidationError) as raised:
        check_text(text, "tags.region")
    assert raised.value.errors[0].field == "tags.region"


def test_a_bad_string_is_found_by_its_path_in_a_decoded_body() -> None:
    body = [{"features": {"amount": 1.0, "country": "fr"}}, {"features": {"country": "a\x00"}}]
    found = find_bad_text(body)
    assert found is not None and found.field == "[1].features.country"
    key = find_bad_text({"config": {"headers": {"X-\x1b": "v"}}})
    assert key is not None and key.field == "config.headers.X-\\u001b"
    assert key.message.startswith("the key holds the control character U+001B")
    assert find_bad_text({"rows": [{"a": 1, "b": None, "c": ["ok", True]}]}) is None
    assert find_bad_text("\ud800") == FieldError("body", text_problem("\ud800") or "")


def test_printable_writes_forbidden_characters_as_escapes() -> None:
    assert printable("a\x00b\ud800é\t") == "a\\u0000b\\ud800é\t"


def test_a_body_with_a_refused_string_is_a_422_naming_it() -> None:
    body = json.dumps({"name": "ok", "tags": {"k": "a\x00b"}}).encode()
    with pytest.raises(ValidationError) as raised:
        check_json_text(body, json.loads(body))
    assert raised.value.errors[0].field == "tags.k"


CHARACTERS = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0, max_codepoint=0xA0),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.sampled_from(["\\", '"', "u", "\x7f", "\x85", "\U0001f600"]),
)
TEXT = st.text(CHARACTERS, max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=500)
@given(JSON_VALUES, st.booleans())
@example({"\x0c": None}, True)  # JSON's short escapes "\f" and "\b"
@example(["a\x08"], True)
def test_the_look_at_the_bytes_never_misses_a_refused_string(
    value: object, ascii_only: bool
) -> None:
    # Raw UTF-8 cannot hold a lone surrogate; "surrogatepass" writes what a careless
    # encoder would, which the standard library's parser reads back.
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if find_bad_text(json.loads(body)) is not None:
        assert may_hold_bad_text(body)


def test_the_look_at_the_bytes_passes_ordinary_bodies() -> None:
    ordinary = {"model_id": "m", "tags": {"city": "Zürich", "emoji": "🙂"}, "note": "a\tb\n"}
    assert not may_hold_bad_text(json.dumps(ordinary, ensure_ascii=False).encode())
    assert not may_hold_bad_text(json.dumps(ordinary).encode().replace(b"\\ud83d\\ude42", b""))
