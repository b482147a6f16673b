"""Custom metrics: how fast samples go in by every way, and how fast a group_by
answers.

    python bench/custom.py [--samples 1000000] [--batch-size 5000] [--connections 3]
                           [--runs 3] [--only http,line,otlp,groupby]

Each part on this machine, in one run:

- **http**: `POST /api/v1/metrics/custom` on a fresh `monitorx serve` (embedded
  DuckDB), ``--samples`` samples in JSON batches of ``--batch-size`` over
  ``--connections`` keep-alive connections from a separate process (bodies encoded
  before timing). Every request must answer 202 with every item accepted — i.e.
  validated and durable — and the server must count every sample afterwards.
  Samples/s end to end, and the batch latency's p50/p99. 200 series (10 metrics ×
  20 label sets of 3 labels).
- **line**: the same points as InfluxDB line protocol (one field per line), the same
  bodies to MonitorX's `POST /write` and to a fresh InfluxDB 1.x `POST /write`
  (Debian's ``influxd``, started here, its data in a temporary directory), from one
  writer (as Telegraf's influxdb output flushes) and from ``--connections``:
  points/s of each and the ratio. Both answer 204 once the points are stored.
- **otlp**: OTLP/HTTP protobuf `ExportMetricsServiceRequest`s of gauges (5,000 data
  points each) to `POST /v1/metrics`: data points/s.
- **groupby**: `GROUP BY` work alone, in process, on DuckDB: 1,000,000 points of
  one metric in 50 label sets over the last hour; `CustomMetrics.query` with
  ``group_by`` (one line per label set, 1-minute buckets, ``mean`` and ``p95``),
  from the in-memory hot tier and from the DuckDB file (hot tier off) — median of
  20 runs after 3 warm-ups.

The median of ``--runs`` runs is printed for the ingest parts, each on a fresh
server.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import LoadResult, encode_post, run_load
from _server import monitorx_server

METRICS = 10
LABEL_SETS = 20
REGIONS = ("eu", "us", "ap", "sa")


def _label_sets() -> list[dict[str, str]]:
    return [
        {"region": REGIONS[i % 4], "pod": f"pod-{i}", "model_id": f"model-{i % 5}"}
        for i in range(LABEL_SETS)
    ]


def sample_batches(samples: int, batch_size: int, seed: int = 15) -> list[list[dict[str, object]]]:
    """``samples`` samples over the last hour, 10 metrics × 20 label sets."""
    rng = np.random.default_rng(seed)
    now = time.time()
    labels = _label_sets()
    batches = []
    for start in range(0, samples, batch_size):
        n = min(batch_size, samples - start)
        values = rng.gamma(2.0, 10.0, n)
        ts = now - rng.uniform(1, 3500, n)
        batches.append(
            [
                {
                    "name": f"bench.metric_{(start + k) % METRICS}",
                    "value": float(values[k]),
                    "labels": labels[(start + k) // METRICS % LABEL_SETS],
                    "timestamp": float(ts[k]),
                }
                for k in range(n)
            ]
        )
    return batches


def line_bodies(batches: list[list[dict[str, object]]]) -> list[bytes]:
    """The same points as line protocol, nanosecond timestamps."""
    bodies = []
    for batch in batches:
        lines = []
        for s in batch:
            labels = s["labels"]
            assert isinstance(labels, dict)
            tags = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            ts_ns = int(float(s["timestamp"]) * 1e9)  # type: ignore[arg-type]
            lines.append(f"{s['name']},{tags} value={s['value']} {ts_ns}")
        bodies.append("\n".join(lines).encode())
    return bodies


def otlp_bodies(batches: list[list[dict[str, object]]]) -> list[bytes]:
    """The same points as OTLP gauges, one request per batch (protobuf)."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1.metrics_pb2 import NumberDataPoint

    bodies = []
    for batch in batches:
        request = ExportMetricsServiceRequest()
        resource = request.resource_metrics.add()
        resource.resource.attributes.append(
            KeyValue(key="service.name", value=AnyValue(string_value="bench"))
        )
        scope = resource.scope_metrics.add()
        by_name: dict[str, list[dict[str, object]]] = {}
        for s in batch:
            by_name.setdefault(str(s["name"]), []).append(s)
        for name, items in by_name.items():
            metric = scope.metrics.add()
            metric.name = name
            for s in items:
                labels = s["labels"]
                assert isinstance(labels, dict)
                point = NumberDataPoint(
                    time_unix_nano=int(float(s["timestamp"]) * 1e9),  # type: ignore[arg-type]
                    as_double=float(s["value"]),  # type: ignore[arg-type]
                    attributes=[
                        KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels.items()
                    ],
                )
                metric.gauge.data_points.append(point)
        bodies.append(request.SerializeToString())
    return bodies


def _load_in_child(
    url: str,
    requests: list[bytes],
    connections: int,
    expect: bytes,
    queue: multiprocessing.Queue[LoadResult],
) -> None:
    parsed = urlparse(url)
    queue.put(run_load(parsed.hostname or "", parsed.port or 80, requests, connections, expect))


def load(url: str, requests: list[bytes], connections: int, expect: bytes) -> LoadResult:
    """Run the load from a separate process."""
    queue: multiprocessing.Queue[LoadResult] = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_load_in_child, args=(url, requests, connections, expect, queue)
    )
    child.start()
    result = queue.get()
    child.join()
    if result.failures:
        raise SystemExit(f"{result.failures} requests did not answer {expect.decode()}")
    return result


def _post(path: str, body: bytes, content_type: str) -> bytes:
    return encode_post(path, body).replace(
        b"Content-Type: application/json", f"Content-Type: {content_type}".encode()
    )


def count_samples(url: str, name_count: int) -> int:
    """Every sample the server holds of the bench metrics, by `/metrics/query`."""
    total = 0
    now = time.time()
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(name_count):
            body = client.get(
                "/api/v1/metrics/query",
                params={
                    "metric": f"bench.metric_{i}",
                    "agg": "count",
                    "interval": "1d",
                    "start": now - 86_400,
                    "end": now + 60,
                },
            ).json()
            total += int(sum(p["value"] for s in body["series"] for p in s["points"]))
    return total


def pct_ms(values_s: list[float], q: float) -> float:
    return float(np.percentile(np.array(values_s) * 1000, q))


def bench_http(args: argparse.Namespace, batches: list[list[dict[str, object]]]) -> None:
    requests = [encode_post("/api/v1/metrics/custom", orjson.dumps(b)) for b in batches]
    rates, p50, p99 = [], [], []
    for _ in range(args.runs):
        with monitorx_server() as (url, _):
            result = load(url, requests, args.connections, b"HTTP/1.1 202")
            counted = count_samples(url, METRICS)
        if counted != args.samples:
            raise SystemExit(f"the server counts {counted:,} samples, {args.samples:,} were sent")
        rates.append(args.samples / result.seconds)
        p50.append(pct_ms(result.latencies_s, 50))
        p99.append(pct_ms(result.latencies_s, 99))
    print(
        f"http JSON, batches of {args.batch_size:,}: {statistics.median(rates):,.0f} samples/s "
        f"(runs {', '.join(f'{r:,.0f}' for r in rates)}); batch p50 "
        f"{statistics.median(p50):.1f} ms, p99 {statistics.median(p99):.1f} ms"
    )


def bench_line(args: argparse.Namespace, batches: list[list[dict[str, object]]]) -> None:
    """One writer (as Telegraf's influxdb output flushes) and ``--connections``."""
    for writers in sorted({1, args.connections}):
        _bench_line(args, batches, writers)


def _bench_line(
    args: argparse.Namespace, batches: list[list[dict[str, object]]], writers: int
) -> None:
    from influx_write import influxdb  # a fresh influxd of Debian's, started here

    bodies = line_bodies(batches)
    ours = [_post("/write?precision=ns", b, "text/plain") for b in bodies]
    rates: dict[str, list[float]] = {"monitorx": [], "influxdb": []}
    for _ in range(args.runs):
        with monitorx_server() as (url, _):
            result = load(url, ours, writers, b"HTTP/1.1 204")
            counted = count_samples(url, METRICS)
        if counted != args.samples:
            raise SystemExit(f"MonitorX counts {counted:,} points, {args.samples:,} were sent")
        rates["monitorx"].append(args.samples / result.seconds)
        with (
            tempfile.TemporaryDirectory(prefix="monitorx-bench-influxd-") as tmp,
            influxdb(None, Path(tmp)) as (influx_url, _),
        ):
            create = {"q": "CREATE DATABASE bench"}
            httpx.post(f"{influx_url}/query", params=create).raise_for_status()
            theirs = [_post("/write?db=bench&precision=ns", b, "text/plain") for b in bodies]
            result = load(influx_url, theirs, writers, b"HTTP/1.1 204")
        rates["influxdb"].append(args.samples / result.seconds)
    ours_rate = statistics.median(rates["monitorx"])
    theirs_rate = statistics.median(rates["influxdb"])
    print(
        f"line protocol, {args.batch_size:,} lines a body, {writers} writer(s): MonitorX "
        f"{ours_rate:,.0f} points/s, InfluxDB 1.x {theirs_rate:,.0f} points/s: "
        f"{ours_rate / theirs_rate:.2f}×"
    )


def bench_otlp(args: argparse.Namespace, batches: list[list[dict[str, object]]]) -> None:
    requests = [_post("/v1/metrics", b, "application/x-protobuf") for b in otlp_bodies(batches)]
    rates = []
    for _ in range(args.runs):
        with monitorx_server() as (url, _):
            result = load(url, requests, args.connections, b"HTTP/1.1 200")
            counted = count_samples(url, METRICS)
        if counted != args.samples:
            raise SystemExit(f"MonitorX counts {counted:,} points, {args.samples:,} were sent")
        rates.append(args.samples / result.seconds)
    print(
        f"OTLP/HTTP protobuf gauges, {args.batch_size:,} data points a request: "
        f"{statistics.median(rates):,.0f} data points/s"
    )


def _timed(run: Callable[[], object], repeat: int = 20) -> float:
    for _ in range(3):
        run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench_groupby(points: int = 1_000_000, label_sets: int = 50) -> None:
    from monitorx.core import FakeClock
    from monitorx.core.samples import SampleColumns
    from monitorx.core.timeparse import to_epoch_us
    from monitorx.store import DuckDBStorage, QueryAggregation
    from monitorx.store.lifecycle import DataLifecycle, RetentionPolicy
    from monitorx.store.samples.batch import KeyedSamples
    from monitorx.store.samples.catalog import SeriesCatalog
    from monitorx.store.samples.hot import SampleHotTier
    from monitorx.store.samples.service import CustomMetrics

    now = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(now - timedelta(hours=1, minutes=1))
    rng = np.random.default_rng(3)
    labels = [{"region": REGIONS[i % 4], "pod": f"pod-{i}"} for i in range(label_sets)]
    start_us = to_epoch_us(now - timedelta(hours=1))
    ts = np.sort(rng.integers(start_us, to_epoch_us(now), points))
    values = rng.gamma(2.0, 10.0, points)
    which = rng.integers(0, label_sets, points)

    async def run(hot: bool) -> dict[str, float]:
        with tempfile.TemporaryDirectory() as tmp:
            store = DuckDBStorage(str(Path(tmp) / "bench.duckdb"), clock=clock)
            await store.open()
            hot_tier = SampleHotTier(
                7200 * 1_000_000, 5_000_000 if hot else 0, to_epoch_us(clock.now())
            )
            lifecycle = DataLifecycle(store, RetentionPolicy(), clock)
            custom = CustomMetrics(store, SeriesCatalog(10_000), hot_tier, lifecycle, clock)
            for part in range(0, points, 100_000):
                columns = SampleColumns()
                for k in range(part, min(points, part + 100_000)):
                    columns.append("gpu.temp", float(values[k]), int(ts[k]), labels[which[k]], None)
                assert await custom.write(KeyedSamples.of(columns)) == []
            clock.set(now + timedelta(seconds=1))
            loop = asyncio.get_running_loop()
            out = {}
            for agg in (QueryAggregation.MEAN, QueryAggregation.P95):
                query = custom.query(
                    "gpu.temp", agg, 60, now - timedelta(hours=1), now, (), ("pod",)
                )
                result = await query
                assert len(result.series) == label_sets
                times = []
                for i in range(23):
                    started = time.perf_counter()
                    await custom.query(
                        "gpu.temp", agg, 60, now - timedelta(hours=1), now, (), ("pod",)
                    )
                    if i >= 3:
                        times.append(time.perf_counter() - started)
                out[agg.value] = statistics.median(times) * 1000
            del loop
            await store.close()
            return out

    for hot in (True, False):
        figures = asyncio.run(run(hot))
        where = "hot tier" if hot else "DuckDB file (hot tier off)"
        print(
            f"group_by pod over {points:,} points, {label_sets} label sets, 1-minute buckets, "
            f"{where}: mean {figures['mean']:.1f} ms, p95 {figures['p95']:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="http,line,otlp,groupby")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    batches = sample_batches(args.samples, args.batch_size)
    if "http" in parts:
        bench_http(args, batches)
    if "line" in parts:
        bench_line(args, batches)
    if "otlp" in parts:
        bench_otlp(args, batches)
    if "groupby" in parts:
        bench_groupby()


if __name__ == "__main__":
    main()
