"""Getting writes to the server: retries, the circuit breaker, and the buffer, once.

The functions here are sans-IO operations (see :mod:`monitorx.sdk.effects`); both
clients run the very same code. :class:`DeliveryPolicy` holds the state they share
between calls: the retry policy, the breaker and the buffer of undelivered writes.
"""

from __future__ import annotations

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEMS",
    "DeliveryPolicy",
    "PendingWrite",
    "call",
    "flush_buffer",
    "write_inference_batch",
    "write_one",
]

import json
import random as _random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from monitorx.core.errors import DeliveryError, MonitorXError, ValidationError
from monitorx.sdk.breaker import CircuitBreaker
from monitorx.sdk.buffer import MetricBuffer
from monitorx.sdk.effects import ApiRequest, Operation, Send, Sleep
from monitorx.sdk.errors import (
    CircuitOpenError,
    error_from_response,
    error_from_transport,
    error_message,
    is_transient,
)
from monitorx.sdk.payloads import encode_json, normalize_metric
from monitorx.sdk.results import RejectedMetric, WriteResult
from monitorx.sdk.retry import RetryPolicy, parse_retry_after

# API.md: a batch holds up to 10,000 items and a body up to 10 MB; stay under both.
MAX_BATCH_ITEMS = 10_000
MAX_BATCH_BYTES = 8 * 1024 * 1024

WriteKind = Literal["inference", "drift"]
_BATCH_PATH = "/metrics/inference/batch"
_SINGLE_PATHS: dict[WriteKind, str] = {
    "inference": "/metrics/inference",
    "drift": "/metrics/drift",
}


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One encoded metric waiting in the buffer, with the endpoint it is for."""

    kind: WriteKind
    body: bytes


class DeliveryPolicy:
    """The retry policy, circuit breaker and buffer one client applies to every call."""

    def __init__(
        self,
        retry: RetryPolicy,
        breaker: CircuitBreaker | None,
        buffer_size: int = 1000,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.retry = retry
        self.breaker = breaker
        self.buffer: MetricBuffer[PendingWrite] = MetricBuffer(buffer_size)
        self.buffering = False
        self.random = random


def call(
    policy: DeliveryPolicy, request: ApiRequest, pass_statuses: frozenset[int] = frozenset()
) -> Operation[httpx.Response]:
    """Send a request with retries behind the breaker; return a success response.

    An error status raises the matching :class:`MonitorXError` with the server's
    message, except those in ``pass_statuses``, which are returned for the caller
    to read. Connection errors, timeouts, 429 and 5xx are retried; other 4xx never.
    """
    breaker = policy.breaker
    if breaker is not None and not breaker.allow():
        retry_in = breaker.retry_in_s()
        raise CircuitOpenError(
            f"circuit breaker open after {breaker.failures} failed calls; "
            f"next try in {retry_in:.1f} s",
            retry_in,
        )
    attempt = 0
    while True:
        try:
            response = yield Send(request)
            assert response is not None
        except httpx.RequestError as exc:
            retryable = policy.retry.is_retryable_error(exc)
            delay = policy.retry.delay_s_for(attempt, None, policy.random()) if retryable else None
            if delay is None:
                if breaker is not None:
                    breaker.record_failure()
                raise error_from_transport(exc, attempt + 1) from exc
        else:
            status = response.status_code
            if status < 400 or status in pass_statuses:
                if breaker is not None:
                    breaker.record_success()
                return response
            if not policy.retry.is_retryable_status(status):
                if breaker is not None:  # the server is up and said no
                    breaker.record_success()
                raise error_from_response(response)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = policy.retry.delay_s_for(attempt, retry_after, policy.random())
            if delay is None:
                if breaker is not None:
                    breaker.record_failure()
                raise error_from_response(response)
        yield Sleep(delay)
        attempt += 1


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _batch_outcome(response: httpx.Response, indices: Sequence[int]) -> WriteResult:
    """Read a batch answer (202, or 422 when nothing was valid), mapping indices back."""
    body = _json(response)
    if response.status_code == 422 and not (isinstance(body, dict) and "rejected" in body):
        # A 422 that is not a per-item answer: every item shares the reason.
        reason = error_message(response)
        return WriteResult(rejected=tuple(RejectedMetric(i, reason) for i in indices))
    if not isinstance(body, dict):
        return WriteResult(accepted=len(indices))
    rejected: list[RejectedMetric] = []
    for item in body.get("rejected") or ():
        position = item.get("index") if isinstance(item, dict) else None
        if isinstance(position, int) and 0 <= position < len(indices):
            rejected.append(RejectedMetric(indices[position], str(item.get("error", ""))))
    accepted = body.get("accepted")
    return WriteResult(
        accepted=accepted if isinstance(accepted, int) else len(indices) - len(rejected),
        rejected=tuple(rejected),
    )


def _chunks(encoded: Sequence[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    size = 2
    for index, body in encoded:
        if chunk and (len(chunk) == MAX_BATCH_ITEMS or size + len(body) + 1 > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 2
        chunk.append((index, body))
        size += len(body) + 1
    if chunk:
        yield chunk


def _send_chunk(
    policy: DeliveryPolicy, chunk: Sequence[tuple[int, bytes]]
) -> Operation[WriteResult]:
    content = b"[" + b",".join(body for _, body in chunk) + b"]"
    request = ApiRequest("POST", _BATCH_PATH, content=content)
    response = yield from call(policy, request, pass_statuses=frozenset({422}))
    return _batch_outcome(response, [index for index, _ in chunk])


def _send_batches(
    policy: DeliveryPolicy, encoded: Sequence[tuple[int, bytes]], allow_buffer: bool
) -> Operation[WriteResult]:
    result = WriteResult()
    chunks = list(_chunks(encoded))
    for number, chunk in enumerate(chunks):
        try:
            result = result + (yield from _send_chunk(policy, chunk))
        except DeliveryError as exc:
            if not (allow_buffer and policy.buffering and is_transient(exc)):
                raise
            rest = [body for later in chunks[number:] for _, body in later]
            policy.buffer.extend(PendingWrite("inference", body) for body in rest)
            return result + WriteResult(buffered=len(rest))
    return result


def write_inference_batch(
    policy: DeliveryPolicy, metrics: Sequence[Mapping[str, Any]], *, allow_buffer: bool = True
) -> Operation[WriteResult]:
    """Send inference metrics in batches of at most 10,000 items (and 8 MB).

    Items that cannot be encoded (NaN, unserializable values) are rejected here,
    by index, without a request; so are the items the server refuses, by the index
    it gives. When delivery fails and buffering is on (and ``allow_buffer``), the
    unsent items go to the buffer instead of raising.
    """
    if not metrics:
        return WriteResult()
    if len(metrics) <= MAX_BATCH_ITEMS:
        # The common case: one request, encoded in one call.
        try:
            body = encode_json([normalize_metric(metric) for metric in metrics])
        except ValidationError:
            pass  # find the culprits one by one below
        else:
            if len(body) <= MAX_BATCH_BYTES:
                return (yield from _send_encoded(policy, body, len(metrics), allow_buffer))
    encoded: list[tuple[int, bytes]] = []
    local_rejects: list[RejectedMetric] = []
    for index, metric in enumerate(metrics):
        try:
            encoded.append((index, encode_json(normalize_metric(metric))))
        except ValidationError as exc:
            local_rejects.append(RejectedMetric(index, str(exc)))
    result = WriteResult(rejected=tuple(local_rejects))
    if encoded:
        result = result + (yield from _send_batches(policy, encoded, allow_buffer))
    rejected = tuple(sorted(result.rejected, key=lambda r: r.index))
    return WriteResult(result.accepted, rejected, result.buffered)


def _send_encoded(
    policy: DeliveryPolicy, body: bytes, count: int, allow_buffer: bool
) -> Operation[WriteResult]:
    request = ApiRequest("POST", _BATCH_PATH, content=body)
    try:
        response = yield from call(policy, request, pass_statuses=frozenset({422}))
    except DeliveryError as exc:
        if not (allow_buffer and policy.buffering and is_transient(exc)):
            raise
        # Buffered per item so that a later flush can batch them with others.
        items = json.loads(body)
        policy.buffer.extend(PendingWrite("inference", encode_json(item)) for item in items)
        return WriteResult(buffered=count)
    return _batch_outcome(response, range(count))


def write_one(
    policy: DeliveryPolicy, kind: WriteKind, metric: Mapping[str, Any]
) -> Operation[WriteResult]:
    """Send one inference or drift metric; buffer it when delivery fails and buffering is on.

    A refusal (422) raises :class:`ValidationError` naming the field.
    """
    body = encode_json(normalize_metric(metric))
    request = ApiRequest("POST", _SINGLE_PATHS[kind], content=body)
    try:
        yield from call(policy, request)
    except DeliveryError as exc:
        if not (policy.buffering and is_transient(exc)):
            raise
        policy.buffer.append(PendingWrite(kind, body))
        return WriteResult(buffered=1)
    return WriteResult(accepted=1)


def _send_drift(policy: DeliveryPolicy, body: bytes, index: int) -> Operation[WriteResult]:
    request = ApiRequest("POST", _SINGLE_PATHS["drift"], content=body)
    response = yield from call(policy, request, pass_statuses=frozenset({422}))
    if response.status_code == 422:
        return WriteResult(rejected=(RejectedMetric(index, error_message(response)),))
    return WriteResult(accepted=1)


def _runs(items: Sequence[PendingWrite]) -> Iterator[tuple[int, int]]:
    """Start and end of each stretch of writes to the same endpoint."""
    start = 0
    for end in range(1, len(items) + 1):
        if end == len(items) or items[end].kind != items[start].kind:
            yield start, end
            start = end


def flush_buffer(policy: DeliveryPolicy) -> Operation[WriteResult]:
    """Send everything buffered, oldest first; inference metrics go as batches.

    ``rejected`` indices count positions in the order this flush sent items. When a
    request fails, what was not delivered goes back to the front of the buffer and
    the error is raised.
    """
    result = WriteResult()
    sent = 0
    while True:
        taken = policy.buffer.take(MAX_BATCH_ITEMS)
        if not taken:
            return result
        done = 0
        try:
            for start, end in _runs(taken):
                if taken[start].kind == "inference":
                    run = [(sent + i, taken[i].body) for i in range(start, end)]
                    for chunk in _chunks(run):
                        result = result + (yield from _send_chunk(policy, chunk))
                        done += len(chunk)
                else:
                    for i in range(start, end):
                        result = result + (yield from _send_drift(policy, taken[i].body, sent + i))
                        done += 1
        except MonitorXError:
            policy.buffer.put_back(taken[done:])
            raise
        sent += len(taken)
