"""Window rules: an aggregate of a metric over a trailing window, compared with a
threshold, that must hold for a while before it fires.

"p95 latency over 5 minutes above 250 ms for 2 minutes": metric ``latency``,
aggregation ``p95``, window 300 s, ``>`` 250, ``for`` 120 s. A rule is evaluated
for each of its **subjects**: per model for an inference metric with neither label
matchers nor ``group_by``; otherwise per group of label values (one group, with no
labels, without ``group_by``), as Prometheus evaluates a rule per series of its
expression. Semantics follow Prometheus alerting rules (rules/alerting.go):

- the condition becomes true → the rule is **pending** for that subject from then;
- it fires once it has held for ``for`` (``for: 0`` fires at once);
- if it stops holding while pending, the pending alert is dropped (never fires);
- once firing, it resolves when the condition has stayed false for ``clear``
  (Prometheus's ``keep_firing_for``); a true evaluation meanwhile resets that clock;
- an evaluation with no data (no points in the window) counts as false.

`RuleTracker` holds the state per (rule, subject) and turns evaluations into
transitions; the caller computes the aggregate (from the store) and hands each
transition to the alert engine. Time comes from the caller, so tests step it.
"""

from __future__ import annotations

__all__ = [
    "INFERENCE_METRICS",
    "Comparison",
    "RuleState",
    "RuleTracker",
    "Transition",
    "WindowRule",
]

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from monitorx.core import MetricName, Severity, ValidationError
from monitorx.store import QueryAggregation

INFERENCE_METRICS = frozenset(m.value for m in MetricName)


class Comparison(StrEnum):
    ABOVE = ">"
    AT_OR_ABOVE = ">="
    BELOW = "<"
    AT_OR_BELOW = "<="

    def holds(self, value: float, threshold: float) -> bool:
        return _OPERATORS[self](value, threshold)


_OPERATORS: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.ABOVE: operator.gt,
    Comparison.AT_OR_ABOVE: operator.ge,
    Comparison.BELOW: operator.lt,
    Comparison.AT_OR_BELOW: operator.le,
}


@dataclass(frozen=True, slots=True)
class WindowRule:
    id: str
    metric: str  # an inference metric's name, or a custom metric's
    aggregation: QueryAggregation
    window_s: float
    comparison: Comparison
    threshold: float
    for_s: float = 0.0
    clear_s: float = 0.0
    severity: Severity = Severity.HIGH
    model_ids: tuple[str, ...] = ()  # empty: every model (per-model rules only)
    labels: tuple[tuple[str, str], ...] = ()  # exact matchers, sorted by key
    group_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.window_s <= 0:
            raise ValidationError("must be a positive duration", "window")
        if self.for_s < 0:
            raise ValidationError("must not be negative", "for")
        if self.clear_s < 0:
            raise ValidationError("must not be negative", "clear")

    @property
    def per_group(self) -> bool:
        """Evaluated per group of label values, not per model."""
        return bool(self.labels or self.group_by) or self.metric not in INFERENCE_METRICS

    def applies_to(self, model_id: str) -> bool:
        return not self.model_ids or model_id in self.model_ids

    def same_subjects(self, other: WindowRule) -> bool:
        """Whether ``other`` is evaluated over the same subjects (so their state carries)."""
        return (self.metric, self.labels, self.group_by) == (
            other.metric,
            other.labels,
            other.group_by,
        )


class RuleState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True, slots=True)
class Transition:
    """A change the alert engine acts on: ``to`` is FIRING (fire or update) or
    INACTIVE (a firing alert resolved, or a pending one dropped)."""

    rule_id: str
    subject: str  # a model id, or a group's canonical labels
    before: RuleState
    to: RuleState
    value: float | None
    at: datetime
    active_since: datetime | None


@dataclass(slots=True)
class _Track:
    state: RuleState = RuleState.INACTIVE
    active_since: datetime | None = None
    clear_since: datetime | None = None


class RuleTracker:
    """The state of every (rule, subject) pair, advanced by evaluations."""

    def __init__(self) -> None:
        self._tracks: dict[tuple[str, str], _Track] = {}

    def state(self, rule_id: str, subject: str) -> RuleState:
        track = self._tracks.get((rule_id, subject))
        return RuleState.INACTIVE if track is None else track.state

    def evaluate(
        self, rule: WindowRule, subject: str, value: float | None, now: datetime
    ) -> Transition | None:
        """Feed one evaluation (``value`` None: no data); return the transition, if any."""
        key = (rule.id, subject)
        track = self._tracks.setdefault(key, _Track())
        before = track.state
        holds = value is not None and rule.comparison.holds(value, rule.threshold)
        if holds:
            track.clear_since = None
            if track.state is RuleState.INACTIVE:
                track.state, track.active_since = RuleState.PENDING, now
            assert track.active_since is not None
            if track.state is RuleState.PENDING and now - track.active_since >= timedelta(
                seconds=rule.for_s
            ):
                track.state = RuleState.FIRING
            if track.state is RuleState.FIRING:
                # Fired now, or still firing: the engine updates the alert's value.
                return Transition(
                    rule.id, subject, before, track.state, value, now, track.active_since
                )
            return None
        if track.state is RuleState.PENDING:
            del self._tracks[key]  # dropped before it fired
            return Transition(rule.id, subject, before, RuleState.INACTIVE, value, now, None)
        if track.state is RuleState.FIRING:
            track.clear_since = track.clear_since or now
            if now - track.clear_since >= timedelta(seconds=rule.clear_s):
                del self._tracks[key]
                return Transition(rule.id, subject, before, RuleState.INACTIVE, value, now, None)
        else:
            self._tracks.pop(key, None)
        return None

    def forget_rule(self, rule_id: str) -> None:
        for key in [k for k in self._tracks if k[0] == rule_id]:
            del self._tracks[key]
