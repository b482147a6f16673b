"""429 with Retry-After past a client's budget; health never limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitorx.server.rate_limits import TokenBuckets
from tests.conftest import LiveServer, make_settings, run_server


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate() -> None:
    clock = _Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, now=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # each client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", rate_limit_per_s=1, rate_limit_burst=5)
    with run_server(settings) as server:
        yield server


def test_past_the_burst_a_client_gets_429_with_retry_after(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.api, headers={"X-API-Key": "k1"}) as client:
        statuses = [client.get("/models").status_code for _ in range(6)]
        refused = client.post("/metrics/inference", json={"model_id": "m", "latency": 1})
    assert statuses == [200] * 5 + [429]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    with httpx.Client(base_url=limited.api, headers={"X-API-Key": "k2"}) as other:
        assert other.get("/models").status_code == 200
        assert all(other.get("/health").status_code == 200 for _ in range(10))
