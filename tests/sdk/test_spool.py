"""The on-disk spool: bounded, durable, sent after an outage and after a restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

import monitorx
from monitorx.sdk.spool import DiskSpool, SpoolLocked
from tests.conftest import free_port
from tests.polling import eventually
from tests.sdk.conftest import serve_at


def metric(i: int, model_id: str = "spooled") -> dict[str, Any]:
    return {"model_id": model_id, "latency": float(i), "request_id": f"r{i}"}


def drain(spool: DiskSpool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while (batch := spool.read(3)) is not None:
        out.extend(batch.metrics)
        spool.ack(batch)
    return out


def test_spooled_metrics_come_back_oldest_first_and_acked_ones_never_again(
    tmp_path: Path,
) -> None:
    spool = DiskSpool(tmp_path)
    assert spool.append([metric(i) for i in range(5)]) == 5
    assert spool.append([metric(5)]) == 1
    first = spool.read(2)
    assert first is not None and [m["request_id"] for m in first.metrics] == ["r0", "r1"]
    spool.ack(first)
    spool.close()

    reopened = DiskSpool(tmp_path)  # a new process: the ack survived
    assert reopened.pending == 4
    assert [m["request_id"] for m in drain(reopened)] == ["r2", "r3", "r4", "r5"]
    assert reopened.pending == 0
    reopened.close()
    again = DiskSpool(tmp_path)
    assert again.pending == 0
    again.close()
    assert list(tmp_path.glob("*.jsonl")) == []  # delivered segments are deleted


def test_a_full_spool_drops_its_oldest_segments_and_counts_the_metrics(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path, max_bytes=8192)
    for i in range(400):
        spool.append([metric(i)])
    assert spool.size_bytes <= 8192
    kept = drain(spool)
    assert spool.dropped + len(kept) == 400
    assert spool.dropped > 0
    assert kept[-1]["request_id"] == "r399"  # the newest survive
    numbers = [int(m["request_id"][1:]) for m in kept]
    assert numbers == list(range(400 - len(kept), 400))
    spool.close()


def test_a_torn_last_line_is_skipped_and_the_rest_delivered(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.append([metric(0), metric(1)])
    spool.close()
    segment = next(tmp_path.glob("*.jsonl"))
    with segment.open("ab") as file:
        file.write(b'{"model_id":"spooled","lat')  # the process died mid-write
    reopened = DiskSpool(tmp_path)
    assert reopened.torn == 1
    reopened.append([metric(2)])
    assert [m["request_id"] for m in drain(reopened)] == ["r0", "r1", "r2"]
    reopened.close()


def test_a_second_process_cannot_share_the_directory(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    with pytest.raises(SpoolLocked):
        DiskSpool(tmp_path)
    spool.close()
    DiskSpool(tmp_path).close()


def test_the_exporter_runs_without_a_spool_it_cannot_lock(tmp_path: Path) -> None:
    holder = DiskSpool(tmp_path)
    exporter = monitorx.init(url=f"http://127.0.0.1:{free_port()}", spool_dir=tmp_path)
    assert exporter.spool is None
    holder.close()


def test_an_outage_goes_to_disk_and_is_sent_exactly_once_when_the_server_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    exporter = monitorx.init(
        url=f"http://127.0.0.1:{port}",
        spool_dir=tmp_path / "spool",
        max_retries=0,
        retry_backoff=0.05,
        batch_size=50,
        queue_size=100,  # far fewer than recorded: the spool keeps the rest
        recovery_time=0.2,
    )
    for i in range(1000):
        monitorx.monitor_inference(model_id="outage")(lambda: None)()
        if i % 50 == 49:
            # Let the worker move what is queued to disk before the queue overflows
            # (on a loaded machine it may lag the loop by more than a queue's worth).
            drained = eventually(lambda: exporter.stats.queued, lambda q: q == 0, timeout_s=10)
            assert drained == 0
    assert not monitorx.flush(timeout=1.0)
    stats = exporter.stats
    assert stats.dropped == 0
    assert stats.spooled > 0
    assert stats.delivered == 0

    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        assert monitorx.flush(timeout=30)
        stats = exporter.stats
        assert (stats.delivered, stats.spool_pending, stats.dropped) == (1000, 0, 0)
        count = api.get("/models/outage/summary", params={"window": "1h"}).json()["count"]
        assert count == 1000


RECORDER = textwrap.dedent(
    """
    import sys
    import monitorx

    url, spool_dir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    exporter = monitorx.init(url=url, spool_dir=spool_dir, max_retries=0, retry_backoff=0.05)
    for i in range(count):
        exporter.record({"model_id": "restart", "latency": float(i), "request_id": f"r{i}"})
    delivered = monitorx.flush(timeout=float(sys.argv[4]))
    stats = exporter.stats
    monitorx.shutdown()
    print(delivered, stats.delivered, exporter.stats.spooled, exporter.stats.lost)
    """
)


def run_recorder(url: str, spool_dir: Path, count: int, flush_s: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", RECORDER, url, str(spool_dir), str(count), str(flush_s)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_spool_survives_a_process_restart_and_is_delivered_exactly_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spool_dir = tmp_path / "spool"
    # Process 1 records while the server is down and exits: nothing is lost.
    delivered, sent, spooled, lost = run_recorder(url, spool_dir, 500, flush_s=0.5)
    assert (delivered, sent, spooled, lost) == ("False", "0", "500", "0")

    with serve_at(port, tmp_path / "data") as server, httpx.Client(base_url=server.api) as api:
        # Process 2 records nothing new and sends what process 1 left.
        delivered, sent, _, lost = run_recorder(url, spool_dir, 0, flush_s=30)
        assert (delivered, sent, lost) == ("True", "500", "0")
        # Process 3 finds the spool empty: nothing is sent twice.
        delivered, sent, _, _ = run_recorder(url, spool_dir, 0, flush_s=5)
        assert (delivered, sent) == ("True", "0")
        rows = api.get("/metrics/inference", params={"model_id": "restart", "limit": 1000}).json()
        assert sorted(row["request_id"] for row in rows) == sorted(f"r{i}" for i in range(500))
