"""`/models/{id}/concept-drift` over HTTP: configuring a model's monitor, refusals
naming fields, and a change in the error stream raising a concept drift alert that
says where it happened."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POINTS = 2000  # before and after the change


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture
def api(api: httpx.Client) -> httpx.Client:
    """The shared client, with model ``scorer`` registered."""
    assert api.put("/models/scorer", json={"model_type": "tabular"}).status_code == 201
    return api


def _stream(api: httpx.Client, error_rates: list[float], seed: int = 3) -> None:
    """POINTS requests per error rate, one a second, ending a minute before NOW."""
    rng = np.random.default_rng(seed)
    flags = np.concatenate([rng.random(POINTS) < rate for rate in error_rates])
    start = NOW.timestamp() - 60 - len(flags)
    body = [
        {"model_id": "scorer", "latency": 20.0, "error": bool(flag), "timestamp": start + i}
        for i, flag in enumerate(flags)
    ]
    response = api.post("/metrics/inference/batch", json=body)
    assert response.status_code == 202, response.text


def _fed(api: httpx.Client, count: int) -> dict[str, Any]:
    status: dict[str, Any] = eventually(
        lambda: api.get("/models/scorer/concept-drift").json(),
        lambda s: s["points_seen"] >= count,
    )
    assert status["points_seen"] == count
    return status


def _concept_alerts(api: httpx.Client) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = api.get("/alerts", params={"alert_type": "drift"}).json()
    return [a for a in alerts if a["labels"] == {"drift_type": "concept"}]


def test_a_change_in_the_error_rate_raises_a_concept_drift_alert(api: httpx.Client) -> None:
    assert api.put("/models/scorer/concept-drift", json={"detector": "adwin"}).status_code == 201
    _stream(api, [0.05, 0.5])
    status = _fed(api, 2 * POINTS)
    assert status["detections"] >= 1
    last = status["last_detection"]
    assert POINTS <= last["index"] < POINTS + 300

    (alert,) = eventually(lambda: _concept_alerts(api), bool)
    assert alert["model_id"] == "scorer" and alert["status"] == "firing"
    assert alert["severity"] == "high"
    assert alert["value"] > alert["threshold"]  # the error rate now vs before
    message = alert["message"]
    assert message.startswith("concept drift in the error stream of model scorer: ADWIN ")
    assert f"(point {last['index']:,} of the stream)" in message
    assert last["timestamp"].removesuffix("Z")[:19] in message


def test_a_stationary_error_stream_of_the_same_length_raises_nothing(api: httpx.Client) -> None:
    assert api.put("/models/scorer/concept-drift", json={"detector": "adwin"}).status_code == 201
    _stream(api, [0.05, 0.05])
    status = _fed(api, 2 * POINTS)
    assert status["detections"] == 0 and status["last_detection"] is None
    assert _concept_alerts(api) == []


def test_the_config_round_trips_with_rivers_defaults_filled_in(api: httpx.Client) -> None:
    body = {"detector": "kswin", "metric": "latency", "params": {"alpha": 0.001, "seed": 4}}
    created = api.put("/models/scorer/concept-drift", json=body)
    assert created.status_code == 201
    expected = {
        "model_id": "scorer",
        "detector": "kswin",
        "metric": "latency",
        "params": {"alpha": 0.001, "window_size": 100, "stat_size": 30, "seed": 4},
        "points_seen": 0,
        "batches_dropped": 0,
        "detections": 0,
        "last_detection": None,
    }
    assert created.json() == expected
    assert api.get("/models/scorer/concept-drift").json() == expected

    replaced = api.put("/models/scorer/concept-drift", json={"detector": "ddm"})
    assert replaced.status_code == 200
    assert replaced.json()["metric"] == "error"
    assert replaced.json()["params"] == {
        "warm_start": 30,
        "warning_threshold": 2.0,
        "drift_threshold": 3.0,
    }

    assert api.delete("/models/scorer/concept-drift").status_code == 204
    assert api.get("/models/scorer/concept-drift").status_code == 404
    assert api.delete("/models/scorer/concept-drift").status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"metric": "error"}, ["detector"]),
        ({"detector": "prophet"}, ["detector"]),
        ({"detector": "ddm", "metric": "latency"}, ["metric"]),
        ({"detector": "adwin", "params": {"delta": 2}}, ["params.delta"]),
        ({"detector": "adwin", "params": {"delta": 1e400}}, ["params.delta"]),
        ({"detector": "adwin", "params": {"clock": 10**400}}, ["params.clock"]),
        ({"detector": "page_hinkley", "params": {"threshold": -1, "mode": "x"}},
         ["params.mode", "params.threshold"]),
        ({"detector": "kswin", "params": {"window_size": 20, "stat_size": 30}},
         ["params.stat_size"]),
        ({"detector": "adwin", "params": {"speed": 1}}, ["params.speed"]),
        ([1, 2], [""]),
    ],
)  # fmt: skip
def test_bad_configs_are_422_naming_each_field(
    api: httpx.Client, body: object, fields: list[str]
) -> None:
    # The standard library writes 1e400 as Infinity, which the server reads as a float.
    response = api.put(
        "/models/scorer/concept-drift",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert sorted(e["field"] for e in response.json()["errors"]) == fields
    assert api.get("/models/scorer/concept-drift").status_code == 404


def test_non_json_is_400_and_unknown_models_are_404(api: httpx.Client) -> None:
    response = api.put(
        "/models/scorer/concept-drift",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    missing = api.put("/models/nobody/concept-drift", json={"detector": "adwin"})
    assert missing.status_code == 404
    assert api.get("/models/nobody/concept-drift").status_code == 404


def test_the_config_body_is_documented_in_openapi(api: httpx.Client) -> None:
    doc = httpx.get(api.base_url.copy_with(path="/openapi.json")).json()
    put = doc["paths"]["/api/v1/models/{model_id}/concept-drift"]["put"]
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["detector"]["enum"] == ["adwin", "ddm", "page_hinkley", "kswin"]
