"""Compressed bodies are opened within the body limit: a gzip bomb is refused as too
large after inflating one byte past the limit, never inflated whole."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest

from monitorx.core import MalformedPayload, PayloadTooLarge, UnsupportedMediaType
from monitorx.ingest.content_encoding import gunzip, open_body


def test_gzip_and_identity_bodies_open_to_the_same_bytes() -> None:
    body = b"m value=1\n" * 1000
    assert open_body(gzip.compress(body), "gzip", len(body)) == body
    assert open_body(body, None, len(body)) == body
    assert open_body(body, "identity", len(body)) == body


def test_several_gzip_members_in_a_row_open_as_one_body() -> None:
    assert gunzip(gzip.compress(b"a") + gzip.compress(b"b"), 10) == b"ab"


def test_a_gzip_bomb_is_too_large_without_being_inflated() -> None:
    bomb = gzip.compress(b"\0" * 100_000_000, compresslevel=9)
    assert len(bomb) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge, match="10,485,760-byte limit once decompressed"):
            gunzip(bomb, 10 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


@pytest.mark.parametrize("limit", [999, 1000])
def test_the_limit_holds_to_the_byte(limit: int) -> None:
    body = gzip.compress(b"x" * 1000)
    if limit < 1000:
        with pytest.raises(PayloadTooLarge):
            gunzip(body, limit)
    else:
        assert len(gunzip(body, limit)) == 1000


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"x" * 100)[:-6]])
def test_a_body_that_is_not_gzip_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload, match="not valid gzip"):
        gunzip(body, 10_000)


def test_an_identity_body_past_the_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        open_body(b"x" * 11, "identity", 10)


def test_another_content_encoding_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match="'br'"):
        open_body(b"x", "br", 10)
