"""The admin key never leaves the browser in a URL and never reaches a log or a file.

`monitorx serve` runs as a process with auth on, its bootstrap admin key, the access
log and debug logging (uvicorn's and the WebSocket library's lines included), all of
its output in a file. The dashboard is used as a person would: sign in with the key,
every page, the live feed on each, exports and a download. Then everything the
server wrote (its log and every file in the data directory but ``admin-api-key``,
which is meant to hold the key) is searched for the key and for pieces of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dashboard.conftest import BrowserPage
from tests.dashboard.seed import minute_series, post_batch
from tests.system.conftest import ServerProcess, start_server

# A piece of the key this long found anywhere counts as the key (an elided log line
# may hold only part of it).
PIECE = 12

PAGES = [
    # (path, whether the page keeps a live WebSocket open)
    ("/", True),
    ("/models/fraud-v3", True),
    ("/alerts", True),
    ("/compare?models=fraud-v3,ranker", True),
    ("/explore?metric=latency&agg=p95&group_by=model_id", False),
    ("/dashboards", False),
    ("/dashboards/checkout", True),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(
        tmp_path / "data",
        extra_env={"MONITORX_AUTH_ENABLED": "true"},
        extra_args=["--log-level", "debug", "--access-log"],
    )
    try:
        yield process
    finally:
        process.stop()


def _seed(api: httpx.Client) -> None:
    model = {"id": "fraud-v3", "model_type": "tabular", "thresholds": {"latency_ms": 100}}
    assert api.post("/models", json=model).status_code == 201
    post_batch(api, minute_series("fraud-v3", [40.0 + i for i in range(10)]))
    post_batch(api, minute_series("ranker", [90.0 + i for i in range(10)]))
    breach = {"model_id": "fraud-v3", "latency": 180.0}
    assert api.post("/metrics/inference", json=breach).status_code == 202
    panel = {"title": "p95", "metric": "latency", "agg": "p95", "models": ["fraud-v3", "ranker"]}
    by_model = {"query": {"metric": "latency", "agg": "max", "group_by": ["model_id"]}}
    dashboard = {"id": "checkout", "title": "Checkout", "range": "1h", "panels": [panel, by_model]}
    assert api.put("/dashboards/checkout", json=dashboard).is_success


def _live_messages(tab: BrowserPage) -> int:
    return int(tab.page.evaluate("Number(document.body.dataset.liveMessages || 0)"))


def _pieces(key: str) -> list[str]:
    return [key[i : i + PIECE] for i in range(len(key) - PIECE + 1)]


def _leaks(text: str, key: str) -> list[str]:
    return [piece for piece in _pieces(key) if piece in text]


def test_the_key_is_in_no_url_no_log_line_and_no_stored_file(
    server: ServerProcess, tab: BrowserPage
) -> None:
    key = (server.data_dir / "admin-api-key").read_text().strip()
    assert len(key) > 2 * PIECE
    with httpx.Client(base_url=server.api, headers={"X-API-Key": key}, timeout=30) as api:
        _seed(api)
        urls: list[str] = []
        page = tab.page
        page.on("request", lambda request: urls.append(request.url))
        page.on("websocket", lambda socket: urls.append(socket.url))

        page.goto(server.url + "/")
        page.wait_for_url(f"{server.url}/login?next=%2F")
        page.fill("#login-value", key)
        page.click("#login-submit")
        page.wait_for_url(server.url + "/")
        for path, live in PAGES:
            page.goto(server.url + path)
            tab.wait_refreshed()
            if not live:
                continue
            page.wait_for_selector("#live.on")  # the socket took the key
            before = _live_messages(tab)
            for model_id in ("fraud-v3", "ranker"):
                metric = {"model_id": model_id, "latency": 50.0}
                assert api.post("/metrics/inference", json=metric).status_code == 202
            page.wait_for_function(
                f"() => Number(document.body.dataset.liveMessages || 0) > {before}", timeout=10_000
            )
        # The file downloads: exports are built in the page, the drift report is fetched.
        page.goto(server.url + "/models/fraud-v3")
        tab.wait_refreshed()
        for button in ("#export-csv", "#export-json"):
            with page.expect_download():
                page.click(button)
        page.click("#drift-report")
        page.wait_for_timeout(500)
    server.stop()  # shutdown writes its own lines

    assert urls, "the browser made no requests"
    assert [u for u in urls if _leaks(u, key)] == []
    assert any(u.startswith("ws://") for u in urls)
    log = (server.data_dir / "server.log").read_text(errors="replace")
    # What the search runs over is the real thing: access lines, uvicorn's WebSocket
    # lines and the WebSocket library's frames (the auth message among them).
    assert '"GET /api/v1/models HTTP/1.1" 200' in log
    assert '"WebSocket /api/v1/ws' in log and "[accepted]" in log
    assert '"type":"auth"' in log or '"type": "auth"' in log
    searched = []
    for path in sorted(server.data_dir.rglob("*")):
        if not path.is_file() or path.name == "admin-api-key":
            continue
        text = path.read_bytes().decode("latin-1")
        searched.append(path.name)
        leaks = _leaks(text, key)
        assert leaks == [], f"{path.name} holds the key: {json.dumps(leaks[:3])}"
    assert "server.log" in searched
