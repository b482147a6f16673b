"""Compressed request bodies, opened without letting them grow past a limit.

OTLP exporters and Telegraf may gzip their bodies; Prometheus' remote_write always
sends snappy's block format. The body limit (413) must hold for what a body
becomes, not only for what was sent: a few kilobytes of gzip can inflate to
gigabytes. So gzip is inflated in steps that stop one byte past the limit, and a
snappy block's declared length (its first bytes) is checked before anything is
allocated.
"""

from __future__ import annotations

__all__ = ["gunzip", "open_body", "unsnappy"]

import zlib

import cramjam

from monitorx.core import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

# wbits for a gzip header and trailer (zlib's documented value: 16 + window bits).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body is over the {limit:,}-byte limit once decompressed", "body")


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body (several members in a row, as gzip allows) up to ``limit``
    bytes; past it `PayloadTooLarge`, not gzip `MalformedPayload`."""
    out = bytearray()
    rest = body
    while rest:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise MalformedPayload(f"body is not valid gzip: {exc}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise _too_large(limit)
        if not inflater.eof:
            raise MalformedPayload("body is not valid gzip: it ends early")
        rest = inflater.unused_data
    return bytes(out)


def _declared_length(body: bytes) -> int:
    """The uncompressed length a snappy block starts with (a little-endian varint)."""
    length = shift = 0
    for index, byte in enumerate(body[:5]):
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return length
        shift += 7
        if index == 4:
            break
    raise MalformedPayload("body is not snappy's block format: bad length header")


def unsnappy(body: bytes, limit: int) -> bytes:
    """Decompress a snappy block (not the framed format) of at most ``limit`` bytes."""
    if _declared_length(body) > limit:
        raise _too_large(limit)
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise MalformedPayload(f"body is not snappy's block format: {exc}") from None


def open_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as sent with ``Content-Encoding`` gzip or identity (or none), opened."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        if len(body) > limit:
            raise PayloadTooLarge(f"body is over the {limit:,}-byte limit", "body")
        return body
    if encoding in ("gzip", "x-gzip"):
        return gunzip(body, limit)
    raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; send gzip")
