"""The hand-over from the caller's thread to the exporter's: a deque, appended without a lock.

``@monitor_inference`` runs on the caller's thread for every call, so what it does
there is kept to two ``perf_counter_ns()`` reads, one tuple and one
``deque.append`` (atomic under the GIL): a *recording*

    (fields, started_ns, ended_ns, resource_usage)

where ``fields`` is a dict built once per decorated function (``model_id``, and
``model_type``, ``tags`` and ``error: true`` when they apply) and shared by every
call. The worker thread turns recordings into API.md's InferenceMetric dicts when
it takes them (:func:`metrics_from`); a plain metric dict (``track()``, a stream,
``Exporter.record``) goes through the same deque and is passed on as it is.

The caller checks ``len(ring) < ring.limit`` before appending. The worker moves
``limit`` so that this one comparison also catches what must not happen without
its lock: it is 0 before the worker's thread runs (and after shutdown, and in a
forked child), so the first record starts it; ``batch_size - 1`` while the worker
sleeps, so the record that completes a batch wakes it; ``queue_size`` while it
sends, so the ring stays bounded. Whatever fails the comparison calls
``ring.overflow(entry)``, the worker's slower path.

Timestamps. The caller reads only ``perf_counter_ns`` (CLOCK_MONOTONIC on Linux);
the worker adds one offset, ``time_ns() - perf_counter_ns()``, read when it takes
the batch (:func:`wall_offset_ns`). NTP slews both clocks alike, so the offset
moves only when the wall clock is stepped (``settimeofday``, a VM resumed): a
metric taken after a step, normally within ``flush_interval`` (0.2 s) of its
call, is dated with the new offset. Apart from that the timestamp is the call's
start within the offset's reading error: half the gap between the two
``perf_counter_ns`` reads around ``time_ns``, the shortest of up to three tries,
so 10 µs at most unless all three were interrupted. On platforms where
``perf_counter`` stops while the machine sleeps, a sleep between a call and its
batch shifts the timestamp by the time slept.
"""

from __future__ import annotations

__all__ = ["RecordRing", "Recording", "metrics_from", "wall_offset_ns"]

from collections import deque
from collections.abc import Callable, Iterable
from time import perf_counter_ns, time_ns
from typing import Any, TypeAlias

from monitorx.sdk.payloads import JSONObject

# (fields shared by every call, perf_counter_ns at the start, at the end, resource_usage)
Recording: TypeAlias = tuple[JSONObject, int, int, "dict[str, float] | None"]

# Two clock reads further apart than this were interrupted: read again.
_OFFSET_READ_GAP_NS = 20_000


class RecordRing(deque[Any]):
    """The deque recordings and metric dicts are appended to, with what callers check.

    ``limit``: append only while ``len(ring) < limit``, else call ``overflow(entry)``.
    ``usage``: the ``resource_usage`` a recording carries (None without a sampler).
    """

    __slots__ = ("limit", "overflow", "usage")

    def __init__(self, overflow: Callable[[Any], bool]) -> None:
        super().__init__()
        self.limit = 0
        self.overflow = overflow
        self.usage: dict[str, float] | None = None


def wall_offset_ns() -> int:
    """``time_ns() - perf_counter_ns()``, from two reads no more than 20 µs apart if possible."""
    best_gap, best_offset = -1, 0
    for _ in range(3):
        before = perf_counter_ns()
        wall = time_ns()
        after = perf_counter_ns()
        gap = after - before
        if best_gap < 0 or gap < best_gap:
            best_gap, best_offset = gap, wall - (before + after) // 2
        if gap <= _OFFSET_READ_GAP_NS:
            break
    return best_offset


def metrics_from(entries: Iterable[Recording | JSONObject]) -> list[JSONObject]:
    """InferenceMetric dicts for what was taken from the ring, in its order.

    Runs on the worker's thread: the dict each recording becomes is built here,
    not on the caller's.
    """
    offset = wall_offset_ns()
    metrics: list[JSONObject] = []
    append = metrics.append
    for entry in entries:
        if isinstance(entry, tuple):
            fields, started, ended, usage = entry
            metric = fields.copy()
            metric["latency"] = (ended - started) / 1e6
            metric["timestamp"] = (started + offset) / 1e9
            if usage:
                metric["resource_usage"] = usage
            append(metric)
        else:
            append(entry)
    return metrics
