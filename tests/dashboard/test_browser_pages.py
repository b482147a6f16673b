"""The dashboard in headless Chromium against a live server with data posted through
the API: pages load cleanly, charts hold the posted values, live updates arrive
without a reload, actions reach the API, exports hold the right rows."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage, chart_traces
from tests.dashboard.seed import minute_series, post_batch

FRAUD = [40.0 + (i % 7) * 5 for i in range(30)]  # 30 minutes of latencies, 40–70 ms
RANKER = [120.0 + i for i in range(20)]


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        client.post(
            "/models",
            json={"id": "fraud-v3", "model_type": "tabular", "thresholds": {"latency_ms": 250}},
        )
        post_batch(client, minute_series("fraud-v3", FRAUD))
        post_batch(client, minute_series("ranker", RANKER, error=False))
        yield client


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/", "overview"),
        ("/models/fraud-v3", "model"),
        ("/alerts", "alerts"),
        ("/compare?models=fraud-v3,ranker", "compare"),
        ("/dashboards", "dashboards"),
    ],
)
def test_page_loads_without_console_errors(
    server: LiveServer, api: httpx.Client, tab: BrowserPage, path: str, name: str
) -> None:
    tab.page.goto(server.url + path)
    tab.wait_refreshed()
    tab.page.wait_for_timeout(300)  # let Plotly finish drawing before the screenshot
    tab.screenshot(name)
    assert tab.errors == []


def test_overview_lists_models_with_summary_figures_and_opens_a_model(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/")
    tab.wait_refreshed()
    rows = tab.page.locator("#models tbody tr")
    assert rows.count() == 2
    fraud = tab.page.locator('tr[data-model="fraud-v3"] td')
    assert fraud.nth(2).inner_text() == "30"
    p95 = api.get("/models/fraud-v3/summary").json()["latency"]["p95"]
    assert fraud.nth(3).inner_text() == f"{p95:.1f}"
    assert fraud.nth(1).inner_text() == "healthy"
    spark = tab.page.locator('tr[data-model="fraud-v3"] [data-spark="throughput"]')
    assert spark.get_attribute("data-points") == "30"  # one 30 s bucket per posted minute
    # Sortable: requests descending puts fraud-v3 (30) above ranker (20).
    header = tab.page.locator('#models th[data-key="count"]')
    header.click()
    header.click()
    assert rows.first.get_attribute("data-model") == "fraud-v3"
    header.click()
    assert rows.first.get_attribute("data-model") == "ranker"
    tab.page.locator('tr[data-model="ranker"] td').first.click()
    tab.page.wait_for_url(re.compile(r"/models/ranker"))
    tab.wait_refreshed()
    assert tab.errors == []


def test_model_charts_hold_the_posted_values_and_the_threshold(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    latency = chart_traces(tab, "chart-latency")
    assert [t["name"] for t in latency] == ["p50", "p95", "p99"]
    # One metric a minute, 30 s buckets: each bucket's percentile is the metric itself.
    assert latency[0]["y"] == FRAUD
    assert latency[2]["y"] == FRAUD
    throughput = chart_traces(tab, "chart-throughput")[0]
    assert throughput["y"] == [1 / 30] * len(FRAUD)
    cpu = chart_traces(tab, "chart-cpu_percent")[0]
    assert cpu["y"] == [20.0 + i for i in range(len(FRAUD))]
    shapes = tab.page.evaluate("document.getElementById('chart-latency').layout.shapes")
    assert [s["y0"] for s in shapes] == [250]
    # A threshold from the model's profile is drawn too, and says where it comes from.
    profile = {"thresholds": {"cpu_percent": 45}}
    assert api.put("/threshold-profiles/tabular/prod", json=profile).status_code == 201
    tab.page.reload()
    tab.wait_refreshed()
    layout = tab.page.evaluate("document.getElementById('chart-cpu_percent').layout")
    assert [s["y0"] for s in layout["shapes"]] == [45]
    assert layout["annotations"][0]["text"] == "threshold 45 % (profile)"
    histogram = tab.page.evaluate("document.getElementById('chart-histogram').data[0].x")
    assert sorted(histogram) == sorted(FRAUD)
    assert tab.errors == []


def test_compare_draws_one_line_per_model(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/compare?models=fraud-v3,ranker")
    tab.wait_refreshed()
    p95 = chart_traces(tab, "chart-p95")
    assert [t["name"] for t in p95] == ["fraud-v3", "ranker"]
    assert p95[0]["y"] == FRAUD
    assert p95[1]["y"] == RANKER


def test_metric_posted_while_the_page_is_open_shows_up_without_a_reload(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/")
    tab.wait_refreshed()
    tab.page.wait_for_selector("#live.on")
    tab.page.evaluate("window.notReloaded = true")
    count = tab.page.locator('tr[data-model="ranker"] td[data-field="count"]')
    assert count.inner_text() == "20"
    api.post("/metrics/inference", json={"model_id": "ranker", "latency": 5.0})
    tab.page.wait_for_function(
        """() => document.querySelector('tr[data-model="ranker"] td[data-field="count"]')
                   .textContent === "21" """,
        timeout=10_000,
    )
    assert tab.page.evaluate("window.notReloaded") is True

    tab.page.goto(server.url + "/models/ranker")
    tab.wait_refreshed()
    tab.page.wait_for_selector("#live.on")
    tab.page.evaluate("window.notReloaded = true")
    api.post("/metrics/inference", json={"model_id": "ranker", "latency": 777.0})
    # The new point's bucket (shared with the 5 ms one above) and the raw histogram.
    tab.page.wait_for_function(
        "() => document.getElementById('chart-histogram').data[0].x.includes(777)", timeout=10_000
    )
    assert max(chart_traces(tab, "chart-latency")[2]["y"]) > 700  # type: ignore[call-overload]
    assert tab.page.locator("#tile-count b").inner_text() == "22"
    assert tab.page.evaluate("window.notReloaded") is True
    assert tab.errors == []


def test_resolving_an_alert_in_the_page_resolves_it_in_the_api(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    api.post("/metrics/inference", json={"model_id": "fraud-v3", "latency": 600.0})
    alert = _wait_for_alert(api)
    tab.page.goto(server.url + "/alerts")
    tab.wait_refreshed()
    row = tab.page.locator(f'tr[data-alert="{alert["id"]}"]')
    assert "critical" in row.inner_text()
    # Filters: another severity hides it, its own shows it again (and sits on the URL).
    tab.page.select_option("#f-severity", "low")
    tab.page.wait_for_selector("#alerts td.empty")
    tab.page.select_option("#f-severity", "critical")
    row.wait_for()
    assert "severity=critical" in tab.page.url
    row.locator('button[data-action="acknowledge"]').click()
    tab.page.wait_for_function(
        f"""() => document.querySelector('tr[data-alert="{alert["id"]}"] td[data-field="status"]')
                   .textContent.includes("acknowledged")""",
        timeout=10_000,
    )
    assert api.get(f"/alerts/{alert['id']}").json()["acknowledged"] is True
    tab.screenshot("alerts-firing")
    row.locator('button[data-action="silence"]').click()
    # The acknowledgement's toast may still show: wait for the silence's own.
    tab.page.wait_for_function(
        "() => document.querySelector('#toast.show')?.textContent.startsWith('Silenced')",
        timeout=10_000,
    )
    silences = api.get("/silences").json()
    assert [s["created_by"] for s in silences] == ["dashboard"]
    row.locator('button[data-action="resolve"]').click()
    tab.page.wait_for_function(
        f"""() => document.querySelector('tr[data-alert="{alert["id"]}"] td[data-field="status"]')
                   .textContent.startsWith("resolved")""",
        timeout=10_000,
    )
    resolved = api.get(f"/alerts/{alert['id']}").json()
    assert (resolved["status"], resolved["resolved"]) == ("resolved", True)
    with tab.page.expect_download() as download_info:
        tab.page.click("#export-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [(r["kind"], r["id"], r["status"]) for r in exported] == [
        ("alert", alert["id"], "resolved")
    ]
    assert tab.errors == []


def _wait_for_alert(api: httpx.Client) -> dict[str, object]:
    for _ in range(100):
        found = api.get("/alerts", params={"model_id": "fraud-v3"}).json()
        if found:
            alert: dict[str, object] = found[0]
            return alert
        httpx.Client().close()  # a cheap yield of the GIL between polls
    raise AssertionError("the breach raised no alert")


def test_export_downloads_the_rows_in_view(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/")
    tab.wait_refreshed()
    with tab.page.expect_download() as download_info:
        tab.page.click("#export-csv")
    download = download_info.value
    assert re.fullmatch(r"monitorx-overview-\d{8}-\d{6}Z\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    models = {r["model_id"]: int(r["count"]) for r in rows if r["kind"] == "model"}
    assert models == {"fraud-v3": 30, "ranker": 20}
    assert [r["kind"] for r in rows if r["kind"] != "model"] == []  # no active alerts

    tab.page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    with tab.page.expect_download() as download_info:
        tab.page.click("#export-json")
    download = download_info.value
    assert re.fullmatch(
        r"monitorx-fraud-v3-metrics-\d{8}-\d{6}Z\.json", download.suggested_filename
    )
    points = json.loads(Path(download.path()).read_text())
    p50 = [
        p["value"]
        for p in points
        if p["kind"] == "point" and p["chart"] == "latency" and p["series"] == "p50"
    ]
    assert p50 == FRAUD


def test_auto_refresh_counts_down_refreshes_and_pauses(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.clock.install()
    tab.page.goto(server.url + "/?refresh=5")
    tab.wait_refreshed()
    # From here the page's time moves only when the test moves it.
    now_ms = tab.page.evaluate("Date.now()")
    tab.page.clock.pause_at(datetime.fromtimestamp(now_ms / 1000 + 0.5, UTC))
    countdown = tab.page.locator("#countdown")
    assert re.fullmatch(r"[1-5] s", countdown.inner_text())
    tab.page.select_option("#refresh-every", "10")  # restarts the countdown
    done = int(tab.page.evaluate("document.body.dataset.refreshed"))
    assert countdown.inner_text() == "10 s"
    tab.page.clock.run_for(3000)
    assert countdown.inner_text() == "7 s"
    tab.page.clock.run_for(7000)  # reaches zero: a refresh, and a restart
    tab.wait_refreshed(done + 1)
    assert countdown.inner_text() == "10 s"
    tab.page.click("#refresh-pause")
    assert countdown.inner_text() == "paused"
    tab.page.clock.run_for(20_000)
    assert countdown.inner_text() == "paused"
    assert tab.page.evaluate("document.body.dataset.refreshed") == str(done + 1)
    tab.page.click("#refresh-pause")
    tab.page.clock.run_for(1000)
    assert countdown.inner_text() == "9 s"
    tab.page.select_option("#refresh-every", "120")
    assert countdown.inner_text() == "120 s"
    assert tab.errors == []


def test_model_page_shows_drift_results_and_quality_from_labels(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    drift = {"model_id": "fraud-v3", "drift_type": "feature", "feature": "amount"}
    assert api.post("/metrics/drift", json=drift | {"score": 0.31, "confidence": 0.97}).is_success
    records = [
        {"request_id": f"r{i}", "features": {"amount": float(i)}, "prediction": i % 2}
        for i in range(20)
    ]
    assert api.post("/models/fraud-v3/records", json=records).status_code == 202
    labels = [{"request_id": f"r{i}", "label": 0 if i < 15 else i % 2} for i in range(20)]
    assert api.post("/models/fraud-v3/labels", json=labels).status_code == 202
    tab.page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    row = tab.page.locator("#drift tbody tr").first.inner_text()
    assert "amount" in row and "0.310" in row and "critical" in row
    drift_chart = chart_traces(tab, "chart-drift")
    assert [(t["name"], t["y"]) for t in drift_chart] == [("amount", [0.97])]
    quality = {t["name"]: t["y"] for t in chart_traces(tab, "chart-quality")}
    # 20 predictions against the labels: r0..r14 are right when even, r15..r19 all right.
    assert quality["accuracy"] == [pytest.approx((8 + 5) / 20)]
    tab.screenshot("model-drift-quality")
    assert tab.errors == []


def test_custom_range_is_applied_and_kept_on_the_url(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    tab.page.select_option("#range", "custom")
    # The last ten posted minutes only, in the browser's local time.
    last = tab.page.evaluate("document.getElementById('chart-latency').data[0].x.at(-1)")
    start, end = tab.page.evaluate(
        """(last) => {
             const local = (d) =>
               new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
             const t = new Date(last);
             return [local(new Date(t - 9 * 60000)), local(new Date(t.getTime() + 60000))];
           }""",
        last,
    )
    tab.page.fill("#range-start", start)
    tab.page.fill("#range-end", end)
    tab.page.click("#range-apply")
    tab.wait_refreshed(2)
    assert "start=" in tab.page.url and "end=" in tab.page.url
    assert chart_traces(tab, "chart-latency")[0]["y"] == FRAUD[-10:]
    assert tab.errors == []
