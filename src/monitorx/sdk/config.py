"""The settings one client is built from, shared by both clients and the exporter."""

from __future__ import annotations

__all__ = ["API_PREFIX", "DEFAULT_URL", "ClientOptions"]

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitorx.sdk.breaker import CircuitBreaker
from monitorx.sdk.delivery import DeliveryPolicy
from monitorx.sdk.retry import RetryPolicy

API_PREFIX = "/api/v1"
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Where the server is, how to authenticate, and how hard to try.

    ``base_url`` is the server's address, such as ``http://127.0.0.1:8000``; the
    ``/api/v1`` prefix is added unless it is already there.
    """

    base_url: str
    api_key: str | None = None
    max_retries: int = 3
    retry_backoff: float = 1.0
    enable_circuit_breaker: bool = True
    buffer_size: int = 1000
    timeout: float = 10.0
    failure_threshold: int = 5
    recovery_time: float = 30.0

    @property
    def api_url(self) -> str:
        """The API base URL, ending in ``/api/v1``."""
        url = self.base_url.rstrip("/")
        return url if url.endswith(API_PREFIX) else url + API_PREFIX

    def headers(self) -> dict[str, str]:
        """Headers sent on every request: the API key when there is one."""
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def delivery_policy(
        self,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> DeliveryPolicy:
        """A fresh retry policy, breaker and buffer with these settings."""
        breaker = (
            CircuitBreaker(self.failure_threshold, self.recovery_time, clock)
            if self.enable_circuit_breaker
            else None
        )
        retry = RetryPolicy(max_retries=self.max_retries, backoff_s=self.retry_backoff)
        return DeliveryPolicy(retry, breaker, self.buffer_size, random)
