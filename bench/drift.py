"""Drift computed by the platform, against Evidently's data drift preset, in one run.

    python bench/drift.py [--rows 100000] [--numerical 50] [--categorical 10]
                          [--runs 3] [--large-rows 1000000] [--large-columns 200]
                          [--batch 5000] [--skip-large] [--skip-evidently]

1. Seeded frames: a reference and a current of ``--rows`` rows, ``--numerical``
   float columns and ``--categorical`` string columns (2 to 8 categories), 1% nulls
   in some; drift planted in a fifth of the columns (shifted means, wider spread,
   tilted categories), the rest drawn from the reference's distributions.
2. MonitorX (`monitorx serve`, embedded DuckDB, a separate process): the reference
   uploaded as Parquet, then ``POST /drift/analyze`` end to end, the client's body
   encoded before the clock starts — with the current rows in the body
   (``{"current": {"rows": [...]}}``), and, after logging them through
   ``/records``, over the window that holds them (``{"start", "end"}``). The
   median of ``--runs``, and the server's peak RSS (VmHWM, reset before each
   phase through /proc/PID/clear_refs).
3. Evidently 0.7's ``DataDriftPreset`` on the same frames, in .venv-peers (a
   subprocess, bench/_evidently_drift.py): seconds of ``Report.run`` and peak RSS.
4. Whether every column's verdict agrees.
5. Scale: ``--large-rows`` records of ``--large-columns`` features streamed through
   ``/records`` in batches of ``--batch`` into a fresh server, then analyzed: the
   time of each, rows used and logged, and the server's peak RSS while streaming
   (after each quarter) and while analyzing.

Ends with one JSON line holding every figure.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server

ROOT = Path(__file__).resolve().parent.parent
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
SEED = 20261122


# Data -----------------------------------------------------------------------------


def make_frames(
    rows: int, numerical: int, categorical: int, seed: int = SEED
) -> tuple[pa.Table, pa.Table, list[str]]:
    """Reference and current tables, and the names of the columns with planted drift."""
    rng = np.random.default_rng(seed)
    reference: dict[str, Any] = {}
    current: dict[str, Any] = {}
    drifted: list[str] = []
    for i in range(numerical):
        name = f"num_{i:02d}"
        mean, scale = rng.uniform(-10, 10), rng.uniform(0.5, 5)
        reference[name] = rng.normal(mean, scale, rows)
        cur_mean, cur_scale = mean, scale
        if i % 5 == 0:  # a fifth drift: mean shifts of 0.1–0.6 σ, or a wider spread
            drifted.append(name)
            if i % 10 == 0:
                cur_mean = mean + scale * (0.1 + 0.5 * rng.random())
            else:
                cur_scale = scale * 1.5
        current[name] = rng.normal(cur_mean, cur_scale, rows)
        if i % 7 == 3:  # 1% nulls in some columns
            for table in (reference, current):
                table[name][rng.random(rows) < 0.01] = np.nan
    for i in range(categorical):
        name = f"cat_{i:02d}"
        count = 2 + i % 7
        values = np.array([f"v{k}" for k in range(count)], dtype=object)
        weights = rng.dirichlet(np.full(count, 2.0))
        reference[name] = rng.choice(values, size=rows, p=weights)
        cur_weights = weights
        if i % 5 == 0:
            drifted.append(name)
            cur_weights = np.roll(weights, 1)
        current[name] = rng.choice(values, size=rows, p=cur_weights)
    return _table(reference), _table(current), drifted


def _table(columns: dict[str, Any]) -> pa.Table:
    arrays = {}
    for name, values in columns.items():
        if values.dtype == object:
            arrays[name] = pa.array(values, pa.string())
        else:
            arrays[name] = pa.array(values, pa.float64(), mask=np.isnan(values))
    return pa.table(arrays)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def row_dicts(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


# The server process --------------------------------------------------------------


def server_process() -> psutil.Process:
    for child in psutil.Process().children(recursive=True):
        try:
            if "monitorx" in " ".join(child.cmdline()) and "serve" in child.cmdline():
                return child
        except psutil.Error:
            continue
    raise RuntimeError("cannot find the monitorx serve process")


def reset_peak(process: psutil.Process) -> None:
    """Reset the process's peak RSS (VmHWM) to its current RSS."""
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")


def peak_mib(process: psutil.Process) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_post(client: httpx.Client, path: str, body: bytes) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    return time.perf_counter() - started, response


# Phases ----------------------------------------------------------------------------


def monitorx_phase(reference: pa.Table, current: pa.Table, runs: int, batch: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    inline_body = orjson.dumps({"current": {"rows": row_dicts(current)}})
    out["inline_body_mb"] = len(inline_body) / 1e6
    env = {"MONITORX_INGEST_WORKERS": "0"}
    with (
        monitorx_server(env) as (url, _),
        httpx.Client(base_url=f"{url}/api/v1", timeout=600) as api,
    ):
        server = server_process()
        upload = parquet_bytes(reference)
        started = time.perf_counter()
        response = api.put(
            "/models/bench/reference",
            content=upload,
            headers={"content-type": "application/vnd.apache.parquet"},
        )
        response.raise_for_status()
        out["reference_upload_s"] = time.perf_counter() - started

        seconds = []
        reset_peak(server)
        report: dict[str, Any] = {}
        for _ in range(runs):
            took, response = timed_post(api, "/models/bench/drift/analyze", inline_body)
            response.raise_for_status()
            seconds.append(took)
            report = response.json()
        out["analyze_inline_s"] = statistics.median(seconds)
        out["analyze_inline_all_s"] = seconds
        out["analyze_inline_peak_rss_mib"] = peak_mib(server)
        out["verdicts"] = {f["feature"]: f["drifted"] for f in report["features"]}
        out["stattests"] = {f["feature"]: f["stattest"] for f in report["features"]}
        del inline_body

        now = time.time()
        records = row_dicts(current)
        span = 3000.0 / len(records)
        reset_peak(server)
        started = time.perf_counter()
        for first in range(0, len(records), batch):
            body = orjson.dumps(
                [
                    {"features": row, "timestamp": now - 3300 + (first + i) * span}
                    for i, row in enumerate(records[first : first + batch])
                ]
            )
            api.post(
                "/models/bench/records", content=body, headers={"content-type": "application/json"}
            ).raise_for_status()
        out["records_ingest_s"] = time.perf_counter() - started
        out["records_ingest_peak_rss_mib"] = peak_mib(server)
        del records
        window = orjson.dumps({"start": now - 3600, "end": now + 60})
        seconds = []
        reset_peak(server)
        for _ in range(runs):
            took, response = timed_post(api, "/models/bench/drift/analyze", window)
            response.raise_for_status()
            seconds.append(took)
            logged = response.json()
        out["analyze_window_s"] = statistics.median(seconds)
        out["analyze_window_all_s"] = seconds
        out["analyze_window_peak_rss_mib"] = peak_mib(server)
        out["window_rows"] = [logged["current_rows"], logged["current_rows_seen"]]
        out["window_verdicts_agree_with_inline"] = {
            f["feature"]: f["drifted"] for f in logged["features"]
        } == out["verdicts"]
    return out


def evidently_phase(reference: pa.Table, current: pa.Table, workdir: Path) -> dict[str, Any]:
    ref_path, cur_path = workdir / "reference.parquet", workdir / "current.parquet"
    pq.write_table(reference, ref_path)
    pq.write_table(current, cur_path)
    spec = {
        "numerical": [n for n in reference.column_names if n.startswith("num_")],
        "categorical": [n for n in reference.column_names if n.startswith("cat_")],
    }
    started = time.perf_counter()
    done = subprocess.run(
        [str(PEERS_PYTHON), str(Path(__file__).parent / "_evidently_drift.py"), str(ref_path),
         str(cur_path), json.dumps(spec)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    result["process_s"] = time.perf_counter() - started
    return result


def large_phase(rows: int, columns: int, batch: int) -> dict[str, Any]:
    """Records of ``columns`` features streamed through /records, then analyzed."""
    numerical = columns - columns // 10
    reference, _, _ = make_frames(100_000, numerical, columns // 10, seed=SEED + 1)
    out: dict[str, Any] = {"rows": rows, "columns": columns}
    rng = np.random.default_rng(SEED + 2)
    env = {"MONITORX_INGEST_WORKERS": "0"}
    with (
        monitorx_server(env) as (url, _),
        httpx.Client(base_url=f"{url}/api/v1", timeout=600) as api,
    ):
        server = server_process()
        api.put(
            "/models/big/reference",
            content=parquet_bytes(reference),
            headers={"content-type": "application/vnd.apache.parquet"},
        ).raise_for_status()
        names = reference.column_names
        now = time.time()
        span = 3000.0 / rows
        reset_peak(server)
        peaks = []
        started = time.perf_counter()
        for first in range(0, rows, batch):
            count = min(batch, rows - first)
            body = _records_body(names, numerical, count, rng, now - 3300 + first * span, span)
            api.post(
                "/models/big/records", content=body, headers={"content-type": "application/json"}
            ).raise_for_status()
            if (first + count) % (rows // 4) < batch:
                peaks.append([first + count, round(peak_mib(server), 1)])
        out["stream_s"] = time.perf_counter() - started
        out["stream_rows_per_s"] = rows / out["stream_s"]
        out["stream_peak_rss_mib_by_rows"] = peaks
        out["rss_before_analyze_mib"] = server.memory_info().rss / 2**20
        reset_peak(server)
        took, response = timed_post(
            api, "/models/big/drift/analyze", orjson.dumps({"start": now - 3600, "end": now + 60})
        )
        response.raise_for_status()
        report = response.json()
        out["analyze_s"] = took
        out["analyze_peak_rss_mib"] = peak_mib(server)
        out["current_rows"] = report["current_rows"]
        out["current_rows_seen"] = report["current_rows_seen"]
        out["server_rss_after_mib"] = server.memory_info().rss / 2**20
    return out


def _records_body(
    names: list[str], numerical: int, count: int, rng: np.random.Generator, t0: float, span: float
) -> bytes:
    values: dict[str, list[Any]] = {}
    for name in names[:numerical]:
        values[name] = rng.normal(0.0, 1.0, count).round(6).tolist()
    categories = np.array(["v0", "v1", "v2", "v3"], dtype=object)
    for name in names[numerical:]:
        values[name] = rng.choice(categories, size=count).tolist()
    rows: Iterator[tuple[Any, ...]] = zip(*values.values(), strict=True)
    return orjson.dumps(
        [
            {"features": dict(zip(names, row, strict=True)), "timestamp": t0 + i * span}
            for i, row in enumerate(rows)
        ]
    )


# Main --------------------------------------------------------------------------------


def main_phases(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """MonitorX and Evidently on the --rows frames, and their verdicts compared."""
    reference, current, planted = make_frames(args.rows, args.numerical, args.categorical)
    print(
        f"frames: {args.rows:,} rows × {args.numerical} numerical + {args.categorical} "
        f"categorical columns; drift planted in {len(planted)}"
    )
    mx = monitorx_phase(reference, current, args.runs, args.batch)
    figures["monitorx"] = mx
    print(
        f"MonitorX  reference upload (Parquet) {mx['reference_upload_s']:.2f} s\n"
        f"MonitorX  analyze, rows in the body ({mx['inline_body_mb']:.0f} MB JSON): "
        f"{mx['analyze_inline_s']:.2f} s median of {args.runs} "
        f"({', '.join(f'{s:.2f}' for s in mx['analyze_inline_all_s'])}), server peak RSS "
        f"{mx['analyze_inline_peak_rss_mib']:.0f} MiB\n"
        f"MonitorX  /records ingest of the current rows: {mx['records_ingest_s']:.2f} s, "
        f"peak RSS {mx['records_ingest_peak_rss_mib']:.0f} MiB\n"
        f"MonitorX  analyze, logged records of the window: {mx['analyze_window_s']:.2f} s "
        f"median ({', '.join(f'{s:.2f}' for s in mx['analyze_window_all_s'])}), peak RSS "
        f"{mx['analyze_window_peak_rss_mib']:.0f} MiB, rows used/logged {mx['window_rows']}"
    )
    found = sorted(c for c, d in mx["verdicts"].items() if d)
    print(f"MonitorX  drifted columns: {len(found)}; planted found: "
          f"{len(set(planted) & set(found))}/{len(planted)}")  # fmt: skip
    if not args.skip_evidently:
        with tempfile.TemporaryDirectory() as tmp:
            ev = evidently_phase(reference, current, Path(tmp))
        figures["evidently"] = {k: v for k, v in ev.items() if k != "columns"}
        agree = [c for c, v in ev["columns"].items() if mx["verdicts"].get(c) == v["drifted"]]
        disagree = sorted(set(ev["columns"]) - set(agree))
        figures["verdicts_agree"] = len(agree)
        figures["verdicts_disagree"] = disagree
        print(
            f"Evidently DataDriftPreset: Report.run {ev['run_s']:.2f} s (read {ev['read_s']:.2f} "
            f"s; process {ev['process_s']:.2f} s), peak RSS {ev['peak_rss_mib']:.0f} MiB\n"
            f"verdicts agree on {len(agree)}/{len(ev['columns'])} columns"
            + (f"; differ on {disagree}" if disagree else "")
            + f"\nspeed-up (Report.run / MonitorX inline analyze): "
            f"{ev['run_s'] / mx['analyze_inline_s']:.1f}×"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--numerical", type=int, default=50)
    parser.add_argument("--categorical", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--large-columns", type=int, default=200)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-main", action="store_true", help="only the scale phase")
    args = parser.parse_args()
    print(f"load average before: {psutil.getloadavg()}")
    figures: dict[str, Any] = {}
    if not args.skip_main:
        main_phases(args, figures)
    if not args.skip_large:
        big = large_phase(args.large_rows, args.large_columns, args.batch)
        figures["large"] = big
        print(
            f"Scale: {big['rows']:,} records × {big['columns']} features through /records in "
            f"{big['stream_s']:.0f} s ({big['stream_rows_per_s']:,.0f} records/s); server peak "
            f"RSS by records streamed {big['stream_peak_rss_mib_by_rows']} MiB; analyze "
            f"{big['analyze_s']:.2f} s on {big['current_rows']:,} of "
            f"{big['current_rows_seen']:,} rows, peak RSS {big['analyze_peak_rss_mib']:.0f} MiB "
            f"(resident before: {big['rss_before_analyze_mib']:.0f} MiB)"
        )
    print(f"load average after: {psutil.getloadavg()}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
