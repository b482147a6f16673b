"""A dashboard over 20 models and 7 days of data loads in under 2 s, because charts
ask for aggregates at a bucket width that fits the range, never the raw points."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Response

from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage
from tests.dashboard.seed import post_batch

MODELS = 20
DAYS = 7
STEP_S = 120  # one metric per model every 2 minutes: 5,040 per model, 100,800 in all
LOAD_BUDGET_MS = 2000


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("load") / "data"
    with (
        run_server(make_settings(data)) as live,
        httpx.Client(base_url=live.api, timeout=120) as api,
    ):
        rng = random.Random(7)
        end = datetime.now(UTC) - timedelta(minutes=1)
        points = DAYS * 86400 // STEP_S
        for model in range(MODELS):
            post_batch(
                api,
                [
                    {
                        "model_id": f"model-{model:02d}",
                        "latency": rng.uniform(20, 200),
                        "error": rng.random() < 0.02,
                        "resource_usage": {"cpu_percent": rng.uniform(10, 90)},
                        "timestamp": (end - timedelta(seconds=i * STEP_S)).isoformat(),
                    }
                    for i in range(points)
                ],
            )
        yield live


@pytest.mark.parametrize(
    ("path", "rows_or_chart"),
    [
        ("/?range=7d", "#models tbody tr[data-model]"),
        ("/models/model-07?range=7d", "#chart-latency"),
    ],
)
def test_seven_days_of_twenty_models_load_in_under_two_seconds(
    loaded_server: LiveServer, tab: BrowserPage, path: str, rows_or_chart: str
) -> None:
    aggregate_points: list[int] = []  # points per series, per aggregate request

    def count_points(response: Response) -> None:
        if "/metrics/aggregate" not in response.url or not response.ok:
            return
        body = response.json()
        series = body["series"].values() if isinstance(body, dict) else [body]
        aggregate_points.append(max((len(s) for s in series), default=0))

    tab.page.on("response", count_points)
    # A first visit fetches and compiles plotly.min.js; a return visit (how a dashboard
    # is used) has it cached. Both are printed; the budget holds for the return visit.
    tab.page.goto(loaded_server.url + path)
    tab.wait_refreshed()
    first_ms = int(tab.page.evaluate("document.body.dataset.firstLoadMs"))
    aggregate_points.clear()
    tab.page.goto(loaded_server.url + path)
    tab.wait_refreshed()
    load_ms = int(tab.page.evaluate("document.body.dataset.firstLoadMs"))
    print(
        f"\n{path}: {MODELS} models x {DAYS} days loaded in {load_ms} ms "
        f"(first visit, plotly.min.js not cached: {first_ms} ms; "
        f"{len(aggregate_points)} aggregate requests; load average {os.getloadavg()[0]:.1f})"
    )
    assert tab.page.locator(rows_or_chart).count() >= 1
    if path.startswith("/?"):
        assert tab.page.locator(rows_or_chart).count() == MODELS
    # 7 days at the dashboard's 1 h buckets: at most 169 points per series.
    assert aggregate_points and max(aggregate_points) <= 169
    assert load_ms < LOAD_BUDGET_MS
    tab.screenshot("load-" + ("overview" if path.startswith("/?") else "model"))
    assert tab.errors == []
