"""Explore: custom samples with labels posted through the API, charted in the browser
by picking the metric, a filter and a group-by — one line per group, each equal to
what `GET /metrics/query` returns and to the samples sent — kept on the URL, saved as
a query panel to a new and to an existing dashboard and drawn there; the API's
errors shown on the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage, chart_traces
from tests.dashboard.seed import BUCKET_S, aligned_now, minute_series, post_batch

REGIONS = ("ap", "eu", "us")
MODELS = ("ranker-v1", "ranker-v2")
MINUTES = 12
LATENCIES = [40.0 + i for i in range(MINUTES)]


def _ctr(region: int, model: int, minute: int) -> float:
    """A value per series and minute that no other series shares."""
    return round(0.01 * (region + 1) + 0.001 * (model + 1) + 0.0001 * minute, 6)


def _samples() -> list[dict[str, Any]]:
    """One sample a minute per region and model, ending two minutes ago, on 30 s
    bucket boundaries (the bucket width of a 1 h range)."""
    end = aligned_now() - timedelta(minutes=2)
    return [
        {
            "name": "ranker.ctr",
            "value": _ctr(r, m, minute),
            "labels": {"region": region, "model_id": model},
            "unit": "ratio",
            "timestamp": (end - timedelta(minutes=MINUTES - 1 - minute)).isoformat(),
        }
        for r, region in enumerate(REGIONS)
        for m, model in enumerate(MODELS)
        for minute in range(MINUTES)
    ]


@pytest.fixture
def sent() -> list[dict[str, Any]]:
    return _samples()


@pytest.fixture
def api(server: LiveServer, sent: list[dict[str, Any]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        posted = client.post("/metrics/custom", json=sent)
        assert posted.status_code == 202 and posted.json()["rejected"] == [], posted.text
        other = {"name": "gpu.temp", "value": 61.0, "labels": {"host": "a"}, "unit": "C"}
        assert client.post("/metrics/custom", json=[other]).status_code == 202
        post_batch(client, minute_series("fraud-v3", LATENCIES))
        yield client


def _wait_for_lines(tab: BrowserPage, div: str, names: list[str]) -> list[dict[str, Any]]:
    """The chart's traces once it shows exactly these lines (a redraw may be under way)."""
    tab.page.wait_for_function(
        """([div, names]) => {
             const node = document.getElementById(div);
             const drawn = node && node.data ? node.data.map((t) => t.name) : null;
             return JSON.stringify(drawn) === JSON.stringify(names);
           }""",
        arg=[div, names],
        timeout=15_000,
    )
    return chart_traces(tab, div)


def _api_series(
    api: httpx.Client, hours: int = 1, interval_s: int = BUCKET_S, **params: Any
) -> list[dict[str, Any]]:
    """What the API answers for the page's query over the last ``hours`` in the
    buckets the page uses for that range."""
    now = datetime.now(UTC)
    answer = api.get(
        "/metrics/query",
        params={
            "interval": interval_s,
            "start": (now - timedelta(hours=hours)).isoformat(),
            "end": now.isoformat(),
            **params,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["interval"] == interval_s
    series: list[dict[str, Any]] = answer.json()["series"]
    return series


def _max_per_bucket(
    sent: list[dict[str, Any]], region: str, model: str, interval_s: int
) -> list[float]:
    """The samples sent for one series, the max of each bucket, in time order."""
    buckets: dict[float, float] = {}
    for s in sent:
        if s["labels"] == {"region": region, "model_id": model}:
            at = datetime.fromisoformat(s["timestamp"]).timestamp() // interval_s
            buckets[at] = max(buckets.get(at, s["value"]), s["value"])
    return [buckets[at] for at in sorted(buckets)]


def _as_lines(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": ", ".join(f"{k}={v}" for k, v in s["labels"].items()),
            "x": [p["time"] for p in s["points"]],
            "y": [p["value"] for p in s["points"]],
        }
        for s in series
    ]


def _shown_query(tab: BrowserPage) -> dict[str, list[str]]:
    return parse_qs(urlparse(tab.page.url).query)


def _api_errors(errors: list[str]) -> list[str]:
    """Console errors but the browser's own line for a 4xx answer (the page shows it)."""
    return [e for e in errors if "the server responded with a status of 4" not in e]


def test_explore_draws_a_line_per_group_as_the_api_answers_and_saves_it_to_dashboards(
    server: LiveServer, api: httpx.Client, sent: list[dict[str, Any]], tab: BrowserPage
) -> None:
    page = tab.page
    page.goto(server.url + "/explore")
    tab.wait_refreshed()
    page.select_option("#x-metric", "ranker.ctr")
    info = page.inner_text("#x-metric-info")
    assert info == "custom · ratio · labels: model_id, region"
    page.select_option("#x-agg", "max")
    page.click("#x-add-filter")
    page.select_option(".filter .f-key", "model_id")
    # The values the label takes in the range are offered.
    suggested = "document.querySelector('.filter datalist').options.length"
    page.wait_for_function(f"() => {suggested} === 2")
    offered = page.eval_on_selector_all(".filter datalist option", "(os) => os.map((o) => o.value)")
    assert offered == list(MODELS)
    page.select_option(".filter .f-op", "!=")
    page.fill(".filter .f-value", "ranker-v1")
    page.press(".filter .f-value", "Enter")
    page.select_option("#x-group", ["region"])
    names = [f"region={r}" for r in REGIONS]
    drawn = _wait_for_lines(tab, "x-chart", names)

    series = _api_series(
        api, metric="ranker.ctr", agg="max", label="model_id!:ranker-v1", group_by="region"
    )
    assert drawn == _as_lines(series)  # one line per group, the API's points exactly
    for region, line in zip(REGIONS, drawn, strict=True):  # and the samples sent
        assert line["y"] == _max_per_bucket(sent, region, "ranker-v2", BUCKET_S)
        assert len(line["y"]) == MINUTES
    assert _shown_query(tab) == {
        "metric": ["ranker.ctr"],
        "agg": ["max"],
        "label": ["model_id!:ranker-v1"],
        "group_by": ["region"],
    }
    assert page.inner_text("#x-error") == ""
    tab.screenshot("explore")

    # The URL is the chart: opened afresh (a bookmark, a shared link) it draws the same.
    linked = page.url
    page.goto("about:blank")
    page.goto(linked)
    assert _wait_for_lines(tab, "x-chart", names) == drawn
    assert page.input_value("#x-metric") == "ranker.ctr"
    assert page.input_value("#x-agg") == "max"
    assert page.input_value(".filter .f-key") == "model_id"
    assert page.input_value(".filter .f-op") == "!="
    assert page.input_value(".filter .f-value") == "ranker-v1"
    assert page.eval_on_selector(
        "#x-group", "(s) => [...s.selectedOptions].map((o) => o.value)"
    ) == ["region"]

    # Saved to a new dashboard, then drawn there one line per group.
    page.select_option("#s-dashboard", "")
    page.fill("#s-new-id", "ctr")
    page.fill("#s-new-title", "Click-through")
    page.fill("#s-title", "CTR by region")
    page.click("#s-save")
    page.wait_for_selector("#s-link")
    query = {
        "metric": "ranker.ctr",
        "agg": "max",
        "labels": ["model_id!:ranker-v1"],
        "group_by": ["region"],
    }
    stored = api.get("/dashboards/ctr").json()
    assert stored["title"] == "Click-through" and stored["range"] == "1h"
    assert stored["panels"] == [{"title": "CTR by region", "range": None, "query": query}]
    page.click("#s-link")
    page.wait_for_url(f"{server.url}/dashboards/ctr")
    tab.wait_refreshed()
    assert _wait_for_lines(tab, "panel-0", names) == drawn
    tab.screenshot("dashboard-query-panel")

    # Added to an existing dashboard: its panel of models stays as it was.
    models_panel = {
        "title": "Latency",
        "metric": "latency",
        "agg": "max",
        "models": ["fraud-v3"],
        "range": None,
    }
    assert api.put("/dashboards/ops", json={"panels": [models_panel]}).status_code == 201
    page.goto(linked)
    tab.wait_refreshed()
    page.select_option("#s-dashboard", "ops")
    assert page.is_hidden("#s-new")
    page.select_option("#s-range", "6h")
    page.click("#s-save")
    page.wait_for_selector("#s-link")
    panels = api.get("/dashboards/ops").json()["panels"]
    assert panels == [
        models_panel,
        {"title": "ranker.ctr max by region", "range": "6h", "query": query},
    ]
    page.goto(server.url + "/dashboards/ops")
    tab.wait_refreshed()
    latency = _wait_for_lines(tab, "panel-0", ["fraud-v3"])
    assert latency[0]["y"] == LATENCIES
    six_hours = _wait_for_lines(tab, "panel-1", names)  # the panel's own range: 2 min buckets
    assert six_hours == _as_lines(
        _api_series(
            api,
            hours=6,
            interval_s=120,
            metric="ranker.ctr",
            agg="max",
            label="model_id!:ranker-v1",
            group_by="region",
        )
    )
    for region, line in zip(REGIONS, six_hours, strict=True):
        assert line["y"] == _max_per_bucket(sent, region, "ranker-v2", 120)
    assert page.get_attribute(".panel-explore", "href") is not None

    # The editor lists the query panel and saves the dashboard back unchanged.
    before = api.get("/dashboards/ops").json()
    page.goto(server.url + "/dashboards?edit=ops")
    tab.wait_refreshed()
    page.wait_for_selector("#panels tbody tr:nth-child(2)")
    row = page.inner_text("#panels tbody tr:nth-child(2)")
    assert "ranker.ctr" in row and "model_id!:ranker-v1 · by region" in row
    page.click("#d-save")
    page.wait_for_selector("#d-link a")
    assert api.get("/dashboards/ops").json() == before
    assert _api_errors(tab.errors) == []


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("metric=ranker.ctr&agg=median", "agg"),
        ("metric=no.such.metric", "no metric named 'no.such.metric'"),
        ("metric=ranker.ctr&start=2026-12-08T00:00:00Z&end=2026-12-07T00:00:00Z", "start"),
    ],
)
def test_an_error_of_the_query_api_is_shown_on_the_page(
    server: LiveServer, api: httpx.Client, tab: BrowserPage, query: str, shown: str
) -> None:
    tab.page.goto(f"{server.url}/explore?{query}")
    tab.wait_refreshed()
    error = tab.page.locator("#x-error")
    assert error.is_visible()
    assert shown in error.inner_text()
    assert tab.page.evaluate("document.getElementById('x-chart').data.length") == 0
    assert _api_errors(tab.errors) == []


def test_saving_under_a_taken_or_bad_id_shows_why(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    assert api.put("/dashboards/ops", json={"panels": []}).status_code == 201
    page = tab.page
    page.goto(server.url + "/explore?metric=ranker.ctr&group_by=region")
    tab.wait_refreshed()
    page.select_option("#s-dashboard", "")
    for new_id, shown in (("ops", "exists"), ("bad id!", "id")):
        page.fill("#s-new-id", new_id)
        page.click("#s-save")
        page.wait_for_function("() => !document.getElementById('s-error').hidden")
        assert shown in page.inner_text("#s-error")
    assert [d["id"] for d in api.get("/dashboards").json()] == ["ops"]
    assert api.get("/dashboards/ops").json()["panels"] == []
    assert _api_errors(tab.errors) == []
