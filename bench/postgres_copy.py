"""Write speed of the PostgreSQL backend: `PostgresStorage.write_metrics` through COPY.

    python bench/postgres_copy.py [--url postgresql://postgres@127.0.0.1:5432/test]
                                  [--points 1000000] [--batch-sizes 100000,5000]
                                  [--callers 1,2]

Each phase writes ``--points`` metrics into a fresh schema (dropped afterwards), in
batches of one size, with that many callers each awaiting its batches one after
another; PostgreSQL must then hold every row. Per phase it prints:

- write_metrics: rows/s end to end (binary COPY, every batch committed);
- CPU per row: this process (encoding, driver) and the PostgreSQL backends that
  served the writes (read from /proc, so only when the server runs on this
  machine), and the rows/s one core would manage at that cost — a figure that
  moves less than wall-clock rows/s when other work shares the machine;
- the peer: the same batches as CSV (pyarrow's writer, ``COPY … (FORMAT csv)``),
  one caller, the way this backend first did it.

The points are 20 models' metrics at distinct microseconds over the last hour, the
optional fields present on some of them. The load average is printed before and
after each phase: other work on the machine moves these figures a lot.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitorx.store import METRIC_BATCH_SCHEMA
from monitorx.store.postgres.schema import METRIC_COLUMNS
from monitorx.store.postgres.storage import PostgresStorage

MODELS = 20
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def batches(points: int, batch_size: int, seed: int = 7) -> list[pa.Table]:
    """``points`` metrics at distinct microseconds over the last hour, in batches."""
    rng = np.random.default_rng(seed)
    start_us = int(time.time() * 1e6) - 3_600_000_000
    step_us = max(1, 3_600_000_000 // points)
    models = np.array([f"model-{i}" for i in range(MODELS)])

    def some(values: np.ndarray, share: float) -> pa.Array:
        return pa.array(values, pa.float64(), mask=rng.random(values.size) >= share)

    out = []
    for first in range(0, points, batch_size):
        n = min(batch_size, points - first)
        out.append(
            pa.Table.from_arrays(
                [
                    pa.array(models[rng.integers(0, MODELS, n)]),
                    pa.array(np.where(rng.random(n) < 0.5, "llm", None), pa.string()),
                    pa.array([f"req-{first + i}" for i in range(n)]),
                    pa.array(start_us + (first + np.arange(n)) * step_us, pa.timestamp("us")),
                    pa.array(rng.lognormal(3.5, 0.8, n)),
                    some(rng.gamma(4.0, 50.0, n), 0.6),
                    some(rng.random(n) * 0.2, 0.5),
                    pa.array(rng.random(n) < 0.1),
                    some(rng.random(n) * 24_000, 0.4),
                    some(rng.random(n) * 100, 0.35),
                    some(rng.random(n) * 100, 0.8),
                    some(rng.random(n) * 16_000, 0.15),
                    pa.array(np.where(rng.random(n) < 0.7, '{"region": "eu"}', None), pa.string()),
                ],
                schema=METRIC_BATCH_SCHEMA,
            )
        )
    return out


def backend_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    return total


def backend_pids(admin: psycopg.Connection[tuple[int]], application: str) -> list[int]:
    found = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application]
    )
    return [int(row[0]) for row in found]


async def write_phase(url: str, tables: list[pa.Table], callers: int) -> dict[str, float]:
    application = f"mx-bench-{uuid.uuid4().hex[:8]}"
    schema = f"mx_bench_{uuid.uuid4().hex[:8]}"
    store = PostgresStorage(
        f"{url}?schema={schema}&application_name={application}",
        "bench",
        min_connections=callers,
        max_connections=callers,
    )
    await store.open()
    rows = sum(t.num_rows for t in tables)
    try:
        with psycopg.connect(url, autocommit=True) as admin:
            await asyncio.sleep(0.2)  # the pool's connections are up
            cpu_before = backend_cpu_s(backend_pids(admin, application))
            client_before = time.process_time()
            started = time.perf_counter()
            queue = list(tables)

            async def caller() -> None:
                while queue:
                    await store.write_metrics(queue.pop())

            await asyncio.gather(*(caller() for _ in range(callers)))
            wall = time.perf_counter() - started
            client = time.process_time() - client_before
            server = backend_cpu_s(backend_pids(admin, application)) - cpu_before
            ((stored,),) = admin.execute(
                sql.SQL("SELECT count(*) FROM {}.inference_metrics").format(sql.Identifier(schema))
            ).fetchall()
            if stored != rows:
                raise SystemExit(f"PostgreSQL holds {stored} rows of {rows}")
    finally:
        await store.close()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return {
        "rows_per_s": rows / wall,
        "client_us_per_row": client / rows * 1e6,
        "server_us_per_row": server / rows * 1e6,
        "rows_per_core_s": rows / (client + server) if client + server else 0.0,
    }


async def csv_phase(url: str, tables: list[pa.Table]) -> float:
    """The peer: pyarrow CSV through ``COPY … (FORMAT csv)`` into the same table."""
    schema = f"mx_bench_{uuid.uuid4().hex[:8]}"
    store = PostgresStorage(f"{url}?schema={schema}", "bench")
    await store.open()
    # The schema and the day partitions the batches need (then emptied again).
    await store.write_metrics(pa.concat_tables([t.slice(0, 1) for t in tables] + [tables[-1][-1:]]))
    await store.close()
    copy = sql.SQL("COPY inference_metrics ({}) FROM STDIN (FORMAT csv, HEADER true)").format(
        sql.SQL(", ").join(map(sql.Identifier, METRIC_COLUMNS))
    )
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL("SET search_path TO {}; SET TimeZone TO 'UTC'").format(
                    sql.Identifier(schema)
                )
            )
            await conn.execute("TRUNCATE inference_metrics")
            started = time.perf_counter()
            for table in tables:
                with_project = table.add_column(0, "project_id", pa.repeat("bench", len(table)))
                sink = io.BytesIO()
                pa_csv.write_csv(with_project, sink)
                async with conn.cursor() as cur, cur.copy(copy) as writer:
                    await writer.write(sink.getvalue())
            wall = time.perf_counter() - started
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return sum(t.num_rows for t in tables) / wall


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch-sizes", default="100000,5000")
    parser.add_argument("--callers", default="1,2")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    print(f"{os.cpu_count()} CPUs; {args.points:,} points per phase", flush=True)
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        tables = batches(args.points, batch_size)
        for callers in (int(c) for c in args.callers.split(",")):
            before = load()
            found = await write_phase(args.url, tables, callers)
            figures[f"write_metrics batch={batch_size} callers={callers}"] = found
            print(
                f"write_metrics  batches of {batch_size:>7,}, {callers} caller(s): "
                f"{found['rows_per_s']:>9,.0f} rows/s | CPU/row: client "
                f"{found['client_us_per_row']:.2f} us, server {found['server_us_per_row']:.2f} us"
                f" = {found['rows_per_core_s']:,.0f} rows per core-second | load {before} -> "
                f"{load()}",
                flush=True,
            )
        before = load()
        rate = await csv_phase(args.url, tables)
        figures[f"csv peer batch={batch_size}"] = {"rows_per_s": rate}
        print(
            f"peer: CSV COPY batches of {batch_size:>7,}, 1 caller: {rate:>9,.0f} rows/s | "
            f"load {before} -> {load()}",
            flush=True,
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
