"""A bounded first-in-first-out buffer that drops its oldest items when full."""

from __future__ import annotations

__all__ = ["MetricBuffer"]

import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class MetricBuffer(Generic[T]):
    """Holds writes that could not be delivered, oldest first, at most ``maxlen``.

    When full, adding an item evicts the oldest one and counts it in ``dropped``:
    the newest data is usually the most useful after an outage. Thread-safe.

        >>> buffer = MetricBuffer[int](maxlen=2)
        >>> buffer.extend([1, 2, 3])
        >>> buffer.take(10), buffer.dropped
        ([2, 3], 1)
    """

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError("buffer_size must be >= 1")
        self.maxlen = maxlen
        self._items: deque[T] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """How many items were evicted because the buffer was full."""
        return self._dropped

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: T) -> None:
        """Add one item at the back, evicting the oldest when full."""
        with self._lock:
            if len(self._items) == self.maxlen:
                self._dropped += 1
            self._items.append(item)

    def extend(self, items: Iterable[T]) -> None:
        """Add items at the back in order, evicting the oldest as needed."""
        with self._lock:
            for item in items:
                if len(self._items) == self.maxlen:
                    self._dropped += 1
                self._items.append(item)

    def take(self, max_items: int) -> list[T]:
        """Remove and return up to ``max_items`` of the oldest items."""
        with self._lock:
            count = min(max_items, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def put_back(self, items: list[T]) -> None:
        """Return items taken but not delivered to the front, in their order.

        Whatever no longer fits (newer items arrived meanwhile) is dropped from the
        oldest end and counted, just as :meth:`append` would.
        """
        with self._lock:
            room = self.maxlen - len(self._items)
            keep = items[len(items) - room :] if room < len(items) else items
            self._dropped += len(items) - len(keep)
            self._items.extendleft(reversed(keep))
