"""`/api/v1/health` measures every part and says why one is not healthy; `/ready`
is 503 only when the server cannot serve. Each dependency is stopped in turn — the
webhook's receiver, the scheduler (its clock runs ahead), PostgreSQL — and the
check and the overall status change, then recover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from monitorx.core import FakeClock
from tests.backends import api_backend
from tests.conftest import TEST_SECRET_KEY, free_port, make_settings, run_server
from tests.http_receiver import HttpReceiver, wait_until
from tests.own_postgres import own_postgres
from tests.server.notify_helpers import START, breach, model, notifying_server, route

NOW = START


def _health(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_fresh_server_is_healthy_in_every_check(api: httpx.Client) -> None:
    health = _health(api)
    assert health["status"] == "healthy"
    # On PostgreSQL, replicas may share the store: changes of theirs are listened for.
    shared_store = {"config_sync"} if api_backend() == "postgres" else set()
    assert set(health["checks"]) == {
        "storage",
        "ingest",
        "alerting",
        "notifications",
        "scheduler",
        "process",
        "rate_limits",
        *shared_store,
    }
    assert all(c["status"] == "healthy" for c in health["checks"].values())
    assert "data-lifecycle" in health["checks"]["scheduler"]["jobs"]
    assert health["checks"]["alerting"]["backlog"] == 0
    assert api.get("/health/ready").status_code == 200


def test_a_receiver_that_keeps_failing_degrades_notifications_until_it_answers(
    tmp_path: Path, clock: FakeClock
) -> None:
    port = free_port()  # nothing listens there yet: every delivery fails
    with notifying_server(tmp_path / "data", clock) as (_, api):
        hook = {"id": "ops", "type": "webhook", "config": {"url": f"http://127.0.0.1:{port}/h"}}
        assert api.post("/channels", json=hook).status_code == 201
        route(api, "all", ["ops"])
        model(api)
        breach(api)

        def failed_in_a_row() -> int:
            channels = _health(api)["checks"]["notifications"]["channels"]
            return int(channels.get("ops", {}).get("failed_in_a_row", 0))

        for attempts in (1, 2, 3):
            wait_until(lambda a=attempts: failed_in_a_row() >= a)  # type: ignore[misc]
            clock.advance(10)  # past the backoff: the next attempt is due
        health = _health(api)
        assert health["status"] == "degraded"
        notifications = health["checks"]["notifications"]
        assert notifications["status"] == "degraded"
        assert "channel ops: the last 3 deliveries failed" in notifications["reason"]
        assert notifications["undelivered"] == 1
        # Degraded, not broken: the replica stays in its load balancer.
        assert api.get("/health/ready").status_code == 200

        receiver = HttpReceiver(port)
        receiver.start()
        try:
            clock.advance(60)
            receiver.wait_for(1)
            # (The jobs that run every few seconds of real time are behind the clock
            # this test moved by a minute and a half: the scheduler check is not.)
            wait_until(lambda: _health(api)["checks"]["notifications"]["status"] == "healthy")
            notifications = _health(api)["checks"]["notifications"]
            assert notifications["channels"]["ops"]["last_outcome"] == "delivered"
            assert notifications["undelivered"] == 0
        finally:
            receiver.stop()


def test_a_job_overdue_by_three_intervals_degrades_the_scheduler_until_it_runs(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path / "data", lifecycle_interval_s=1.0, alert_tick_s=0.05)
    with run_server(settings, clock) as live, httpx.Client(base_url=live.api) as api:

        def runs() -> int:
            return int(_health(api)["checks"]["scheduler"]["jobs"]["data-lifecycle"]["runs"])

        ran = runs()
        wait_until(lambda: runs() > ran)  # it just ran: its next run is a second away
        clock.advance(10)  # the server's clock: ten seconds since that run, in no time
        scheduler = _health(api)["checks"]["scheduler"]
        assert scheduler["status"] == "degraded"
        assert "job data-lifecycle is not run 9 s past its 1 s interval" in scheduler["reason"]
        assert api.get("/health/ready").status_code == 200
        wait_until(lambda: _health(api)["status"] == "healthy")


def test_postgresql_down_makes_the_server_unhealthy_and_not_ready_until_it_returns(
    tmp_path: Path,
) -> None:
    with own_postgres() as postgres:
        settings = make_settings(
            tmp_path / "data", storage_url=postgres.url, secret_keys=[TEST_SECRET_KEY]
        )
        with run_server(settings) as live, httpx.Client(base_url=live.api, timeout=30) as api:
            assert _health(api)["status"] == "healthy"
            postgres.stop()
            health = _health(api)
            assert health["status"] == "unhealthy"
            assert health["checks"]["storage"]["status"] == "unhealthy"
            assert "storage does not answer" in health["checks"]["storage"]["reason"]
            ready = api.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["storage"]["status"] == "unhealthy"
            postgres.start()
            wait_until(lambda: api.get("/health/ready").status_code == 200, timeout=30)
            assert _health(api)["checks"]["storage"]["status"] == "healthy"
