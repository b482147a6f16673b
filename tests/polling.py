"""Polling a running server until something it does in the background shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    read: Callable[[], T], holds: Callable[[T], bool], timeout_s: float = 15, poll_s: float = 0.02
) -> T:
    """Call ``read`` until ``holds`` is true of its value or ``timeout_s`` passes;
    return the last value (the caller asserts on it, so a failure shows the value)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if holds(value) or time.monotonic() > deadline:
            return value
        time.sleep(poll_s)
