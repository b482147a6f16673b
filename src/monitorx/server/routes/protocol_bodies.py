"""What the routes of the standard ways in (OTLP, line protocol, remote_write) share:
the server's time as epoch µs, the media type of a request, and decoding a large
body off the event loop."""

from __future__ import annotations

__all__ = ["OFF_LOOP_BYTES", "decode_off_loop", "media_type", "now_us"]

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from monitorx.core import Clock
from monitorx.core.timeparse import to_epoch_us

T = TypeVar("T")

# Bodies from this size are decoded in a worker thread: a 5,000-line body takes
# 10–30 ms of parsing, which would stall every other request on the loop.
OFF_LOOP_BYTES = 64 * 1024


def now_us(clock: Clock) -> int:
    return to_epoch_us(clock.now())


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def decode_off_loop(size: int, decode: Callable[[], T]) -> T:
    """``decode()``, in a worker thread when the body is ``size`` ≥ `OFF_LOOP_BYTES`."""
    if size >= OFF_LOOP_BYTES:
        return await run_in_threadpool(decode)
    return decode()
