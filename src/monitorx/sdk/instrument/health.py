"""Health checks a service registers, run with timeouts, cached, and rolled up.

    health = HealthCheckManager()
    health.register("database", lambda: db.ping(), timeout_s=1.0)
    health.register("cache", check_cache, critical=False, cache_s=30.0)
    report = health.run()          # report.status: healthy | degraded | unhealthy

A check is a callable (or ``async def``) returning ``True``/``None`` for healthy,
``False`` for unhealthy, or a :class:`CheckResult` for a status and message of its
own; raising is unhealthy with the exception as the message. Each runs on a worker
thread and counts as unhealthy when it has not answered within ``timeout_s`` (the
thread is left to finish; its late answer is discarded).

A result is reused for ``cache_s`` seconds (the injected ``clock`` says when), so
that a health endpoint polled every second does not hit the database every second.

Roll-up, as the server's ``/api/v1/health`` does it: ``unhealthy`` when a critical
check is unhealthy; ``degraded`` when any check is degraded or a non-critical one
is unhealthy; else ``healthy`` (also with no checks at all).
"""

from __future__ import annotations

__all__ = ["CheckResult", "HealthCheckManager", "HealthReport", "HealthStatus"]

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

logger = logging.getLogger("monitorx.sdk")


class HealthStatus(StrEnum):
    """The three states of API.md's health endpoint."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome; ``duration_ms`` is how long it ran (0 when cached)."""

    status: HealthStatus
    message: str = ""
    duration_ms: float = 0.0
    checked_at: float = 0.0  # the clock's reading when it ran


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check's result and the rolled-up status."""

    status: HealthStatus
    checks: dict[str, CheckResult] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``/api/v1/health``'s ``status`` and ``checks``."""
        return {
            "status": self.status.value,
            "checks": {
                name: {"status": r.status.value, "message": r.message, "duration_ms": r.duration_ms}
                for name, r in self.checks.items()
            },
        }


Check = Callable[[], Any]


@dataclass(slots=True)
class _Registered:
    check: Check
    timeout_s: float
    critical: bool
    cache_s: float
    last: CheckResult | None = None


def _interpret(value: Any) -> CheckResult:
    if isinstance(value, CheckResult):
        return value
    if value is None or value is True:
        return CheckResult(HealthStatus.HEALTHY)
    if value is False:
        return CheckResult(HealthStatus.UNHEALTHY, "check returned False")
    return CheckResult(HealthStatus.UNHEALTHY, f"check returned {value!r}")


def _call(check: Check) -> Any:
    if inspect.iscoroutinefunction(check):
        return asyncio.run(check())
    return check()


class HealthCheckManager:
    """Registered checks, run with timeouts and cached; :meth:`run` rolls them up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._checks: dict[str, _Registered] = {}
        self._lock = threading.Lock()

    def register(
        self,
        name: str,
        check: Check,
        *,
        timeout_s: float = 5.0,
        critical: bool = True,
        cache_s: float = 0.0,
    ) -> None:
        """Add (or replace) the check ``name``."""
        if timeout_s <= 0 or cache_s < 0:
            raise ValueError("timeout_s must be > 0 and cache_s >= 0")
        with self._lock:
            self._checks[name] = _Registered(check, timeout_s, critical, cache_s)

    def unregister(self, name: str) -> None:
        """Remove the check ``name`` (KeyError when there is none)."""
        with self._lock:
            del self._checks[name]

    def check(self, name: str) -> CheckResult:
        """The result of one check: cached while fresh, else run now."""
        with self._lock:
            registered = self._checks[name]
        return self._results({name: registered})[name]

    def _results(self, checks: dict[str, _Registered]) -> dict[str, CheckResult]:
        # Stale checks run together, each on its own thread, so that the slowest
        # bounds the wait rather than their sum.
        now = self._clock()
        results: dict[str, CheckResult] = {}
        running: dict[str, tuple[Future[Any], float]] = {}
        for name, registered in checks.items():
            last = registered.last
            if last is not None and now - last.checked_at < registered.cache_s:
                results[name] = last
            else:
                running[name] = (self._start(name, registered), time.perf_counter())
        for name, (future, started) in running.items():
            registered = checks[name]
            remaining = registered.timeout_s - (time.perf_counter() - started)
            result = self._finish(name, registered, future, remaining, started, now)
            registered.last = result
            results[name] = result
        return {name: results[name] for name in checks}

    def _start(self, name: str, registered: _Registered) -> Future[Any]:
        future: Future[Any] = Future()

        def target() -> None:
            try:
                future.set_result(_call(registered.check))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=target, name=f"monitorx-health-{name}", daemon=True).start()
        return future

    def _finish(
        self,
        name: str,
        registered: _Registered,
        future: Future[Any],
        remaining_s: float,
        started: float,
        checked_at: float,
    ) -> CheckResult:
        try:
            result = _interpret(future.result(timeout=max(remaining_s, 0.0)))
            status, message = result.status, result.message
        except FutureTimeout:
            status, message = HealthStatus.UNHEALTHY, f"timed out after {registered.timeout_s} s"
        except Exception as exc:
            status, message = HealthStatus.UNHEALTHY, f"{type(exc).__name__}: {exc}"
        if status is not HealthStatus.HEALTHY:
            logger.warning("health check %s is %s: %s", name, status.value, message)
        duration_ms = (time.perf_counter() - started) * 1000
        return CheckResult(status, message, duration_ms, checked_at)

    def run(self) -> HealthReport:
        """Run (or reuse) every check and roll the results up."""
        with self._lock:
            checks = dict(self._checks)
        results = self._results(checks)
        status = HealthStatus.HEALTHY
        for name, result in results.items():
            if result.status is HealthStatus.UNHEALTHY and checks[name].critical:
                return HealthReport(HealthStatus.UNHEALTHY, results)
            if result.status is not HealthStatus.HEALTHY:
                status = HealthStatus.DEGRADED
        return HealthReport(status, results)
