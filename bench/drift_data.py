"""Drift data in: records and reference sets over JSON, Parquet and Arrow IPC.

    python bench/drift_data.py [--records 50000] [--features 60] [--json-batch 5000]
                               [--table-batch 50000] [--reference-rows 100000] [--runs 3]

A fresh `monitorx serve` (embedded DuckDB, a separate process). Seeded frames of
``--features`` columns (five in six floats, one in six strings of 4 categories),
each body encoded before the clock starts; the clock covers the request until
the server's answer (decode, validation, masking check, Parquet encoding, the
durable write):

1. ``POST /records``: ``--records`` records in ``--json-batch`` JSON arrays, and
   the same in ``--table-batch`` Arrow IPC streams and Parquet files (each
   record with a request id, a prediction and an epoch timestamp): records/s.
2. ``PUT /reference``: ``--reference-rows`` rows as JSON ``{"rows": [...]}``,
   Parquet and Arrow: seconds, the median of ``--runs``.

Prints the machine's load average with the figures (the machine may be shared),
and ends with one JSON line holding every figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server

SEED = 20261207
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"


def make_table(rows: int, features: int, rng: np.random.Generator) -> pa.Table:
    columns: dict[str, Any] = {}
    for index in range(features):
        if index % 6 == 5:
            columns[f"c{index}"] = rng.choice(np.array(["fr", "de", "it", "es"]), rows)
        else:
            columns[f"x{index}"] = rng.normal(index, 1 + index % 3, rows)
    return pa.table(columns)


def record_table(features: pa.Table, start_s: float) -> pa.Table:
    rows = features.num_rows
    roles = pa.table(
        {
            "request_id": [f"req-{start_s:.0f}-{i}" for i in range(rows)],
            "prediction": np.arange(rows) % 2,
            "timestamp": start_s + np.arange(rows) * 0.01,
        }
    )
    for name in features.column_names:
        roles = roles.append_column(name, features.column(name))
    return roles


def arrow_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def json_records(table: pa.Table) -> bytes:
    roles = {"request_id", "prediction", "timestamp"}
    names = [n for n in table.column_names if n not in roles]
    rows = table.to_pylist()
    return orjson.dumps(
        [
            {
                "request_id": row["request_id"],
                "prediction": row["prediction"],
                "timestamp": row["timestamp"],
                "features": {name: row[name] for name in names},
            }
            for row in rows
        ]
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def post_all(client: httpx.Client, path: str, bodies: list[bytes], media: str) -> float:
    started = time.perf_counter()
    for body in bodies:
        response = client.post(path, content=body, headers={"content-type": media})
        response.raise_for_status()
    return time.perf_counter() - started


def records_phase(client: httpx.Client, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    now = time.time() - 1800
    table = record_table(make_table(args.records, args.features, rng), now)
    out: dict[str, Any] = {}
    forms = [
        ("json", "application/json", args.json_batch, json_records),
        ("arrow", ARROW, args.table_batch, arrow_bytes),
        ("parquet", PARQUET, args.table_batch, parquet_bytes),
    ]
    for name, media, batch, encode in forms:
        bodies = [encode(table.slice(i, batch)) for i in range(0, table.num_rows, batch)]
        seconds = post_all(client, f"/models/bench-{name}/records", bodies, media)
        rate = args.records / seconds
        out[name] = {"records_per_s": round(rate), "batch": batch, "load": load()}
        print(
            f"records  {name:8} {args.records:,} × {args.features} in batches of {batch:,}: "
            f"{seconds:.2f} s, {rate:,.0f} records/s   (load {load()})"
        )
    return out


def reference_phase(client: httpx.Client, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + 1)
    table = make_table(args.reference_rows, args.features, rng)
    forms = [
        ("json", "application/json", lambda t: orjson.dumps({"rows": t.to_pylist()})),
        ("arrow", ARROW, arrow_bytes),
        ("parquet", PARQUET, parquet_bytes),
    ]
    out: dict[str, Any] = {}
    for name, media, encode in forms:
        body = encode(table)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.put(
                f"/models/bench-ref-{name}/reference", content=body, headers={"content-type": media}
            )
            times.append(time.perf_counter() - started)
            response.raise_for_status()
        median = statistics.median(times)
        out[name] = {"seconds": round(median, 3), "mb": round(len(body) / 1e6, 1), "load": load()}
        print(
            f"reference {name:8} {args.reference_rows:,} × {args.features} "
            f"({len(body) / 1e6:.1f} MB): {median:.3f} s   (load {load()})"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--json-batch", type=int, default=5_000)
    parser.add_argument("--table-batch", type=int, default=50_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, Any] = {"load_before": load()}
    print(f"load average before: {figures['load_before']}")
    with (
        monitorx_server() as (url, _),
        httpx.Client(base_url=f"{url}/api/v1", timeout=300) as client,
    ):
        figures["records"] = records_phase(client, args)
        figures["reference"] = reference_phase(client, args)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
