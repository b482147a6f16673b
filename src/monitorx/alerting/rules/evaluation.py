"""Window rules evaluated against the store, their transitions handed to the engine.

Every evaluation (the scheduler runs one every ``rule_eval_interval_s``, as
Prometheus's ``evaluation_interval``) computes, for each enabled rule and each
model it applies to, the rule's aggregate over ``[now - window, now)`` and feeds
it to the `RuleTracker`:

- pending → firing opens an alert through `AlertEngine.process`, labelled
  ``rule=<id>``; every later evaluation that still holds updates that alert (its
  value, and its severity if it rose) — the engine never duplicates it;
- firing → inactive (the condition stayed false for ``clear``) resolves it with
  `AlertEngine.resolve_identity`: the engine's own clear period does not touch
  alerts with a ``rule`` label;
- a rule that is deleted or disabled, changes its alert type, or stops applying to
  a model resolves the alerts it had firing;
- a model that no longer exists (it left the list of models to evaluate) is
  evaluated as "no data", so its firing alerts resolve after the clear period.

After a restart, `restore` takes up the rule alerts the engine reloaded as firing,
so they resolve by the rule's clear period and are never left open.
"""

from __future__ import annotations

__all__ = ["RuleEvaluator", "RuleModelState"]

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.rules.definition import RuleRecord
from monitorx.alerting.rules.values import aggregate_over
from monitorx.alerting.rules.window import Comparison, RuleState, RuleTracker, Transition
from monitorx.core import Breach, Clock
from monitorx.store import Storage

logger = logging.getLogger("monitorx.alerting.rules")

RULE_LABEL = "rule"


@dataclass(frozen=True, slots=True)
class RuleModelState:
    """Where one rule stands for one model after its last evaluation."""

    model_id: str
    state: RuleState
    active_since: datetime | None  # when the condition began to hold (pending or firing)
    value: float | None  # the last aggregate; None: no data in the window
    evaluated_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "state": self.state.value,
            "active_since": None if self.active_since is None else self.active_since.isoformat(),
            "value": self.value,
            "evaluated_at": self.evaluated_at.isoformat(),
        }


class RuleEvaluator:
    """Evaluates the enabled window rules and keeps their per-model state."""

    def __init__(self, storage: Storage, engine: AlertEngine, clock: Clock) -> None:
        self._storage = storage
        self._engine = engine
        self._clock = clock
        self._rules: dict[str, RuleRecord] = {}
        self._tracker = RuleTracker()
        self._states: dict[str, dict[str, RuleModelState]] = {}
        # One evaluation or rule change at a time: a rule deleted mid-evaluation
        # must not fire afterwards.
        self._lock = asyncio.Lock()

    def rules(self) -> list[RuleRecord]:
        return list(self._rules.values())

    def state(self) -> dict[str, list[RuleModelState]]:
        """Per rule id, the state of every model it was evaluated for, by model id."""
        return {
            rule_id: [models[m] for m in sorted(models)] for rule_id, models in self._states.items()
        }

    async def set_rules(self, rules: Iterable[RuleRecord]) -> None:
        """Replace the rule set. A rule kept under the same id and alert type keeps its
        state (as Prometheus keeps active alerts across a reload); the alerts of rules
        that went away, were disabled or stopped applying to a model are resolved."""
        new = {record.id: record for record in rules}
        async with self._lock:
            for rule_id, old in self._rules.items():
                current = new.get(rule_id)
                keep = (
                    current is not None
                    and current.enabled
                    and current.alert_type is old.alert_type
                    and current.rule.metric is old.rule.metric
                )
                for model_id in list(self._states.get(rule_id, {})):
                    if not keep or current is None or not current.rule.applies_to(model_id):
                        await self._drop(old, model_id)
            self._rules = new
            for rule_id in list(self._states):
                if rule_id not in new or not new[rule_id].enabled:
                    del self._states[rule_id]

    async def restore(self) -> None:
        """Take up the rule alerts that were firing when the server stopped: each is
        firing again for its rule (its clear period counts from now on); those whose
        rule is gone, disabled or no longer applies are resolved."""
        now = self._clock.now()
        async with self._lock:
            for alert in self._engine.active():
                rule_id = alert.labels.get(RULE_LABEL)
                if rule_id is None:
                    continue
                record = self._rules.get(rule_id)
                if (
                    record is None
                    or not record.enabled
                    or record.alert_type is not alert.alert_type
                    or not record.rule.applies_to(alert.model_id)
                ):
                    await self._engine.resolve_identity(
                        alert.model_id, alert.alert_type, alert.labels
                    )
                    continue
                self._seed_firing(record, alert.model_id, alert.started_at)
                self._states.setdefault(rule_id, {})[alert.model_id] = RuleModelState(
                    alert.model_id, RuleState.FIRING, alert.started_at, alert.value, now
                )

    async def evaluate_once(self, model_ids: Iterable[str]) -> list[Transition]:
        """Evaluate every enabled rule now, for its own ``model_ids`` or else for each
        of ``model_ids``; return the transitions the engine acted on."""
        given = list(dict.fromkeys(model_ids))
        done: list[Transition] = []
        async with self._lock:
            now = self._clock.now()
            for record in self._rules.values():
                if not record.enabled:
                    continue
                targets = list(record.rule.model_ids) or given
                known = self._states.setdefault(record.id, {})
                # Models that left the list: no data, so what fires clears in time.
                gone = [m for m in known if m not in targets]
                for model_id in targets + gone:
                    listed = model_id in targets
                    try:
                        value = await self._value(record, model_id, now) if listed else None
                        change = await self._feed(record, model_id, value, now, listed)
                    except Exception:
                        logger.exception(
                            "evaluating rule %s for model %s failed", record.id, model_id
                        )
                        continue
                    if change is not None:
                        done.append(change)
        return done

    async def _value(self, record: RuleRecord, model_id: str, now: datetime) -> float | None:
        rule = record.rule
        start = now - timedelta(seconds=rule.window_s)
        return await aggregate_over(
            self._storage, model_id, rule.metric, rule.aggregation, start, now
        )

    async def _feed(
        self, record: RuleRecord, model_id: str, value: float | None, now: datetime, listed: bool
    ) -> Transition | None:
        known = self._states.setdefault(record.id, {})
        previous = known.get(model_id)
        change = self._tracker.evaluate(record.rule, model_id, value, now)
        state = self._tracker.state(record.id, model_id)
        active_since: datetime | None = None
        if state is RuleState.FIRING:
            active_since = change.active_since if change is not None else None
            active_since = active_since or (previous.active_since if previous else now)
        elif state is RuleState.PENDING:
            was_pending = previous is not None and previous.state is RuleState.PENDING
            active_since = previous.active_since if was_pending and previous else now
        acted: Transition | None = None
        if change is not None and change.to is RuleState.FIRING and value is not None:
            await self._engine.process([self._breach(record, model_id, value, now)])
            acted = change
        elif change is not None and change.before is RuleState.FIRING:
            await self._engine.resolve_identity(
                model_id, record.alert_type, {RULE_LABEL: record.id}
            )
            acted = change
        # (A pending alert dropped needs nothing: it was never sent.) The state is
        # shown only once the engine has acted on it.
        if listed or state is not RuleState.INACTIVE:
            known[model_id] = RuleModelState(model_id, state, active_since, value, now)
        else:
            known.pop(model_id, None)  # gone from the list, and nothing left to clear
        return acted

    @staticmethod
    def _breach(record: RuleRecord, model_id: str, value: float, now: datetime) -> Breach:
        return Breach(
            model_id=model_id,
            alert_type=record.alert_type,
            severity=record.severity_for(value),
            value=value,
            threshold=record.rule.threshold,
            message=record.message(value),
            observed_at=now,
            labels={RULE_LABEL: record.id},
        )

    async def _drop(self, record: RuleRecord, model_id: str) -> None:
        """Forget a (rule, model) pair; resolve its alert if it was firing."""
        firing = self._tracker.state(record.id, model_id) is RuleState.FIRING
        # One evaluation with no data and no clear period ends any state it had.
        self._tracker.evaluate(replace(record.rule, clear_s=0.0), model_id, None, self._clock.now())
        self._states.get(record.id, {}).pop(model_id, None)
        if firing:
            await self._engine.resolve_identity(
                model_id, record.alert_type, {RULE_LABEL: record.id}
            )

    def _seed_firing(self, record: RuleRecord, model_id: str, since: datetime) -> None:
        # One evaluation that holds, with no `for`, puts the pair straight to firing.
        holding = (
            math.inf
            if record.rule.comparison in (Comparison.ABOVE, Comparison.AT_OR_ABOVE)
            else -math.inf
        )
        self._tracker.evaluate(replace(record.rule, for_s=0.0), model_id, holding, since)
