"""The audit page in headless Chromium: the changes made through the API are
listed newest first with who, what and how it ended, and the filters narrow them."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage


def _rows(tab: BrowserPage) -> list[list[str]]:
    cells: list[list[str]] = tab.page.eval_on_selector_all(
        "#audit tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))",
    )
    return cells


def test_the_audit_page_lists_changes_and_filters_them(
    server: LiveServer, tab: BrowserPage
) -> None:
    with httpx.Client(base_url=server.api, timeout=30) as api:
        assert (
            api.post("/models", json={"id": "fraud-v3", "model_type": "tabular"}).status_code == 201
        )
        assert (
            api.post("/models", json={"id": "ranker", "model_type": "tabular"}).status_code == 201
        )
        assert api.delete("/models/ranker").status_code in (200, 204)
        assert (
            api.post("/models", json={"id": "fraud-v3", "model_type": "tabular"}).status_code == 409
        )

    tab.page.goto(server.url + "/audit")
    tab.wait_refreshed()
    rows = _rows(tab)
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        ("anonymous", "create_model", "/api/v1/models", "failure"),
        ("anonymous", "delete_model", "/api/v1/models/ranker", "success"),
        ("anonymous", "create_model", "/api/v1/models", "success"),
        ("anonymous", "create_model", "/api/v1/models", "success"),
    ]
    tab.screenshot("audit")

    tab.page.fill("#f-action", "delete_model")
    tab.page.dispatch_event("#f-action", "change")
    tab.page.wait_for_function("() => document.querySelectorAll('#audit tbody tr').length === 1")
    assert [r[2] for r in _rows(tab)] == ["delete_model"]
    assert "action=delete_model" in tab.page.url
    assert tab.errors == []
