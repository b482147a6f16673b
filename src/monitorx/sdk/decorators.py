"""Timing inferences where they happen: ``@monitor_inference`` and ``with track(...)``.

Both measure wall time with ``time.perf_counter``, flag the call as an error when
it raises (the exception goes on to the caller unchanged), and hand the metric to
the default exporter, or to the client given as ``client=``. Recording never waits
for the network and never raises into the caller's code.
"""

from __future__ import annotations

__all__ = ["Tracking", "monitor_inference", "track"]

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter, time
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, cast

from monitorx.sdk import exporter as _exporters
from monitorx.sdk.client import MonitorXClient
from monitorx.sdk.exporter import default_exporter
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.sync_client import MonitorX

logger = logging.getLogger("monitorx.sdk")

P = ParamSpec("P")
R = TypeVar("R")

RecordingClient = MonitorX | MonitorXClient


def _deliver(metric: JSONObject, client: RecordingClient | None) -> None:
    try:
        if client is None:
            # The hot path: the module's current exporter, without a call to find it.
            (_exporters._default or default_exporter()).record(metric)
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
    """

    # Slots: one is created per block, on the caller's thread.
    __slots__ = (
        "_client",
        "_started",
        "_started_at",
        "error",
        "latency_ms",
        "model_id",
        "model_type",
        "request_id",
        "resource_usage",
        "tags",
    )

    def __init__(
        self,
        model_id: str,
        *,
        model_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        client: RecordingClient | None = None,
    ) -> None:
        self.model_id = model_id
        self.model_type = model_type
        self.tags: dict[str, str] = dict(tags) if tags else {}
        self.request_id = request_id
        self.resource_usage: dict[str, float] = {}
        self.error = False
        self.latency_ms: float | None = None
        self._client = client
        self._started = 0.0
        self._started_at = 0.0

    def __enter__(self) -> Self:
        self.latency_ms = None
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
        if exc_type is not None:
            self.error = True
        try:
            metric = self.metric()
            client = self._client
            if client is None:
                (_exporters._default or default_exporter()).record(metric)
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
        return metric


def track(
    model_id: str,
    *,
    model_type: str | None = None,
    tags: Mapping[str, str] | None = None,
    request_id: str | None = None,
    client: RecordingClient | None = None,
) -> Tracking:
    """Time the block as one inference of ``model_id`` (``with`` or ``async with``)."""
    return Tracking(
        model_id, model_type=model_type, tags=tags, request_id=request_id, client=client
    )


def monitor_inference(
    model_id: str,
    *,
    model_type: str | None = None,
    tags: Mapping[str, str] | None = None,
    client: RecordingClient | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function (sync or ``async def``) so that every call is recorded.

        @monitor_inference(model_id="fraud-v3")
        def predict(features): ...

        @monitor_inference(model_id="chat-llm", model_type="llm")
        async def generate(prompt): ...

    Each call becomes one metric: its latency, and ``error: true`` when it raised.
    The exception itself reaches the caller unchanged. For an ``async def`` the
    time is until the coroutine finishes, not until it was created.
    """

    # The fields past model_id, latency and timestamp, built once and added per call.
    extra: JSONObject = {}
    if model_type is not None:
        extra["model_type"] = model_type
    if tags:
        extra["tags"] = dict(tags)

    def emit(started_at: float, started: float, error: bool) -> None:
        # On the caller's thread for every call: kept to a dict literal and one call.
        metric = {
            "model_id": model_id,
            "latency": (perf_counter() - started) * 1000.0,
            "timestamp": started_at,
        }
        if extra:
            metric.update(extra)
        if error:
            metric["error"] = True
        _deliver(metric, client)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):
            async_func = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def timed_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                started_at, started = time(), perf_counter()
                try:
                    result = await async_func(*args, **kwargs)
                except BaseException:
                    emit(started_at, started, True)
                    raise
                emit(started_at, started, False)
                return result

            return cast(Callable[P, R], timed_async)

        @functools.wraps(func)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started_at = time()
            started = perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException:
                emit(started_at, started, True)
                raise
            # emit() and _deliver() inlined: this runs on the caller's thread per call.
            metric = {
                "model_id": model_id,
                "latency": (perf_counter() - started) * 1000.0,
                "timestamp": started_at,
            }
            if extra:
                metric.update(extra)
            try:
                if client is None:
                    (_exporters._default or default_exporter()).record(metric)
                else:
                    client.record_inference_metric(metric)
            except Exception:  # a monitoring problem must never become the caller's problem
                logger.exception("MonitorX could not record a metric for %r", model_id)
            return result

        return timed

    return decorate
