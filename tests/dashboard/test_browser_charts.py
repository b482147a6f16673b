"""Charts tell the truth about time: a stretch without data is a gap in the line, not a
line across it; the req/s tile says it is the range's average, beside a chart of the
rate per bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage, plotted
from tests.dashboard.seed import BUCKET_S, aligned_now, minute_series, post_batch

# Dense traffic, one metric per 30 s bucket: ten minutes, a ten-minute outage, ten more.
BEFORE, OUTAGE, AFTER = 20, 20, 20


def _dense(model_id: str) -> list[dict[str, Any]]:
    end = aligned_now() - timedelta(minutes=2)
    steps = [*range(BEFORE), *range(BEFORE + OUTAGE, BEFORE + OUTAGE + AFTER)]
    start = end - timedelta(seconds=BUCKET_S * (BEFORE + OUTAGE + AFTER - 1))
    return [
        {
            "model_id": model_id,
            "latency": 50.0 + i % 5,
            "timestamp": (start + timedelta(seconds=BUCKET_S * i)).isoformat(),
        }
        for i in steps
    ]


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        post_batch(client, _dense("outage"))
        # One metric a minute in 30 s buckets: sparse, not broken.
        post_batch(client, minute_series("sparse", [80.0 + i for i in range(15)]))
        yield client


def _nulls(trace: dict[str, Any]) -> list[int]:
    return [i for i, y in enumerate(trace["y"]) if y is None]


def test_an_outage_is_a_gap_in_every_chart_of_the_model(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/models/outage")
    tab.wait_refreshed()
    for div in ("chart-latency", "chart-throughput", "chart-error_rate"):
        for trace in plotted(tab, div):
            if not trace["y"]:
                continue
            assert trace["connectgaps"] is False
            assert _nulls(trace) == [BEFORE], (div, trace["name"])  # one break, at the outage
    (latency, *_) = plotted(tab, "chart-latency")
    assert len(latency["y"]) == BEFORE + AFTER + 1
    # The break stands at the first bucket without data.
    before, gap, after = (latency["x"][BEFORE + d] for d in (-1, 0, 1))
    assert tab.page.evaluate(
        "([a, g, b]) => [Date.parse(g) - Date.parse(a), Date.parse(b) - Date.parse(a)]",
        [before, gap, after],
    ) == [BUCKET_S * 1000, BUCKET_S * (OUTAGE + 1) * 1000]
    tab.page.wait_for_timeout(300)
    tab.screenshot("model-outage-gap")
    assert tab.errors == []


def test_sparse_traffic_is_one_line_and_a_lone_point_gets_a_marker(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    # A metric eight minutes after the sparse series ended: alone between gaps.
    lone = {"model_id": "sparse", "latency": 300.0, "timestamp": aligned_now().isoformat()}
    assert api.post("/metrics/inference", json=lone).status_code == 202
    tab.page.goto(server.url + "/models/sparse")
    tab.wait_refreshed()
    latency = plotted(tab, "chart-latency")[0]
    assert _nulls(latency) == [15]  # within the minute-apart points, no break
    assert latency["mode"] == "lines+markers"
    assert latency["marker_size"] == [0] * 15 + [0, 6]  # only the lone point shows a dot
    assert tab.errors == []


def test_overview_sparklines_break_at_the_outage(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/")
    tab.wait_refreshed()
    spark = tab.page.locator('tr[data-model="outage"] [data-spark="throughput"]')
    assert spark.get_attribute("data-points") == str(BEFORE + AFTER)
    assert spark.get_attribute("data-segments") == "2"
    assert spark.locator("polyline").count() == 2
    sparse = tab.page.locator('tr[data-model="sparse"] [data-spark="throughput"]')
    assert sparse.get_attribute("data-segments") == "1"


@pytest.mark.parametrize(
    ("x_s", "expected_nulls"),
    [
        ([0, 30, 60, 90, 120], []),  # every bucket
        ([0, 30, 60, 120, 150, 180], [3]),  # one bucket missing in dense data
        ([0, 60, 120, 180, 240], []),  # a minute apart: the series' own step
        ([0, 60, 120, 180, 420, 480], [4]),  # three minutes missing from that
        ([0, 600], [1]),  # too few points for a step of their own: the bucket's
    ],
)
def test_gap_rule(
    server: LiveServer, tab: BrowserPage, x_s: list[int], expected_nulls: list[int]
) -> None:
    tab.page.goto(server.url + "/alerts")
    tab.wait_refreshed()
    gapped = tab.page.evaluate(
        """(seconds) => {
             const x = seconds.map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString());
             return MX.withGaps(x, seconds.map((s) => s + 1), 30);
           }""",
        x_s,
    )
    assert [i for i, y in enumerate(gapped["y"]) if y is None] == expected_nulls
    assert [y for y in gapped["y"] if y is not None] == [s + 1 for s in x_s]


def test_req_s_tile_says_it_is_the_range_average(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    # 600 requests in the last five minutes: 2 req/s now, 0.17 req/s over the hour.
    end = aligned_now() - timedelta(minutes=1)
    metrics = [
        {
            "model_id": "busy",
            "latency": 20.0,
            "timestamp": (end - timedelta(seconds=0.5 * i)).isoformat(),
        }
        for i in range(600)
    ]
    post_batch(api, metrics)
    tab.page.goto(server.url + "/models/busy")
    tab.wait_refreshed()
    tile = tab.page.locator("#tile-throughput")
    assert tile.locator("span").inner_text() == "req/s, avg over 1 h"
    assert tile.locator("b").inner_text() == "0.17"
    title = tab.page.evaluate("document.getElementById('chart-throughput').layout.title.text")
    assert title == "Throughput (req/s in each 30 s bucket)"
    assert max(y for y in plotted(tab, "chart-throughput")[0]["y"] if y is not None) == 2.0

    tab.page.select_option("#range", "15m")
    tab.wait_refreshed(2)
    assert tile.locator("span").inner_text() == "req/s, avg over 15 min"
    assert tile.locator("b").inner_text() == "0.67"
    assert tab.errors == []
