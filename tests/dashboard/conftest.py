"""Browser fixtures: headless Debian chromium driven by Playwright, console errors kept.

Without /usr/bin/chromium the browser tests skip, except under ``CI=true`` where
they fail: scripts/test installs chromium (scripts/ensure-chromium) first.

Pages are served with a Content-Security-Policy that refuses ``eval``. Playwright's
``wait_for_function`` evaluates an expression with ``eval`` on every poll but a
function (``"() => …"``) once, where the policy does not reach: the tests pass
functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import LiveServer, make_settings, run_server

# Debian's chromium; MONITORX_TEST_CHROMIUM names another binary (the tests of the
# missing-browser behaviour point it at nothing).
CHROMIUM = Path(os.environ.get("MONITORX_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class BrowserPage:
    """A Playwright page and what its console and scripts reported."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def wait_refreshed(self, times: int = 1) -> None:
        """Wait until the page finished ``times`` data refreshes."""
        self.page.wait_for_function(
            f"() => Number(document.body.dataset.refreshed || 0) >= {times}", timeout=15_000
        )


# Per module, not per session: while Playwright's sync API is started it holds an
# event loop on this thread, which pytest-asyncio's tests elsewhere need.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/ensure-chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


def open_page(browser: Browser, width: int = 1400, height: int = 1000) -> BrowserPage:
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    opened = BrowserPage(page)
    page.on(
        "console",
        lambda message: opened.errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: opened.errors.append(f"page error: {error}"))
    return opened


@pytest.fixture
def tab(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh browser tab (its own context: storage and cookies) per test."""
    opened = open_page(browser)
    yield opened
    opened.page.context.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server with auth off (modules that need other settings define their own)."""
    with run_server(make_settings(tmp_path / "data")) as live:
        yield live


def chart_traces(tab: BrowserPage, div: str) -> list[dict[str, object]]:
    """The traces a Plotly chart on the page holds: name, and the x and y of its
    points (without the nulls that break a line where data is missing)."""
    traces: list[dict[str, object]] = tab.page.evaluate(
        f"""() => document.getElementById({json.dumps(div)}).data.map((t) => {{
              const kept = t.y.map((y, i) => i).filter((i) => t.y[i] !== null);
              return {{name: t.name, x: kept.map((i) => t.x[i]), y: kept.map((i) => t.y[i])}};
            }})"""
    )
    return traces


def plotted(tab: BrowserPage, div: str) -> list[dict[str, object]]:
    """A chart's traces as Plotly holds them: x and y with the gaps' nulls, mode,
    connectgaps and the marker sizes."""
    traces: list[dict[str, object]] = tab.page.evaluate(
        f"""() => document.getElementById({json.dumps(div)}).data.map((t) => ({{
              name: t.name, x: t.x, y: t.y, mode: t.mode, connectgaps: t.connectgaps,
              marker_size: t.marker ? t.marker.size : undefined}}))"""
    )
    return traces
