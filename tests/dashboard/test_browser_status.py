"""A model's status badge, on the overview and its own page, is the highest severity
among its active alerts, in the words and colours of the alerts table; "healthy"
without one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage
from tests.polling import eventually

BACKGROUND = "(el) => getComputedStyle(el).backgroundColor"


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        thresholds = {"latency_ms": 100, "cpu_percent": 50}
        model = {"id": "fraud-v3", "model_type": "tabular", "thresholds": thresholds}
        assert client.post("/models", json=model).status_code == 201
        ranker = {"model_id": "ranker", "latency": 5.0}
        assert client.post("/metrics/inference", json=ranker).status_code == 202
        # 180 ms against 100: ratio 1.8, high. CPU 55 % against 50: ratio 1.1, low.
        breach = {"model_id": "fraud-v3", "latency": 180.0, "resource_usage": {"cpu_percent": 55}}
        assert client.post("/metrics/inference", json=breach).status_code == 202
        alerts = eventually(
            lambda: client.get("/alerts", params={"model_id": "fraud-v3"}).json(),
            lambda found: len(found) == 2,
        )
        assert sorted(a["severity"] for a in alerts) == ["high", "low"]
        yield client


def _resolve_all(api: httpx.Client) -> None:
    for alert in api.get("/alerts", params={"model_id": "fraud-v3"}).json():
        assert api.post(f"/alerts/{alert['id']}/resolve").status_code == 200


def test_overview_status_is_the_worst_active_severity(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    page = tab.page
    page.goto(server.url + "/")
    tab.wait_refreshed()
    status = page.locator('tr[data-model="fraud-v3"] td').nth(1)
    assert status.inner_text().split() == ["▲", "high"]  # not "critical"
    badge = status.locator(".sev.high")
    in_alerts_table = page.locator("#alerts .sev.high").first
    assert badge.evaluate(BACKGROUND) == in_alerts_table.evaluate(BACKGROUND)
    healthy = page.locator('tr[data-model="ranker"] td').nth(1)
    assert healthy.inner_text() == "healthy"
    assert healthy.locator(".status.healthy").evaluate(BACKGROUND) == "rgb(34, 197, 94)"
    tab.screenshot("overview-status")

    _resolve_all(api)
    page.reload()
    tab.wait_refreshed()
    assert page.locator('tr[data-model="fraud-v3"] td').nth(1).inner_text() == "healthy"
    assert tab.errors == []


def test_model_page_status_is_the_worst_active_severity(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    page = tab.page
    page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    badge = page.locator("#model-status .sev.high")
    assert badge.inner_text().split() == ["▲", "high"]
    in_alerts_table = page.locator("#alerts .sev.high").first
    assert badge.evaluate(BACKGROUND) == in_alerts_table.evaluate(BACKGROUND)
    assert badge.evaluate(BACKGROUND) != page.locator("#alerts .sev.low").evaluate(BACKGROUND)

    # Only the low alert left active: the badge follows it down.
    high = next(
        a
        for a in api.get("/alerts", params={"model_id": "fraud-v3"}).json()
        if a["severity"] == "high"
    )
    assert api.post(f"/alerts/{high['id']}/resolve").status_code == 200
    page.reload()
    tab.wait_refreshed()
    assert page.locator("#model-status").inner_text().split() == ["○", "low"]

    _resolve_all(api)
    page.reload()
    tab.wait_refreshed()
    assert page.locator("#model-status").inner_text() == "healthy"
    assert tab.errors == []
