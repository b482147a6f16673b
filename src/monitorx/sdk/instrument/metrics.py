"""The metric kinds of :class:`~monitorx.sdk.instrument.MemoryCollector`: counters,
gauges and histograms (timers are histograms in seconds), each with optional labels.

A family is declared once with its label names; ``family.labels(route="/predict")``
returns the child for those label values (created on first use, then cached), and a
family without label names is updated directly. Updates are thread-safe: each child
holds a lock around its few arithmetic operations, as prometheus_client does.

When the collector publishes events (``event_driven`` mode), every update also
hands an :class:`InstrumentEvent` to the collector's sink, which must not block.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "HistogramSnapshot",
    "InstrumentEvent",
    "MetricKind",
]

import bisect
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

# prometheus_client's default buckets, in seconds: latencies from 5 ms to 10 s.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MetricKind(StrEnum):
    """What a family counts; the values are Prometheus's ``# TYPE`` words."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class InstrumentEvent:
    """One update, as ``event_driven`` mode publishes it.

    ``value`` is the increment for a counter, the new value for a gauge and the
    observation for a histogram; ``timestamp`` is Unix seconds; ``unit`` is
    ``"seconds"`` for a timer's observations, else empty.
    """

    kind: MetricKind
    name: str
    labels: dict[str, str]
    value: float
    timestamp: float
    unit: str = ""


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """A histogram's state: cumulative counts per upper bound (the last is +Inf)."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


EventSink = Callable[[InstrumentEvent], None]


def check_name(name: str) -> str:
    """``name`` when it is a valid Prometheus metric name; else ValueError."""
    if not _NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    return name


def check_label_names(names: Sequence[str]) -> tuple[str, ...]:
    """The label names as a tuple, when each is valid and none repeats; else ValueError."""
    for label in names:
        if not _LABEL_NAME.match(label) or label.startswith("__") or label == "le":
            raise ValueError(f"invalid label name {label!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"repeated label names in {list(names)}")
    return tuple(names)


class _Child:
    """The state of one label combination; subclasses add the arithmetic."""

    __slots__ = ("_family", "_labels", "_lock")

    def __init__(self, family: _Family[_Child], labels: dict[str, str]) -> None:
        self._family = family
        self._labels = labels
        self._lock = threading.Lock()

    def _emit(self, value: float) -> None:
        family = self._family
        sink = family.sink
        if sink is not None:
            event = InstrumentEvent(
                family.kind, family.name, self._labels, value, time.time(), family.unit
            )
            sink(event)


C = TypeVar("C", bound=_Child)


class _Family(Generic[C]):
    """A named metric with label names, and its children by label values."""

    kind: MetricKind
    child_type: type[C]
    unit = ""

    def __init__(
        self, name: str, description: str, label_names: Sequence[str], sink: EventSink | None
    ) -> None:
        self.name = check_name(name)
        self.description = description
        self.label_names = check_label_names(label_names)
        self.sink = sink
        self._children: dict[tuple[str, ...], C] = {}
        self._lock = threading.Lock()
        self._unlabelled = self._child(()) if not self.label_names else None

    def _child(self, values: tuple[str, ...]) -> C:
        child = self._children.get(values)
        if child is None:
            with self._lock:
                child = self._children.get(values)
                if child is None:
                    labels = dict(zip(self.label_names, values, strict=True))
                    child = self._new_child(labels)
                    self._children[values] = child
        return child

    def _new_child(self, labels: dict[str, str]) -> C:
        return self.child_type(self, labels)  # type: ignore[arg-type]

    def labels(self, **labels: object) -> C:
        """The child for these label values (every label name, no other)."""
        if set(labels) != set(self.label_names):
            raise ValueError(
                f"{self.name} takes labels {list(self.label_names)}, got {list(labels)}"
            )
        return self._child(tuple(str(labels[name]) for name in self.label_names))

    def _direct(self) -> C:
        if self._unlabelled is None:
            raise ValueError(f"{self.name} has labels {list(self.label_names)}: use .labels(...)")
        return self._unlabelled

    def children(self) -> list[tuple[dict[str, str], C]]:
        """Every label combination seen so far, with its child."""
        with self._lock:
            items = list(self._children.values())
        return [(child._labels, child) for child in items]


class CounterChild(_Child):
    """A value that only goes up."""

    __slots__ = ("value",)

    def __init__(self, family: _Family[_Child], labels: dict[str, str]) -> None:
        super().__init__(family, labels)
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (>= 0; a negative amount is ValueError, as in Prometheus)."""
        if amount < 0:
            raise ValueError("a counter can only go up")
        with self._lock:
            self.value += amount
        self._emit(amount)


class GaugeChild(_Child):
    """A value that goes up and down."""

    __slots__ = ("value",)

    def __init__(self, family: _Family[_Child], labels: dict[str, str]) -> None:
        super().__init__(family, labels)
        self.value = 0.0

    def set(self, value: float) -> None:
        """Replace the value."""
        with self._lock:
            self.value = float(value)
        self._emit(self.value)

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (negative to subtract)."""
        with self._lock:
            self.value += amount
            value = self.value
        self._emit(value)

    def dec(self, amount: float = 1.0) -> None:
        """Subtract ``amount``."""
        self.inc(-amount)


class HistogramChild(_Child):
    """Observations counted into buckets by upper bound, with their sum and count."""

    __slots__ = ("_bounds", "_counts", "_sum")

    def __init__(self, family: _Family[_Child], labels: dict[str, str]) -> None:
        super().__init__(family, labels)
        self._bounds: tuple[float, ...] = family.buckets  # type: ignore[attr-defined]
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value`` in the first bucket whose upper bound is >= it."""
        index = bisect.bisect_left(self._bounds, value)
        with self._lock:
            self._counts[index] += 1
            self._sum += value
        self._emit(value)

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe the seconds the block took (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)

    def snapshot(self) -> HistogramSnapshot:
        """Cumulative bucket counts, sum and count, read together."""
        with self._lock:
            counts = list(self._counts)
            total = self._sum
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip(self._bounds, counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return HistogramSnapshot(tuple(cumulative), total, running)


class Counter(_Family[CounterChild]):
    """A family of counters: ``requests.inc()`` or ``requests.labels(code="200").inc()``."""

    kind = MetricKind.COUNTER
    child_type = CounterChild

    def inc(self, amount: float = 1.0) -> None:
        """Add to the counter of a family without labels."""
        self._direct().inc(amount)


class Gauge(_Family[GaugeChild]):
    """A family of gauges: ``queue_depth.set(12)``."""

    kind = MetricKind.GAUGE
    child_type = GaugeChild

    def set(self, value: float) -> None:
        """Set the gauge of a family without labels."""
        self._direct().set(value)

    def inc(self, amount: float = 1.0) -> None:
        """Add to the gauge of a family without labels."""
        self._direct().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        """Subtract from the gauge of a family without labels."""
        self._direct().dec(amount)


class Histogram(_Family[HistogramChild]):
    """A family of histograms with the same buckets: ``latency.observe(0.042)``.

    ``buckets`` are upper bounds (sorted, deduplicated); +Inf is added when absent.
    A timer is a histogram with ``unit="seconds"``.
    """

    kind = MetricKind.HISTOGRAM
    child_type = HistogramChild

    def __init__(
        self,
        name: str,
        description: str,
        label_names: Sequence[str],
        sink: EventSink | None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        unit: str = "",
    ) -> None:
        self.unit = unit
        bounds = sorted({float(b) for b in buckets})
        if not bounds or any(math.isnan(b) for b in bounds):
            raise ValueError("histogram buckets must be numbers, at least one")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        super().__init__(name, description, label_names, sink)

    def observe(self, value: float) -> None:
        """Observe ``value`` in a family without labels."""
        self._direct().observe(value)

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe the seconds the block took, in a family without labels."""
        with self._direct().time():
            yield
