"""``@monitor_inference`` on generator and async generator functions: the whole stream is timed."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator

import pytest

from monitorx import LLMPricing, ValidationError, monitor_inference
from tests.sdk.conftest import BatchReceiver, FakePerfCounter


class ModelFailure(Exception):
    pass


def test_a_generator_is_timed_until_it_is_exhausted(
    batch_receiver: BatchReceiver, perf_clock: FakePerfCounter
) -> None:
    @monitor_inference(model_id="chat", model_type="llm", tags={"route": "stream"})
    def stream(prompt: str) -> Iterator[str]:
        perf_clock.advance(0.180)  # prefill: the time to the first token
        for word in prompt.split():
            yield word
            perf_clock.advance(0.020)

    words = []
    for word in stream("the cat sat"):
        words.append(word)
        perf_clock.advance(0.005)  # the consumer's own time between items counts too
    assert words == ["the", "cat", "sat"]
    [item] = batch_receiver.delivered()
    assert item["latency"] == pytest.approx(180.0 + 3 * 25.0)
    assert item["llm"] == {"time_to_first_token_ms": pytest.approx(180.0)}
    assert item["model_type"] == "llm"
    assert item["tags"] == {"route": "stream"}
    assert "error" not in item


def test_counted_tokens_are_priced(batch_receiver: BatchReceiver) -> None:
    pricing = LLMPricing(prompt_usd_per_1k_tokens=0.5, completion_usd_per_1k_tokens=2.0)

    @monitor_inference(model_id="chat", count_tokens=True, pricing=pricing)
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    assert list(stream(5)) == [0, 1, 2, 3, 4]
    [item] = batch_receiver.delivered()
    assert item["llm"]["completion_tokens"] == 5
    assert item["llm"]["cost_usd"] == pytest.approx(5 * 2.0 / 1000)
    assert "prompt_tokens" not in item["llm"]


def test_an_exception_mid_stream_is_an_error_and_reaches_the_consumer(
    batch_receiver: BatchReceiver, perf_clock: FakePerfCounter
) -> None:
    failure = ModelFailure("upstream reset")

    @monitor_inference(model_id="chat", count_tokens=True)
    def stream() -> Iterator[str]:
        perf_clock.advance(0.1)
        yield "partial"
        perf_clock.advance(0.3)
        raise failure

    tokens = stream()
    assert next(tokens) == "partial"
    with pytest.raises(ModelFailure) as caught:
        next(tokens)
    assert caught.value is failure
    [item] = batch_receiver.delivered()
    assert item["error"] is True
    assert item["latency"] == pytest.approx(400.0)
    assert item["llm"] == {"completion_tokens": 1, "time_to_first_token_ms": pytest.approx(100.0)}


def test_a_stream_that_fails_before_its_first_item_has_no_time_to_first_token(
    batch_receiver: BatchReceiver,
) -> None:
    @monitor_inference(model_id="chat")
    def stream() -> Iterator[str]:
        raise ModelFailure("prompt too long")
        yield "never"  # makes this a generator function

    with pytest.raises(ModelFailure):
        next(stream())
    [item] = batch_receiver.delivered()
    assert item["error"] is True
    assert "llm" not in item


def test_a_stream_closed_early_is_recorded_once_without_error(
    batch_receiver: BatchReceiver, perf_clock: FakePerfCounter
) -> None:
    cleaned_up = []

    @monitor_inference(model_id="chat", count_tokens=True)
    def stream() -> Generator[int, None, None]:
        try:
            for i in range(100):
                perf_clock.advance(0.01)
                yield i
        finally:
            perf_clock.advance(0.5)  # releasing the model's slot takes time
            cleaned_up.append(True)

    tokens = stream()
    assert [next(tokens), next(tokens)] == [0, 1]
    tokens.close()
    tokens.close()  # closing again does nothing more
    assert cleaned_up == [True]
    [item] = batch_receiver.delivered()
    assert "error" not in item
    assert item["latency"] == pytest.approx(520.0)  # the inner cleanup is inside the timing
    assert item["llm"]["completion_tokens"] == 2


def test_a_stream_abandoned_by_a_break_is_recorded_when_collected(
    batch_receiver: BatchReceiver,
) -> None:
    @monitor_inference(model_id="chat", count_tokens=True)
    def stream() -> Iterator[int]:
        yield from range(100)

    for i in stream():
        if i == 2:
            break
    gc.collect()  # CPython already closed it when the loop dropped it; other VMs here
    [item] = batch_receiver.delivered()
    assert item["llm"]["completion_tokens"] == 3
    assert "error" not in item


def test_an_empty_stream_is_recorded_without_time_to_first_token(
    batch_receiver: BatchReceiver,
) -> None:
    @monitor_inference(model_id="chat", count_tokens=True)
    def stream() -> Iterator[str]:
        yield from []

    assert list(stream()) == []
    [item] = batch_receiver.delivered()
    assert item["llm"] == {"completion_tokens": 0}


def test_a_generator_never_iterated_ran_nothing_and_records_nothing(
    batch_receiver: BatchReceiver,
) -> None:
    @monitor_inference(model_id="chat")
    def stream() -> Iterator[str]:
        yield "x"

    stream()
    gc.collect()
    assert batch_receiver.delivered() == []


def test_send_throw_and_the_return_value_pass_through(batch_receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="echo")
    def echo() -> Generator[str, str, int]:
        received = 0
        message = yield "ready"
        while message != "stop":
            received += 1
            try:
                message = yield message.upper()
            except ValueError:
                message = yield "recovered"
        return received

    def drive() -> Generator[str, str, None]:
        count = yield from echo()
        results.append(count)

    results: list[object] = []
    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("hi") == "HI"
    assert gen.throw(ValueError("bad")) == "recovered"
    with pytest.raises(StopIteration) as stopped:
        gen.send("stop")
    assert stopped.value.value == 1

    outer = drive()
    next(outer)
    outer.send("a")
    with pytest.raises(StopIteration):
        outer.send("stop")
    assert results == [1]
    first, second = batch_receiver.delivered()
    assert "error" not in first and "error" not in second


def test_an_exception_thrown_in_and_not_handled_is_an_error(
    batch_receiver: BatchReceiver,
) -> None:
    @monitor_inference(model_id="chat")
    def stream() -> Generator[str, None, None]:
        yield "a"
        yield "b"

    gen = stream()
    next(gen)
    with pytest.raises(KeyError):
        gen.throw(KeyError("cancelled by the server"))
    [item] = batch_receiver.delivered()
    assert item["error"] is True


def test_the_decorated_generator_function_keeps_its_identity() -> None:
    @monitor_inference(model_id="chat")
    def stream() -> Iterator[str]:
        """Stream tokens."""
        yield "x"

    assert stream.__name__ == "stream"
    assert stream.__doc__ == "Stream tokens."
    assert inspect.isgeneratorfunction(stream)


def test_interleaved_streams_are_timed_apart(batch_receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="chat", count_tokens=True)
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    first, second = stream(2), stream(4)
    # Interleaved, as a server streaming two responses at once would drive them.
    for _ in range(2):
        next(first)
        next(second)
    assert list(first) == [] and list(second) == [2, 3]
    counts = sorted(item["llm"]["completion_tokens"] for item in batch_receiver.delivered())
    assert counts == [2, 4]


# -- async generators -----------------------------------------------------------------


async def test_an_async_generator_is_timed_until_it_is_exhausted(
    batch_receiver: BatchReceiver, perf_clock: FakePerfCounter
) -> None:
    @monitor_inference(model_id="chat", count_tokens=True)
    async def stream(n: int) -> AsyncIterator[int]:
        perf_clock.advance(0.25)
        for i in range(n):
            await asyncio.sleep(0)
            yield i
            perf_clock.advance(0.01)

    assert inspect.isasyncgenfunction(stream)
    assert [i async for i in stream(3)] == [0, 1, 2]
    [item] = batch_receiver.delivered()
    assert item["latency"] == pytest.approx(280.0)
    assert item["llm"] == {
        "completion_tokens": 3,
        "time_to_first_token_ms": pytest.approx(250.0),
    }


async def test_an_async_stream_that_raises_is_an_error(batch_receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="chat")
    async def stream() -> AsyncIterator[str]:
        yield "partial"
        raise ModelFailure("rate limited")

    with pytest.raises(ModelFailure, match="rate limited"):
        async for _ in stream():
            pass
    [item] = batch_receiver.delivered()
    assert item["error"] is True
    assert "time_to_first_token_ms" in item["llm"]


async def test_an_async_stream_closed_early_runs_its_cleanup_and_is_not_an_error(
    batch_receiver: BatchReceiver,
) -> None:
    cleaned_up = []

    @monitor_inference(model_id="chat", count_tokens=True)
    async def stream() -> AsyncGenerator[int, None]:
        try:
            for i in range(100):
                yield i
        finally:
            await asyncio.sleep(0)
            cleaned_up.append(True)

    tokens = stream()
    assert await tokens.__anext__() == 0
    await tokens.aclose()
    assert cleaned_up == [True]
    [item] = batch_receiver.delivered()
    assert "error" not in item
    assert item["llm"]["completion_tokens"] == 1


async def test_asend_passes_values_into_an_async_stream(batch_receiver: BatchReceiver) -> None:
    @monitor_inference(model_id="echo")
    async def echo() -> AsyncGenerator[str, str | None]:
        message = yield "ready"
        while message is not None:
            message = yield message.upper()

    gen = echo()
    assert await gen.__anext__() == "ready"
    assert await gen.asend("hi") == "HI"
    await gen.aclose()
    assert len(batch_receiver.delivered()) == 1


# -- arguments that make no sense -----------------------------------------------------


def test_count_tokens_on_a_function_that_is_not_a_generator_is_refused() -> None:
    decorate = monitor_inference(model_id="chat", count_tokens=True)

    def complete(prompt: str) -> str:
        return prompt

    with pytest.raises(ValidationError, match="count_tokens"):
        decorate(complete)


def test_pricing_without_counted_tokens_is_refused() -> None:
    with pytest.raises(ValidationError, match="count_tokens=True"):
        monitor_inference(model_id="chat", pricing=LLMPricing(0.5, 1.5))
