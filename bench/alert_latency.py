"""Breach-to-notification latency: from the POST of a breaching metric to the
webhook's receipt of the alert.

    python bench/alert_latency.py [--alerts 200] [--gap-ms 25] [--background 0]
    python bench/alert_latency.py --storm 500 [--storage postgresql://…]

Starts `monitorx serve` (embedded DuckDB) as a separate process and a webhook
receiver in this one (a real HTTP server on 127.0.0.1), creates a webhook channel
and a route with ``group_wait: 0s`` grouped by model and alert type (so every alert
is its own notification, as a PagerDuty-style page would be; webhooks have no
rate limit by default), registers
``--alerts`` models with a 100 ms latency threshold, then posts one breaching
metric per model, ``--gap-ms`` apart. For each alert it measures the time from
just before the POST to the receiver reading the request, and prints p50, p90,
p99 and max, plus how many alerts arrived. ``--background N`` adds N metrics/s of
non-breaching batch ingest from another process, to see that the path holds up
under load. The target: p99 < 500 ms.

``--storm N`` is an incident instead: N models breach within one second (the
metrics posted by 16 threads at once), to a webhook channel with a secret; it
prints the same figures from each metric's POST to its notification's receipt,
and how many arrived more than once. ``--storage URL`` keeps the server's data in
PostgreSQL (``postgresql://…``) instead of the embedded DuckDB. Targets on a
2-core machine: 50 alerts p99 < 500 ms; 500 alerts all delivered, p99 < 1 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from monitorx.store.secret_keys import generate_secret_key

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a storm's connections (the default backlog is 5)


class Receiver:
    """A webhook receiver that notes when each model's alert arrived, and how often."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.perf_counter()
                for alert in json.loads(body)["alerts"]:
                    model = alert["labels"]["model_id"]
                    receiver.arrived.setdefault(model, now)
                    receiver.count[model] = receiver.count.get(model, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.005,), daemon=True).start()


def background_load(url: str, per_second: int, stop: Any) -> None:
    """Non-breaching batches at about ``per_second`` metrics/s until ``stop`` is set."""
    batch = [{"model_id": "background", "latency": 10.0} for _ in range(1000)]
    body = json.dumps(batch).encode()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.post("/api/v1/metrics/inference/batch", content=body, headers=headers)
            time.sleep(max(0.0, 1000 / per_second - (time.perf_counter() - started)))


def storm(url: str, models: list[str]) -> dict[str, float]:
    """Post one breaching metric per model from 16 threads at once; the time just
    before each POST, by model."""
    sent: dict[str, float] = {}
    local = threading.local()

    def post(model: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=f"{url}/api/v1", timeout=30)
        sent[model] = time.perf_counter()
        metric = {"model_id": model, "latency": 250.0}
        client.post("/metrics/inference", json=metric).raise_for_status()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post, models))
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=25.0)
    parser.add_argument("--background", type=int, default=0, help="metrics/s of other load")
    parser.add_argument("--storm", type=int, default=0, help="N models breaching at once")
    parser.add_argument("--storage", default=None, help="a PostgreSQL URL (default: DuckDB)")
    args = parser.parse_args()
    receiver = Receiver()
    env = {}
    if args.storage is not None:
        # A server on PostgreSQL needs the key its replicas share (docs/security.md).
        key = os.environ.get("MONITORX_SECRET_KEYS") or generate_secret_key()
        env = {"MONITORX_STORAGE_URL": args.storage, "MONITORX_SECRET_KEYS": key}
    if args.storm:
        args.alerts = args.storm
    with monitorx_server(env) as (url, _), httpx.Client(base_url=f"{url}/api/v1") as api:
        channel = {
            "id": "bench-hook",
            "type": "webhook",
            "config": {"url": receiver.url, "secret": "bench-secret"},
        }
        api.post("/channels", json=channel).raise_for_status()
        route = {
            "id": "all",
            "channels": ["bench-hook"],
            "group_by": ["model_id", "alertname"],
            "group_wait": "0s",
        }
        api.post("/routes", json=route).raise_for_status()
        models = [f"model-{i:04d}" for i in range(args.alerts)]
        for model in models:
            body = {"model_type": "tabular", "thresholds": {"latency_ms": 100.0}}
            api.put(f"/models/{model}", json=body).raise_for_status()
        stop = multiprocessing.Event()
        load = None
        if args.background:
            load = multiprocessing.Process(
                target=background_load, args=(url, args.background, stop)
            )
            load.start()
            time.sleep(2.0)
        sent: dict[str, float] = {}
        if args.storm:
            sent = storm(url, models)
        else:
            for model in models:
                sent[model] = time.perf_counter()
                metric = {"model_id": model, "latency": 250.0}
                api.post("/metrics/inference", json=metric).raise_for_status()
                time.sleep(args.gap_ms / 1000)
        deadline = time.monotonic() + 30
        while len(receiver.arrived) < len(models) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        if load is not None:
            load.join()
    latencies = np.array([(receiver.arrived[m] - sent[m]) * 1000 for m in receiver.arrived])
    print(f"storage: {args.storage or 'duckdb (embedded)'}")
    print(f"alerts notified: {len(latencies)} of {len(models)}")
    duplicates = sum(1 for n in receiver.count.values() if n > 1)
    print(f"notified more than once: {duplicates}")
    if latencies.size:
        p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
        print(
            f"POST -> webhook receipt: p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
            f"p99 {p99:.1f} ms, max {latencies.max():.1f} ms"
        )


if __name__ == "__main__":
    main()
