"""MemoryCollector and NullCollector: what a service counts, and reads back."""

from __future__ import annotations

import math
import threading

import pytest

from monitorx.sdk.instrument import (
    InstrumentEvent,
    MemoryCollector,
    MetricKind,
    NullCollector,
)


def test_counters_add_up_per_label_combination() -> None:
    collector = MemoryCollector()
    requests = collector.counter("requests", "Requests served", labels=["route", "code"])
    requests.labels(route="/predict", code="200").inc()
    requests.labels(route="/predict", code="200").inc(2)
    requests.labels(route="/predict", code=500).inc()  # values become strings
    assert collector.value("requests", route="/predict", code="200") == 3.0
    assert collector.value("requests", route="/predict", code="500") == 1.0


def test_a_counter_refuses_to_go_down() -> None:
    errors = MemoryCollector().counter("errors")
    with pytest.raises(ValueError, match="only go up"):
        errors.inc(-1)


def test_gauges_set_inc_and_dec() -> None:
    collector = MemoryCollector()
    depth = collector.gauge("queue_depth")
    depth.set(10)
    depth.inc(5)
    depth.dec(2)
    assert collector.value("queue_depth") == 13.0


def test_histograms_count_into_the_configured_buckets() -> None:
    collector = MemoryCollector()
    sizes = collector.histogram("batch_size", buckets=[10, 1, 100])  # sorted for us
    for value in (0.5, 1, 5, 10, 50, 1000):
        sizes.observe(value)
    snapshot = collector.histogram_snapshot("batch_size")
    # Upper bounds are inclusive (le), counts cumulative, +Inf last.
    assert snapshot.buckets == ((1.0, 2), (10.0, 4), (100.0, 5), (math.inf, 6))
    assert (snapshot.count, snapshot.sum) == (6, 1066.5)


def test_timers_observe_seconds_also_when_the_block_raises() -> None:
    collector = MemoryCollector()
    timer = collector.timer("predict_seconds", labels=["model"], buckets=[0.5, 5])
    with timer.labels(model="a").time():
        pass
    with pytest.raises(KeyError), timer.labels(model="a").time():
        raise KeyError("boom")
    snapshot = collector.histogram_snapshot("predict_seconds", model="a")
    assert snapshot.count == 2
    assert snapshot.buckets[0] == (0.5, 2)
    assert 0 <= snapshot.sum < 0.5


def test_labels_must_match_the_declaration() -> None:
    requests = MemoryCollector().counter("requests", labels=["route"])
    with pytest.raises(ValueError, match="takes labels"):
        requests.labels(path="/x")
    with pytest.raises(ValueError, match="has labels"):
        requests.inc()  # a labelled family is updated through its children


@pytest.mark.parametrize("name", ["1st", "has-dash", "", "sp ace"])
def test_invalid_metric_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        MemoryCollector().counter(name)


def test_declaring_again_returns_the_same_family_or_refuses_a_different_one() -> None:
    collector = MemoryCollector()
    first = collector.counter("requests", labels=["route"])
    assert collector.counter("requests", labels=["route"]) is first
    with pytest.raises(ValueError, match="already a counter"):
        collector.gauge("requests")
    with pytest.raises(ValueError, match="already a counter"):
        collector.counter("requests", labels=["code"])


def test_updates_from_8_threads_are_all_counted() -> None:
    collector = MemoryCollector()
    hits = collector.counter("hits", labels=["thread"])
    total = collector.counter("total")
    latency = collector.histogram("latency", buckets=[1.0])

    def work(n: int) -> None:
        for _ in range(10_000):
            hits.labels(thread=n % 2).inc()
            total.inc()
            latency.observe(0.5)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collector.value("total") == 80_000
    assert collector.value("hits", thread="0") + collector.value("hits", thread="1") == 80_000
    assert collector.histogram_snapshot("latency").count == 80_000


def test_a_sink_receives_every_update_as_an_event() -> None:
    events: list[InstrumentEvent] = []
    collector = MemoryCollector(sink=events.append)
    collector.counter("requests", labels=["route"]).labels(route="/p").inc(2)
    collector.gauge("depth").set(7)
    collector.timer("t_seconds").observe(0.25)
    assert [(e.kind, e.name, e.labels, e.value, e.unit) for e in events] == [
        (MetricKind.COUNTER, "requests", {"route": "/p"}, 2.0, ""),
        (MetricKind.GAUGE, "depth", {}, 7.0, ""),
        (MetricKind.HISTOGRAM, "t_seconds", {}, 0.25, "seconds"),
    ]


def test_the_null_collector_does_nothing_and_stores_nothing() -> None:
    collector = NullCollector()
    requests = collector.counter("requests", labels=["route"])
    requests.labels(route="/p").inc()
    collector.gauge("g").set(3)
    with collector.timer("t").time():
        pass
    collector.histogram("h").observe(1.0)
    assert requests is collector.gauge("other")  # one shared no-op object
    assert not hasattr(collector, "value")
