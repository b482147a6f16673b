"""Threshold profiles over HTTP: defaults per model type and environment, a model's
own thresholds winning, and thresholds learned from a model's own history."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from tests.conftest import make_settings, run_server

DAY = 86400.0


def serve(data_dir: Path, clock: FakeClock) -> Any:
    """A server of its own (beside `live_server`), for restarts."""
    return run_server(make_settings(data_dir), clock=clock)


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def register(api: httpx.Client, model_id: str, environment: str = "prod", **limits: float) -> None:
    body = {"model_type": "tabular", "environment": environment, "thresholds": limits}
    assert api.put(f"/models/{model_id}", json=body).status_code == 201


def wait_for_alerts(api: httpx.Client, count: int) -> list[dict[str, Any]]:
    """Poll for up to a second: API.md promises a firing alert within one."""
    deadline = time.monotonic() + 1.0
    while True:
        found: list[dict[str, Any]] = api.get("/alerts").json()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_profile_applies_to_models_without_their_own_threshold(api: httpx.Client) -> None:
    profile = {"thresholds": {"latency_ms": 100, "error_rate": 0.05}}
    assert api.put("/threshold-profiles/tabular/prod", json=profile).status_code == 201
    register(api, "plain")
    register(api, "own", latency_ms=500)
    register(api, "staging", environment="staging")
    assert api.get("/models/plain/thresholds").json() == {
        "latency_ms": {"value": 100.0, "source": "profile", "profile": "tabular/prod"},
        "error_rate": {"value": 0.05, "source": "profile", "profile": "tabular/prod"},
    }
    assert api.get("/models/own/thresholds").json()["latency_ms"] == {
        "value": 500.0,
        "source": "model",
    }
    assert api.get("/models/staging/thresholds").json() == {}
    batch = [{"model_id": m, "latency": 200.0} for m in ("plain", "own", "staging")]
    api.post("/metrics/inference/batch", json=batch)
    (alert,) = wait_for_alerts(api, 1)
    time.sleep(0.2)  # time for a wrong second alert to show
    assert [a["model_id"] for a in api.get("/alerts").json()] == ["plain"]
    assert (alert["threshold"], alert["value"], alert["severity"]) == (100.0, 200.0, "critical")


def test_profile_crud_and_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        body = {"thresholds": {"cpu_percent": 90}}
        assert api.put("/threshold-profiles/llm/staging", json=body).status_code == 201
        body = {"thresholds": {"cpu_percent": 80}, "learn": {"latency_ms": {"factor": 2}}}
        replaced = api.put("/threshold-profiles/llm/staging", json=body)
        assert replaced.status_code == 200
        assert replaced.json() == {
            "model_type": "llm",
            "environment": "staging",
            "thresholds": {"cpu_percent": 80.0},
            "learn": {"latency_ms": {"aggregation": "p99", "factor": 2.0, "window": "7d"}},
        }
        api.put("/threshold-profiles/cv/dev", json={})
        assert api.get("/threshold-profiles/cv/prod").status_code == 404
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        listed = api.get("/threshold-profiles").json()
        assert [(p["model_type"], p["environment"]) for p in listed] == [
            ("cv", "dev"),
            ("llm", "staging"),
        ]
        assert api.get("/threshold-profiles/llm/staging").json() == replaced.json()
        # Sent back as it was read, a profile is accepted.
        assert api.put("/threshold-profiles/llm/staging", json=replaced.json()).status_code == 200
        assert api.delete("/threshold-profiles/llm/staging").status_code == 204
        assert api.delete("/threshold-profiles/llm/staging").status_code == 404
        assert api.get("/threshold-profiles/llm/staging").status_code == 404


def test_deleting_a_profile_removes_its_thresholds(api: httpx.Client) -> None:
    api.put("/threshold-profiles/tabular/prod", json={"thresholds": {"latency_ms": 100}})
    register(api, "m")
    assert api.get("/models/m/thresholds").json()["latency_ms"]["value"] == 100.0
    api.delete("/threshold-profiles/tabular/prod")
    assert api.get("/models/m/thresholds").json() == {}
    api.post("/metrics/inference", json={"model_id": "m", "latency": 500.0})
    time.sleep(0.3)
    assert api.get("/alerts").json() == []


TP = "/threshold-profiles/tabular/prod"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/threshold-profiles/tabularish/prod", {}, "model_type"),
        ("/threshold-profiles/tabular/moon", {}, "environment"),
        (TP, {"thresholds": {"latency_ms": -1}}, "thresholds.latency_ms"),
        (TP, {"thresholds": {"error_rate": 1.5}}, "thresholds.error_rate"),
        (TP, {"thresholds": {"speed": 1}}, "thresholds.speed"),
        (TP, {"learn": {"drift_confidence": {}}}, "learn.drift_confidence"),
        (TP, {"learn": {"latency_ms": {"factor": 0}}}, "learn.latency_ms.factor"),
        (TP, {"learn": {"latency_ms": {"window": "30d"}}}, "learn.latency_ms.window"),
        (TP, {"learn": {"latency_ms": {"aggregation": "count"}}}, "learn.latency_ms.aggregation"),
        (
            TP,
            {"thresholds": {"latency_ms": 100}, "learn": {"latency_ms": {}}},
            "learn.latency_ms",
        ),
        (TP, {"learn": {"latency_ms": {"factor": 10**400}}}, "learn.latency_ms.factor"),
        (TP, {"limits": {}}, "limits"),
        ("/threshold-profiles/tabular/prod", [], "body"),
    ],
)  # fmt: skip
def test_a_bad_profile_is_422_naming_the_field(
    api: httpx.Client, path: str, body: object, field: str
) -> None:
    response = api.put(path, json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert api.get("/threshold-profiles").json() == []


def test_thresholds_of_unknown_and_unregistered_models(api: httpx.Client) -> None:
    assert api.get("/models/nobody/thresholds").status_code == 404
    api.post("/metrics/inference", json={"model_id": "unregistered", "latency": 5.0})
    assert api.get("/models/unregistered/thresholds").json() == {}


# Learned thresholds ------------------------------------------------------------------

LEARN = {"learn": {"latency_ms": {"aggregation": "p99", "factor": 1.5, "window": "7d"}}}


def post_history(api: httpx.Client, clock: FakeClock, model: str, n: int, seed: int) -> np.ndarray:
    """``n`` latencies over the last 7 days, plus older ones that must not count;
    return the latencies inside the 7 days."""
    rng = np.random.default_rng(seed)
    now = clock.now().timestamp()
    ages = rng.uniform(1, 7 * DAY - 1, n)
    latencies = rng.lognormal(4, 0.5, n).round(3)
    batch = [
        {"model_id": model, "latency": float(v), "timestamp": now - float(a)}
        for v, a in zip(latencies, ages, strict=True)
    ]
    batch += [
        {"model_id": model, "latency": 9000.0, "timestamp": now - 8 * DAY - i} for i in range(50)
    ]
    assert api.post("/metrics/inference/batch", json=batch).json()["accepted"] == len(batch)
    return latencies


def test_a_learned_threshold_is_1_5_times_the_7_day_p99_and_raises_alerts(
    tmp_path: Path, clock: FakeClock
) -> None:
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        register(api, "m")
        register(api, "own", latency_ms=10_000)
        latencies = post_history(api, clock, "m", 2000, seed=7)
        post_history(api, clock, "own", 200, seed=8)
        assert api.put("/threshold-profiles/tabular/prod", json=LEARN).status_code == 201
        expected = 1.5 * float(np.percentile(latencies, 99))
        learned = api.get("/models/m/thresholds").json()["latency_ms"]
        assert learned["value"] == pytest.approx(expected, rel=1e-9)
        assert learned["source"] == "learned" and learned["profile"] == "tabular/prod"
        assert (learned["aggregation"], learned["factor"], learned["window"]) == ("p99", 1.5, "7d")
        assert (learned["points"], learned["min_points"]) == (2000, 100)
        assert learned["learned_at"] == clock.now().isoformat()
        # The model's own threshold wins over learning.
        assert api.get("/models/own/thresholds").json()["latency_ms"]["source"] == "model"

        api.post("/metrics/inference", json={"model_id": "m", "latency": expected * 0.99})
        time.sleep(0.3)
        assert api.get("/alerts").json() == []
        api.post("/metrics/inference", json={"model_id": "m", "latency": expected * 1.3})
        (alert,) = wait_for_alerts(api, 1)
        assert alert["threshold"] == pytest.approx(expected, rel=1e-9)
        assert (alert["model_id"], alert["severity"]) == ("m", "medium")

    # Learned again at startup, from the history as it is then (with the two points above).
    clock.advance(1)
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        again = np.concatenate([latencies, [expected * 0.99, expected * 1.3]])
        learned = api.get("/models/m/thresholds").json()["latency_ms"]
        assert learned["value"] == pytest.approx(1.5 * float(np.percentile(again, 99)), rel=1e-9)


def test_no_threshold_is_learned_without_enough_history(
    api: httpx.Client, clock: FakeClock
) -> None:
    register(api, "m")
    post_history(api, clock, "m", 99, seed=3)
    api.put("/threshold-profiles/tabular/prod", json=LEARN)
    learned = api.get("/models/m/thresholds").json()["latency_ms"]
    assert (learned["value"], learned["source"], learned["points"]) == (None, "learned", 99)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 1e6})
    time.sleep(0.3)
    assert api.get("/alerts").json() == []
