"""Ingest and query speed of `monitorx serve` on its embedded store.

    python bench/ingest.py [--points 1000000] [--batch-size 5000] [--connections 3]
                           [--single-count 20000] [--single-connections 32]
                           [--layout hour|spread] [--runs 3] [--user-emails N]

Starts `monitorx serve` on 127.0.0.1 with a fresh data directory, registers the
20 models with thresholds the data never breaches (so threshold evaluation runs on
every batch), and drives it from a separate process (the load runs in a child
process on raw sockets, with every request body encoded before timing). It prints:

- batch ingest: metrics/s end to end (each request answered 202 with all items
  accepted, i.e. validated and durable; afterwards the server must count every
  point), and the p50/p99 of the batch request latency — the median of ``--runs``
  runs, each on a fresh server;
- single-metric requests: requests/s and p50/p99 latency;
- with ``--points`` stored, ``GET /api/v1/summary`` and a p95 aggregate of one
  model over the last hour (interval 1 h, and 1 min): median and p95 of 50
  requests after 3 warm-ups, timed at an HTTP client (httpx, keep-alive).

``--user-emails N`` adds a ``user`` tag to every metric, one of N email addresses
(what PII masking, on by default, has to mask: docs/security.md); run it once more
with ``MONITORX_PII_DETECTORS='[]'`` in the environment to compare with masking off.

``--layout hour`` puts every point in the last hour (the worst case for the
queries: all 1M points are in range); ``spread`` spreads 50,000 timestamps over
the last 13.9 hours across 20 models (the storage issue's workload).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import LoadResult, encode_post, run_load
from _server import monitorx_server

MODELS = 20


def batch_bodies(
    points: int,
    batch_size: int,
    layout: str,
    llm: bool = False,
    seed: int = 7,
    user_emails: int = 0,
) -> list[bytes]:
    rng = np.random.default_rng(seed)
    now = time.time()
    bodies = []
    for start in range(0, points, batch_size):
        n = min(batch_size, points - start)
        index = np.arange(start, start + n)
        if layout == "hour":
            ts = now - rng.uniform(0, 3540, n)
        else:  # 50,000 one-second timestamps, 20 models each, oldest first
            ts = now - 50_000 + (index // MODELS).astype(np.float64)
        latency = rng.lognormal(3.0, 0.5, n)
        errors = rng.random(n) < 0.01
        items = [
            {
                "model_id": f"model-{int(i) % MODELS}",
                "latency": float(latency[k]),
                "throughput": 120.0,
                "error": bool(errors[k]),
                "resource_usage": {"gpu_memory_mb": 8000.0 + k % 50, "cpu_percent": 41.5},
                "tags": {"region": "eu"},
                "timestamp": float(ts[k]),
            }
            for k, i in enumerate(index)
        ]
        if user_emails:
            for k, item in enumerate(items):
                item["tags"] = {"region": "eu", "user": f"user{(start + k) % user_emails}@ex.com"}
        if llm:  # what a chat model reports: tokens, time to first token, cost
            tokens = rng.integers(50, 4000, n)
            for k, item in enumerate(items):
                item["llm"] = {
                    "prompt_tokens": int(tokens[k]),
                    "completion_tokens": int(tokens[k]) // 4,
                    "time_to_first_token_ms": float(latency[k]) / 5,
                    "cost_usd": int(tokens[k]) * 2e-6,
                }
        bodies.append(orjson.dumps(items))
    return bodies


def _load_in_child(
    url: str, requests: list[bytes], connections: int, queue: multiprocessing.Queue[LoadResult]
) -> None:
    parsed = urlparse(url)
    queue.put(
        run_load(parsed.hostname or "", parsed.port or 80, requests, connections, b"HTTP/1.1 202")
    )


def load(url: str, requests: list[bytes], connections: int) -> LoadResult:
    """Run the load from a separate process."""
    queue: multiprocessing.Queue[LoadResult] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_load_in_child, args=(url, requests, connections, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def percentile_ms(values_s: list[float], q: float) -> float:
    return float(np.percentile(np.array(values_s) * 1000, q))


def register_models(url: str) -> None:
    """Thresholds the data never breaches: every batch still goes through threshold
    evaluation, as in production."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(MODELS):
            model = {"model_type": "tabular", "thresholds": {"latency_ms": 1e9, "error_rate": 1}}
            client.put(f"/api/v1/models/model-{i}", json=model).raise_for_status()


def check_counts(url: str, points: int) -> None:
    """The server counts every stored point (over a window holding them all)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        summary = client.get("/api/v1/summary", params={"window": "1d"}).json()
    counted = sum(m["count"] for m in summary["models"] if m["model_id"].startswith("model-"))
    if counted != points:
        raise SystemExit(f"the server counts {counted:,} points, {points:,} were acknowledged")


def time_queries(url: str, llm: bool) -> dict[str, dict[str, float]]:
    now = time.time()
    queries = {
        "summary (window 1h)": "/api/v1/summary",
        "p95 aggregate, 1 model, last hour, interval 1h": (
            f"/api/v1/metrics/aggregate?model_id=model-3&metric=latency&agg=p95"
            f"&interval=3600&start={now - 3600:.0f}&end={now + 60:.0f}"
        ),
        "p95 aggregate, 1 model, last hour, interval 1m": (
            f"/api/v1/metrics/aggregate?model_id=model-3&metric=latency&agg=p95"
            f"&interval=60&start={now - 3600:.0f}&end={now + 60:.0f}"
        ),
    }
    if llm:  # the LLM series, kept sparse in the hot tier
        queries["cost_usd sum, 1 model, last hour, interval 1m"] = (
            f"/api/v1/metrics/aggregate?model_id=model-3&metric=cost_usd&agg=sum"
            f"&interval=60&start={now - 3600:.0f}&end={now + 60:.0f}"
        )
        queries["time_to_first_token_ms p95, 1 model, last hour, interval 1h"] = (
            f"/api/v1/metrics/aggregate?model_id=model-3&metric=time_to_first_token_ms&agg=p95"
            f"&interval=3600&start={now - 3600:.0f}&end={now + 60:.0f}"
        )
    out = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, path in queries.items():
            for _ in range(3):
                client.get(path).raise_for_status()
            times = []
            for _ in range(50):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - started)
            out[name] = {
                "median_ms": percentile_ms(times, 50),
                "p95_ms": percentile_ms(times, 95),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--single-count", type=int, default=20_000)
    parser.add_argument("--single-connections", type=int, default=32)
    parser.add_argument("--layout", choices=["hour", "spread"], default="hour")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--llm", action="store_true", help="every metric carries the llm object")
    parser.add_argument(
        "--user-emails", type=int, default=0, help="tag every metric with one of N emails"
    )
    args = parser.parse_args()

    layout = f"{args.layout} layout" + (", with LLM fields" if args.llm else "")
    print(f"Encoding {args.points:,} metrics in batches of {args.batch_size:,} ({layout})…")
    bodies = batch_bodies(
        args.points, args.batch_size, args.layout, args.llm, user_emails=args.user_emails
    )
    batch_requests = [encode_post("/api/v1/metrics/inference/batch", b) for b in bodies]
    single_body = orjson.dumps({"model_id": "single", "latency": 12.5, "tags": {"r": "eu"}})
    single_requests = [encode_post("/api/v1/metrics/inference", single_body)] * args.single_count

    runs = []
    for run in range(args.runs):
        with monitorx_server() as (url, _data):
            register_models(url)
            batch = load(url, batch_requests, args.connections)
            check_counts(url, args.points)
            single = load(url, single_requests, args.single_connections)
            queries = time_queries(url, args.llm) if run == args.runs - 1 else {}
        figures = {
            "batch_metrics_per_s": args.points / batch.seconds,
            "batch_failures": batch.failures,
            "batch_p50_ms": percentile_ms(batch.latencies_s, 50),
            "batch_p99_ms": percentile_ms(batch.latencies_s, 99),
            "single_requests_per_s": single.requests / single.seconds,
            "single_failures": single.failures,
            "single_p50_ms": percentile_ms(single.latencies_s, 50),
            "single_p99_ms": percentile_ms(single.latencies_s, 99),
        }
        runs.append(figures)
        print(
            f"run {run + 1}: {figures['batch_metrics_per_s']:,.0f} metrics/s in batches, "
            f"{figures['single_requests_per_s']:,.0f} single requests/s"
        )

    m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print()
    print(
        f"batch ingest ({args.batch_size:,}/request, {args.connections} connections): "
        f"{m['batch_metrics_per_s']:,.0f} metrics/s; request p50 {m['batch_p50_ms']:.1f} ms, "
        f"p99 {m['batch_p99_ms']:.1f} ms; failures {m['batch_failures']:.0f}"
    )
    print(
        f"single-metric requests ({args.single_connections} connections): "
        f"{m['single_requests_per_s']:,.0f} requests/s; p50 {m['single_p50_ms']:.2f} ms, "
        f"p99 {m['single_p99_ms']:.2f} ms; failures {m['single_failures']:.0f}"
    )
    print(f"queries with {args.points:,} points stored ({layout}):")
    for name, q in queries.items():
        print(f"  {name}: median {q['median_ms']:.2f} ms, p95 {q['p95_ms']:.2f} ms")
    summary = {"bench": "ingest", "layout": args.layout, "llm": args.llm, "runs": args.runs}
    summary["user_emails"] = args.user_emails
    summary["median"] = m
    print(json.dumps({**summary, "queries": queries}))


if __name__ == "__main__":
    main()
