"""When to retry a request, and how long to wait first.

Pure policy, no I/O: the clients ask it and do the sleeping themselves, with a
sleep function that tests replace.

    >>> policy = RetryPolicy(max_retries=3, backoff_s=1.0, jitter=0.0)
    >>> [policy.backoff_s_for(attempt, random_value=0.5) for attempt in range(3)]
    [1.0, 2.0, 4.0]
"""

from __future__ import annotations

__all__ = ["RETRYABLE_TRANSPORT_ERRORS", "RetryPolicy", "parse_retry_after"]

from dataclasses import dataclass

import httpx

from monitorx.core.backoff import Backoff, parse_retry_after

# Errors where the request may simply not have reached a healthy server. Others
# (an unsupported URL scheme, a protocol error on our side) fail the same way again.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Which requests are retried (connection errors, timeouts, 429 and 5xx) and after
    how long: `monitorx.core.backoff.Backoff` from ``backoff_s`` — 1 s, 2 s, 4 s by
    default, ±``jitter``, capped at ``max_delay_s``. A ``Retry-After`` from the server
    replaces the computed wait; one longer than ``max_delay_s`` is not waited for (the
    call fails instead).
    """

    max_retries: int = 3
    backoff_s: float = 1.0
    jitter: float = 0.1
    max_delay_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        try:
            Backoff(self.backoff_s, self.max_delay_s, self.jitter)
        except ValueError as exc:
            raise ValueError(f"retry_backoff: {exc}") from None

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.backoff_s, self.max_delay_s, self.jitter)

    def backoff_s_for(self, attempt: int, random_value: float) -> float:
        """Seconds to wait after failed attempt ``attempt``; ``random_value`` is in [0, 1)."""
        return self.backoff.delay_s(attempt, random_value)

    @staticmethod
    def is_retryable_status(status_code: int) -> bool:
        """429 and every 5xx may succeed later; any other 4xx will fail the same way."""
        return status_code == 429 or 500 <= status_code <= 599

    @staticmethod
    def is_retryable_error(exc: BaseException) -> bool:
        """Connection failures and timeouts are worth another try."""
        return isinstance(exc, RETRYABLE_TRANSPORT_ERRORS)

    def delay_s_for(
        self, attempt: int, retry_after_s: float | None, random_value: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when no attempt is left."""
        if attempt >= self.max_retries:
            return None
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_delay_s else None
        return self.backoff_s_for(attempt, random_value)
