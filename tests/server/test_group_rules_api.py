"""Window rules over labels, through the API on a real server (every backend): a
custom metric's rule with matchers and ``group_by`` raises one alert per group, with
the group's labels, sends them to a real receiver as Alertmanager labels that a
route groups on, and resolves each group on its own; ``group_by: ["model_id"]``
makes the group's model the alert's; ``rate`` over the window counts a reset."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitorx.core import FakeClock
from tests.http_receiver import HttpReceiver, wait_until
from tests.server.notify_helpers import notifying_server, route, webhook

NOW = datetime(2026, 12, 7, 9, 0, 17, tzinfo=UTC)
RULE_EVAL_S = 0.02

BACKLOG = {
    "id": "queue-backlog",
    "metric": "queue.depth",
    "aggregation": "max",
    "window": "5m",
    "op": ">",
    "threshold": 100,
    "labels": {"env": "prod"},
    "group_by": ["region"],
}


def _post(api: httpx.Client, samples: list[dict[str, Any]]) -> None:
    response = api.post("/metrics/custom", json=samples)
    assert response.status_code == 202, response.text
    assert response.json()["rejected"] == []


def _depths(until: float, depths: dict[tuple[str, str], list[float]]) -> list[dict[str, Any]]:
    """Samples of queue.depth per (region, env), spread over the 30 s before ``until``."""
    return [
        {
            "name": "queue.depth",
            "value": value,
            "labels": {"region": region, "env": env, "queue": "jobs"},
            "timestamp": until - 30 + 30 * i / len(values),
        }
        for (region, env), values in depths.items()
        for i, value in enumerate(values)
    ]


def _evaluated(api: httpx.Client, clock: FakeClock, rule_id: str) -> list[dict[str, Any]]:
    """Move the clock on a second and wait for the rule's evaluation at that instant;
    return its state per group."""
    clock.advance(1)
    wanted = clock.now().isoformat()
    deadline = time.monotonic() + 10
    while True:
        states: list[dict[str, Any]] = api.get(f"/rules/{rule_id}").json()["models"]
        if states and all(s["evaluated_at"] == wanted for s in states):
            return states
        assert time.monotonic() < deadline, f"rule {rule_id} was not evaluated at {wanted}"
        time.sleep(0.01)


def _firing(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/alerts", params={"status": "firing"}).json()
    return sorted(found, key=lambda a: sorted(a["labels"].items()))


def test_one_alert_per_group_with_its_labels_to_the_receiver_and_resolved_alone(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, rule_eval_interval_s=RULE_EVAL_S) as (_, api):
        webhook(api, "ops-hook", receiver.url(), send_resolved=True)
        # A route that matches and groups on the rule's labels.
        route(
            api,
            "queues",
            ["ops-hook"],
            matchers={"alertname": "metric", "rule": "queue-backlog"},
            group_by=["region"],
            group_interval="1m",
        )
        depths = {
            ("eu", "prod"): [40.0, 180.0, 120.0],
            ("us", "prod"): [101.5, 90.0],
            ("ap", "prod"): [10.0, 99.0],  # under the threshold
            ("eu", "staging"): [500.0],  # another env: the matcher leaves it out
        }
        _post(api, _depths(clock.now().timestamp(), depths))
        assert api.post("/rules", json=BACKLOG).status_code == 201
        states = _evaluated(api, clock, "queue-backlog")
        assert [(s["labels"], s["state"], s["value"], s["model_id"]) for s in states] == [
            ({"region": "ap"}, "inactive", 99.0, None),
            ({"region": "eu"}, "firing", 180.0, None),
            ({"region": "us"}, "firing", 101.5, None),
        ]
        eu, us = _firing(api)
        assert eu["labels"] == {"rule": "queue-backlog", "region": "eu"}
        assert us["labels"] == {"rule": "queue-backlog", "region": "us"}
        assert eu["model_id"] is None and eu["alert_type"] == "metric"
        assert (eu["value"], eu["threshold"]) == (180.0, 100.0)
        assert (
            eu["message"]
            == 'max queue.depth{region="eu"} over 5m is 180, > 100 (rule queue-backlog)'
        )

        # One notification per region (the route's group_by), Alertmanager labels.
        requests = receiver.wait_for(2)
        bodies = sorted((r.json() for r in requests), key=lambda b: b["groupLabels"]["region"])
        assert [b["groupKey"] for b in bodies] == [
            '{queues}:{region="eu"}',
            '{queues}:{region="us"}',
        ]
        (sent,) = bodies[0]["alerts"]
        assert sent["labels"] == {
            "alertname": "metric",
            "rule": "queue-backlog",
            "region": "eu",
            "severity": "high",  # 180 / 100 falls in API.md's 1.5–2 band
        }
        assert "model_id" not in sent["labels"]
        assert sent["status"] == "firing"

        # eu drains; the evaluation a window later sees only its low depths there
        # (written first, so no evaluation in between finds the window empty).
        later = {("eu", "prod"): [20.0], ("us", "prod"): [150.0]}
        _post(api, _depths(clock.now().timestamp() + 300, later))
        clock.advance(300)
        states = _evaluated(api, clock, "queue-backlog")
        assert {s["labels"]["region"]: s["state"] for s in states} == {
            "eu": "inactive",
            "us": "firing",
        }
        (still,) = _firing(api)
        assert still["id"] == us["id"] and still["value"] == 150.0  # updated, not a new one
        # The resolve goes out at the eu group's next flush, a group_interval on.
        clock.advance(60)
        resolved = receiver.wait_for(3)[2].json()
        assert resolved["status"] == "resolved" and resolved["groupLabels"] == {"region": "eu"}


def test_grouped_by_model_id_the_alert_is_the_models(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, rule_eval_interval_s=RULE_EVAL_S) as (_, api):
        now = clock.now().timestamp()
        ctr = {"ranker-v1": [0.010, 0.012, 0.008], "ranker-v2": [0.05, 0.04]}
        _post(
            api,
            [
                {
                    "name": "ranker.ctr",
                    "value": v,
                    "labels": {"model_id": m, "region": "eu"},
                    "timestamp": now - 5 + i,
                }
                for m, values in ctr.items()
                for i, v in enumerate(values)
            ],
        )
        rule = {
            "id": "low-ctr",
            "metric": "ranker.ctr",
            "aggregation": "mean",
            "window": "10m",
            "op": "<",
            "threshold": 0.02,
            "group_by": ["model_id"],
            "severity": "high",
        }
        assert api.post("/rules", json=rule).status_code == 201
        states = _evaluated(api, clock, "low-ctr")
        assert [(s["model_id"], s["state"]) for s in states] == [
            ("ranker-v1", "firing"),
            ("ranker-v2", "inactive"),
        ]
        assert states[0]["value"] == pytest.approx(sum(ctr["ranker-v1"]) / 3)
        (alert,) = _firing(api)
        assert alert["model_id"] == "ranker-v1"
        assert alert["labels"] == {"rule": "low-ctr", "model_id": "ranker-v1"}
        # The model's own alert list has it.
        assert [a["id"] for a in api.get("/alerts", params={"model_id": "ranker-v1"}).json()] == [
            alert["id"]
        ]


def test_a_rate_rule_counts_a_counter_reset_and_an_inference_metric_groups_by_tags(
    tmp_path: Path, clock: FakeClock
) -> None:
    with notifying_server(tmp_path, clock, rule_eval_interval_s=RULE_EVAL_S) as (_, api):
        now = clock.now().timestamp()
        # 0, 100, …, 500 then a restart: 0, 100, 200 → an increase of 500 + 0 + 200.
        values = [100.0 * i for i in range(6)] + [0.0, 100.0, 200.0]
        _post(
            api,
            [
                {
                    "name": "requests_total",
                    "value": v,
                    "labels": {"pod": "a"},
                    "timestamp": now - 50 + 5 * i,
                }
                for i, v in enumerate(values)
            ],
        )
        rate = {
            "id": "busy",
            "metric": "requests_total",
            "aggregation": "rate",
            "window": "1m",
            "op": ">",
            "threshold": 10,
        }
        assert api.post("/rules", json=rate).status_code == 201
        (state,) = _evaluated(api, clock, "busy")
        assert state["labels"] == {} and state["value"] == pytest.approx(700 / 60)
        assert state["state"] == "firing"

        metrics = [
            {
                "model_id": "fraud-v3",
                "latency": latency,
                "tags": {"region": region},
                "timestamp": now - 20 + i,
            }
            for i, (region, latency) in enumerate(
                [("eu", 300.0), ("eu", 320.0), ("us", 40.0), ("us", 60.0)]
            )
        ]
        assert api.post("/metrics/inference/batch", json=metrics).status_code == 202
        slow = {
            "id": "slow-region",
            "metric": "latency",
            "aggregation": "p50",
            "window": "5m",
            "op": ">",
            "threshold": 250,
            "group_by": ["region"],
        }
        assert api.post("/rules", json=slow).status_code == 201
        states = _evaluated(api, clock, "slow-region")
        assert [(s["labels"], s["value"], s["state"]) for s in states] == [
            ({"region": "eu"}, 310.0, "firing"),
            ({"region": "us"}, 50.0, "inactive"),
        ]
        wait_until(lambda: len(_firing(api)) == 2)
        latency_alert = next(a for a in _firing(api) if a["labels"]["rule"] == "slow-region")
        assert latency_alert["alert_type"] == "latency" and latency_alert["model_id"] is None
