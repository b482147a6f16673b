"""Projects on the dashboard with auth off, in headless Chromium: the header's
project field switches the tab to another project, whose models alone it lists, and
whose live feed it follows."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import make_settings, run_server
from tests.dashboard.conftest import BrowserPage


def _models(tab: BrowserPage) -> list[str]:
    names: list[str] = tab.page.eval_on_selector_all(
        "#models tbody tr td:first-child", "cells => cells.map(c => c.textContent.trim())"
    )
    return names


def test_the_header_switches_the_tab_between_projects(tmp_path: Path, tab: BrowserPage) -> None:
    settings = make_settings(tmp_path / "data", auth_enabled=False)
    with run_server(settings) as server:
        for project, model in (("default", "home-model"), ("team-b", "b-model")):
            sent = httpx.post(
                f"{server.api}/metrics/inference",
                json={"model_id": model, "latency": 10},
                headers={"X-MonitorX-Project": project},
            )
            assert sent.status_code in (201, 202), sent.text
        page = tab.page
        page.goto(f"{server.url}/")
        page.wait_for_selector("#project-switch:not([hidden])")
        assert page.input_value("#project-name") == "default"
        page.wait_for_function("() => document.querySelectorAll('#models tbody tr').length > 0")
        assert "home-model" in " ".join(_models(tab))
        page.fill("#project-name", "team-b")
        page.press("#project-name", "Enter")
        page.wait_for_load_state("load")
        page.wait_for_function("() => document.getElementById('project-name').value === 'team-b'")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#models tbody tr')].some("
            "r => r.textContent.includes('b-model'))"
        )
        shown = " ".join(_models(tab))
        assert "b-model" in shown and "home-model" not in shown
        assert tab.errors == []
