"""SLO arithmetic against hand-computed figures: budget, burn rates, the window
table and its scaling, which condition fires, and the record's validation."""

from __future__ import annotations

from typing import Any

import pytest

from monitorx.alerting.slo.objective import (
    SLO,
    WORKBOOK_WINDOWS,
    AlertKind,
    BurnRateWindows,
    ErrorBudget,
    Objective,
    WindowCounts,
    burn_rate,
    check_within_retention,
    duration_text,
    evaluate_burn,
    scaled_windows,
)
from monitorx.core import Severity, ValidationError

HOUR, DAY = 3600.0, 86400.0


def _slo(**fields: Any) -> SLO:
    body: dict[str, Any] = {
        "id": "fraud-availability",
        "model_id": "fraud-v3",
        "objective": "availability",
        "target": 0.999,
        "window": "30d",
    }
    body.update(fields)
    return SLO.from_dict({k: v for k, v in body.items() if v is not ...})


# Budget and burn rate -------------------------------------------------------------------


def test_burn_rate_is_the_bad_ratio_over_the_allowed_ratio() -> None:
    # 20 % errors against a 99.9 % target burn the budget 200 times too fast.
    assert burn_rate(WindowCounts(1000, 200.0), 0.999) == pytest.approx(200.0)
    # 0.5 % errors: 5 times too fast; exactly the allowed 0.1 %: rate 1.
    assert burn_rate(WindowCounts(2000, 10.0), 0.999) == pytest.approx(5.0)
    assert burn_rate(WindowCounts(10_000, 10.0), 0.999) == pytest.approx(1.0)


def test_burn_rate_and_sli_of_an_empty_window_are_unknown() -> None:
    empty = WindowCounts(0, 0.0)
    assert burn_rate(empty, 0.99) is None
    assert empty.sli is None
    assert ErrorBudget.of(empty, 0.99).remaining is None


def test_error_budget_left_matches_hand_computation() -> None:
    # 99 % of 1000 requests: 10 may fail; 4 did → 60 % of the budget is left.
    budget = ErrorBudget.of(WindowCounts(1000, 4.0), 0.99)
    assert budget.allowed == pytest.approx(10.0)
    assert budget.consumed == 4.0
    assert budget.remaining == pytest.approx(0.6)
    assert WindowCounts(1000, 4.0).sli == pytest.approx(0.996)


def test_an_overspent_budget_goes_negative() -> None:
    budget = ErrorBudget.of(WindowCounts(1000, 25.0), 0.99)
    assert budget.remaining == pytest.approx(-1.5)


# The window table ---------------------------------------------------------------------------


def test_thirty_day_slo_uses_the_workbook_table_unchanged() -> None:
    table = [(w.kind, w.factor, w.long_s, w.short_s) for w in scaled_windows(30 * DAY)]
    assert table == [
        (AlertKind.PAGE, 14.4, HOUR, 300.0),
        (AlertKind.PAGE, 6.0, 6 * HOUR, 1800.0),
        (AlertKind.TICKET, 3.0, DAY, 2 * HOUR),
        (AlertKind.TICKET, 1.0, 3 * DAY, 6 * HOUR),
    ]


@pytest.mark.parametrize(
    ("window_s", "expected"),
    [
        # 28 days: every window × 28/30.
        (28 * DAY, [(3360, 280), (20160, 1680), (80640, 6720), (241920, 20160)]),
        # 7 days: 1h → 14m, 5m → 70s, ...
        (7 * DAY, [(840, 70), (5040, 420), (20160, 1680), (60480, 5040)]),
        # 1 hour: 1h/720 = 5 s; 5m/720 rounds to 0 and is held at 1 s.
        (HOUR, [(5, 1), (30, 2), (120, 10), (360, 30)]),
    ],
)
def test_other_slo_windows_scale_both_windows_and_keep_the_factors(
    window_s: float, expected: list[tuple[int, int]]
) -> None:
    table = scaled_windows(window_s)
    assert [(w.long_s, w.short_s) for w in table] == expected
    assert [w.factor for w in table] == [w.factor for w in WORKBOOK_WINDOWS]


@pytest.mark.parametrize("window_s", [HOUR, 7 * DAY, 28 * DAY, 30 * DAY, 90 * DAY])
def test_each_condition_still_means_the_same_share_of_budget(window_s: float) -> None:
    # factor × long / window is the share of the budget spent when the condition
    # trips: 2 %, 5 %, 10 %, 10 % whatever the SLO window.
    shares = [w.factor * w.long_s / window_s for w in scaled_windows(window_s)]
    assert shares == pytest.approx([0.02, 0.05, 0.10, 0.10], rel=1e-6)


# Which condition fires ---------------------------------------------------------------------


def _counts(rates: dict[float, float], target: float = 0.999) -> dict[float, WindowCounts]:
    """Window counts with the given burn rates, 100 000 requests each."""
    return {
        length: WindowCounts(100_000, rate * (1 - target) * 100_000)
        for length, rate in rates.items()
    }


_WINDOWS = {"5m": 300.0, "30m": 1800.0, "1h": HOUR, "2h": 2 * HOUR, "6h": 6 * HOUR}
_WINDOWS |= {"1d": DAY, "3d": 3 * DAY}


def _rates(by_window: dict[str, float]) -> dict[float, float]:
    """Burn rates by window length; windows not named burn at 0."""
    rates = dict.fromkeys(_WINDOWS.values(), 0.0)
    rates.update({_WINDOWS[name]: rate for name, rate in by_window.items()})
    return rates


def test_fast_burn_over_both_windows_pages() -> None:
    rates = _rates({"1h": 200, "5m": 200, "6h": 40, "30m": 200, "1d": 10, "2h": 100, "3d": 3})
    verdict = evaluate_burn(WORKBOOK_WINDOWS, 0.999, _counts(rates))
    firing = verdict.firing
    assert firing is not None and firing.windows == WORKBOOK_WINDOWS[0]
    assert firing.long_rate == pytest.approx(200)


def test_a_long_window_burn_alone_does_not_fire() -> None:
    # Half an hour of heavy errors that stopped 30 minutes ago: the 1h burn is past
    # 14.4, but the 5m window is clean, so the page is not (or no longer) raised.
    rates = _rates({"1h": 20, "2h": 10, "6h": 20 / 6, "1d": 20 / 24, "3d": 20 / 72})
    verdict = evaluate_burn(WORKBOOK_WINDOWS, 0.999, _counts(rates))
    assert verdict.firing is None
    assert [c.firing for c in verdict.conditions] == [False] * 4


def test_a_short_spike_alone_does_not_fire() -> None:
    rates = _rates({"5m": 100, "30m": 30, "2h": 10})
    assert evaluate_burn(WORKBOOK_WINDOWS, 0.999, _counts(rates)).firing is None


def test_slow_burn_raises_only_a_ticket() -> None:
    rates = dict.fromkeys(_WINDOWS.values(), 5.0)  # 0.5 % errors at 99.9 % everywhere
    verdict = evaluate_burn(WORKBOOK_WINDOWS, 0.999, _counts(rates))
    assert [c.firing for c in verdict.conditions] == [False, False, True, True]
    firing = verdict.firing
    assert firing is not None and firing.windows == WORKBOOK_WINDOWS[2]


def test_a_burn_rate_exactly_at_the_factor_does_not_fire() -> None:
    row = BurnRateWindows(AlertKind.PAGE, 2.0, HOUR, 300)
    at = {HOUR: WindowCounts(1000, 20.0), 300.0: WindowCounts(1000, 20.0)}
    above = {HOUR: WindowCounts(1000, 21.0), 300.0: WindowCounts(1000, 21.0)}
    assert evaluate_burn([row], 0.99, at).firing is None
    assert evaluate_burn([row], 0.99, above).firing is not None


def test_a_window_without_requests_never_fires() -> None:
    row = BurnRateWindows(AlertKind.PAGE, 2.0, HOUR, 300)
    counts = {HOUR: WindowCounts(1000, 500.0), 300.0: WindowCounts(0, 0.0)}
    (condition,) = evaluate_burn([row], 0.99, counts).conditions
    assert condition.short_rate is None and not condition.firing


# The record ---------------------------------------------------------------------------------


def test_slo_round_trips_through_json() -> None:
    slo = _slo(
        objective="latency",
        latency_ms=250,
        window="4w",
        ticket_severity="low",
        description="p(fast) ≥ 99 %",
    )
    assert slo.window_s == 28 * DAY
    assert slo.to_dict()["window"] == "28d"
    assert SLO.from_json(slo.to_json()) == slo


def test_defaults_page_critical_and_ticket_medium() -> None:
    slo = _slo()
    assert slo.objective is Objective.AVAILABILITY
    assert (slo.page_severity, slo.ticket_severity) == (Severity.CRITICAL, Severity.MEDIUM)
    assert slo.severity_of(AlertKind.PAGE) is Severity.CRITICAL
    assert slo.severity_of(AlertKind.TICKET) is Severity.MEDIUM
    assert slo.latency_ms is None and slo.description == ""


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": ...}, "id"),
        ({"id": "has space"}, "id"),
        ({"model_id": 7}, "model_id"),
        ({"objective": "throughput"}, "objective"),
        ({"target": ...}, "target"),
        ({"target": 1}, "target"),
        ({"target": 0}, "target"),
        ({"target": 99.9}, "target"),
        ({"target": "0.999"}, "target"),
        ({"target": True}, "target"),
        ({"target": float("nan")}, "target"),
        ({"window": ...}, "window"),
        ({"window": "30m"}, "window"),
        ({"window": "91d"}, "window"),
        ({"window": "a month"}, "window"),
        ({"objective": "latency"}, "latency_ms"),
        ({"objective": "latency", "latency_ms": 0}, "latency_ms"),
        ({"objective": "latency", "latency_ms": "fast"}, "latency_ms"),
        ({"latency_ms": 250}, "latency_ms"),
        ({"page_severity": "urgent"}, "page_severity"),
        ({"ticket_severity": 2}, "ticket_severity"),
        ({"description": "x" * 1025}, "description"),
        ({"tagret": 0.99}, "tagret"),
    ],
)
def test_invalid_slo_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _slo(**fields)
    assert [e.field for e in caught.value.errors] == [field]


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        SLO.from_dict({"id": "s", "objective": "latency", "target": 2, "window": "1m"})
    fields = {e.field for e in caught.value.errors}
    assert fields == {"model_id", "target", "window", "latency_ms"}


def test_windows_from_one_hour_to_ninety_days_are_accepted() -> None:
    assert _slo(window="1h").window_s == HOUR
    assert _slo(window=90 * DAY).window_s == 90 * DAY


def test_burn_windows_must_fit_in_raw_retention() -> None:
    check_within_retention(_slo(window="30d"), 7 * DAY)  # longest window 3d
    with pytest.raises(ValidationError) as caught:
        check_within_retention(_slo(window="90d"), 7 * DAY)  # longest window 9d
    assert caught.value.errors[0].field == "window"
    assert "9d" in str(caught.value)
    check_within_retention(_slo(window="90d"), 9 * DAY)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30 * DAY, "30d"), (36 * HOUR, "36h"), (60480, "1008m"), (70, "70s"), (0.5, "0.5s")],
)
def test_durations_are_written_in_their_largest_exact_unit(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
