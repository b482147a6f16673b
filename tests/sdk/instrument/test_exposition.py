"""Prometheus text exposition, read back with prometheus_client's own parser."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from monitorx.sdk.instrument import MemoryCollector, to_prometheus_text


def parsed(
    collector: MemoryCollector,
) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    families: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(to_prometheus_text(collector)):
        samples = families.setdefault(f"{family.type}:{family.name}", {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families


def test_counters_gauges_and_histograms_parse_back_to_their_values() -> None:
    collector = MemoryCollector()
    requests = collector.counter("requests_total", "Requests served", labels=["route"])
    requests.labels(route="/predict").inc(3)
    requests.labels(route="/health").inc()
    collector.gauge("queue_depth", "Waiting requests").set(4.5)
    latency = collector.timer("latency_seconds", "Time to answer", buckets=[0.1, 1.0])
    latency.observe(0.05)
    latency.observe(0.5)
    latency.observe(3.0)

    families = parsed(collector)
    assert families["counter:requests"] == {
        ("requests_total", (("route", "/predict"),)): 3.0,
        ("requests_total", (("route", "/health"),)): 1.0,
    }
    assert families["gauge:queue_depth"] == {("queue_depth", ()): 4.5}
    histogram = families["histogram:latency_seconds"]
    assert histogram[("latency_seconds_bucket", (("le", "0.1"),))] == 1
    assert histogram[("latency_seconds_bucket", (("le", "1.0"),))] == 2
    assert histogram[("latency_seconds_bucket", (("le", "+Inf"),))] == 3
    assert histogram[("latency_seconds_count", ())] == 3
    assert math.isclose(histogram[("latency_seconds_sum", ())], 3.55)


def test_label_values_and_help_text_are_escaped() -> None:
    collector = MemoryCollector()
    odd = 'a "quoted" back\\slash\nnewline'
    collector.counter("odd", "Help with \\ and\na newline", labels=["v"]).labels(v=odd).inc()
    families = list(text_string_to_metric_families(to_prometheus_text(collector)))
    assert families[0].documentation == "Help with \\ and\na newline"
    assert families[0].samples[0].labels == {"v": odd}


def test_an_empty_collector_exposes_nothing() -> None:
    assert to_prometheus_text(MemoryCollector()) == ""
