"""LLM fields: the ``llm`` body the clients send, pricing, usage reports, and ``track()``."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest

import monitorx
from monitorx import LLMPricing, MonitorX, MonitorXClient, ValidationError, track
from monitorx.sdk.llm import TokenUsage, llm_body, usage_tokens
from monitorx.sdk.payloads import inference_metric
from tests.sdk.conftest import BatchReceiver, FakePerfCounter, Peer

# -- the body the clients send ------------------------------------------------------


def test_the_llm_object_is_sent_with_nones_dropped() -> None:
    body = inference_metric(
        model_id="chat",
        latency=900.0,
        llm={
            "prompt_tokens": 812,
            "completion_tokens": 143,
            "time_to_first_token_ms": 180.5,
            "cost_usd": None,
        },
    )
    assert body["llm"] == {
        "prompt_tokens": 812,
        "completion_tokens": 143,
        "time_to_first_token_ms": 180.5,
    }


@pytest.mark.parametrize("llm", [None, {}, {"cost_usd": None}])
def test_an_llm_object_with_nothing_in_it_is_left_out(llm: dict[str, Any] | None) -> None:
    assert "llm" not in inference_metric(model_id="chat", latency=1.0, llm=llm)


def test_whole_token_counts_go_out_as_json_integers() -> None:
    body = llm_body({"prompt_tokens": 812.0, "completion_tokens": np.int64(143)})
    assert json.dumps(body) == '{"prompt_tokens": 812, "completion_tokens": 143}'


def test_numbers_of_other_types_go_out_as_floats() -> None:
    body = llm_body({"time_to_first_token_ms": 180, "cost_usd": np.float32(0.5)})
    assert body == {"time_to_first_token_ms": 180.0, "cost_usd": 0.5}
    assert all(type(value) is float for value in body.values())


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("prompt_tokens", -1, ">= 0"),
        ("prompt_tokens", 812.5, "whole number"),
        ("prompt_tokens", "812", "whole number"),
        ("completion_tokens", True, "boolean"),
        ("completion_tokens", float("nan"), "whole number"),
        ("time_to_first_token_ms", -0.5, ">= 0"),
        ("time_to_first_token_ms", float("inf"), "finite"),
        ("cost_usd", float("nan"), "finite"),
        ("cost_usd", -0.01, ">= 0"),
        ("cost_usd", "0.01", "number"),
        ("total_tokens", 955, "unknown field"),
    ],
)
def test_a_bad_llm_value_is_refused_naming_its_field(field: str, value: Any, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        inference_metric(model_id="chat", latency=1.0, llm={field: value})
    assert [error.field for error in caught.value.errors] == [f"llm.{field}"]


def test_the_sync_client_sends_the_llm_object() -> None:
    peer = Peer([httpx.Response(202, json={"accepted": 1})])
    with MonitorX("http://monitorx.test", transport=peer.transport) as client:
        result = client.collect_inference_metric(
            model_id="chat", latency=900.0, llm={"prompt_tokens": 812, "cost_usd": 0.0021}
        )
    assert result.accepted == 1
    assert peer.paths == ["/api/v1/metrics/inference"]
    sent = json.loads(peer.requests[0].content)
    assert sent["llm"] == {"prompt_tokens": 812, "cost_usd": 0.0021}


async def test_the_async_client_sends_the_llm_object() -> None:
    peer = Peer([httpx.Response(202, json={"accepted": 1})])
    async with MonitorXClient("http://monitorx.test", transport=peer.transport) as client:
        await client.collect_inference_metric(
            model_id="chat", latency=900.0, llm={"completion_tokens": 143}
        )
    assert json.loads(peer.requests[0].content)["llm"] == {"completion_tokens": 143}


async def test_both_clients_refuse_a_bad_llm_value_without_a_request() -> None:
    peer = Peer([])
    with (
        MonitorX("http://monitorx.test", transport=peer.transport) as client,
        pytest.raises(ValidationError, match=r"llm\.prompt_tokens"),
    ):
        client.collect_inference_metric(model_id="chat", latency=1.0, llm={"prompt_tokens": -5})
    async with MonitorXClient("http://monitorx.test", transport=peer.transport) as aclient:
        with pytest.raises(ValidationError, match=r"llm\.cost_usd"):
            await aclient.collect_inference_metric(
                model_id="chat", latency=1.0, llm={"cost_usd": float("inf")}
            )
    assert peer.requests == []


# -- pricing ------------------------------------------------------------------------


def test_pricing_charges_each_kind_of_token_at_its_rate_per_thousand() -> None:
    pricing = LLMPricing(prompt_usd_per_1k_tokens=0.5, completion_usd_per_1k_tokens=1.5)
    assert pricing.cost_usd(1000, 2000) == pytest.approx(0.5 + 3.0)
    assert pricing.cost_usd(812, None) == pytest.approx(0.406)
    assert pricing.cost_usd(None, None) == 0.0


def test_prices_per_million_tokens_are_the_same_prices_per_thousand() -> None:
    per_million = LLMPricing.per_million_tokens(prompt_usd=0.15, completion_usd=0.60)
    assert per_million.prompt_usd_per_1k_tokens == pytest.approx(0.00015)
    assert per_million.completion_usd_per_1k_tokens == pytest.approx(0.0006)
    assert per_million.cost_usd(1_000_000, 1_000_000) == pytest.approx(0.75)


@pytest.mark.parametrize(("prompt", "completion"), [(-0.1, 1.0), (1.0, float("nan"))])
def test_a_negative_or_non_finite_price_is_refused(prompt: float, completion: float) -> None:
    with pytest.raises(ValidationError):
        LLMPricing(prompt, completion)


def test_pricing_is_frozen() -> None:
    pricing = LLMPricing(0.5, 1.5)
    with pytest.raises(AttributeError):
        pricing.prompt_usd_per_1k_tokens = 0.0  # type: ignore[misc]


# -- usage reports ------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage",
    [
        SimpleNamespace(prompt_tokens=812, completion_tokens=143, total_tokens=955),  # OpenAI
        {"prompt_tokens": 812, "completion_tokens": 143, "total_tokens": 955},
        SimpleNamespace(input_tokens=812, output_tokens=143),  # Anthropic, OpenAI Responses
        {"input_tokens": 812, "output_tokens": 143, "cache_read_input_tokens": 0},
    ],
    ids=["openai-object", "openai-dict", "anthropic-object", "anthropic-dict"],
)
def test_usage_is_read_from_openai_and_anthropic_reports(usage: object) -> None:
    assert usage_tokens(usage) == TokenUsage(prompt_tokens=812, completion_tokens=143)


class RaisingUsage:
    @property
    def prompt_tokens(self) -> int:
        raise RuntimeError("lazy field failed")


@pytest.mark.parametrize(
    "usage",
    [None, 42, "812 tokens", SimpleNamespace(prompt_tokens=-3), {"input_tokens": 1.5}],
)
def test_a_report_without_usable_counts_gives_none(usage: object) -> None:
    assert usage_tokens(usage) == TokenUsage(None, None)


def test_a_usage_object_that_raises_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert usage_tokens(RaisingUsage()) == TokenUsage(None, None)
    assert any("could not read token usage" in r.message for r in caplog.records)


# -- track() ------------------------------------------------------------------------


def test_track_records_tokens_first_token_and_cost(
    batch_receiver: BatchReceiver, perf_clock: FakePerfCounter
) -> None:
    with track(model_id="chat", model_type="llm") as t:
        perf_clock.advance(0.180)
        t.first_token()
        perf_clock.advance(0.050)
        t.first_token()  # later chunks do not move it
        perf_clock.advance(0.670)
        t.record_tokens(prompt=812, completion=143)
        t.cost_usd = 0.0021
    assert t.time_to_first_token_ms == pytest.approx(180.0)
    [item] = batch_receiver.delivered()
    assert item["latency"] == pytest.approx(900.0)
    assert item["llm"] == {
        "prompt_tokens": 812,
        "completion_tokens": 143,
        "time_to_first_token_ms": pytest.approx(180.0),
        "cost_usd": 0.0021,
    }


def test_a_block_that_records_nothing_llm_sends_no_llm_object(
    batch_receiver: BatchReceiver,
) -> None:
    with track(model_id="cv"):
        pass
    [item] = batch_receiver.delivered()
    assert "llm" not in item


def test_pricing_fills_the_cost_from_the_recorded_tokens(batch_receiver: BatchReceiver) -> None:
    pricing = LLMPricing(prompt_usd_per_1k_tokens=0.5, completion_usd_per_1k_tokens=1.5)
    with track(model_id="chat", pricing=pricing) as t:
        t.record_tokens(prompt=1000, completion=200)
    with track(model_id="chat", pricing=pricing) as t:
        t.record_tokens(prompt=1000, completion=200)
        t.record_cost(0.25)  # what the provider billed wins
    with track(model_id="chat", pricing=pricing) as t:
        t.first_token()  # no tokens: nothing to price
    priced, explicit, untokened = batch_receiver.delivered()
    assert priced["llm"]["cost_usd"] == pytest.approx(0.5 + 0.3)
    assert explicit["llm"]["cost_usd"] == 0.25
    assert "cost_usd" not in untokened["llm"]


def test_record_usage_takes_an_anthropic_stream_in_two_reports(
    batch_receiver: BatchReceiver,
) -> None:
    with track(model_id="claude") as t:
        t.record_usage(SimpleNamespace(input_tokens=25, output_tokens=1))  # message_start
        t.record_usage({"output_tokens": 15})  # message_delta: the final count
        t.record_usage(object())  # not a usage report: changes nothing
    [item] = batch_receiver.delivered()
    assert item["llm"] == {"prompt_tokens": 25, "completion_tokens": 15}


def test_a_bad_llm_value_is_left_out_and_the_rest_recorded(
    batch_receiver: BatchReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitorx.sdk"), track(model_id="chat") as t:
        t.record_tokens(prompt=-5, completion=143)
        t.cost_usd = float("nan")
    [item] = batch_receiver.delivered()
    assert item["llm"] == {"completion_tokens": 143}
    assert "latency" in item
    messages = [r.getMessage() for r in caplog.records]
    assert any("llm.prompt_tokens" in m for m in messages)
    assert any("llm.cost_usd" in m for m in messages)


def test_first_token_outside_the_block_records_nothing(batch_receiver: BatchReceiver) -> None:
    t = track(model_id="chat")
    t.first_token()  # before the block: there is no start to measure from
    with t:
        pass
    t.first_token()  # after it: the block is over
    [item] = batch_receiver.delivered()
    assert "llm" not in item


def test_track_in_a_generator_closed_early_is_not_an_error(
    batch_receiver: BatchReceiver,
) -> None:
    def stream() -> Any:
        with track(model_id="chat") as t:
            for token in ["a", "b", "c"]:
                t.first_token()
                yield token

    tokens = stream()
    assert next(tokens) == "a"
    tokens.close()  # the consumer went away
    [item] = batch_receiver.delivered()
    assert "error" not in item
    assert "time_to_first_token_ms" in item["llm"]


async def test_async_with_track_records_the_llm_fields(batch_receiver: BatchReceiver) -> None:
    async with track(model_id="chat") as t:
        t.first_token()
        t.record_usage({"prompt_tokens": 7, "completion_tokens": 3})
    [item] = batch_receiver.delivered()
    assert item["llm"]["prompt_tokens"] == 7
    assert 0.0 <= item["llm"]["time_to_first_token_ms"] <= item["latency"]


def test_track_with_a_client_records_the_llm_object_through_it() -> None:
    peer = BatchReceiver()
    client = MonitorX("http://monitorx.test", transport=httpx.MockTransport(peer))
    with track(model_id="chat", client=client) as t:
        t.record_tokens(completion=9)
    client.close()  # delivers what was recorded
    assert [item["llm"] for item in peer.items] == [{"completion_tokens": 9}]


def test_the_top_level_package_exports_the_pricing() -> None:
    assert monitorx.LLMPricing is LLMPricing
