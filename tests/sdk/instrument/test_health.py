"""HealthCheckManager: checks with timeouts, cached results, and the roll-up."""

from __future__ import annotations

import threading
import time

import pytest

from monitorx.sdk.instrument import CheckResult, HealthCheckManager, HealthStatus
from tests.sdk.conftest import ManualClock


class CountingCheck:
    def __init__(self, answer: object = True) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_no_checks_is_healthy() -> None:
    assert HealthCheckManager().run().status is HealthStatus.HEALTHY


def test_all_passing_is_healthy_and_each_result_is_reported() -> None:
    health = HealthCheckManager()
    health.register("database", lambda: True)
    health.register("model", lambda: None)
    report = health.run()
    assert report.status is HealthStatus.HEALTHY
    assert set(report.checks) == {"database", "model"}
    assert report.as_dict()["checks"]["database"]["status"] == "healthy"


@pytest.mark.parametrize(
    ("answer", "critical", "expected"),
    [
        (False, True, HealthStatus.UNHEALTHY),
        (RuntimeError("db down"), True, HealthStatus.UNHEALTHY),
        (False, False, HealthStatus.DEGRADED),
        (CheckResult(HealthStatus.DEGRADED, "slow"), True, HealthStatus.DEGRADED),
    ],
)
def test_the_roll_up(answer: object, critical: bool, expected: HealthStatus) -> None:
    health = HealthCheckManager()
    health.register("fine", lambda: True)
    health.register("under_test", CountingCheck(answer), critical=critical)
    assert health.run().status is expected


def test_an_exception_is_unhealthy_with_its_message() -> None:
    health = HealthCheckManager()
    health.register("database", CountingCheck(RuntimeError("connection refused")))
    result = health.run().checks["database"]
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == "RuntimeError: connection refused"


def test_a_check_that_hangs_times_out_as_unhealthy_without_holding_the_report() -> None:
    release = threading.Event()
    health = HealthCheckManager()
    health.register("hangs", lambda: release.wait(30), timeout_s=0.1)
    health.register("hangs_too", lambda: release.wait(30), timeout_s=0.1)
    started = time.perf_counter()
    report = health.run()
    elapsed = time.perf_counter() - started
    release.set()
    assert report.status is HealthStatus.UNHEALTHY
    assert report.checks["hangs"].message == "timed out after 0.1 s"
    assert elapsed < 1.0  # both ran together, each bounded by its timeout


def test_results_are_cached_for_cache_s(clock: ManualClock) -> None:
    check = CountingCheck()
    health = HealthCheckManager(clock=clock)
    health.register("database", check, cache_s=10.0)
    health.run()
    clock.advance(9.9)
    health.run()
    assert check.calls == 1
    clock.advance(0.2)
    health.run()
    assert check.calls == 2


def test_a_cached_failure_is_reported_until_it_expires(clock: ManualClock) -> None:
    check = CountingCheck(False)
    health = HealthCheckManager(clock=clock)
    health.register("database", check, cache_s=5.0)
    assert health.run().status is HealthStatus.UNHEALTHY
    check.answer = True
    assert health.run().status is HealthStatus.UNHEALTHY
    clock.advance(5)
    assert health.run().status is HealthStatus.HEALTHY


def test_async_checks_are_awaited() -> None:
    async def ping() -> bool:
        return False

    health = HealthCheckManager()
    health.register("async", ping)
    assert health.run().status is HealthStatus.UNHEALTHY


def test_unregister_removes_a_check() -> None:
    health = HealthCheckManager()
    health.register("gone", lambda: False)
    health.unregister("gone")
    assert health.run().status is HealthStatus.HEALTHY
