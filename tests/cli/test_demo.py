"""`monitorx demo` gives a newcomer live data and a firing alert within a minute."""

from __future__ import annotations

import io
import time

import httpx

from monitorx.cli.demo import MODELS, run_demo
from tests.conftest import LiveServer


class _FastTime:
    """The demo's clock and sleep: each one-second pause passes at once."""

    def __init__(self) -> None:
        self.now = time.time()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_demo_registers_models_sends_traffic_and_fires_an_alert_within_a_minute(
    live_server: LiveServer,
) -> None:
    fast = _FastTime()
    out = io.StringIO()
    report = run_demo(
        live_server.url, duration_s=60, rate_per_s=20, seed=3, out=out,
        sleep=fast.sleep, clock=fast.clock,
    )  # fmt: skip

    with httpx.Client(base_url=live_server.api, timeout=10) as api:
        registered = {m["id"] for m in api.get("/models").json()}
        assert registered == {m.id for m in MODELS}
        for model in MODELS:
            stored = api.get(
                "/metrics/inference",
                params={"model_id": model.id, "limit": 10_000, "start": 0, "end": fast.now + 5},
            ).json()
            assert len(stored) == report.sent[model.id] > 0
        firing = api.get("/alerts", params={"status": "firing"}).json()
    assert any(a["model_id"] == "vision-resnet" and a["alert_type"] == "latency" for a in firing)
    text = out.getvalue()
    assert "Registered 3 models" in text
    assert "ALERT firing: latency on vision-resnet" in text
