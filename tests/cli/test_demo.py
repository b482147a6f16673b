"""`monitorx demo` gives a newcomer live data and firing alerts within a minute."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest

from monitorx.cli.demo import MODELS, run_demo
from tests.conftest import LiveServer, free_port, make_settings, run_server


class _FastTime:
    """The demo's clock and sleep: a pause passes at once and moves the clock."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


def test_demo_registers_models_sends_traffic_and_fires_alerts_within_a_minute(
    live_server: LiveServer,
) -> None:
    fast = _FastTime()
    out = io.StringIO()
    report = run_demo(
        live_server.url, duration_s=60, rate_per_s=20, seed=3, out=out,
        sleep=fast.sleep, clock=fast.clock,
    )  # fmt: skip

    with httpx.Client(base_url=live_server.api, timeout=10) as api:
        for model in MODELS:
            stored_model = api.get(f"/models/{model.id}").json()
            assert stored_model["model_type"] == model.model_type
            assert stored_model["thresholds"]["latency_ms"] == model.thresholds["latency_ms"]
            stored = api.get(
                "/metrics/inference",
                params={"model_id": model.id, "limit": 10_000, "start": 0, "end": fast.now + 5},
            ).json()
            assert len(stored) == report.sent[model.id] > 0
            assert {m["tags"]["version"] for m in stored} == {model.version}
            # The chat model's requests carry tokens, time to first token and cost.
            with_llm = [m["llm"] for m in stored if m["llm"]]
            assert len(with_llm) == (len(stored) if model.model_type == "llm" else 0)
            for usage in with_llm:
                assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
                assert 0 < usage["time_to_first_token_ms"] < 1e5 and usage["cost_usd"] > 0
        firing = {(a["alert_type"], a["model_id"]) for a in api.get("/alerts?status=firing").json()}
    # The two incidents of the first minute: a latency spike, then an error burst.
    assert ("latency", "vision-resnet") in firing
    assert ("error_rate", "fraud-xgb") in firing
    text = out.getvalue()
    assert "Registered 3 models: chat-llm (llm" in text
    assert "Latency spike on vision-resnet: p95 will cross its 120 ms threshold" in text
    assert "ALERT firing: latency on vision-resnet" in text
    assert "ALERT firing: error_rate on fraud-xgb" in text
    assert "Sent " in text and "in the last 10 s" in text
    assert "latency on vision-resnet" in report.alerts_fired


def test_demo_waits_for_a_server_then_says_none_answered() -> None:
    fast = _FastTime()
    out = io.StringIO()
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit, match="No MonitorX server answered"):
        run_demo(url, duration_s=5, out=out, sleep=fast.sleep, clock=fast.clock)
    assert "Waiting for the MonitorX server" in out.getvalue()
    assert fast.sleeps >= 50  # it retried for the whole 30 s before giving up


def test_ctrl_c_stops_the_demo_with_a_summary(live_server: LiveServer) -> None:
    fast = _FastTime()

    def sleep_then_interrupt(seconds: float) -> None:
        fast.sleep(seconds)
        if fast.sleeps == 3:
            raise KeyboardInterrupt

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        run_demo(live_server.url, rate_per_s=10, seed=1, out=out,
                 sleep=sleep_then_interrupt, clock=fast.clock)  # fmt: skip
    assert "Demo stopped after 3 s" in out.getvalue()
    with httpx.Client(base_url=live_server.api, timeout=10) as api:
        stored = api.get("/metrics/inference", params={"model_id": "fraud-xgb"}).json()
    assert stored


def test_demo_against_a_server_with_auth_asks_for_an_api_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=["demo-key"])
    fast = _FastTime()
    with run_server(settings) as server:
        with pytest.raises(SystemExit, match="--api-key"):
            run_demo(server.url, duration_s=2, out=io.StringIO(), sleep=fast.sleep,
                     clock=fast.clock)  # fmt: skip
        report = run_demo(server.url, api_key="demo-key", duration_s=2, out=io.StringIO(),
                          sleep=fast.sleep, clock=fast.clock)  # fmt: skip
    assert report.total > 0 and report.failed_rounds == 0
