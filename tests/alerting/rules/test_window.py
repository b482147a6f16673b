"""Window rules with `for` and clear periods, with Prometheus's semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitorx.alerting.rules.window import Comparison, RuleState, RuleTracker, WindowRule
from monitorx.core import MetricName, ValidationError
from monitorx.store import Aggregation

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
RULE = WindowRule(
    id="p95-latency",
    metric=MetricName.LATENCY,
    aggregation=Aggregation.P95,
    window_s=300,
    comparison=Comparison.ABOVE,
    threshold=250.0,
    for_s=120,
    clear_s=60,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(tracker: RuleTracker, values: list[tuple[float, float | None]]) -> list[str]:
    """Evaluate at each (second, value); return the transitions as 'before>to@second'."""
    seen = []
    for second, value in values:
        change = tracker.evaluate(RULE, "fraud-v3", value, at(second))
        if change is not None and change.before is not change.to:
            seen.append(f"{change.before.value}>{change.to.value}@{second:g}")
    return seen


def test_pending_until_the_condition_held_for_the_for_duration() -> None:
    tracker = RuleTracker()
    assert feed(tracker, [(0, 300.0), (60, 310.0), (119, 320.0)]) == []
    assert tracker.state("p95-latency", "fraud-v3") is RuleState.PENDING
    assert feed(tracker, [(120, 330.0)]) == ["pending>firing@120"]


def test_a_pending_alert_that_stops_holding_never_fires() -> None:
    tracker = RuleTracker()
    assert feed(tracker, [(0, 300.0), (60, 200.0)]) == ["pending>inactive@60"]
    # The for-clock starts again from the next breach.
    assert feed(tracker, [(90, 300.0), (200, 300.0), (210, 300.0)]) == ["pending>firing@210"]


def test_firing_resolves_after_the_clear_period_and_a_breach_resets_it() -> None:
    tracker = RuleTracker()
    feed(tracker, [(0, 300.0), (120, 300.0)])
    assert feed(tracker, [(150, 100.0), (200, 300.0), (230, 100.0), (280, 100.0)]) == []
    assert feed(tracker, [(290, 100.0)]) == ["firing>inactive@290"]


def test_no_data_counts_as_false() -> None:
    tracker = RuleTracker()
    assert feed(tracker, [(0, 300.0), (30, None)]) == ["pending>inactive@30"]


def test_still_firing_evaluations_update_the_value() -> None:
    tracker = RuleTracker()
    feed(tracker, [(0, 300.0), (120, 300.0)])
    change = tracker.evaluate(RULE, "fraud-v3", 410.0, at(180))
    assert change is not None and change.to is RuleState.FIRING and change.value == 410.0
    assert change.active_since == T0


def test_for_zero_fires_at_once_and_models_are_tracked_apart() -> None:
    rule = WindowRule("e", MetricName.ERROR_RATE, Aggregation.MEAN, 600, Comparison.ABOVE, 0.05)
    tracker = RuleTracker()
    fired = tracker.evaluate(rule, "a", 0.2, T0)
    assert fired is not None and fired.to is RuleState.FIRING
    assert tracker.state("e", "b") is RuleState.INACTIVE
    assert tracker.evaluate(rule, "a", 0.01, at(1)) is not None  # clear 0: resolves at once


@pytest.mark.parametrize(("field", "value"), [("window_s", 0), ("for_s", -1), ("clear_s", -5)])
def test_bad_rules_are_refused(field: str, value: float) -> None:
    values = {
        "id": "r",
        "metric": MetricName.LATENCY,
        "aggregation": Aggregation.MEAN,
        "window_s": 60,
        "comparison": Comparison.ABOVE,
        "threshold": 1.0,
        field: value,
    }
    with pytest.raises(ValidationError):
        WindowRule(**values)  # type: ignore[arg-type]
