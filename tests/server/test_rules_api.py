"""`/api/v1/rules` against a real server on a FakeClock: window rules go pending,
fire, update and resolve as Prometheus users expect; CRUD, validation, restarts and
the rules file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitorx.core import FakeClock, ValidationError
from tests.conftest import make_settings, run_server

P95 = {
    "id": "p95-latency",
    "metric": "latency",
    "aggregation": "p95",
    "window": "1m",
    "op": ">",
    "threshold": 250,
    "for": "2m",
    "clear": "1m",
}


def rule(**changes: Any) -> dict[str, Any]:
    return {**P95, **{k.rstrip("_"): v for k, v in changes.items()}}


# Rules are evaluated every 20 ms of real time, at the fake clock's now.
RULE_EVAL_S = 0.02


def serve(data_dir: Path, clock: FakeClock, **settings: object) -> Any:
    """A server of its own (beside `live_server`), with these settings."""
    values: dict[str, object] = {"rule_eval_interval_s": RULE_EVAL_S, **settings}
    return run_server(make_settings(data_dir, **values), clock=clock)


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"rule_eval_interval_s": RULE_EVAL_S}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture
def api(api: httpx.Client) -> httpx.Client:
    """The shared client, with model ``m`` registered."""
    assert api.put("/models/m", json={"model_type": "tabular"}).status_code == 201
    return api


def advance(
    api: httpx.Client,
    clock: FakeClock,
    seconds: float,
    latency: float | None,
    rule_id: str = "p95-latency",
) -> dict[str, Any]:
    """Write a burst of ``latency`` in the (at most) 10 s before the new now, after the
    current one (None: no traffic),
    move the clock there (``seconds`` > 0), and wait for the rule's evaluation at
    that instant; return its state for model m."""
    before = clock.now().timestamp()
    now = before + seconds
    if latency is not None:
        # Strictly after the clock's current now, so an evaluation that runs before
        # the clock moves cannot see them.
        first = max(before, now - 10)
        batch = [
            {
                "model_id": "m",
                "latency": latency,
                "timestamp": first + (now - first) * (i + 0.5) / 20,
            }
            for i in range(20)
        ]
        assert api.post("/metrics/inference/batch", json=batch).status_code == 202
    clock.advance(seconds)
    wanted = clock.now().isoformat()
    deadline = time.monotonic() + 5
    while True:
        shown = api.get(f"/rules/{rule_id}").json()
        states = [s for s in shown["models"] if s["model_id"] == "m"]
        if states and states[0]["evaluated_at"] == wanted:
            return states[0]
        assert time.monotonic() < deadline, f"rule {rule_id} was not evaluated at {wanted}"
        time.sleep(0.01)


def alerts(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/alerts").json()
    return found


def test_a_p95_rule_is_pending_then_fires_only_after_for(
    api: httpx.Client, clock: FakeClock
) -> None:
    assert api.post("/rules", json=P95).status_code == 201
    state = advance(api, clock, 1, 400)
    assert state["state"] == "pending" and state["value"] == 400.0
    start = state["active_since"]
    assert start == state["evaluated_at"]
    for _ in range(3):
        assert advance(api, clock, 30, 400)["state"] == "pending"
    assert alerts(api) == []
    state = advance(api, clock, 30, 400)  # two minutes after it began to hold
    assert state["state"] == "firing" and state["active_since"] == start
    (alert,) = alerts(api)
    assert alert["labels"] == {"rule": "p95-latency"}
    assert alert["alert_type"] == "latency" and alert["status"] == "firing"
    assert (alert["value"], alert["threshold"], alert["severity"]) == (400.0, 250.0, "high")
    assert alert["message"] == "p95 latency over 1m is 400, > 250 (rule p95-latency)"
    assert api.get("/alerts", params={"status": "firing", "model_id": "m"}).json() == [alert]


def test_a_dip_while_pending_drops_it_without_an_alert(api: httpx.Client, clock: FakeClock) -> None:
    api.post("/rules", json=P95)
    advance(api, clock, 1, 400)
    assert advance(api, clock, 60, 400)["state"] == "pending"
    assert advance(api, clock, 61, 100)["state"] == "inactive"  # the window holds only 100s
    # The for-clock starts again from the next breach.
    assert advance(api, clock, 61, 400)["state"] == "pending"
    assert advance(api, clock, 61, 400)["state"] == "pending"
    assert alerts(api) == []


def test_a_firing_alert_is_updated_not_duplicated(api: httpx.Client, clock: FakeClock) -> None:
    api.post("/rules", json=rule(for_=0))
    advance(api, clock, 1, 300)
    (first,) = alerts(api)
    assert (first["value"], first["severity"]) == (300.0, "low")
    advance(api, clock, 61, 600)
    (second,) = alerts(api)
    assert second["id"] == first["id"]
    assert (second["value"], second["severity"]) == (600.0, "critical")


def test_it_resolves_only_after_the_clear_period(api: httpx.Client, clock: FakeClock) -> None:
    api.post("/rules", json=rule(for_=0, clear="1m"))
    advance(api, clock, 1, 400)
    (alert,) = alerts(api)
    assert advance(api, clock, 61, None)["state"] == "firing"  # no data: false, clear from here
    assert advance(api, clock, 59, None)["state"] == "firing"
    assert api.get(f"/alerts/{alert['id']}").json()["status"] == "firing"
    assert advance(api, clock, 1, None)["state"] == "inactive"
    resolved = api.get(f"/alerts/{alert['id']}").json()
    assert resolved["status"] == "resolved" and resolved["resolved"] is True


def test_deleting_a_firing_rule_resolves_its_alert(api: httpx.Client, clock: FakeClock) -> None:
    api.post("/rules", json=rule(for_=0))
    advance(api, clock, 1, 400)
    (alert,) = alerts(api)
    assert api.delete("/rules/p95-latency").status_code == 204
    assert api.get(f"/alerts/{alert['id']}").json()["status"] == "resolved"


def test_disabling_a_rule_resolves_its_alert_and_stops_evaluating(
    api: httpx.Client, clock: FakeClock
) -> None:
    api.post("/rules", json=rule(for_=0))
    advance(api, clock, 1, 400)
    assert api.put("/rules/p95-latency", json=rule(for_=0, enabled=False)).status_code == 200
    (alert,) = alerts(api)
    assert alert["status"] == "resolved"
    assert api.get("/rules/p95-latency").json()["models"] == []


# CRUD and validation -----------------------------------------------------------------


def test_rule_crud(api: httpx.Client) -> None:
    created = api.post("/rules", json=P95)
    assert created.status_code == 201
    body = created.json()
    assert body | {"models": []} == {
        **P95,
        "threshold": 250.0,
        "severity": None,
        "model_ids": [],
        "labels": {},
        "group_by": [],
        "alert_type": "latency",
        "enabled": True,
        "description": "",
        "source": "api",
        "models": [],
    }
    assert api.post("/rules", json=P95).status_code == 409
    assert api.put("/rules/errors", json=rule(id="errors", metric="error_rate")).status_code == 201
    replaced = api.put(
        "/rules/errors", json={**rule(metric="error_rate", threshold=0.1)} | {"id": "errors"}
    )
    assert replaced.status_code == 200 and replaced.json()["threshold"] == 0.1
    assert [r["id"] for r in api.get("/rules").json()] == ["p95-latency", "errors"]
    assert api.get("/rules/errors").json()["alert_type"] == "error_rate"
    assert api.delete("/rules/errors").status_code == 204
    assert api.get("/rules/errors").status_code == 404
    assert api.delete("/rules/errors").status_code == 404
    assert [r["id"] for r in api.get("/rules").json()] == ["p95-latency"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rule(metric="vibes!"), "metric"),
        (rule(labels={"region": 3}), "labels.region"),
        (rule(labels=["region"]), "labels"),
        (rule(group_by="region"), "group_by"),
        (rule(group_by=["region", "severity"]), "group_by[1]"),
        (rule(group_by=["region"], model_ids=["a"]), "model_ids"),
        (rule(metric="queue.depth", model_ids=["a"]), "model_ids"),
        (rule(aggregation="p42"), "aggregation"),
        (rule(op="=="), "op"),
        (rule(window="8d"), "window"),
        (rule(for_="-1m"), "for"),
        (rule(clear=-5), "clear"),
        (rule(threshold="high"), "threshold"),
        (rule(id="no spaces"), "id"),
        (rule(severity="dire"), "severity"),
        (rule(model_ids=["ok", ""]), "model_ids[1]"),
        ({k: v for k, v in P95.items() if k != "window"}, "window"),
        ([P95], "body"),
    ],
)
def test_a_bad_rule_is_422_naming_the_field(api: httpx.Client, body: object, field: str) -> None:
    response = api.post("/rules", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert api.get("/rules").json() == []


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 400])
def test_a_non_finite_threshold_is_422_naming_it(api: httpx.Client, number: bytes) -> None:
    text = b'{"id": "r", "metric": "latency", "aggregation": "max", "window": 60, "op": ">", '
    response = api.post(
        "/rules",
        content=text + b'"threshold": ' + number + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["threshold"]


def test_a_body_that_is_not_json_is_400(api: httpx.Client) -> None:
    response = api.post("/rules", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_put_with_another_id_in_the_body_is_422(api: httpx.Client) -> None:
    response = api.put("/rules/one", json=rule(id="two"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "id"


def test_rules_and_their_alerts_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        api.put("/models/m", json={"model_type": "tabular"})
        api.post("/rules", json=rule(for_=0, clear="1m"))
        api.post("/rules", json=rule(id="second", threshold=1000))
        advance(api, clock, 1, 400)
        (alert,) = alerts(api)
    with serve(tmp_path / "data", clock) as live, httpx.Client(base_url=live.api) as api:
        assert [r["id"] for r in api.get("/rules").json()] == ["p95-latency", "second"]
        # The alert fires on; with no traffic it clears after the rule's clear period.
        assert advance(api, clock, 61, None)["state"] == "firing"
        assert api.get(f"/alerts/{alert['id']}").json()["status"] == "firing"
        assert advance(api, clock, 60, None)["state"] == "inactive"
        assert api.get(f"/alerts/{alert['id']}").json()["status"] == "resolved"


# The rules file ---------------------------------------------------------------------

RULES_FILE = """
rules:
  - id: p95-latency
    metric: latency
    aggregation: p95
    window: 1m
    op: ">"
    threshold: 250
    for: 0s
  - id: gpu-memory
    metric: gpu_memory_mb
    aggregation: max
    window: 5m
    op: ">="
    threshold: 70000
    severity: critical
"""


def test_the_rules_file_is_loaded_and_its_rules_are_read_only(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_FILE)
    with (
        serve(tmp_path / "data", clock, rules_file=path) as live,
        httpx.Client(base_url=live.api) as api,
    ):
        shown = api.get("/rules").json()
        assert [(r["id"], r["source"]) for r in shown] == [
            ("p95-latency", "file"),
            ("gpu-memory", "file"),
        ]
        assert shown[1]["alert_type"] == "resource_usage" and shown[1]["severity"] == "critical"
        api.put("/models/m", json={"model_type": "tabular"})
        advance(api, clock, 1, 400)
        (alert,) = alerts(api)
        assert alert["labels"] == {"rule": "p95-latency"}
        for response in (
            api.put("/rules/p95-latency", json=P95),
            api.delete("/rules/p95-latency"),
            api.post("/rules", json=P95),
        ):
            assert response.status_code == 409
        assert api.post("/rules", json=rule(id="mine")).status_code == 201
    # A rule taken out of the file is gone at the next start; API rules stay.
    path.write_text(RULES_FILE.split("  - id: gpu-memory")[0])
    with (
        serve(tmp_path / "data", clock, rules_file=path) as live,
        httpx.Client(base_url=live.api) as api,
    ):
        assert [r["id"] for r in api.get("/rules").json()] == ["p95-latency", "mine"]


def test_a_broken_rules_file_stops_startup_naming_the_rule_and_field(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_FILE.replace("threshold: 70000", "threshold: lots"))
    with (
        pytest.raises(ValidationError) as exc,
        serve(tmp_path / "data", clock, rules_file=path),
    ):
        pass
    assert [e.field for e in exc.value.errors] == ["rules[1].threshold"]
    assert f"in {path}, rule 'gpu-memory': expected a number" in str(exc.value)


def test_reading_writing_and_deleting_rules_take_their_roles(
    tmp_path: Path, clock: FakeClock
) -> None:
    keys = ["admin-key", "editor-key:editor", "reader-key:viewer", "ingest-key:ingest"]
    with serve(tmp_path / "data", clock, auth_enabled=True, api_keys=keys) as live:

        def as_key(key: str) -> httpx.Client:
            return httpx.Client(base_url=live.api, headers={"X-API-Key": key}, timeout=10)

        with as_key("reader-key") as reader, as_key("editor-key") as editor:
            assert httpx.get(f"{live.api}/rules").status_code == 401
            assert reader.post("/rules", json=P95).status_code == 403
            with as_key("ingest-key") as ingest:
                assert ingest.post("/rules", json=P95).status_code == 403
                assert ingest.get("/rules").status_code == 403
            assert editor.post("/rules", json=P95).status_code == 201
            assert reader.get("/rules/p95-latency").status_code == 200
            assert reader.delete("/rules/p95-latency").status_code == 403
            assert editor.delete("/rules/p95-latency").status_code == 204
