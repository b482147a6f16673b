"""``/docs`` in a browser that can reach nothing but the server: Swagger UI renders
the API's operations from the server's own assets, and with auth on its Authorize
button takes the admin key and "Try it out" then gets answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Route

from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage

KEY = "the-admin-key"
MODELS = '.opblock-summary-path[data-path="/api/v1/models"]'
LIST_MODELS = f".opblock-get:has({MODELS})"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=[KEY])
    with run_server(settings) as live:
        yield live


@pytest.fixture
def offline(tab: BrowserPage) -> list[str]:
    """The tab reaches 127.0.0.1 alone; every other request is aborted and listed."""
    blocked: list[str] = []

    def only_local(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    tab.page.context.route("**/*", only_local)
    return blocked


def test_docs_render_every_operation_with_no_network(
    server: LiveServer, tab: BrowserPage, offline: list[str]
) -> None:
    page = tab.page
    page.goto(server.url + "/docs")
    page.wait_for_selector(MODELS, timeout=15_000)
    tab.screenshot("api-docs")
    paths = page.eval_on_selector_all(
        ".opblock-summary-path", "els => els.map(e => e.dataset.path)"
    )
    assert "/api/v1/metrics/inference/batch" in paths
    assert "/api/v1/health/ready" in paths
    assert len(paths) > 50
    assert page.locator("button.authorize").is_visible()
    assert offline == []
    assert tab.errors == []


def _try_list_models(tab: BrowserPage) -> str:
    """Execute GET /api/v1/models from its opened block; the status Swagger UI shows."""
    block = tab.page.locator(LIST_MODELS)
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table td.response-col_status:not(.col_header)")
    status.wait_for(timeout=15_000)
    text = status.inner_text().strip()
    block.locator("button.btn-clear").click()  # ready for the next execution
    return text


def test_authorize_with_the_admin_key_then_try_it_out_succeeds(
    server: LiveServer, tab: BrowserPage, offline: list[str]
) -> None:
    page = tab.page
    page.goto(server.url + "/docs")
    page.wait_for_selector(MODELS, timeout=15_000)
    page.locator(LIST_MODELS).locator(".opblock-summary").click()
    page.locator(LIST_MODELS).locator("button.try-out__btn").click()
    assert _try_list_models(tab) == "401"  # auth is on: nothing is sent yet

    page.click("button.authorize")
    api_key = page.locator(".auth-container", has=page.locator("#api_key_value"))
    api_key.locator("#api_key_value").fill(KEY)
    api_key.locator("button.authorize").click()
    page.locator(".auth-container", has_text="Logout").locator("button.btn-done").click()
    assert _try_list_models(tab) == "200"

    assert offline == []
    # The one console error is the browser's report of the 401 before authorizing.
    assert len(tab.errors) == 1 and "401" in tab.errors[0], tab.errors
