"""Ingest throughput of 1, 2, 3 replicas on one PostgreSQL and Redis, and a soak.

    python bench/scale.py [--replicas 1,2,3] [--seconds 20] [--batch-size 5000]
                          [--connections 6] [--ingest-workers 0] [--soak 600]
                          [--soak-rate 10000] [--sample-s 10]
                          [--postgres-url URL] [--redis-url URL]

Starts a PostgreSQL of its own (initdb in a temporary directory, tests/own_postgres.py)
and a ``redis-server`` of its own unless ``--postgres-url`` / ``--redis-url`` name
servers to use (a fresh schema is made there and dropped afterwards). For each
number of replicas it starts that many ``monitorx serve`` processes on the same
schema and Redis (auth off), then drives them from a separate process over raw
keep-alive sockets (bench/_rawhttp.py's way: bodies encoded before timing), the
``--connections`` spread round robin over the replicas, each posting JSON batches
of ``--batch-size`` inference metrics as fast as they are answered for
``--seconds``. It prints per phase:

- metrics/s acknowledged (a batch counts when answered 202 with every item
  accepted), p50/p99 of the batch request latency, failed batches; PostgreSQL
  must then hold exactly the acknowledged rows;
- CPU, in cores (CPU seconds per second of the phase), of each replica (with its
  decoder workers), of the PostgreSQL processes, of Redis, of the load client, and
  how busy the whole machine was: what the figure is limited by.

Then ``--soak SECONDS`` (0: none) runs the largest cluster at a fixed
``--soak-rate`` metrics/s and samples every replica's RSS every ``--sample-s``
seconds: it prints the series and each replica's slope (least squares, MiB/min),
a leak's signature.

Every figure depends on the machine: the replicas, PostgreSQL, Redis and the load
client share its cores, and anything else running moves the figures; the load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import orjson
import psutil
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from _rawhttp import encode_post
from tests.own_postgres import OwnPostgres
from tests.redis_peer import start_redis_server
from tests.system.cluster import Cluster, replica_cluster

from monitorx.store.postgres.connection import parse_postgres_url

MODELS = 20
BODIES = 16  # distinct bodies, sent over and over (PostgreSQL keeps every row)
MIB = 1024 * 1024


def batch_bodies(batch_size: int, seed: int = 11) -> list[bytes]:
    """``BODIES`` JSON arrays of ``batch_size`` metrics of 20 models, last hour."""
    rng = np.random.default_rng(seed)
    now = time.time()
    bodies = []
    for b in range(BODIES):
        ts = now - rng.uniform(0, 3540, batch_size)
        latency = rng.lognormal(3.0, 0.5, batch_size)
        items = [
            {
                "model_id": f"model-{(b * batch_size + k) % MODELS}",
                "latency": float(latency[k]),
                "error": bool(k % 100 == 0),
                "resource_usage": {"gpu_memory_mb": 8000.0 + k % 50, "cpu_percent": 41.5},
                "tags": {"region": "eu"},
                "timestamp": float(ts[k]),
            }
            for k in range(batch_size)
        ]
        bodies.append(orjson.dumps(items))
    return bodies


# ---- the load client: a separate process, raw sockets ----


@dataclass
class LoadFigures:
    batches: int = 0
    failures: int = 0
    latencies_s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_s: float = 0.0


async def _connection(
    address: tuple[str, int],
    requests: list[bytes],
    deadline: float,
    interval_s: float,
    offset: int,
    figures: LoadFigures,
    start_delay_s: float = 0.0,
) -> None:
    """Post ``requests`` cyclically until ``deadline``; with ``interval_s`` > 0, one
    every ``interval_s`` (a fixed rate) from ``start_delay_s`` on, else as fast as
    answers come."""
    reader, writer = await asyncio.open_connection(*address)
    next_at = time.perf_counter() + start_delay_s
    try:
        k = offset
        while time.perf_counter() < deadline:
            if interval_s:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval_s
            started = time.perf_counter()
            writer.write(requests[k % len(requests)])
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            figures.latencies_s.append(time.perf_counter() - started)
            # Every item accepted, none rejected: anything else is a failure.
            if head.startswith(b"HTTP/1.1 202") and b'"rejected":[]' in body:
                figures.batches += 1
            else:
                figures.failures += 1
            k += 1
    finally:
        writer.close()


def _load_in_child(
    urls: list[str],
    requests: list[bytes],
    connections: int,
    seconds: float,
    rate_batches_s: float,
    queue: multiprocessing.Queue[LoadFigures],
) -> None:
    figures = LoadFigures()
    addresses = [(urlparse(u).hostname or "", urlparse(u).port or 80) for u in urls]
    interval_s = connections / rate_batches_s if rate_batches_s else 0.0

    async def main() -> None:
        started = time.perf_counter()
        deadline = started + seconds
        # At a fixed rate the connections take turns, evenly spaced, not in bursts.
        await asyncio.gather(
            *(
                _connection(
                    addresses[c % len(addresses)],
                    requests,
                    deadline,
                    interval_s,
                    c,
                    figures,
                    interval_s * c / connections,
                )
                for c in range(connections)
            )
        )
        figures.seconds = time.perf_counter() - started

    cpu_before = time.process_time()
    asyncio.run(main())
    figures.cpu_s = time.process_time() - cpu_before
    queue.put(figures)


def start_load(
    urls: list[str], requests: list[bytes], connections: int, seconds: float, rate_batches_s: float
) -> tuple[multiprocessing.Process, multiprocessing.Queue[LoadFigures]]:
    queue: multiprocessing.Queue[LoadFigures] = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_load_in_child,
        args=(urls, requests, connections, seconds, rate_batches_s, queue),
    )
    child.start()
    return child, queue


# ---- CPU and memory of the processes involved ----


def _waited_s(pid: int) -> float:
    """Seconds the threads of ``pid`` spent runnable but waiting for a CPU
    (/proc/PID/task/*/schedstat, second field): what a busy machine costs a process
    beyond the CPU time it got."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


class Sampler:
    """Every ``every_s``, the CPU seconds, the seconds waited for a CPU and the RSS
    of each process of each group (group -> root pids; a root's children count
    with it)."""

    def __init__(self, groups: dict[str, list[int]], every_s: float = 1.0) -> None:
        self.groups = groups
        self.every_s = every_s
        # pid -> (CPU s, waited s) at its first sample (0 for a process that
        # started during the phase), and group, CPU s, waited s at its last.
        self.first: dict[int, tuple[float, float]] = {}
        self.last: dict[int, tuple[str, float, float]] = {}
        self.rss: list[tuple[float, dict[str, float]]] = []  # (t, group -> MiB of roots)
        self.machine_before = psutil.cpu_times()
        self.started = time.monotonic()
        self._initial = True  # a process first seen later started during the phase
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._sample()
        self._initial = False
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = time.monotonic() - self.started
        after = psutil.cpu_times()
        busy = sum(after) - after.idle - getattr(after, "iowait", 0)
        busy -= sum(self.machine_before) - self.machine_before.idle
        busy += getattr(self.machine_before, "iowait", 0)
        self.machine_cores = busy / self.seconds

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def _sample(self) -> None:
        rss: dict[str, float] = {}
        for group, roots in self.groups.items():
            for root in roots:
                try:
                    process = psutil.Process(root)
                    members = [process, *process.children(recursive=True)]
                    rss[group] = rss.get(group, 0.0) + process.memory_info().rss / MIB
                except psutil.Error:
                    continue
                for member in members:
                    try:
                        times = member.cpu_times()
                    except psutil.Error:
                        continue
                    total = times.user + times.system
                    waited = _waited_s(member.pid)
                    self.first.setdefault(
                        member.pid, (total, waited) if self._initial else (0.0, 0.0)
                    )
                    self.last[member.pid] = (group, total, waited)
        self.rss.append((time.monotonic() - self.started, rss))

    def cores(self) -> dict[str, float]:
        """CPU seconds per second of wall time, per group."""
        return self._per_group(0)

    def waiting(self) -> dict[str, float]:
        """Seconds runnable but not running, per second of wall time, per group."""
        return self._per_group(1)

    def _per_group(self, field: int) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, (group, *last) in self.last.items():
            first = self.first.get(pid, (0.0, 0.0))
            used[group] = used.get(group, 0.0) + last[field] - first[field]
        return {g: used.get(g, 0.0) / self.seconds for g in self.groups}


# ---- servers ----


@contextmanager
def database(url: str | None) -> Iterator[tuple[str, list[int]]]:
    """(server URL, postmaster pid or none) of our own PostgreSQL, or of ``url``."""
    if url is not None:
        yield url, []
        return
    own = OwnPostgres()
    own.start()
    try:
        postmaster = int((own.data / "postmaster.pid").read_text().split()[0])
        yield own.url, [postmaster]
    finally:
        own.remove()


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    target = parse_postgres_url(server_url)
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}schema={schema}"
    finally:
        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def stored_rows(storage_url: str) -> int:
    target = parse_postgres_url(storage_url)
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.inference_metrics").format(
                sql.Identifier(target.schema)
            )
        ).fetchone()
    return int(row[0]) if row else 0


def groups_of(cluster: Cluster, postgres: list[int], redis: list[int]) -> dict[str, list[int]]:
    groups = {f"replica {i}": [r.process.pid] for i, r in enumerate(cluster.replicas)}
    if not postgres:
        # A server we did not start: every postmaster on this machine (with its
        # backends), whatever else it serves meanwhile.
        postgres = [
            p.pid
            for p in psutil.process_iter(["name", "ppid"])
            if p.info["name"] == "postgres" and not _is_postgres(p.info["ppid"])
        ]
    groups["postgres"] = postgres
    groups["redis"] = redis
    return groups


def _is_postgres(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).name() == "postgres")
    except psutil.Error:
        return False


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- phases ----


def throughput_phase(
    n: int, args: argparse.Namespace, server: str, redis: tuple[str, list[int]], pg: list[int]
) -> dict[str, object]:
    requests = [encode_post("/api/v1/metrics/inference/batch", b) for b in args.bodies]
    env = {"MONITORX_INGEST_WORKERS": str(args.ingest_workers)}
    with (
        fresh_schema(server) as storage_url,
        tempfile.TemporaryDirectory(prefix="monitorx-scale-") as root,
        replica_cluster(n, Path(root), storage_url, redis[0], "monitorx-scale:", env) as cluster,
    ):
        groups = groups_of(cluster, pg, redis[1])
        child, queue = start_load(cluster.urls, requests, args.connections, args.seconds, 0.0)
        with Sampler(groups) as sampler:
            figures = queue.get()
            child.join()
        stored = stored_rows(storage_url)
    acknowledged = figures.batches * args.batch_size
    cores = sampler.cores()
    cores["load client"] = figures.cpu_s / figures.seconds
    lat = np.array(figures.latencies_s) * 1000
    result: dict[str, object] = {
        "replicas": n,
        "metrics_per_s": acknowledged / figures.seconds,
        "failed_batches": figures.failures,
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else 0.0,
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else 0.0,
        "cores": {k: round(v, 2) for k, v in cores.items()},
        "waiting_for_cpu": {k: round(v, 2) for k, v in sampler.waiting().items()},
        "machine_cores_busy": round(sampler.machine_cores, 2),
        "stored_rows": stored,
        "acknowledged_rows": acknowledged,
    }
    replicas = sum(v for k, v in cores.items() if k.startswith("replica"))
    # What the machine did besides: other people's work on a shared machine.
    cores["everything else"] = max(0.0, sampler.machine_cores - sum(cores.values()))
    print(
        f"{n} replica(s): {result['metrics_per_s']:,.0f} metrics/s; batch p50 "
        f"{result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; "
        f"{figures.failures} failed batches; stored {stored:,} of {acknowledged:,} acknowledged"
    )
    print(
        "  CPU (cores): "
        + ", ".join(f"{k} {v:.2f}" for k, v in cores.items())
        + f"; replicas together {replicas:.2f}; whole machine {sampler.machine_cores:.2f}"
        + f" of {psutil.cpu_count()}"
    )
    waiting = sampler.waiting()
    print(
        "  waiting for a CPU (cores' worth): "
        + ", ".join(f"{k} {v:.2f}" for k, v in waiting.items() if k in cores)
    )
    busiest = max(cores, key=lambda k: cores[k])
    if sampler.machine_cores > 0.9 * (psutil.cpu_count() or 1):
        print(
            f"  limited by the machine's CPU: all cores busy (the largest share: {busiest}); "
            "a part that waits for a CPU as long as it runs is starved by the others"
        )
    else:
        print("  the cores were not all busy: waits (I/O, locks, the client) limit it")
    if stored != acknowledged:
        print(f"  MISMATCH: PostgreSQL holds {stored:,} rows, {acknowledged:,} were acknowledged")
    return result


def soak_phase(
    n: int, args: argparse.Namespace, server: str, redis: tuple[str, list[int]], pg: list[int]
) -> dict[str, object]:
    requests = [encode_post("/api/v1/metrics/inference/batch", b) for b in args.bodies]
    env = {"MONITORX_INGEST_WORKERS": str(args.ingest_workers)}
    rate_batches_s = args.soak_rate / args.batch_size
    with (
        fresh_schema(server) as storage_url,
        tempfile.TemporaryDirectory(prefix="monitorx-soak-") as root,
        replica_cluster(n, Path(root), storage_url, redis[0], "monitorx-soak:", env) as cluster,
    ):
        groups = {f"replica {i}": [r.process.pid] for i, r in enumerate(cluster.replicas)}
        child, queue = start_load(
            cluster.urls, requests, args.connections, args.soak, rate_batches_s
        )
        with Sampler(groups, every_s=args.sample_s) as sampler:
            figures = queue.get()
            child.join()
    print(
        f"soak: {n} replicas, {args.soak:.0f} s at {args.soak_rate:,.0f} metrics/s asked, "
        f"{figures.batches * args.batch_size / figures.seconds:,.0f} acknowledged; "
        f"{figures.failures} failed batches"
    )
    names = list(groups)
    print("  t (s)  " + "  ".join(f"{name:>10}" for name in names) + "   (RSS, MiB)")
    for t, rss in sampler.rss:
        print(f"  {t:5.0f}  " + "  ".join(f"{rss.get(name, 0.0):10.1f}" for name in names))
    # The first samples hold the warm-up (caches, pools filling): the slope is of
    # the rest, the first minute or third of the soak left out.
    warmup_s = min(60.0, args.soak / 3)
    slopes = {}
    for name in names:
        points = [(t / 60, rss[name]) for t, rss in sampler.rss if name in rss and t >= warmup_s]
        if len(points) >= 2:
            minutes, mib = zip(*points, strict=True)
            slopes[name] = float(np.polyfit(minutes, mib, 1)[0])
    print(
        f"  slope after the first {warmup_s:.0f} s (MiB/min): "
        + ", ".join(f"{k} {v:+.2f}" for k, v in slopes.items())
    )
    return {
        "replicas": n,
        "seconds": args.soak,
        "rate_asked": args.soak_rate,
        "failed_batches": figures.failures,
        "rss_mib": [(round(t, 1), rss) for t, rss in sampler.rss],
        "slope_mib_per_min": slopes,
        "slope_after_s": warmup_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", default="1,2,3", help="cluster sizes, e.g. 1,2,3")
    parser.add_argument("--seconds", type=float, default=20.0, help="each throughput phase")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=6, help="keep-alive, in all")
    parser.add_argument(
        "--ingest-workers",
        type=int,
        default=0,
        help="decoder processes per replica (0: decode in the server process)",
    )
    parser.add_argument("--soak", type=float, default=600.0, help="seconds (0: no soak)")
    parser.add_argument("--soak-rate", type=float, default=10_000.0, help="metrics/s")
    parser.add_argument("--sample-s", type=float, default=10.0, help="RSS sampling period")
    parser.add_argument("--postgres-url", help="a server to use instead of one of our own")
    parser.add_argument("--redis-url", help="a Redis to use instead of one of our own")
    args = parser.parse_args()
    sizes = [int(x) for x in args.replicas.split(",")]
    args.bodies = batch_bodies(args.batch_size)

    print(f"load average before: {loadavg()} ({psutil.cpu_count()} cores)")
    results: dict[str, object] = {"bench": "scale", "batch_size": args.batch_size}
    with ExitStack() as stack:
        server, pg = stack.enter_context(database(args.postgres_url))
        if args.redis_url is not None:
            redis: tuple[str, list[int]] = (args.redis_url, [])
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="redis-")))
            own_redis = start_redis_server(work)
            stack.callback(own_redis.stop)
            assert own_redis.process is not None
            redis = (own_redis.url, [own_redis.process.pid])
        results["throughput"] = [throughput_phase(n, args, server, redis, pg) for n in sizes]
        if args.soak > 0:
            results["soak"] = soak_phase(max(sizes), args, server, redis, pg)
    print(f"load average after: {loadavg()}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
