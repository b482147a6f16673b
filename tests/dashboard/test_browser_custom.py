"""Custom dashboards composed in the page, saved through the API, opened by link;
and the layout on a narrow screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage, open_page
from tests.dashboard.seed import minute_series, post_batch

FRAUD = [40.0 + i for i in range(15)]
RANKER = [90.0 + i for i in range(15)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(make_settings(tmp_path / "data")) as live:
        with httpx.Client(base_url=live.api, timeout=30) as api:
            post_batch(api, minute_series("fraud-v3", FRAUD))
            post_batch(api, minute_series("ranker", RANKER))
        yield live


def test_composed_dashboard_is_saved_and_opens_by_link(
    server: LiveServer, tab: BrowserPage
) -> None:
    page = tab.page
    page.goto(server.url + "/dashboards")
    tab.wait_refreshed()
    page.fill("#d-id", "checkout")
    page.fill("#d-title", "Checkout models")
    page.select_option("#p-metric", "latency")
    page.select_option("#p-agg", "max")
    page.select_option("#p-models", ["fraud-v3", "ranker"])
    page.fill("#p-title", "Worst latency")
    page.click("#p-add")
    page.select_option("#p-metric", "cpu_percent")
    page.select_option("#p-agg", "mean")
    page.select_option("#p-models", ["ranker"])
    page.select_option("#p-range", "6h")
    page.fill("#p-title", "")
    page.click("#p-add")
    page.click("#d-save")
    page.wait_for_selector("#d-link a")
    saved = httpx.get(f"{server.api}/dashboards/checkout").json()
    assert saved["title"] == "Checkout models"
    assert [(p["metric"], p["agg"], p["models"], p["range"]) for p in saved["panels"]] == [
        ("latency", "max", ["fraud-v3", "ranker"], None),
        ("cpu_percent", "mean", ["ranker"], "6h"),
    ]
    tab.screenshot("dashboards-editor")

    page.click("#d-link a")  # the link a user shares
    page.wait_for_url(f"{server.url}/dashboards/checkout")
    tab.wait_refreshed()
    assert page.inner_text("#dashboard-title") == "Checkout models"
    worst = page.evaluate(
        "document.getElementById('panel-0').data.map((t) => ({name: t.name, y: t.y}))"
    )
    assert worst == [{"name": "fraud-v3", "y": FRAUD}, {"name": "ranker", "y": RANKER}]
    cpu = page.evaluate("document.getElementById('panel-1').data[0].y")
    assert len(cpu) > 0
    tab.page.wait_for_timeout(300)
    tab.screenshot("dashboard-custom")
    assert tab.errors == []


def test_narrow_screen_shows_one_column(server: LiveServer, browser: Browser) -> None:
    phone = open_page(browser, width=390, height=844)
    try:
        phone.page.goto(server.url + "/models/fraud-v3")
        phone.wait_refreshed()
        boxes = [
            phone.page.locator(f"#chart-{name}").bounding_box()
            for name in ("latency", "throughput")
        ]
        assert boxes[0] is not None and boxes[1] is not None
        assert boxes[0]["x"] == boxes[1]["x"]  # stacked, not side by side
        assert boxes[0]["width"] <= 390
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing pushes the page sideways
        phone.page.wait_for_timeout(300)
        phone.screenshot("model-narrow")
        phone.page.goto(server.url + "/")
        phone.wait_refreshed()
        phone.screenshot("overview-narrow")
        assert phone.errors == []
    finally:
        phone.page.context.close()
