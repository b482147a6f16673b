"""The storage issue's workload on every backend, beside a plain InfluxDB 1.x.

    python bench/storage.py [--backends duckdb,postgres,influx,influx-direct]
                            [--points 1000000] [--batch-size 5000] [--writers 4]
                            [--runs 20] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Workload: 1,000,000 points — 20 models × 50,000 timestamps one second apart,
ending now (13.9 hours) — each with latency, an error flag and GPU memory. For
each target, on a fresh store, in one run:

- write: every batch (``--batch-size`` points) handed to the store by ``--writers``
  concurrent writers and acknowledged as durable; points/s from the first batch to
  the last acknowledgement. MonitorX targets get Arrow batches through
  `Storage.write_metrics` (what the server does after decoding a request); the
  reference gets pre-encoded line-protocol bodies POSTed to ``/write?precision=s``
  (InfluxData's advice: 5,000–10,000 lines a request), so neither pays for
  encoding inside the timing;
- p95 per model over the last hour (MonitorX: `window_stats`; InfluxQL:
  ``SELECT percentile(latency, 95) … GROUP BY model_id``) and 1-minute mean
  buckets of one model over 6 hours (MonitorX: `aggregate`; InfluxQL:
  ``GROUP BY time(1m)``): median and p95 of ``--runs`` runs after 2 warm-ups;
- bytes on disk once the writes are done (and ``--settle-s`` seconds later).

PostgreSQL is the server on 127.0.0.1:5432 (a fresh schema, dropped after); the
InfluxDB targets share one ``influxd`` started here (tests/influxd.py), each in
its own database. Everything runs on this machine, so servers and benchmark share
its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.influxd import InfluxProcess, start_influxd

from monitorx.core import MetricName, SystemClock
from monitorx.store import METRIC_BATCH_SCHEMA, Aggregation, Storage, open_storage

MODELS = 20
S = 1_000_000


def workload(points: int, batch_size: int, now_us: int) -> list[pa.Table]:
    """Batches in time order, each holding consecutive seconds of all 20 models."""
    rng = np.random.default_rng(42)
    per_model = points // MODELS
    ts = np.repeat(now_us - (per_model - np.arange(per_model)) * S, MODELS)
    models = np.tile([f"model-{m:02d}" for m in range(MODELS)], per_model)
    n = len(ts)
    table = pa.Table.from_arrays(
        [
            pa.array(models),
            pa.nulls(n, pa.string()),
            pa.array([f"r{i}" for i in range(n)]),
            pa.array(ts, pa.timestamp("us")),
            pa.array(rng.lognormal(3.0, 0.5, n)),
            pa.nulls(n, pa.float64()),
            pa.nulls(n, pa.float64()),
            pa.array(rng.random(n) < 0.02),
            pa.array(np.round(rng.uniform(8000, 16000, n), 1)),
            pa.nulls(n, pa.float64()),
            pa.nulls(n, pa.float64()),
            pa.nulls(n, pa.float64()),
            pa.nulls(n, pa.string()),
        ],
        schema=METRIC_BATCH_SCHEMA,
    )
    return [table.slice(i, batch_size) for i in range(0, n, batch_size)]


def line_bodies(batches: list[pa.Table]) -> list[bytes]:
    """The same points as plain line protocol, second precision, model as a tag."""
    bodies = []
    for batch in batches:
        models = batch.column("model_id").to_pylist()
        seconds = (batch.column("ts").cast(pa.int64()).to_numpy() // S).tolist()
        latency = batch.column("latency").to_pylist()
        error = batch.column("error").to_pylist()
        gpu = batch.column("gpu_memory_mb").to_pylist()
        bodies.append(
            "\n".join(
                f"inference,model_id={m} latency={lat!r},error={'t' if e else 'f'},"
                f"gpu_memory_mb={g!r} {t}"
                for m, lat, e, g, t in zip(models, latency, error, gpu, seconds, strict=True)
            ).encode()
        )
    return bodies


async def drive(
    items: list[object], writers: int, send: Callable[[object], Awaitable[None]]
) -> float:
    """Send every item with ``writers`` concurrent senders; return the seconds taken."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def writer() -> None:
        while not queue.empty():
            await send(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started


async def timed(runs: int, query: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median and p95 in ms of ``runs`` runs, after 2 warm-ups."""
    for _ in range(2):
        await query()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await query()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), float(np.percentile(samples, 95))


def dir_bytes(*paths: Path) -> int:
    return sum(f.stat().st_size for p in paths if p.exists() for f in p.rglob("*") if f.is_file())


class Target:
    """One store under test: how to open it, write, query and size it."""

    def __init__(
        self, name: str, args: argparse.Namespace, influx: InfluxProcess | None, workdir: Path
    ) -> None:
        self.name = name
        self.args = args
        self.influx = influx
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True)
        self.database = f"bench_{uuid.uuid4().hex[:8]}"
        self.store: Storage | None = None

    async def open(self) -> None:
        if self.name == "influx-direct":
            assert self.influx is not None
            self.http = httpx.AsyncClient(base_url=self.influx.url, timeout=120)
            await self.http.post("/query", params={"q": f'CREATE DATABASE "{self.database}"'})
            return
        if self.name == "duckdb":
            url = f"duckdb:///{self.workdir / 'monitorx.duckdb'}"
        elif self.name == "postgres":
            import psycopg

            with psycopg.connect(self.args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.database}"')
            url = f"{self.args.postgres}?schema={self.database}"
        else:
            assert self.influx is not None
            url = f"influxdb://{self.influx.url.removeprefix('http://')}/{self.database}"
        self.store = open_storage(url, clock=SystemClock(), data_dir=self.workdir)
        await self.store.open()

    async def write(self, batches: list[pa.Table], bodies: list[bytes]) -> float:
        if self.store is None:
            params = {"db": self.database, "precision": "s"}

            async def post(body: object) -> None:
                answer = await self.http.post("/write", params=params, content=body)  # type: ignore[arg-type]
                answer.raise_for_status()

            return await drive(list(bodies), self.args.writers, post)
        store = self.store

        async def write(batch: object) -> None:
            await store.write_metrics(batch)  # type: ignore[arg-type]

        return await drive(list(batches), self.args.writers, write)

    async def p95_last_hour(self, now: datetime) -> object:
        if self.store is None:
            return await self._influxql(
                "SELECT percentile(latency, 95) FROM inference "
                f"WHERE time >= '{(now - timedelta(hours=1)).isoformat()}' GROUP BY model_id"
            )
        return await self.store.window_stats(now - timedelta(hours=1), now)

    async def minute_means(self, now: datetime) -> object:
        if self.store is None:
            return await self._influxql(
                "SELECT mean(latency) FROM inference WHERE model_id = 'model-07' "
                f"AND time >= '{(now - timedelta(hours=6)).isoformat()}' "
                "GROUP BY time(1m) fill(none)"
            )
        return await self.store.aggregate(
            "model-07", MetricName.LATENCY, Aggregation.MEAN, 60, now - timedelta(hours=6), now
        )

    async def _influxql(self, query: str) -> object:
        answer = await self.http.get("/query", params={"db": self.database, "q": query})
        answer.raise_for_status()
        return answer.json()

    async def disk_bytes(self) -> int:
        if self.name == "duckdb":
            return dir_bytes(self.workdir)
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.args.postgres) as conn:
                row = conn.execute(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'r'",
                    [self.database],
                ).fetchone()
            return int(row[0]) if row else 0
        assert self.influx is not None
        root = self.influx.log_path.parent
        return dir_bytes(root / "data" / self.database, root / "wal" / self.database) + dir_bytes(
            self.workdir
        )

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
        else:
            await self.http.aclose()
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{self.database}" CASCADE')


async def bench(args: argparse.Namespace) -> None:
    names = args.backends.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="monitorx-bench-storage-"))
    influx = start_influxd(workdir / "influxd") if any("influx" in n for n in names) else None
    now = datetime.now(UTC).replace(microsecond=0)
    batches = workload(args.points, args.batch_size, int(now.timestamp()) * S)
    bodies = line_bodies(batches) if "influx-direct" in names else []
    print(f"{args.points:,} points, {len(batches)} batches of {args.batch_size}", end=", ")
    print(f"{args.writers} writers; queries after {args.settle_s:g} s of quiet")
    print(
        f"{'target':<14}{'write pts/s':>13}{'p95/model 1h':>22}{'1m means 6h':>22}{'disk MB':>10}"
    )
    try:
        for name in names:
            target = Target(name, args, influx, workdir)
            await target.open()
            try:
                seconds = await target.write(batches, bodies)
                # Let background work (DuckDB's move from its log, InfluxDB's cache
                # snapshot) finish, so the queries are timed on their own.
                await asyncio.sleep(args.settle_s)
                p95 = await timed(args.runs, lambda t=target: t.p95_last_hour(now))
                means = await timed(args.runs, lambda t=target: t.minute_means(now))
                size = await target.disk_bytes()
            finally:
                await target.close()
            print(
                f"{name:<14}{args.points / seconds:>13,.0f}"
                f"{p95[0]:>11.1f} / {p95[1]:>6.1f} ms{means[0]:>11.1f} / {means[1]:>6.1f} ms"
                f"{size / 1e6:>10.1f}",
                flush=True,
            )
    finally:
        if influx is not None:
            influx.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("(query columns: median / p95 of the runs)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="duckdb,postgres,influx,influx-direct")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--settle-s", type=float, default=5.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
