"""Collectors: where a service declares its metrics and reads them back.

    collector = MemoryCollector()
    requests = collector.counter("requests", "Requests served", labels=["route"])
    latency = collector.timer("request_seconds", "Time to answer", buckets=[0.01, 0.1, 1])
    requests.labels(route="/predict").inc()
    with latency.time():
        ...
    collector.value("requests", route="/predict")        # 1.0
    collector.histogram_snapshot("request_seconds").count         # 1

:class:`MemoryCollector` keeps everything in memory (``direct`` mode) and, given a
``sink``, also hands every update to it as an event (``event_driven`` mode).
:class:`NullCollector` (``disabled`` mode) hands out one shared no-op metric: a call
on it does nothing and stores nothing.
"""

from __future__ import annotations

__all__ = ["Collector", "MemoryCollector", "NullCollector"]

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, Self, TypeVar

from monitorx.sdk.instrument.metrics import (
    DEFAULT_BUCKETS,
    Counter,
    EventSink,
    Gauge,
    Histogram,
    HistogramSnapshot,
    MetricKind,
    _Family,
)

F = TypeVar("F", bound=_Family[Any])


class Collector(Protocol):
    """What every mode's collector offers (``monitorx.sdk.instrument.create_collector``)."""

    def counter(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Counter:
        """The counter family ``name``, declared on first call."""
        ...

    def gauge(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Gauge:
        """The gauge family ``name``, declared on first call."""
        ...

    def histogram(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The histogram family ``name``, declared on first call."""
        ...

    def timer(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """A histogram of durations in seconds; ``with timer.time(): ...``."""
        ...


class MemoryCollector:
    """Counters, gauges, histograms and timers kept in memory, queryable at any time.

    Declaring a name again returns the family declared first when kind and labels
    match, and is ValueError otherwise. ``sink`` receives every update as an
    :class:`~monitorx.sdk.instrument.metrics.InstrumentEvent` (it must not block).
    """

    def __init__(self, sink: EventSink | None = None) -> None:
        self.sink = sink
        self._families: dict[str, _Family[Any]] = {}
        self._lock = threading.Lock()

    def _declare(self, kind: type[F], name: str, labels: Sequence[str], make: Any) -> F:
        with self._lock:
            family = self._families.get(name)
            if family is None:
                family = make()
                self._families[name] = family
        if not isinstance(family, kind) or family.label_names != tuple(labels):
            raise ValueError(
                f"{name} is already a {family.kind} with labels {list(family.label_names)}"
            )
        return family

    def counter(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Counter:
        """The counter family ``name`` (Prometheus exposes it as ``<name>_total``)."""
        return self._declare(
            Counter, name, labels, lambda: Counter(name, description, labels, self.sink)
        )

    def gauge(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Gauge:
        """The gauge family ``name``."""
        return self._declare(
            Gauge, name, labels, lambda: Gauge(name, description, labels, self.sink)
        )

    def histogram(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The histogram family ``name`` with these bucket upper bounds."""
        return self._histogram(name, description, labels, buckets, unit="")

    def _histogram(
        self,
        name: str,
        description: str,
        labels: Sequence[str],
        buckets: Sequence[float],
        unit: str,
    ) -> Histogram:
        return self._declare(
            Histogram,
            name,
            labels,
            lambda: Histogram(name, description, labels, self.sink, buckets, unit),
        )

    def timer(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """A histogram of durations in seconds: ``with timer.time(): ...``."""
        return self._histogram(name, description, labels, buckets, unit="seconds")

    def families(self) -> list[_Family[Any]]:
        """Every family, in the order declared."""
        with self._lock:
            return list(self._families.values())

    def _find(self, name: str, labels: dict[str, object]) -> Any:
        family = self._families.get(name)
        if family is None:
            raise KeyError(name)
        return family.labels(**labels) if family.label_names else family._direct()

    def value(self, name: str, **labels: object) -> float:
        """The current value of a counter or gauge (KeyError when never declared)."""
        child = self._find(name, labels)
        if child._family.kind is MetricKind.HISTOGRAM:
            raise ValueError(f"{name} is a histogram: use histogram_snapshot()")
        return float(child.value)

    def histogram_snapshot(self, name: str, **labels: object) -> HistogramSnapshot:
        """A histogram's (or timer's) buckets, sum and count."""
        child = self._find(name, labels)
        if child._family.kind is not MetricKind.HISTOGRAM:
            raise ValueError(f"{name} is a {child._family.kind}")
        snapshot: HistogramSnapshot = child.snapshot()
        return snapshot


class _NoopMetric:
    """Every metric operation, doing nothing: what ``disabled`` mode hands out."""

    def labels(self, **labels: object) -> Self:
        return self

    def inc(self, amount: float = 1.0) -> None:
        pass

    def dec(self, amount: float = 1.0) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float) -> None:
        pass

    @contextmanager
    def time(self) -> Iterator[None]:
        yield


_NOOP: Any = _NoopMetric()


class NullCollector:
    """``disabled`` mode: declares nothing, stores nothing, every call is a no-op."""

    def counter(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Counter:
        """The shared no-op metric."""
        noop: Counter = _NOOP
        return noop

    def gauge(self, name: str, description: str = "", labels: Sequence[str] = ()) -> Gauge:
        """The shared no-op metric."""
        noop: Gauge = _NOOP
        return noop

    def histogram(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The shared no-op metric."""
        noop: Histogram = _NOOP
        return noop

    def timer(
        self,
        name: str,
        description: str = "",
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The shared no-op metric."""
        noop: Histogram = _NOOP
        return noop
