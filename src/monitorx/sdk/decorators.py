"""Timing inferences where they happen: ``@monitor_inference`` and ``with track(...)``.

Both measure elapsed time with ``time.perf_counter``, flag the call as an error
when it raises (the exception goes on to the caller unchanged), and hand the
metric to the default exporter, or to the client given as ``client=``. Recording
never waits for the network and never raises into the caller's code.

A decorated function's call is the hot path: on the caller's thread it reads
``perf_counter_ns`` twice and appends one tuple to the exporter's ring without a
lock; the metric's dict, its wall-clock timestamp and its JSON are made on the
exporter's thread (ring.py). ``track()`` builds its dict on the caller's thread,
since the block can change its fields, and appends that.

For LLMs, a ``Tracking`` records tokens, time to first token and cost (llm.py), and
a decorated generator or async generator function is timed over its whole stream
(streaming.py).
"""

from __future__ import annotations

__all__ = ["Tracking", "monitor_inference", "track"]

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter, perf_counter_ns, time
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, cast

from monitorx.core.errors import ValidationError
from monitorx.sdk import exporter as _exporters
from monitorx.sdk.client import MonitorXClient
from monitorx.sdk.exporter import default_exporter
from monitorx.sdk.llm import LLMPricing, llm_record, usage_tokens
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.ring import metrics_from
from monitorx.sdk.streaming import StreamRun, timed_async_generator, timed_generator
from monitorx.sdk.sync_client import MonitorX

logger = logging.getLogger("monitorx.sdk")

P = ParamSpec("P")
R = TypeVar("R")

RecordingClient = MonitorX | MonitorXClient


def _to_default_exporter(metric: JSONObject) -> None:
    """Append a metric dict to the default exporter's ring: ``Exporter.record`` inlined."""
    ring = (_exporters._default or default_exporter()).ring
    usage = ring.usage
    if usage is not None and "resource_usage" not in metric:
        metric["resource_usage"] = usage
    if len(ring) < ring.limit:
        ring.append(metric)
    else:
        ring.overflow(metric)


def _deliver(metric: JSONObject, client: RecordingClient | None) -> None:
    try:
        if client is None:
            _to_default_exporter(metric)
        else:
            client.record_inference_metric(metric)
    except Exception:  # a monitoring problem must never become the caller's problem
        logger.exception("MonitorX could not record a metric for %r", metric.get("model_id"))


class Tracking:
    """One timed inference: what ``track()`` returns and ``with`` yields.

        with track(model_id="fraud-v3") as t:
            result = model.predict(x)
            if result is None:
                t.error = True          # count it as an error without raising
            t.tags["route"] = "fast"

    ``latency_ms`` is set when the block ends. Works with ``async with`` as well.

    For an LLM call, record what it used; the metric then carries an ``llm`` object:

        with track(model_id="chat", pricing=LLMPricing(0.00015, 0.0006)) as t:
            for chunk in stream:
                t.first_token()             # only the first call counts
                ...
            t.record_usage(response.usage)  # OpenAI- or Anthropic-style
            # or: t.record_tokens(prompt=812, completion=143); t.cost_usd = 0.0021

    A bad value (a negative count, say) is logged and left out of the metric; it
    is never raised.
    """

    # Slots: one is created per block, on the caller's thread.
    __slots__ = (
        "_client",
        "_started",
        "_started_at",
        "completion_tokens",
        "cost_usd",
        "error",
        "latency_ms",
        "model_id",
        "model_type",
        "pricing",
        "prompt_tokens",
        "request_id",
        "resource_usage",
        "tags",
        "time_to_first_token_ms",
    )

    def __init__(
        self,
        model_id: str,
        *,
        model_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        client: RecordingClient | None = None,
        pricing: LLMPricing | None = None,
    ) -> None:
        self.model_id = model_id
        self.model_type = model_type
        self.tags: dict[str, str] = dict(tags) if tags else {}
        self.request_id = request_id
        self.resource_usage: dict[str, float] = {}
        self.error = False
        self.latency_ms: float | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.time_to_first_token_ms: float | None = None
        self.cost_usd: float | None = None
        self.pricing = pricing
        self._client = client
        self._started = 0.0
        self._started_at = 0.0

    def __enter__(self) -> Self:
        self.latency_ms = None
        self.time_to_first_token_ms = None
        self._started_at = time()
        self._started = perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.latency_ms = (perf_counter() - self._started) * 1000.0
        # A generator closed early by its consumer exits with GeneratorExit: not an error.
        if exc_type is not None and not issubclass(exc_type, GeneratorExit):
            self.error = True
        try:
            metric = self.metric()
            client = self._client
            if client is None:
                _to_default_exporter(metric)
            else:
                client.record_inference_metric(metric)
        except Exception:  # a monitoring problem must never become the caller's problem
            logger.exception("MonitorX could not record a metric for %r", self.model_id)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def record_tokens(self, prompt: int | None = None, completion: int | None = None) -> None:
        """Set the prompt and/or completion token counts (a None leaves that count as it is)."""
        if prompt is not None:
            self.prompt_tokens = prompt
        if completion is not None:
            self.completion_tokens = completion

    def record_usage(self, usage: object) -> None:
        """Set the token counts from a provider's usage report; never raises.

        Takes an object or a dict with ``prompt_tokens``/``completion_tokens``
        (OpenAI) or ``input_tokens``/``output_tokens`` (Anthropic, OpenAI Responses).
        Counts the report lacks are left as they are, so Anthropic's stream can be
        fed its ``message_start`` usage and then each ``message_delta``'s.
        """
        counts = usage_tokens(usage)
        self.record_tokens(counts.prompt_tokens, counts.completion_tokens)

    def first_token(self) -> None:
        """Mark the first token: ``time_to_first_token_ms`` is now minus the block's start.

        Only the first call in a block counts, so it can be called for every chunk.
        """
        if self.time_to_first_token_ms is None and self._started and self.latency_ms is None:
            self.time_to_first_token_ms = (perf_counter() - self._started) * 1000.0

    def record_cost(self, usd: float) -> None:
        """Set the cost in US dollars (as ``t.cost_usd = usd`` does); it wins over pricing."""
        self.cost_usd = usd

    def metric(self) -> JSONObject:
        """The InferenceMetric this tracking records (API.md's shape)."""
        metric: JSONObject = {
            "model_id": self.model_id,
            "latency": self.latency_ms if self.latency_ms is not None else 0.0,
            "timestamp": self._started_at,
        }
        if self.error:
            metric["error"] = True
        if self.model_type is not None:
            metric["model_type"] = self.model_type
        if self.request_id is not None:
            metric["request_id"] = self.request_id
        if self.tags:
            metric["tags"] = dict(self.tags)
        if self.resource_usage:
            metric["resource_usage"] = dict(self.resource_usage)
        if (
            self.prompt_tokens is not None
            or self.completion_tokens is not None
            or self.time_to_first_token_ms is not None
            or self.cost_usd is not None
        ):
            llm = llm_record(
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                time_to_first_token_ms=self.time_to_first_token_ms,
                cost_usd=self.cost_usd,
                pricing=self.pricing,
                model_id=self.model_id,
            )
            if llm is not None:
                metric["llm"] = llm
        return metric


def track(
    model_id: str,
    *,
    model_type: str | None = None,
    tags: Mapping[str, str] | None = None,
    request_id: str | None = None,
    client: RecordingClient | None = None,
    pricing: LLMPricing | None = None,
) -> Tracking:
    """Time the block as one inference of ``model_id`` (``with`` or ``async with``).

    ``pricing`` fills the metric's ``cost_usd`` from the tokens the block records,
    unless it sets a cost itself.
    """
    return Tracking(
        model_id,
        model_type=model_type,
        tags=tags,
        request_id=request_id,
        client=client,
        pricing=pricing,
    )


def monitor_inference(
    model_id: str,
    *,
    model_type: str | None = None,
    tags: Mapping[str, str] | None = None,
    client: RecordingClient | None = None,
    count_tokens: bool = False,
    pricing: LLMPricing | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function (sync or ``async def``) so that every call is recorded.

        @monitor_inference(model_id="fraud-v3")
        def predict(features): ...

        @monitor_inference(model_id="chat-llm", model_type="llm")
        async def generate(prompt): ...

        @monitor_inference(model_id="chat-llm", count_tokens=True, pricing=PRICING)
        def stream(prompt):
            yield from tokens              # a generator: timed over the whole stream

    Each call becomes one metric: its latency, and ``error: true`` when it raised.
    The exception itself reaches the caller unchanged. For an ``async def`` the
    time is until the coroutine finishes, not until it was created.

    A generator or async generator function is timed from its first ``next()``
    until the stream is exhausted, closed (not an error) or raises (an error), and
    records ``llm.time_to_first_token_ms``: the time until its first item. With
    ``count_tokens=True`` each item yielded counts as one completion token, and
    ``pricing`` prices them. Which wrapper a function gets is decided here, once.
    For the usage an LLM API reports, use ``track()`` inside the function instead.
    """
    if pricing is not None and not count_tokens:
        raise ValidationError(
            "prices counted tokens: pass count_tokens=True, or use track() and record_usage()",
            "pricing",
        )

    # Every field but latency and timestamp, built once and shared by every call's
    # recording: the exporter copies it into each metric (ring.py).
    fields: JSONObject = {"model_id": model_id}
    if model_type is not None:
        fields["model_type"] = model_type
    if tags:
        fields["tags"] = dict(tags)
    error_fields: JSONObject = {**fields, "error": True}

    def record(call_fields: JSONObject, started: int) -> None:
        # A call that ended now: appended to the default exporter's ring, or, with a
        # client, made into a metric here. On the caller's thread, never raising.
        ended = perf_counter_ns()
        try:
            if client is None:
                ring = (_exporters._default or default_exporter()).ring
                recording = (call_fields, started, ended, ring.usage)
                if len(ring) < ring.limit:
                    ring.append(recording)
                else:
                    ring.overflow(recording)
            else:
                client.record_inference_metric(
                    metrics_from(((call_fields, started, ended, None),))[0]
                )
        except Exception:  # a monitoring problem must never become the caller's problem
            logger.exception("MonitorX could not record a metric for %r", model_id)

    def end_stream(run: StreamRun) -> None:
        # Once per stream, when it ends: on the consumer's thread, never raising.
        try:
            metric: JSONObject = (error_fields if run.error else fields).copy()
            metric["latency"] = (perf_counter() - run.started) * 1000.0
            metric["timestamp"] = run.started_at
            llm = llm_record(
                completion_tokens=run.items if count_tokens else None,
                time_to_first_token_ms=None
                if run.first_item is None
                else (run.first_item - run.started) * 1000.0,
                pricing=pricing,
                model_id=model_id,
            )
            if llm is not None:
                metric["llm"] = llm
        except Exception:  # a monitoring problem must never become the caller's problem
            logger.exception("MonitorX could not record a stream of %r", model_id)
            return
        _deliver(metric, client)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.isasyncgenfunction(func):
            return cast(Callable[P, R], timed_async_generator(func, end_stream))
        if inspect.isgeneratorfunction(func):
            return cast(Callable[P, R], timed_generator(func, end_stream))
        if count_tokens:
            raise ValidationError(
                f"counts the items a generator yields; {func.__qualname__} is not a generator"
                " function",
                "count_tokens",
            )
        if inspect.iscoroutinefunction(func):
            async_func = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def timed_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = perf_counter_ns()
                try:
                    result = await async_func(*args, **kwargs)
                except BaseException:
                    record(error_fields, started)
                    raise
                record(fields, started)
                return result

            return cast(Callable[P, R], timed_async)

        if client is not None:

            @functools.wraps(func)
            def timed_for_client(*args: P.args, **kwargs: P.kwargs) -> R:
                started = perf_counter_ns()
                try:
                    result = func(*args, **kwargs)
                except BaseException:
                    record(error_fields, started)
                    raise
                record(fields, started)
                return result

            return timed_for_client

        @functools.wraps(func)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            # The hot path, on the caller's thread for every call: two clock reads, one
            # tuple, one lock-free append (record() inlined; a call costs ~50 ns).
            started = perf_counter_ns()
            try:
                result = func(*args, **kwargs)
            except BaseException:
                record(error_fields, started)
                raise
            ended = perf_counter_ns()
            try:
                ring = (_exporters._default or default_exporter()).ring
                recording = (fields, started, ended, ring.usage)
                if len(ring) < ring.limit:
                    ring.append(recording)
                else:
                    ring.overflow(recording)
            except Exception:  # a monitoring problem must never become the caller's problem
                logger.exception("MonitorX could not record a metric for %r", model_id)
            return result

        return timed

    return decorate
