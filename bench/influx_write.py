"""Write and read speed of the InfluxDB backend against a local ``influxd``.

    python bench/influx_write.py [--points 1000000] [--batch-sizes 5000,100000]
                                 [--callers 1,4] [--url http://127.0.0.1:8086]

Without ``--url`` each phase starts a fresh ``influxd`` (tests/influxd.py) in a
temporary directory on this machine, so the server competes with the benchmark for
the same cores, as it would on a one-box deployment. For each batch size and number
of concurrent callers it prints:

- encode: line-protocol encoding alone (points/s), and the bytes a point takes;
- InfluxDB alone: the same bodies posted straight to ``/write``, as many in flight
  as the store sends (the ceiling for the store), and influxd's CPU per point;
- write_metrics: ``InfluxStorage.write_metrics`` end to end, each caller awaiting
  its batches one after another, every batch acknowledged (points/s); InfluxDB
  must then hold every point;
- reads: ``read_metrics_table`` of everything, ``window_stats`` over everything,
  and a p95 aggregate of one model (1-minute buckets).

The points are 20 models' metrics at distinct microseconds over the last hour, with
the optional fields present on some of them (as tests/store/conformance does). The
load average is printed before and after: other work on the machine moves these
figures a lot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.influxd import start_influxd

from monitorx.core import MetricName
from monitorx.store import METRIC_BATCH_SCHEMA, Aggregation
from monitorx.store.influx import storage as storage_module
from monitorx.store.influx.layout import NanoCounter, metric_lines
from monitorx.store.influx.lines import bodies
from monitorx.store.influx.storage import InfluxStorage

MODELS = 20
Figures = dict[str, float]


def batches(points: int, batch_size: int, seed: int = 7) -> list[pa.Table]:
    rng = np.random.default_rng(seed)
    now_us = int(time.time() * 1_000_000)
    tables = []
    for first in range(0, points, batch_size):
        n = min(batch_size, points - first)
        index = np.arange(first, first + n)

        def maybe(values: np.ndarray, share: float) -> pa.Array:
            return pa.array(values, pa.float64(), mask=rng.random(values.size) >= share)

        tables.append(
            pa.Table.from_arrays(
                [
                    pa.array([f"model-{i % MODELS:02d}" for i in index]),
                    pa.array(["llm"] * n),
                    pa.array([f"req-{i}" for i in index]),
                    pa.array(now_us - 3_600_000_000 + index * 3, pa.timestamp("us")),
                    pa.array(rng.lognormal(3.0, 0.5, n)),
                    maybe(rng.gamma(4.0, 50.0, n), 0.6),
                    maybe(rng.random(n) * 0.2, 0.5),
                    pa.array(rng.random(n) < 0.01),
                    maybe(rng.random(n) * 24_000, 0.4),
                    maybe(rng.random(n) * 100, 0.35),
                    maybe(rng.random(n) * 100, 0.8),
                    maybe(rng.random(n) * 16_000, 0.15),
                    pa.array(['{"region":"eu"}' if i % 3 else None for i in index]),
                ],
                schema=METRIC_BATCH_SCHEMA,
            )
        )
    return tables


def _cpu_s(pid: int) -> float:
    """CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _post_all(base_url: str, database: str, payloads: list[bytes]) -> None:
    """InfluxDB alone: post encoded bodies, as many in flight as the store sends."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        await client.post("/query", data={"q": f'CREATE DATABASE "{database}"'})
        in_flight = asyncio.Semaphore(storage_module._WRITE_CONCURRENCY)

        async def post(body: bytes) -> None:
            async with in_flight:
                answer = await client.post(
                    "/write", params={"db": database, "precision": "n"}, content=body
                )
                answer.raise_for_status()

        await asyncio.gather(*(post(b) for b in payloads))


async def _write(store: InfluxStorage, tables: list[pa.Table], callers: int) -> None:
    """``callers`` concurrent writers, each awaiting its batches one after another."""

    async def caller(mine: list[pa.Table]) -> None:
        for table in mine:
            await store.write_metrics(table)

    await asyncio.gather(*(caller(tables[i::callers]) for i in range(callers)))


async def run(url: str | None, points: int, batch_size: int, callers: int, tmp: Path) -> Figures:
    tables = batches(points, batch_size)
    started = time.perf_counter()
    encoded = [metric_lines(t, "bench", NanoCounter(0)) for t in tables]
    encode_s = time.perf_counter() - started
    payloads = [b for lines in encoded for b in bodies(lines, storage_module.LINES_PER_BODY)]
    figures: Figures = {
        "batch_size": batch_size,
        "callers": callers,
        "encode_points_per_s": points / encode_s,
        "line_protocol_bytes_per_point": sum(map(len, payloads)) / points,
    }
    # Each phase on a fresh server: compactions of one do not slow the next.
    with influxdb(url, tmp / f"alone-{batch_size}") as (base_url, pid):
        cpu = _cpu_s(pid) if pid else 0.0
        started = time.perf_counter()
        await _post_all(base_url, f"alone_{uuid.uuid4().hex[:8]}", payloads)
        figures["influxdb_alone_points_per_s"] = points / (time.perf_counter() - started)
        if pid:
            figures["influxd_cpu_us_per_point"] = (_cpu_s(pid) - cpu) / points * 1e6
    with influxdb(url, tmp / f"store-{batch_size}") as (base_url, _):
        database = f"bench_{uuid.uuid4().hex[:8]}"
        store = InfluxStorage(
            f"influxdb://{base_url.split('://', 1)[1]}/{database}",
            "bench",
            side_path=tmp / f"{database}.duckdb",
        )
        await store.open()
        try:
            started = time.perf_counter()
            await _write(store, tables, callers)
            figures["write_points_per_s"] = points / (time.perf_counter() - started)
            await _reads(store, points, figures)
        finally:
            await store.close()
    print(
        f"batch {batch_size:>7,} x{callers}: encode {figures['encode_points_per_s']:>9,.0f}/s, "
        f"InfluxDB alone {figures['influxdb_alone_points_per_s']:>8,.0f}/s, "
        f"write_metrics {figures['write_points_per_s']:>8,.0f}/s; "
        f"read all {figures['read_table_s']:.1f} s, window_stats "
        f"{figures['window_stats_s']:.1f} s, p95 of one model {figures['p95_one_model_s']:.2f} s",
        flush=True,
    )
    return figures


async def _reads(store: InfluxStorage, points: int, figures: Figures) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    end = datetime.now(UTC) + timedelta(hours=1)
    started = time.perf_counter()
    stored = (await store.read_metrics_table(start, end)).num_rows
    figures["read_table_s"] = time.perf_counter() - started
    if stored != points:
        raise SystemExit(f"InfluxDB holds {stored} points, not {points}")
    started = time.perf_counter()
    await store.window_stats(start, end)
    figures["window_stats_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await store.aggregate("model-00", MetricName.LATENCY, Aggregation.P95, 60, start, end)
    figures["p95_one_model_s"] = time.perf_counter() - started


@contextmanager
def influxdb(url: str | None, data_dir: Path) -> Iterator[tuple[str, int | None]]:
    """The server to use: ``url`` as given, or a fresh ``influxd`` (and its pid)."""
    if url:
        yield url.rstrip("/"), None
        return
    server = start_influxd(data_dir)
    try:
        yield server.url, server.process.pid
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch-sizes", default="5000,100000")
    parser.add_argument("--callers", default="1", help="concurrent writers, e.g. 1,4")
    parser.add_argument("--url", help="a running InfluxDB (default: start influxd here)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="monitorx-bench-") as tmp:
        figures = [
            asyncio.run(run(args.url, args.points, int(size), int(callers), Path(tmp)))
            for size in args.batch_sizes.split(",")
            for callers in args.callers.split(",")
        ]
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
