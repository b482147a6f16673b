"""The model page of an LLM in headless Chromium: time to first token, tokens and
cost per bucket hold the posted values; a model without LLM fields shows none of it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import BrowserPage, chart_traces
from tests.dashboard.seed import minute_series, post_batch

MINUTES = 12
TTFT = [150.0 + 10 * i for i in range(MINUTES)]
PROMPT = [500 + i for i in range(MINUTES)]
COMPLETION = [100 + 2 * i for i in range(MINUTES)]
COST = [0.001 * (i + 1) for i in range(MINUTES)]


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        client.post("/models", json={"id": "chat-llm", "model_type": "llm"})
        series = minute_series("chat-llm", [900.0] * MINUTES)
        for i, metric in enumerate(series):
            metric["llm"] = {
                "time_to_first_token_ms": TTFT[i],
                "prompt_tokens": PROMPT[i],
                "completion_tokens": COMPLETION[i],
                "cost_usd": COST[i],
            }
        post_batch(client, series)
        post_batch(client, minute_series("fraud-v3", [40.0] * 5))
        yield client


def test_llm_charts_hold_the_posted_values(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/models/chat-llm")
    tab.wait_refreshed()
    assert tab.page.locator("#llm-charts").is_visible()
    # One metric a minute in 30 s buckets: every bucket holds one request.
    ttft = {t["name"]: t["y"] for t in chart_traces(tab, "chart-ttft")}
    assert ttft == {"p50": TTFT, "p95": TTFT}
    tokens = {t["name"]: t["y"] for t in chart_traces(tab, "chart-tokens")}
    assert tokens == {"prompt": PROMPT, "completion": COMPLETION}
    (cost,) = chart_traces(tab, "chart-cost")
    assert cost["y"] == pytest.approx(COST)
    title = tab.page.evaluate("document.getElementById('chart-cost').layout.title.text")
    assert title == f"Cost (USD per 30 s; {sum(COST):.4f} in range)"
    tab.page.wait_for_timeout(300)
    tab.screenshot("model-llm")
    assert tab.errors == []


def test_a_model_without_llm_fields_hides_the_llm_charts(
    server: LiveServer, api: httpx.Client, tab: BrowserPage
) -> None:
    tab.page.goto(server.url + "/models/fraud-v3")
    tab.wait_refreshed()
    assert tab.page.locator("#chart-latency").is_visible()
    assert not tab.page.locator("#llm-charts").is_visible()
    assert tab.errors == []
