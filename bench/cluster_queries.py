"""Query latency of a cluster's replica (PostgreSQL + Redis, so no hot tier) beside
the embedded store with its hot tier.

    python bench/cluster_queries.py [--points 200000] [--layout hour|spread]
                                    [--postgres postgresql://postgres@127.0.0.1:5432/test]
                                    [--redis redis://127.0.0.1:6379/0]

For each store it starts `monitorx serve` (bench/_server.py) with a fresh store —
a DuckDB file in its data directory; a PostgreSQL schema of its own (dropped
after) with ``MONITORX_REDIS_URL`` set, which makes it a replica of a cluster
(``Settings.distributed``: every query reads PostgreSQL) — writes ``--points``
metrics of 20 models in batches of 5,000 through HTTP, checks that the server
counts them all, and times bench/ingest.py's queries: ``GET /api/v1/summary`` and
a p95 aggregate of one model over the last hour (interval 1 h and 1 min), median
and p95 of 50 requests after 3 warm-ups. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import encode_post
from _server import monitorx_server

from ingest import batch_bodies, check_counts, load, register_models, time_queries
from monitorx.store.secret_keys import generate_secret_key


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    schema = f"mx_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?schema={schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def measure(env: dict[str, str], requests: list[bytes], points: int) -> dict[str, object]:
    with monitorx_server(env) as (url, _data):
        register_models(url)
        result = load(url, requests, 3)
        check_counts(url, points)
        health = httpx.get(f"{url}/api/v1/health", timeout=10).json()
        return {
            "ingest_metrics_per_s": points / result.seconds,
            "redis_check": health["checks"].get("redis", {}).get("status"),
            "queries": time_queries(url, llm=False),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--layout", choices=["hour", "spread"], default="hour")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    bodies = batch_bodies(args.points, 5_000, args.layout)
    requests = [encode_post("/api/v1/metrics/inference/batch", b) for b in bodies]
    figures: dict[str, dict[str, object]] = {}
    print(f"{args.points:,} metrics ({args.layout} layout), embedded store with its hot tier…")
    figures["duckdb, hot tier"] = measure({}, requests, args.points)
    print("…and a cluster replica: PostgreSQL + Redis, no hot tier")
    with postgres_schema(args.postgres) as storage_url:
        env = {
            "MONITORX_STORAGE_URL": storage_url,
            "MONITORX_REDIS_URL": args.redis,
            "MONITORX_REDIS_PREFIX": f"monitorx-bench:{uuid.uuid4().hex[:8]}:",
            "MONITORX_SECRET_KEYS": generate_secret_key(),
        }
        figures["postgresql cluster replica, no hot tier"] = measure(env, requests, args.points)
    for store, found in figures.items():
        print(f"{store}: ingest {found['ingest_metrics_per_s']:,.0f} metrics/s")
        queries = found["queries"]
        assert isinstance(queries, dict)
        for name, q in queries.items():
            print(f"  {name}: median {q['median_ms']:.2f} ms, p95 {q['p95_ms']:.2f} ms")
    print(json.dumps({"bench": "cluster_queries", "points": args.points, **figures}))


if __name__ == "__main__":
    main()
