"""LLM fields over plain HTTP: an inference's ``llm`` object (tokens, time to first
token, cost) is stored, read back, aggregated (``agg=sum`` for totals), refused by
name when wrong, and usable in alert rules — a cost budget per hour."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitorx.core import FakeClock
from tests.conftest import LiveServer, make_settings, run_server

HOUR = 3600


def llm_metric(i: int, when: float, **llm: Any) -> dict[str, Any]:
    return {
        "model_id": "chat-llm",
        "model_type": "llm",
        "request_id": f"req-{i}",
        "latency": 900.0 + i,
        "timestamp": when,
        "llm": llm,
    }


def test_llm_fields_are_stored_and_read_back(api: httpx.Client) -> None:
    now = time.time() - 10
    body = llm_metric(
        1, now, prompt_tokens=812, completion_tokens=143, time_to_first_token_ms=180.5,
        cost_usd=0.0021,
    )  # fmt: skip
    assert api.post("/metrics/inference", json=body).status_code == 202
    plain = {"model_id": "chat-llm", "latency": 5.0, "timestamp": now - 1}
    assert api.post("/metrics/inference", json=plain).status_code == 202

    newest, older = api.get("/metrics/inference", params={"model_id": "chat-llm"}).json()
    assert newest["llm"] == {
        "prompt_tokens": 812,
        "completion_tokens": 143,
        "time_to_first_token_ms": 180.5,
        "cost_usd": 0.0021,
    }
    assert isinstance(newest["llm"]["prompt_tokens"], int)
    assert older["llm"] == {}
    # Only the fields sent come back: a partial object stays partial.
    partial = llm_metric(2, now + 1, completion_tokens=9)
    assert api.post("/metrics/inference", json=partial).status_code == 202
    latest = api.get("/metrics/inference", params={"model_id": "chat-llm", "limit": 1}).json()
    assert latest[0]["llm"] == {"completion_tokens": 9}


def test_tokens_and_cost_aggregate_per_bucket(api: httpx.Client) -> None:
    hour_start = (int(time.time()) // HOUR - 1) * HOUR
    batch = [
        llm_metric(
            i,
            hour_start + 60 * i,
            prompt_tokens=100 * (i + 1),
            completion_tokens=10,
            time_to_first_token_ms=50.0 + 10 * i,
            cost_usd=0.5,
        )
        for i in range(10)
    ]
    response = api.post("/metrics/inference/batch", json=batch)
    assert response.json() == {"accepted": 10, "rejected": []}
    window = {"start": hour_start, "end": hour_start + HOUR, "interval": "1h"}

    def one(metric: str, agg: str) -> float:
        params = {"model_id": "chat-llm", "metric": metric, "agg": agg, **window}
        (bucket,) = api.get("/metrics/aggregate", params=params).json()
        assert bucket["time"] == datetime.fromtimestamp(hour_start, UTC).isoformat().replace(
            "+00:00", "Z"
        )
        value: float = bucket["value"]
        return value

    assert one("cost_usd", "sum") == pytest.approx(5.0)
    assert one("prompt_tokens", "sum") == 5500
    assert one("completion_tokens", "mean") == 10
    assert one("time_to_first_token_ms", "p50") == pytest.approx(95.0)
    assert one("time_to_first_token_ms", "max") == 140.0
    assert one("latency", "sum") == pytest.approx(sum(900.0 + i for i in range(10)))
    assert one("cost_usd", "count") == 10


@pytest.mark.parametrize(
    ("llm", "field"),
    [
        ({"prompt_tokens": -1}, "llm.prompt_tokens"),
        ({"prompt_tokens": 12.5}, "llm.prompt_tokens"),
        ({"completion_tokens": "12"}, "llm.completion_tokens"),
        ({"time_to_first_token_ms": -3}, "llm.time_to_first_token_ms"),
        ({"cost_usd": -0.01}, "llm.cost_usd"),
        ({"prompt_token": 5}, "llm"),
        ([1, 2], "llm"),
    ],
)
def test_a_bad_llm_field_is_a_422_that_names_it(api: httpx.Client, llm: Any, field: str) -> None:
    body = {"model_id": "chat-llm", "latency": 1.0, "llm": llm}
    response = api.post("/metrics/inference", json=body)
    assert response.status_code == 422
    assert field in response.text
    if field == "llm" and isinstance(llm, dict):
        assert "prompt_token" in response.text  # the misspelt key is named
    assert api.get("/metrics/inference", params={"model_id": "chat-llm"}).json() == []


def test_non_finite_cost_is_refused_by_name(api: httpx.Client) -> None:
    body = b'{"model_id": "chat-llm", "latency": 1.0, "llm": {"cost_usd": NaN}}'
    response = api.post(
        "/metrics/inference", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "llm.cost_usd" in response.text


def test_a_batch_keeps_good_items_and_names_the_bad_llm_one(api: httpx.Client) -> None:
    now = time.time() - 1
    batch = [
        llm_metric(0, now, prompt_tokens=10),
        llm_metric(1, now, prompt_tokens=10.5),
        llm_metric(2, now, cost_usd=0.1),
    ]
    response = api.post("/metrics/inference/batch", json=batch)
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 2
    assert [r["index"] for r in result["rejected"]] == [1]
    assert "llm.prompt_tokens" in result["rejected"][0]["error"]
    stored = api.get("/metrics/inference", params={"model_id": "chat-llm"}).json()
    assert sorted(m["request_id"] for m in stored) == ["req-0", "req-2"]


def test_the_openapi_schema_describes_the_llm_object(
    api: httpx.Client, live_server: LiveServer
) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    llm = schema["components"]["schemas"]["LLMUsage"]["properties"]
    assert set(llm) == {"prompt_tokens", "completion_tokens", "time_to_first_token_ms", "cost_usd"}
    aggregate = schema["paths"]["/api/v1/metrics/aggregate"]["get"]["parameters"]
    metric = next(p for p in aggregate if p["name"] == "metric")
    assert "cost_usd" in str(metric["schema"])
    agg = next(p for p in aggregate if p["name"] == "agg")
    assert "sum" in str(agg["schema"])


# A cost budget: an alert rule on the hourly sum of cost_usd ------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def rules_api(tmp_path: Path, clock: FakeClock) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path / "data", rule_eval_interval_s=0.02)
    with (
        run_server(settings, clock=clock) as server,
        httpx.Client(base_url=server.api, timeout=10) as client,
    ):
        yield client


def _evaluated(api: httpx.Client, clock: FakeClock, rule_id: str) -> dict[str, Any]:
    wanted = clock.now().isoformat()
    deadline = time.monotonic() + 5
    while True:
        states = api.get(f"/rules/{rule_id}").json()["models"]
        if states and states[0]["evaluated_at"] == wanted:
            state: dict[str, Any] = states[0]
            return state
        assert time.monotonic() < deadline, f"rule {rule_id} was not evaluated at {wanted}"
        time.sleep(0.01)


def test_an_hourly_cost_budget_rule_fires_when_spend_passes_it(
    rules_api: httpx.Client, clock: FakeClock
) -> None:
    budget = {
        "id": "llm-cost-budget",
        "metric": "cost_usd",
        "aggregation": "sum",
        "window": "1h",
        "op": ">",
        "threshold": 50,
        "model_ids": ["chat-llm"],
    }
    assert rules_api.post("/rules", json=budget).status_code == 201
    start = clock.now() - timedelta(minutes=50)

    def spend(count: int, offset_s: float) -> None:
        batch = [
            llm_metric(i, (start + timedelta(seconds=offset_s + i)).timestamp(), cost_usd=1.0)
            for i in range(count)
        ]
        assert rules_api.post("/metrics/inference/batch", json=batch).status_code == 202

    spend(40, 0)
    clock.advance(1)
    state = _evaluated(rules_api, clock, "llm-cost-budget")
    assert (state["state"], state["value"]) == ("inactive", 40.0)

    spend(15, 600)
    clock.advance(1)
    state = _evaluated(rules_api, clock, "llm-cost-budget")
    assert (state["state"], state["value"]) == ("firing", 55.0)
    (alert,) = rules_api.get("/alerts", params={"model_id": "chat-llm"}).json()
    assert alert["alert_type"] == "resource_usage"
    assert alert["message"] == "sum cost_usd over 1h is 55, > 50 (rule llm-cost-budget)"
