"""Sans-IO plumbing: operations are generators that ask for I/O; two small drivers do it.

Every client operation (retries, circuit breaker, buffering, chunking a batch) is
written once as a generator that yields :class:`Send` or :class:`Sleep` and gets
back the :class:`httpx.Response` (or has the httpx error thrown in). The async
client runs it with :func:`run_async`, the sync one with :func:`run_sync`, so the
two clients cannot drift apart.
"""

from __future__ import annotations

__all__ = ["ApiRequest", "Effect", "Operation", "Send", "Sleep", "run_async", "run_sync"]

from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One HTTP request relative to the API base (``/api/v1``)."""

    method: str
    path: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = "application/json"
    """The media type of ``content`` (a drift table goes as an Arrow IPC stream)."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request and resume with its response (or with the httpx error raised)."""

    request: ApiRequest


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds, then resume."""

    seconds: float


Effect: TypeAlias = Send | Sleep
Operation: TypeAlias = Generator[Effect, httpx.Response | None, T]


def _build(http: httpx.Client | httpx.AsyncClient, request: ApiRequest) -> httpx.Request:
    return http.build_request(
        request.method,
        request.path.lstrip("/"),
        params=dict(request.params) or None,
        content=request.content,
        headers={"Content-Type": request.content_type} if request.content is not None else None,
    )


def run_sync(op: Operation[T], http: httpx.Client, sleep: Callable[[float], None]) -> T:
    """Drive an operation with a blocking httpx client."""
    try:
        effect = next(op)
        while True:
            if isinstance(effect, Sleep):
                sleep(effect.seconds)
                effect = op.send(None)
                continue
            try:
                response = http.send(_build(http, effect.request))
            except httpx.RequestError as exc:
                effect = op.throw(exc)
            else:
                effect = op.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        op.close()


async def run_async(
    op: Operation[T], http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[Any]]
) -> T:
    """Drive an operation with an async httpx client."""
    try:
        effect = next(op)
        while True:
            if isinstance(effect, Sleep):
                await sleep(effect.seconds)
                effect = op.send(None)
                continue
            try:
                response = await http.send(_build(http, effect.request))
            except httpx.RequestError as exc:
                effect = op.throw(exc)
            else:
                effect = op.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        op.close()
