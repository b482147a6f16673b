"""The examples, served for real in front of a real MonitorX server."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import monitorx
from tests.conftest import LiveServer

EXAMPLES = Path(__file__).parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serving(handler: Any) -> Iterator[str]:
    """Serve an example's HTTP handler on a free port until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def example() -> ModuleType:
    return load_example("sklearn_service")


@pytest.fixture
def service_url(example: ModuleType, live_server: LiveServer) -> Iterator[str]:
    monitorx.init(url=live_server.url, resources=True)
    yield from serving(example.handler_for(example.IrisService(live_server.url)))


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


# -- examples/llm_streaming.py ---------------------------------------------------------


@pytest.fixture
def llm_example() -> ModuleType:
    return load_example("llm_streaming")


@pytest.fixture
def chat_url(llm_example: ModuleType, live_server: LiveServer) -> Iterator[str]:
    monitorx.init(url=live_server.url)
    service = llm_example.ChatService(prefill_s=0.02, decode_s=0.001)
    yield from serving(llm_example.handler_for(service))


def test_streamed_completions_reach_monitorx_with_tokens_first_token_and_cost(
    llm_example: ModuleType, chat_url: str, api: httpx.Client
) -> None:
    with (
        httpx.Client(base_url=chat_url) as http,
        http.stream("POST", "/generate", json={"prompt": "the model", "max_tokens": 25}) as reply,
    ):
        assert reply.status_code == 200
        chunks = list(reply.iter_text())
    words = "".join(chunks).split()
    assert len(words) == 25
    assert set(words) <= set(llm_example.CORPUS.split())
    with httpx.Client(base_url=chat_url) as http:
        assert http.post("/generate", json={"max_tokens": 5}).status_code == 422
    assert monitorx.flush(timeout=10)
    [row] = api.get("/metrics/inference", params={"model_id": "bigram-chat"}).json()
    assert row["model_type"] == "llm"
    assert row["llm"]["completion_tokens"] == 25
    assert row["llm"]["cost_usd"] == pytest.approx(25 * 0.60 / 1_000_000)
    # The prefill (20 ms) comes before the first word; the 24 decode steps after it.
    assert 20.0 <= row["llm"]["time_to_first_token_ms"] < row["latency"]
    assert row["latency"] >= 20.0 + 24 * 1.0


def test_the_llm_demo_delivers_every_completion(
    llm_example: ModuleType, live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url)
    assert llm_example.demo(llm_example.ChatService(prefill_s=0.0, decode_s=0.0), 12)
    rows = api.get("/metrics/inference", params={"model_id": "bigram-chat"}).json()
    assert len(rows) == 12
    assert sorted(row["llm"]["completion_tokens"] for row in rows) == list(range(10, 22))
