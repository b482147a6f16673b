"""Window rules evaluated against the store, their transitions handed to the engine.

Every evaluation (the scheduler runs one every ``rule_eval_interval_s``, as
Prometheus's ``evaluation_interval``) computes, for each enabled rule and each of
its subjects, the rule's aggregate over ``[now - window, now)`` and feeds it to the
`RuleTracker`. The subjects of a per-model rule are the models it applies to; those
of a rule over labels are the groups of series that have points in the window (a
group with none is "no data", as a series absent from a Prometheus expression).

- pending → firing opens an alert through `AlertEngine.process`, labelled
  ``rule=<id>`` and, for a group, with the group's labels (its ``model_id`` label
  is the alert's model); every later evaluation that still holds updates that
  alert (its value, and its severity if it rose) — the engine never duplicates it;
- firing → inactive (the condition stayed false for ``clear``) resolves it: the
  engine's own clear period does not touch alerts with a ``rule`` label;
- a rule that is deleted or disabled, changes its alert type or its subjects
  (metric, matchers, grouping), or stops applying to a model resolves the alerts
  it had firing;
- a model that no longer exists (it left the list of models to evaluate) and a
  group with no points in the window are evaluated as "no data", so their firing
  alerts resolve after the clear period.

The alerts one evaluation opens go to the engine in one step, and so do those it
resolves: 500 groups breaching at once are one commit and one round of sends.

After a restart, `restore` takes up the rule alerts the engine reloaded as firing,
so they resolve by the rule's clear period and are never left open.
"""

from __future__ import annotations

__all__ = ["RULE_LABEL", "RuleEvaluator", "RuleSubjectState"]

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.rules.definition import RuleRecord
from monitorx.alerting.rules.values import group_values, model_value
from monitorx.alerting.rules.window import Comparison, RuleState, RuleTracker, Transition
from monitorx.core import Alert, AlertType, Breach, Clock
from monitorx.core.samples import canonical_labels
from monitorx.store import MetricStore
from monitorx.store.metric_queries import MetricQueries

logger = logging.getLogger("monitorx.alerting.rules")

RULE_LABEL = "rule"
MODEL_LABEL = "model_id"

Identity = tuple[str | None, AlertType, Mapping[str, str] | None]


@dataclass(frozen=True, slots=True)
class RuleSubjectState:
    """Where one rule stands for one model or group after its last evaluation."""

    subject: str  # the model id, or the group's canonical labels
    model_id: str | None
    labels: dict[str, str]  # the group's labels; {} for a model
    state: RuleState
    active_since: datetime | None  # when the condition began to hold (pending or firing)
    value: float | None  # the last aggregate; None: no data in the window
    evaluated_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "labels": self.labels,
            "state": self.state.value,
            "active_since": None if self.active_since is None else self.active_since.isoformat(),
            "value": self.value,
            "evaluated_at": self.evaluated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _Subject:
    """What a rule is evaluated for: a model, or a group of series."""

    key: str
    model_id: str | None
    labels: dict[str, str]

    @staticmethod
    def model(model_id: str) -> _Subject:
        return _Subject(model_id, model_id, {})

    @staticmethod
    def group(labels: dict[str, str]) -> _Subject:
        return _Subject(canonical_labels(labels), labels.get(MODEL_LABEL), labels)

    def alert_labels(self, record: RuleRecord) -> dict[str, str]:
        return {**self.labels, RULE_LABEL: record.id}

    def identity(self, record: RuleRecord) -> Identity:
        return (self.model_id, record.alert_type, self.alert_labels(record))


@dataclass(slots=True)
class _Round:
    """What one evaluation hands to the engine, all at once."""

    breaches: list[Breach] = field(default_factory=list)
    resolves: list[Identity] = field(default_factory=list)
    # (rule id, subject) → its new state, or None when it is forgotten; shown only
    # once the engine has acted on the round.
    states: dict[tuple[str, str], RuleSubjectState | None] = field(default_factory=dict)


def _subject_of(record: RuleRecord, alert: Alert) -> _Subject | None:
    """The subject a reloaded rule alert was raised for."""
    if record.rule.per_group:
        return _Subject.group({k: v for k, v in alert.labels.items() if k != RULE_LABEL})
    return None if alert.model_id is None else _Subject.model(alert.model_id)


class RuleEvaluator:
    """Evaluates the enabled window rules and keeps their state per model or group."""

    def __init__(
        self, storage: MetricStore, queries: MetricQueries, engine: AlertEngine, clock: Clock
    ) -> None:
        self._storage = storage
        self._queries = queries
        self._engine = engine
        self._clock = clock
        self._rules: dict[str, RuleRecord] = {}
        self._tracker = RuleTracker()
        self._states: dict[str, dict[str, RuleSubjectState]] = {}
        # One evaluation or rule change at a time: a rule deleted mid-evaluation
        # must not fire afterwards.
        self._lock = asyncio.Lock()

    def rules(self) -> list[RuleRecord]:
        return list(self._rules.values())

    def state(self) -> dict[str, list[RuleSubjectState]]:
        """Per rule id, the state of every model or group it was evaluated for, by
        model id or labels."""
        return {
            rule_id: [subjects[k] for k in sorted(subjects)]
            for rule_id, subjects in self._states.items()
        }

    async def set_rules(self, rules: Iterable[RuleRecord]) -> None:
        """Replace the rule set. A rule kept under the same id, alert type and subjects
        keeps its state (as Prometheus keeps active alerts across a reload); the
        alerts of rules that went away, were disabled or stopped applying to a model
        are resolved."""
        new = {record.id: record for record in rules}
        done = _Round()
        async with self._lock:
            for rule_id, old in self._rules.items():
                current = new.get(rule_id)
                keep = (
                    current is not None
                    and current.enabled
                    and current.alert_type is old.alert_type
                    and current.rule.same_subjects(old.rule)
                )
                for state in list(self._states.get(rule_id, {}).values()):
                    subject = _Subject(state.subject, state.model_id, state.labels)
                    applies = current is not None and (
                        current.rule.per_group or current.rule.applies_to(state.subject)
                    )
                    if not keep or not applies:
                        self._drop(old, subject, done)
            self._rules = new
            for rule_id in list(self._states):
                if rule_id not in new or not new[rule_id].enabled:
                    del self._states[rule_id]
            await self._apply(done)

    async def restore(self) -> None:
        """Take up the rule alerts that were firing when the server stopped: each is
        firing again for its rule (its clear period counts from now on); those whose
        rule is gone, disabled or no longer applies are resolved."""
        now = self._clock.now()
        stale: list[Identity] = []
        async with self._lock:
            for alert in self._engine.active():
                rule_id = alert.labels.get(RULE_LABEL)
                if rule_id is None:
                    continue
                record = self._rules.get(rule_id)
                subject = None if record is None else _subject_of(record, alert)
                if (
                    record is None
                    or subject is None
                    or not record.enabled
                    or record.alert_type is not alert.alert_type
                    or not (record.rule.per_group or record.rule.applies_to(subject.key))
                ):
                    stale.append((alert.model_id, alert.alert_type, alert.labels))
                    continue
                self._seed_firing(record, subject.key, alert.started_at)
                self._states.setdefault(rule_id, {})[subject.key] = RuleSubjectState(
                    subject.key,
                    subject.model_id,
                    subject.labels,
                    RuleState.FIRING,
                    alert.started_at,
                    alert.value,
                    now,
                )
            await self._engine.resolve_identities(stale)

    async def evaluate_once(self, model_ids: Iterable[str]) -> list[Transition]:
        """Evaluate every enabled rule now — a per-model rule for its own
        ``model_ids`` or else for each of ``model_ids``, a rule over labels for each
        group — and return the transitions the engine acted on."""
        given = list(dict.fromkeys(model_ids))
        acted: list[Transition] = []
        done = _Round()
        async with self._lock:
            now = self._clock.now()
            for record in self._rules.values():
                if not record.enabled:
                    continue
                try:
                    evaluations = await self._evaluations(record, given, now)
                except Exception:
                    logger.exception("evaluating rule %s failed", record.id)
                    continue
                for subject, value, listed in evaluations:
                    change = self._feed(record, subject, value, now, listed, done)
                    if change is not None:
                        acted.append(change)
            await self._apply(done)
        return acted

    async def _evaluations(
        self, record: RuleRecord, given: list[str], now: datetime
    ) -> list[tuple[_Subject, float | None, bool]]:
        """(subject, value, listed) for every subject of the rule now: those with a
        value, and those it knew that have none (listed False)."""
        rule = record.rule
        start = now - timedelta(seconds=rule.window_s)
        known = self._states.get(record.id, {})
        found: list[tuple[_Subject, float | None, bool]] = []
        if rule.per_group:
            groups = await group_values(self._queries, rule, start, now)
            found = [(_Subject.group(g.labels), g.value, True) for g in groups]
        else:
            targets = list(rule.model_ids) or given
            for model_id in targets:
                try:
                    value = await model_value(
                        self._storage, self._queries, rule, model_id, start, now
                    )
                except Exception:
                    logger.exception("evaluating rule %s for model %s failed", rule.id, model_id)
                    continue
                found.append((_Subject.model(model_id), value, True))
        seen = {subject.key for subject, _, _ in found}
        # Subjects that left (a model gone, a group with no points): no data, so
        # what fires clears in time.
        found += [
            (_Subject(s.subject, s.model_id, s.labels), None, False)
            for key, s in known.items()
            if key not in seen
        ]
        return found

    def _feed(
        self,
        record: RuleRecord,
        subject: _Subject,
        value: float | None,
        now: datetime,
        listed: bool,
        done: _Round,
    ) -> Transition | None:
        previous = self._states.get(record.id, {}).get(subject.key)
        change = self._tracker.evaluate(record.rule, subject.key, value, now)
        state = self._tracker.state(record.id, subject.key)
        active_since: datetime | None = None
        if state is RuleState.FIRING:
            active_since = change.active_since if change is not None else None
            active_since = active_since or (previous.active_since if previous else now)
        elif state is RuleState.PENDING:
            was_pending = previous is not None and previous.state is RuleState.PENDING
            active_since = previous.active_since if was_pending and previous else now
        acted: Transition | None = None
        if change is not None and change.to is RuleState.FIRING and value is not None:
            done.breaches.append(self._breach(record, subject, value, now))
            acted = change
        elif change is not None and change.before is RuleState.FIRING:
            done.resolves.append(subject.identity(record))
            acted = change
        # (A pending alert dropped needs nothing: it was never sent.)
        shown = None  # gone, and nothing left to clear
        if listed or state is not RuleState.INACTIVE:
            shown = RuleSubjectState(
                subject.key, subject.model_id, subject.labels, state, active_since, value, now
            )
        done.states[(record.id, subject.key)] = shown
        return acted

    async def _apply(self, done: _Round) -> None:
        """Hand one round's breaches and resolves to the engine, each in one step."""
        if done.breaches:
            await self._engine.process(done.breaches)
        if done.resolves:
            await self._engine.resolve_identities(done.resolves)
        for (rule_id, subject), shown in done.states.items():
            if shown is not None:
                self._states.setdefault(rule_id, {})[subject] = shown
            else:
                self._states.get(rule_id, {}).pop(subject, None)

    @staticmethod
    def _breach(record: RuleRecord, subject: _Subject, value: float, now: datetime) -> Breach:
        return Breach(
            model_id=subject.model_id,
            alert_type=record.alert_type,
            severity=record.severity_for(value),
            value=value,
            threshold=record.rule.threshold,
            message=record.message(value, subject.labels),
            observed_at=now,
            labels=subject.alert_labels(record),
        )

    def _drop(self, record: RuleRecord, subject: _Subject, done: _Round) -> None:
        """Forget a (rule, subject) pair; resolve its alert if it was firing."""
        firing = self._tracker.state(record.id, subject.key) is RuleState.FIRING
        # One evaluation with no data and no clear period ends any state it had.
        self._tracker.evaluate(
            replace(record.rule, clear_s=0.0), subject.key, None, self._clock.now()
        )
        self._states.get(record.id, {}).pop(subject.key, None)
        if firing:
            done.resolves.append(subject.identity(record))

    def _seed_firing(self, record: RuleRecord, subject: str, since: datetime) -> None:
        # One evaluation that holds, with no `for`, puts the pair straight to firing.
        holding = (
            math.inf
            if record.rule.comparison in (Comparison.ABOVE, Comparison.AT_OR_ABOVE)
            else -math.inf
        )
        self._tracker.evaluate(replace(record.rule, for_s=0.0), subject, holding, since)
