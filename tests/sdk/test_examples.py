"""examples/sklearn_service.py, served for real in front of a real MonitorX server."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import monitorx
from tests.conftest import LiveServer

EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_service.py"


@pytest.fixture
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sklearn_service", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def service_url(example: ModuleType, live_server: LiveServer) -> Iterator[str]:
    monitorx.init(url=live_server.url, resources=True)
    service = example.IrisService(live_server.url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), example.handler_for(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_predictions_are_served_counted_and_reach_monitorx(
    service_url: str, api: httpx.Client
) -> None:
    with httpx.Client(base_url=service_url) as http:
        labels = [
            http.post("/predict", json={"features": row}).json()["label"]
            for row in ([5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.0, 3.4, 1.5, 0.2])
        ]
        assert labels == ["setosa", "virginica", "setosa"]
        assert http.post("/predict", json={"features": [1, 2]}).status_code == 422
        exposition = http.get("/metrics").text
        health = http.get("/healthz").json()
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    by_label = {s.labels["label"]: s.value for s in families["predictions"].samples}
    assert by_label == {"setosa": 2.0, "virginica": 1.0}
    assert families["bad_requests"].samples[0].value == 1.0
    assert health["checks"]["model"]["status"] == "healthy"
    # MonitorX's check is not critical: a slow answer makes the service degraded, not down.
    assert health["status"] in ("healthy", "degraded")
    assert monitorx.flush(timeout=10)
    summary = api.get("/models/iris-logreg/summary", params={"window": "1h"}).json()
    assert summary["count"] == 3


def test_the_demo_mode_delivers_every_prediction(
    example: ModuleType, live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url)
    assert example.demo(example.IrisService(live_server.url), 40)
    summary = api.get("/models/iris-logreg/summary", params={"window": "1h"}).json()
    assert summary["count"] == 40
