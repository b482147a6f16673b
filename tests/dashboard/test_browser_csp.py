"""Every dashboard page and ``/docs`` under the server's Content-Security-Policy, in
headless Chromium with auth on: each page works (data shown, charts drawn, Swagger
UI rendered) with no console error and no CSP violation reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitorx.server.security_headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage
from tests.dashboard.seed import minute_series, post_batch

KEY = "csp-test-admin-key"
# Collects what the browser reports as violating the policy (Chromium also logs each
# as a console error; the event says which directive, even for report-only ones).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}`));
"""
CREDENTIAL = json.dumps({"kind": "key", "value": KEY})
SIGNED_IN = f"sessionStorage.setItem('monitorx-credential', JSON.stringify({CREDENTIAL}));"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("csp") / "data"
    settings = make_settings(data, auth_enabled=True, api_keys=[KEY])
    with run_server(settings) as live:
        headers = {"X-API-Key": KEY}
        with httpx.Client(base_url=live.api, headers=headers, timeout=30) as api:
            model = {"id": "fraud-v3", "model_type": "tabular", "thresholds": {"latency_ms": 50}}
            assert api.post("/models", json=model).status_code == 201
            post_batch(api, minute_series("fraud-v3", [40.0 + i for i in range(30)]))
            post_batch(api, minute_series("ranker", [120.0 + i for i in range(20)]))
            samples = [{"name": "ranker.ctr", "value": 0.03, "labels": {"region": "eu"}}]
            assert api.post("/metrics/custom", json=samples).status_code == 202
            panel = {"title": "p95", "metric": "latency", "agg": "p95", "models": ["fraud-v3"]}
            dashboard = {"id": "checkout", "title": "Checkout", "panels": [panel]}
            assert api.post("/dashboards", json=dashboard).status_code == 201
        yield live


@pytest.fixture
def signed_in(tab: BrowserPage) -> BrowserPage:
    tab.page.context.add_init_script(RECORD_VIOLATIONS)
    tab.page.context.add_init_script(SIGNED_IN)
    return tab


DASHBOARD_PAGES = [
    "/",
    "/models/fraud-v3",
    "/alerts",
    "/compare?models=fraud-v3,ranker",
    "/explore",
    "/dashboards",
    "/dashboards/checkout",
]


def _violations(tab: BrowserPage) -> list[str]:
    found: list[str] = tab.page.evaluate("window.__violations")
    return found


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_dashboard_page_runs_under_the_policy(
    server: LiveServer, signed_in: BrowserPage, path: str
) -> None:
    response = signed_in.page.goto(server.url + path)
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    signed_in.wait_refreshed()
    if path.startswith("/models/"):
        # Plotly drew into the page: its script ran and its styles applied.
        signed_in.page.wait_for_selector("#chart-latency .main-svg", timeout=15_000)
    signed_in.page.wait_for_timeout(500)  # charts and the live socket settle
    assert _violations(signed_in) == []
    assert signed_in.errors == []


def test_model_page_draws_its_charts_and_goes_live_under_the_policy(
    server: LiveServer, signed_in: BrowserPage
) -> None:
    page = signed_in.page
    page.goto(server.url + "/models/fraud-v3")
    signed_in.wait_refreshed()
    page.wait_for_selector("#live.on")  # the WebSocket (connect-src 'self') is open
    drawn = page.evaluate("document.getElementById('chart-latency').data[0].y.length")
    assert drawn > 0
    assert _violations(signed_in) == []
    assert signed_in.errors == []


def test_login_page_runs_under_the_policy(server: LiveServer, tab: BrowserPage) -> None:
    tab.page.context.add_init_script(RECORD_VIOLATIONS)
    tab.page.goto(server.url + "/models/fraud-v3")
    tab.page.wait_for_url(f"{server.url}/login?next=%2Fmodels%2Ffraud-v3")
    tab.page.fill("#login-value", KEY)
    tab.page.click("#login-submit")
    tab.page.wait_for_url(f"{server.url}/models/fraud-v3")
    tab.wait_refreshed()
    assert _violations(tab) == []
    # The one console error is the browser's report of the 401 that sent it to log in.
    assert all("401" in e for e in tab.errors), tab.errors


def test_api_docs_render_under_the_policy(server: LiveServer, signed_in: BrowserPage) -> None:
    page = signed_in.page
    response = page.goto(server.url + "/docs")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/models"]', timeout=15_000)
    page.wait_for_timeout(300)
    assert page.locator("button.authorize").is_visible()
    assert _violations(signed_in) == []
    assert signed_in.errors == []


def test_an_inline_script_is_refused(
    server: LiveServer, signed_in: BrowserPage, tmp_path: Path
) -> None:
    """The policy is enforced, not only sent: a script injected into the page's
    markup does not run, and the browser reports it."""
    page = signed_in.page
    page.goto(server.url + "/alerts")
    signed_in.wait_refreshed()
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__ran = true'; document.body.append(s); }"""
    )
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("window.__ran === undefined")
    assert _violations(signed_in)[0].startswith("script-src-elem blocked inline")
