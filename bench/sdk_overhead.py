"""What the SDK costs on the caller's thread, beside prometheus_client and OpenTelemetry.

    python bench/sdk_overhead.py [--calls 1000000] [--runs 5] [--url http://127.0.0.1:8000]

Times ``--calls`` calls one by one with ``time.perf_counter_ns``, ``--runs`` times
over (the variants take turns, so that a change in the machine's load reaches
them alike), for each of:

    baseline             a plain function call (the timing loop's own cost)
    monitor_inference    the same function under ``@monitor_inference`` with the
                         default exporter sending to a real server (``monitorx
                         serve`` started here as a separate process, or ``--url``)
    track()              ``with track(model_id=...)`` around nothing
    prometheus_client    ``Histogram.observe(value)``
    opentelemetry        the SDK's ``histogram.record(value)`` (a MeterProvider
                         with an in-memory reader)

and ``monitorx.sdk.instrument`` in its three monitoring modes (``disabled``,
``direct``, ``event_driven`` publishing to the Redis at ``--redis-url``, left out
when none answers) beside prometheus_client's labelled counter,
and prints the median over the runs of each one's p50 and p99, and of those minus
the baseline's, which is the ns added per call. Then the ratio the SDK's target is
set by (issue 18): the decorator's added p50 over prometheus_client's
``Histogram.observe`` added p50, both from the same run; at most 1 is the target.
The exporter's counters are printed after a flush to show that the calls were
delivered (or dropped, counted) without the caller waiting for the network.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from array import array
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server

import monitorx


def percentiles(samples: array[int]) -> tuple[float, float, float]:
    """p50, p99 and the mean: the mean also holds the calls that waited for the GIL
    while the exporter's thread (or anything else) ran."""
    ordered = sorted(samples)
    return (
        float(ordered[len(ordered) // 2]),
        float(ordered[int(len(ordered) * 0.99)]),
        sum(ordered) / len(ordered),
    )


def time_calls(call: Callable[[], object], calls: int) -> array[int]:
    """Each call's duration in ns, timed one by one, with the GC paused."""
    samples = array("q", bytes(8 * calls))
    clock = perf_counter_ns
    for _ in range(min(calls, 10_000)):  # warm up caches and the exporter's thread
        call()
    gc.collect()
    gc.disable()
    try:
        for i in range(calls):
            started = clock()
            call()
            samples[i] = clock() - started
    finally:
        gc.enable()
    return samples


def opentelemetry_record() -> Callable[[], object]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    histogram = provider.get_meter("bench").create_histogram("latency", unit="ms")
    return lambda: histogram.record(1.5)


def prometheus_observe() -> Callable[[], object]:
    from prometheus_client import CollectorRegistry, Histogram

    histogram = Histogram("latency_seconds", "bench", registry=CollectorRegistry())
    return lambda: histogram.observe(0.0015)


def instrument_variants(redis_url: str) -> list[tuple[str, Callable[[], object]]]:
    """``monitorx.sdk.instrument`` in its three modes beside prometheus_client's
    labelled counter: a histogram observation and a labelled counter increment."""
    from prometheus_client import CollectorRegistry, Counter

    from monitorx.sdk.instrument import MemoryCollector, NullCollector, RedisEventPublisher

    disabled = NullCollector().histogram("latency_seconds", "bench")
    direct = MemoryCollector()
    direct_histogram = direct.histogram("latency_seconds", "bench")
    direct_counter = direct.counter("requests", "bench", labels=["route", "code"])
    prometheus_counter = Counter(
        "requests", "bench", ["route", "code"], registry=CollectorRegistry()
    )
    variants: list[tuple[str, Callable[[], object]]] = [
        ("instrument disabled: histogram.observe", lambda: disabled.observe(0.0015)),
        ("instrument direct: histogram.observe", lambda: direct_histogram.observe(0.0015)),
        (
            "instrument direct: counter.labels().inc()",
            lambda: direct_counter.labels(route="/predict", code="200").inc(),
        ),
        (
            "prometheus_client counter.labels().inc()",
            lambda: prometheus_counter.labels(route="/predict", code="200").inc(),
        ),
    ]
    try:
        import redis

        redis.Redis.from_url(redis_url).ping()
    except Exception as exc:  # no redis package, or no server: leave the mode out
        print(f"event_driven (Redis) left out: {exc}")
        return variants
    publisher = RedisEventPublisher(redis_url, "monitorx:bench")
    published = MemoryCollector(publisher).histogram("latency_seconds", "bench")
    variants.append(("instrument event_driven (Redis): observe", lambda: published.observe(0.0015)))
    return variants


DECORATOR = "monitor_inference"
BASELINE = "baseline (plain call)"
PROMETHEUS = "prometheus_client Histogram.observe"


def run(url: str, calls: int, runs: int, redis_url: str) -> None:
    exporter = monitorx.init(url=url, queue_size=100_000)

    def plain() -> None:
        return None

    decorated = monitorx.monitor_inference(model_id="bench-sdk")(plain)

    def tracked() -> None:
        with monitorx.track(model_id="bench-track"):
            pass

    variants: list[tuple[str, Callable[[], object]]] = [
        (BASELINE, plain),
        (DECORATOR, decorated),
        ("track()", tracked),
        (PROMETHEUS, prometheus_observe()),
        ("opentelemetry histogram.record", opentelemetry_record()),
        *instrument_variants(redis_url),
    ]
    per_run: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in variants}
    for _ in range(runs):
        for name, call in variants:
            per_run[name].append(percentiles(time_calls(call, calls)))
            if name in (DECORATOR, "track()"):
                monitorx.flush(timeout=60)  # the next variant starts with an empty queue
    results = {
        name: tuple(statistics.median(run[i] for run in samples) for i in range(3))
        for name, samples in per_run.items()
    }
    base50, base99, base_mean = results[BASELINE]
    print(f"{calls:,} calls each, {runs} runs; ns per call (timed one by one), median of the runs")
    print(
        f"{'':40s} {'p50':>8s} {'p99':>8s} {'mean':>8s} "
        f"{'added p50':>10s} {'added p99':>10s} {'added mean':>10s}"
    )
    for name, (p50, p99, mean) in results.items():
        print(
            f"{name:40s} {p50:8.0f} {p99:8.0f} {mean:8.0f} "
            f"{p50 - base50:10.0f} {p99 - base99:10.0f} {mean - base_mean:10.0f}"
        )

    def added(name: str, stat: int) -> tuple[float, list[float]]:
        pairs = zip(per_run[name], per_run[BASELINE], strict=True)
        runs_added = [run[stat] - base[stat] for run, base in pairs]
        return results[name][stat] - results[BASELINE][stat], runs_added

    for stat, label in ((0, "p50"), (2, "mean")):
        decorator, decorator_runs = added(DECORATOR, stat)
        observe, observe_runs = added(PROMETHEUS, stat)
        each = ", ".join(f"{d / o:.2f}" for d, o in zip(decorator_runs, observe_runs, strict=True))
        target = "the target: at most 1" if stat == 0 else "for information"
        print(
            f"decorator added / Histogram.observe added = {decorator:.0f} ns / {observe:.0f} ns"
            f" = {decorator / observe:.2f} at {label} ({target}; each run: {each})"
        )
    delivered = monitorx.flush(timeout=60)
    stats = exporter.stats
    print(
        f"exporter: recorded {stats.recorded:,}, delivered {stats.delivered:,}, "
        f"dropped {stats.dropped:,} (queue full), all delivered since the last flush: {delivered}"
    )
    monitorx.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="the medians are over these")
    parser.add_argument("--url", help="a running server; by default one is started")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if args.url:
        run(args.url, args.calls, args.runs, args.redis_url)
        return
    with monitorx_server() as (url, _):
        run(url, args.calls, args.runs, args.redis_url)


if __name__ == "__main__":
    main()
