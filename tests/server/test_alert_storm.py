"""An incident as it comes: 50 models breach at once. Every alert reaches the
webhook once, within a second of its metric's 202, and the resolves follow once
each — with the channel's secret signing every request, and nothing held back by a
rate limit or queued behind another alert's send.

On PostgreSQL (the test command's PostgreSQL phase) the storm also goes through a
server that is a replica of a cluster (a Redis URL: leases, the notifier fed from
the store, the hot tier off), which must keep the same targets."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from monitorx.core import FakeClock
from tests.backends import api_backend
from tests.http_receiver import HttpReceiver
from tests.redis_peer import shared_redis
from tests.server.notify_helpers import START, alerts, model, notifying_server, route

NOW = START
MODELS = [f"storm-{i:02d}" for i in range(50)]
SECRET = "storm-secret"


def _post_breach(base_url: str, model_id: str) -> tuple[str, float]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.post("/metrics/inference", json={"model_id": model_id, "latency": 300.0})
    acked = time.perf_counter()
    assert response.status_code == 202, response.text
    return model_id, acked


def _by_model(requests: list, status: str) -> Counter[str]:
    return Counter(
        alert["labels"]["model_id"]
        for r in requests
        for alert in r.json()["alerts"]
        if alert["status"] == status
    )


@pytest.fixture(params=["single", "cluster"])
def storm_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """Nothing more for a single server; a Redis URL for a replica of a cluster,
    which needs PostgreSQL (the test command's PostgreSQL phase runs it)."""
    if request.param == "single":
        yield {}
        return
    if api_backend() != "postgres":
        pytest.skip("a replica of a cluster needs PostgreSQL: the PostgreSQL phase runs it")
    with shared_redis() as (url, prefix):
        yield {"redis_url": url, "redis_prefix": prefix}


def test_fifty_breaches_at_once_reach_the_webhook_within_a_second_and_resolve_once(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver, storm_settings: dict[str, object]
) -> None:
    with notifying_server(tmp_path / "data", clock, **storm_settings) as (live, api):
        channel = {
            "id": "ops",
            "type": "webhook",
            "config": {"url": receiver.url(), "secret": SECRET},
        }
        assert api.post("/channels", json=channel).status_code == 201
        route(api, "all", ["ops"], group_by=["model_id", "alertname"], group_interval="1s")
        for model_id in MODELS:
            model(api, model_id)
        with ThreadPoolExecutor(10) as pool:
            acked = dict(pool.map(lambda m: _post_breach(live.api, m), MODELS))
        firing = receiver.wait_for(len(MODELS), timeout=10)
        time.sleep(0.3)  # anything more would be a duplicate
        firing = list(receiver.requests)
        assert _by_model(firing, "firing") == Counter(MODELS)  # each once
        arrived = {r.json()["alerts"][0]["labels"]["model_id"]: r.at for r in firing}
        waits = {m: round(arrived[m] - acked[m], 3) for m in MODELS}
        late = {m: w for m, w in waits.items() if w > 1.0}
        assert late == {}
        for request in firing:
            signature = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["X-MonitorX-Signature"] == f"sha256={signature}"

        for alert in alerts(api, len(MODELS), status="firing"):
            assert api.post(f"/alerts/{alert['id']}/resolve").status_code == 200
        clock.advance(1)  # each group's next flush: its group_interval after the last
        receiver.wait_for(2 * len(MODELS), timeout=10)
        time.sleep(0.3)
        resolved = receiver.requests[len(firing) :]
        assert _by_model(resolved, "resolved") == Counter(MODELS)
        assert len(receiver.requests) == 2 * len(MODELS)
