"""LLM fields through a real MonitorX server: recorded by the SDK, stored, read back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import monitorx
from monitorx import LLMPricing, MonitorX, MonitorXClient, monitor_inference, track
from tests.conftest import LiveServer

PRICING = LLMPricing(prompt_usd_per_1k_tokens=0.5, completion_usd_per_1k_tokens=1.5)


def stored(api: httpx.Client, model_id: str) -> list[dict[str, Any]]:
    response = api.get("/metrics/inference", params={"model_id": model_id})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_track_and_streams_store_their_llm_fields(
    live_server: LiveServer, api: httpx.Client
) -> None:
    monitorx.init(url=live_server.url)

    with track(model_id="chat-track", request_id="req-1", pricing=PRICING) as t:
        time.sleep(0.01)
        t.first_token()
        t.record_usage({"prompt_tokens": 812, "completion_tokens": 143})

    @monitor_inference(model_id="chat-stream", count_tokens=True, pricing=PRICING)
    def stream(n: int) -> Iterator[str]:
        time.sleep(0.01)  # the prefill
        for i in range(n):
            yield f"tok{i}"

    assert len(list(stream(40))) == 40

    @monitor_inference(model_id="chat-plain")
    def complete() -> str:
        return "done"

    complete()
    assert monitorx.flush(timeout=10)

    [tracked] = stored(api, "chat-track")
    assert tracked["request_id"] == "req-1"
    assert tracked["llm"]["prompt_tokens"] == 812
    assert tracked["llm"]["completion_tokens"] == 143
    assert tracked["llm"]["cost_usd"] == pytest.approx((812 * 0.5 + 143 * 1.5) / 1000)
    assert 10.0 <= tracked["llm"]["time_to_first_token_ms"] <= tracked["latency"]

    [streamed] = stored(api, "chat-stream")
    assert streamed["llm"]["completion_tokens"] == 40
    assert streamed["llm"]["cost_usd"] == pytest.approx(40 * 1.5 / 1000)
    assert 10.0 <= streamed["llm"]["time_to_first_token_ms"] <= streamed["latency"]
    assert "prompt_tokens" not in streamed["llm"]

    [plain] = stored(api, "chat-plain")
    assert not plain.get("llm")


async def test_an_async_stream_and_the_async_client_store_their_llm_fields(
    live_server: LiveServer,
) -> None:
    async with MonitorXClient(live_server.url) as client:

        @monitor_inference(model_id="chat-astream", client=client, count_tokens=True)
        async def stream(n: int) -> AsyncIterator[int]:
            for i in range(n):
                await asyncio.sleep(0.001)
                yield i

        assert [i async for i in stream(7)] == list(range(7))
        await client.collect_inference_metric(
            model_id="chat-direct",
            latency=900.0,
            llm={"prompt_tokens": 812, "time_to_first_token_ms": 180.5, "cost_usd": 0.0021},
        )
    # Closing the client delivered what the decorator recorded.
    async with httpx.AsyncClient(base_url=live_server.api) as api:
        streamed = (await api.get("/metrics/inference", params={"model_id": "chat-astream"})).json()
        direct = (await api.get("/metrics/inference", params={"model_id": "chat-direct"})).json()
    assert [row["llm"]["completion_tokens"] for row in streamed] == [7]
    assert streamed[0]["llm"]["time_to_first_token_ms"] <= streamed[0]["latency"]
    assert direct[0]["llm"] == {
        "prompt_tokens": 812,
        "time_to_first_token_ms": 180.5,
        "cost_usd": 0.0021,
    }


def test_the_hourly_cost_is_the_sum_of_the_recorded_costs(
    live_server: LiveServer, api: httpx.Client
) -> None:
    costs = [0.0021, 0.0134, 0.5]
    with MonitorX(live_server.url) as client:
        for cost in costs:
            client.collect_inference_metric(
                model_id="chat-cost", latency=100.0, llm={"cost_usd": cost}
            )
        client.collect_inference_metric(model_id="chat-cost", latency=100.0)  # no cost
    response = api.get(
        "/metrics/aggregate",
        params={"model_id": "chat-cost", "metric": "cost_usd", "agg": "sum", "interval": "1h"},
    )
    assert response.status_code == 200, response.text
    buckets = response.json()
    assert sum(bucket["value"] for bucket in buckets) == pytest.approx(sum(costs))
