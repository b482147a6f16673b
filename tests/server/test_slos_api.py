"""SLOs over HTTP: a real server on a fake clock, metrics ingested with chosen error
ratios and timestamps, burn-rate alerts raised and resolved, budgets read back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitorx.core import FakeClock
from tests.conftest import make_settings, run_server
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HOUR, DAY = 3600.0, 86400.0
# The scheduler evaluates SLOs this often (real seconds) in these tests.
EVAL_INTERVAL_S = 0.1


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"slo_eval_interval_s": EVAL_INTERVAL_S}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def _slo(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "fraud-availability",
        "model_id": "fraud-v3",
        "objective": "availability",
        "target": 0.999,
        "window": "30d",
    }
    return body | fields


def _ingest(
    api: httpx.Client,
    end: datetime,
    span_s: float,
    n: int,
    bad_every: int = 0,
    slow_latency: float | None = None,
    model: str = "fraud-v3",
) -> None:
    """``n`` metrics spread evenly over ``[end - span_s, end)``; every ``bad_every``-th
    is an error (or, with ``slow_latency``, that slow instead).

    Tests that check the first alert raised ingest before creating the SLO: a store
    may show a batch's chunks one at a time (InfluxDB does), and an evaluation
    between them would see a part of the batch."""
    start = end.timestamp() - span_s
    batch = []
    for i in range(n):
        bad = bad_every > 0 and i % bad_every == bad_every - 1
        slow = bad and slow_latency is not None
        batch.append(
            {
                "model_id": model,
                "latency": slow_latency if slow else 20.0,
                "error": bad and not slow,
                "timestamp": start + i * span_s / n,
            }
        )
    response = api.post("/metrics/inference/batch", json=batch)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == n


def _slo_alerts(api: httpx.Client, status: str | None = None) -> list[dict[str, Any]]:
    params = {"alert_type": "slo_burn"} | ({} if status is None else {"status": status})
    alerts: list[dict[str, Any]] = api.get("/alerts", params=params).json()
    return alerts


def _firing(api: httpx.Client) -> list[dict[str, Any]]:
    return eventually(lambda: _slo_alerts(api, "firing"), bool)


# Burn-rate alerts --------------------------------------------------------------------------


def test_fast_burn_raises_a_critical_slo_burn_alert(api: httpx.Client) -> None:
    _ingest(api, NOW, HOUR, 1000, bad_every=5)  # 20 % errors over the last hour
    assert api.post("/slos", json=_slo()).status_code == 201
    (alert,) = _firing(api)
    assert alert["model_id"] == "fraud-v3"
    assert alert["severity"] == "critical"
    assert alert["labels"] == {"slo": "fraud-availability"}
    assert alert["value"] == pytest.approx(200)  # (200 / 1000) / (1 − 0.999)
    assert alert["threshold"] == 14.4
    assert "over 1h" in alert["message"] and "over 5m" in alert["message"]

    status = api.get("/slos/fraud-availability/status").json()
    assert status["firing"] == "page"
    assert status["alert"]["id"] == alert["id"]
    assert [c["firing"] for c in status["conditions"]] == [True, True, True, True]


def test_slow_burn_raises_only_the_ticket_severity(api: httpx.Client) -> None:
    # 0.5 % errors over three days, one request every 30 s: burn rate 5, past the
    # tickets' factors (3 and 1) and short of the pages' (14.4 and 6).
    _ingest(api, NOW, 3 * DAY, 8640, bad_every=200)
    api.post("/slos", json=_slo())
    (alert,) = _firing(api)
    assert alert["severity"] == "medium"
    assert alert["threshold"] == 3.0
    assert alert["value"] == pytest.approx(5.0, rel=0.05)
    status = api.get("/slos/fraud-availability/status").json()
    assert status["firing"] == "ticket"
    assert [c["firing"] for c in status["conditions"]] == [False, False, True, True]
    rates = {w["window"]: w["burn_rate"] for w in status["burn_rates"]}
    assert rates["3d"] == pytest.approx(43 / 8640 / 0.001)


def test_recovery_resolves_the_alert(api: httpx.Client, clock: FakeClock) -> None:
    _ingest(api, NOW, HOUR, 1000, bad_every=5)
    api.post("/slos", json=_slo())
    (alert,) = _firing(api)
    # Seven clean hours later every short window (5m, 30m, 2h, 6h) is clean.
    clock.advance(7 * HOUR)
    _ingest(api, clock.now(), 7 * HOUR, 8400)
    resolved = eventually(
        lambda: api.get(f"/alerts/{alert['id']}").json(), lambda a: a["status"] == "resolved"
    )
    assert resolved["status"] == "resolved" and resolved["resolved"] is True
    status = api.get("/slos/fraud-availability/status").json()
    assert status["firing"] is None and status["alert"] is None
    assert _slo_alerts(api, "firing") == []


def test_latency_objective_counts_slow_requests(api: httpx.Client) -> None:
    # A quarter of the last hour's requests take 400 ms; 10 fast errors do not count.
    _ingest(api, NOW, HOUR, 1000, bad_every=4, slow_latency=400.0)
    _ingest(api, NOW, HOUR, 10, bad_every=1)
    body = _slo(id="fraud-fast", objective="latency", latency_ms=250, target=0.99, window="7d")
    assert api.post("/slos", json=body).status_code == 201
    status = api.get("/slos/fraud-fast/status").json()
    assert (status["total"], status["bad"]) == (1010, 250)
    assert status["sli"] == pytest.approx(760 / 1010)
    assert status["error_budget"]["allowed"] == pytest.approx(10.1)
    (alert,) = _firing(api)
    assert alert["severity"] == "critical" and alert["labels"] == {"slo": "fraud-fast"}
    assert "≤ 250 ms" in alert["message"]


# Budget and status -------------------------------------------------------------------------


def test_budget_remaining_matches_hand_computation(api: httpx.Client) -> None:
    api.post("/slos", json=_slo(id="weekly", target=0.99, window="7d"))
    # 1000 requests over six days, 4 of them errors: 10 may fail, 4 did → 60 % left.
    _ingest(api, NOW, 6 * DAY, 1000, bad_every=250)
    status = api.get("/slos/weekly/status").json()
    assert status["evaluated_at"] == "2026-11-22T12:00:00Z"
    assert status["total"] == 1000
    assert status["bad"] == pytest.approx(4)
    assert status["sli"] == pytest.approx(0.996)
    assert status["error_budget"] == {
        "allowed": pytest.approx(10.0),
        "consumed": pytest.approx(4.0),
        "remaining": pytest.approx(0.6),
    }
    assert (status["window"], status["measured_window"], status["window_clipped"]) == (
        "7d",
        "7d",
        False,
    )
    # A 7d SLO's table is the workbook's × 7/30: 14m/70s, 84m/7m, 336m/28m, 1008m/84m.
    windows = [(c["long_window"], c["short_window"]) for c in status["conditions"]]
    assert windows == [("14m", "70s"), ("84m", "7m"), ("336m", "28m"), ("1008m", "84m")]


def test_a_window_past_raw_retention_is_measured_over_what_is_kept(api: httpx.Client) -> None:
    api.post("/slos", json=_slo())  # 30d, raw data kept 7 days by default
    status = api.get("/slos/fraud-availability/status").json()
    assert (status["window"], status["measured_window"], status["window_clipped"]) == (
        "30d",
        "7d",
        True,
    )
    assert status["total"] == 0 and status["sli"] is None
    assert status["error_budget"]["remaining"] is None


def test_listing_shows_each_slo_with_its_status(api: httpx.Client) -> None:
    api.post("/slos", json=_slo(id="b"))
    api.post("/slos", json=_slo(id="a", objective="latency", latency_ms=100))
    _ingest(api, NOW, HOUR, 100)
    listed = api.get("/slos").json()
    assert [s["id"] for s in listed] == ["b", "a"]
    assert listed[1]["latency_ms"] == 100
    assert [s["status"]["total"] for s in listed] == [100, 100]
    assert all(s["status"]["firing"] is None for s in listed)


# CRUD and validation -----------------------------------------------------------------------


def test_crud(api: httpx.Client) -> None:
    created = api.post("/slos", json=_slo(description="card fraud scoring"))
    assert created.status_code == 201
    assert created.json() == {
        "id": "fraud-availability",
        "model_id": "fraud-v3",
        "objective": "availability",
        "target": 0.999,
        "latency_ms": None,
        "window": "30d",
        "page_severity": "critical",
        "ticket_severity": "medium",
        "description": "card fraud scoring",
    }
    conflict = api.post("/slos", json=_slo())
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
    assert api.get("/slos/fraud-availability").json() == created.json()

    replaced = api.put("/slos/fraud-availability", json=_slo(target=0.99, window="4w"))
    assert replaced.status_code == 200
    assert (replaced.json()["target"], replaced.json()["window"]) == (0.99, "28d")
    new = _slo(objective="latency", latency_ms=300)
    del new["id"]  # taken from the path
    assert api.put("/slos/fraud-latency", json=new).status_code == 201
    assert [s["id"] for s in api.get("/slos").json()] == ["fraud-availability", "fraud-latency"]

    assert api.delete("/slos/fraud-latency").status_code == 204
    assert api.delete("/slos/fraud-latency").status_code == 404
    assert api.get("/slos/fraud-latency").status_code == 404
    assert api.get("/slos/fraud-latency/status").status_code == 404


def test_deleting_an_slo_resolves_its_alert(api: httpx.Client) -> None:
    _ingest(api, NOW, HOUR, 1000, bad_every=5)
    api.post("/slos", json=_slo())
    (alert,) = _firing(api)
    assert api.delete("/slos/fraud-availability").status_code == 204
    assert api.get(f"/alerts/{alert['id']}").json()["status"] == "resolved"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_slo(target=1.5), "target"),
        (_slo(target="high"), "target"),
        (_slo(window="30m"), "window"),
        (_slo(window="91d"), "window"),
        # Its longest burn window (9d) reaches past the 7 days of raw data kept.
        (_slo(window="90d"), "window"),
        (_slo(objective="latency"), "latency_ms"),
        (_slo(objective="speed"), "objective"),
        (_slo(page_severity="urgent"), "page_severity"),
        (_slo(id="no spaces"), "id"),
        (_slo(extra=1), "extra"),
        ([_slo()], "body"),
    ],
)
def test_invalid_slos_are_422_naming_the_field(api: httpx.Client, body: Any, field: str) -> None:
    response = api.post("/slos", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert api.get("/slos").json() == []


def test_put_with_another_id_in_the_body_is_422(api: httpx.Client) -> None:
    response = api.put("/slos/one", json=_slo(id="two"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id"


def test_a_body_that_is_not_json_is_400(api: httpx.Client) -> None:
    response = api.post("/slos", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


# Restart ---------------------------------------------------------------------------------


def test_slos_and_their_alerts_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path / "data", slo_eval_interval_s=EVAL_INTERVAL_S)
    with run_server(settings, clock=clock) as first, httpx.Client(base_url=first.api) as api:
        _ingest(api, NOW, HOUR, 1000, bad_every=5)
        api.post("/slos", json=_slo())
        api.post("/slos", json=_slo(id="fraud-fast", objective="latency", latency_ms=250))
        (alert,) = _firing(api)

    with run_server(settings, clock=clock) as second, httpx.Client(base_url=second.api) as api:
        assert [s["id"] for s in api.get("/slos").json()] == ["fraud-availability", "fraud-fast"]
        assert api.get("/slos/fraud-fast").json()["latency_ms"] == 250
        status = api.get("/slos/fraud-availability/status").json()
        assert status["alert"]["id"] == alert["id"]
        # The restarted evaluator owns the alert it finds: recovery resolves it.
        clock.advance(7 * HOUR)
        _ingest(api, clock.now(), 7 * HOUR, 8400)
        resolved = eventually(
            lambda: api.get(f"/alerts/{alert['id']}").json(),
            lambda a: a["status"] == "resolved",
        )
        assert resolved["status"] == "resolved"
