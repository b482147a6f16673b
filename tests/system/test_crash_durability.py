"""Acknowledged data survives a crash: SIGKILL the server, restart it, find it all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.system.conftest import ServerProcess

pytestmark = pytest.mark.system


def _metric(model: str, i: int) -> dict[str, object]:
    return {"model_id": model, "latency": float(i % 97), "request_id": f"{model}-{i}"}


def test_sigkill_loses_no_acknowledged_metric(
    server_process_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Writers keep sending while the server is killed; every 202 they got is on disk."""
    server = server_process_factory(tmp_path / "data")
    acknowledged: dict[str, int] = {"batch": 0, "single": 0}
    stop = threading.Event()

    def batch_writer() -> None:
        with httpx.Client(base_url=server.api, timeout=5) as client:
            i = 0
            while not stop.is_set():
                items = [_metric("batched", i + k) for k in range(500)]
                try:
                    r = client.post("/metrics/inference/batch", json=items)
                except httpx.TransportError:
                    return
                if r.status_code == 202:
                    acknowledged["batch"] += r.json()["accepted"]
                i += 500

    def single_writer() -> None:
        with httpx.Client(base_url=server.api, timeout=5) as client:
            i = 0
            while not stop.is_set():
                try:
                    r = client.post("/metrics/inference", json=_metric("single", i))
                except httpx.TransportError:
                    return
                if r.status_code == 202:
                    acknowledged["single"] += 1
                i += 1

    threads = [threading.Thread(target=batch_writer), threading.Thread(target=single_writer)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()  # mid-ingest: requests are in flight
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert acknowledged["batch"] > 0 and acknowledged["single"] > 0

    restarted = server_process_factory(tmp_path / "data")
    with httpx.Client(base_url=restarted.api, timeout=30) as client:
        for model, key in (("batched", "batch"), ("single", "single")):
            summary = client.get(f"/models/{model}/summary", params={"window": "1d"}).json()
            # In-flight requests may have committed without their 202 arriving: at
            # least every acknowledged metric is there, and nothing is duplicated.
            assert summary["count"] >= acknowledged[key]
            ids = client.get(
                "/metrics/inference", params={"model_id": model, "limit": 10_000}
            ).json()
            request_ids = [m["request_id"] for m in ids]
            assert len(request_ids) == len(set(request_ids))


def test_restart_keeps_models_alerts_and_metrics(
    server_process_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """A clean restart on the same data directory serves the same registry, alerts and data."""
    server = server_process_factory(tmp_path / "data")
    with httpx.Client(base_url=server.api, timeout=10) as client:
        client.post(
            "/models", json={"id": "m", "model_type": "cv", "thresholds": {"latency_ms": 10}}
        ).raise_for_status()
        client.post("/metrics/inference", json={"model_id": "m", "latency": 25.0})
        deadline = time.monotonic() + 2
        while not client.get("/alerts").json() and time.monotonic() < deadline:
            time.sleep(0.05)
        alert = client.get("/alerts").json()[0]
    server.kill()

    restarted = server_process_factory(tmp_path / "data")
    with httpx.Client(base_url=restarted.api, timeout=10) as client:
        assert client.get("/models/m").json()["thresholds"] == {"latency_ms": 10.0}
        assert client.get(f"/alerts/{alert['id']}").json()["status"] == "firing"
        # The restored alert is still the one that further breaches update.
        client.post("/metrics/inference", json={"model_id": "m", "latency": 50.0})
        deadline = time.monotonic() + 2
        while client.get(f"/alerts/{alert['id']}").json()["value"] != 50.0:
            assert time.monotonic() < deadline, "restored alert was not updated"
            time.sleep(0.05)
        assert len(client.get("/alerts").json()) == 1
