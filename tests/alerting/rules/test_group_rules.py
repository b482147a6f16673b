"""Window rules over groups of labelled series, on a real store: one alert per group,
a group that stops breaching or stops reporting resolves alone, 500 groups that
breach at once are one engine step, and a restart takes the group alerts up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitorx.alerting.engine import AlertEngine, AlertEvent
from monitorx.alerting.rules.definition import RuleRecord
from monitorx.alerting.rules.evaluation import RuleEvaluator
from monitorx.alerting.rules.window import RuleState
from monitorx.core import AlertStatus, AlertType, FakeClock, Severity
from monitorx.core.samples import SampleColumns
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import AlertQuery, Storage
from monitorx.store.metric_queries import MetricQueries
from monitorx.store.samples.batch import KeyedSamples
from monitorx.store.samples.service import CustomMetrics

NOW = datetime(2026, 11, 22, 12, 3, 17, 250_000, tzinfo=UTC)


def backlog(**changes: Any) -> RuleRecord:
    body: dict[str, Any] = {
        "id": "backlog",
        "metric": "queue.depth",
        "aggregation": "last",
        "window": "1m",
        "op": ">",
        "threshold": 100,
        "group_by": ["queue"],
        "severity": "high",
    }
    return RuleRecord.from_body(body | changes)


async def depths(
    custom: CustomMetrics, clock: FakeClock, values: dict[str, float], **labels: str
) -> None:
    """One sample per queue, a second before the clock."""
    columns = SampleColumns()
    at = to_epoch_us(clock.now() - timedelta(seconds=1))
    for queue, value in values.items():
        columns.append("queue.depth", value, at, {"queue": queue, **labels}, None)
    assert await custom.write(KeyedSamples.of(columns)) == []


async def evaluate(evaluator: RuleEvaluator, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    await evaluator.evaluate_once(())


def states(evaluator: RuleEvaluator) -> dict[str, RuleState]:
    return {s.labels["queue"]: s.state for s in evaluator.state().get("backlog", [])}


def firing(engine: AlertEngine) -> list[str]:
    return sorted(a.labels["queue"] for a in engine.active())


async def test_each_group_fires_and_resolves_on_its_own(
    storage: Storage,
    queries: MetricQueries,
    custom_metrics: CustomMetrics,
    engine: AlertEngine,
    clock: FakeClock,
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([backlog(clear="30s")])
    await depths(custom_metrics, clock, {"jobs": 150, "mail": 10, "video": 400})
    await evaluate(evaluator, clock, 0)
    assert states(evaluator) == {
        "jobs": RuleState.FIRING,
        "mail": RuleState.INACTIVE,
        "video": RuleState.FIRING,
    }
    assert firing(engine) == ["jobs", "video"]
    jobs = next(a for a in engine.active() if a.labels["queue"] == "jobs")
    assert jobs.model_id is None and jobs.alert_type is AlertType.METRIC
    assert jobs.labels == {"queue": "jobs", "rule": "backlog"}
    assert (jobs.value, jobs.severity) == (150.0, Severity.HIGH)
    assert jobs.message == 'last queue.depth{queue="jobs"} over 1m is 150, > 100 (rule backlog)'

    # jobs drains; video stops reporting. Both clear after 30 s, each on its own.
    clock.advance(20)
    await depths(custom_metrics, clock, {"jobs": 20, "mail": 5})
    await evaluator.evaluate_once(())
    assert firing(engine) == ["jobs", "video"]  # the clear period has not passed
    clock.advance(31)
    await depths(custom_metrics, clock, {"jobs": 30, "mail": 5})
    await evaluator.evaluate_once(())
    assert firing(engine) == ["video"]  # video's last point is still in the window
    await evaluate(evaluator, clock, 60)  # video has no point in the window now …
    assert firing(engine) == ["video"]
    await evaluate(evaluator, clock, 30)  # … and for the clear period
    assert firing(engine) == []
    resolved = await storage.list_alerts(AlertQuery(status=AlertStatus.RESOLVED))
    assert sorted(a.labels["queue"] for a in resolved) == ["jobs", "video"]
    assert all(a.model_id is None for a in resolved)  # read back from the store as None


async def test_five_hundred_groups_breaching_at_once_are_one_engine_step(
    storage: Storage,
    queries: MetricQueries,
    custom_metrics: CustomMetrics,
    engine: AlertEngine,
    clock: FakeClock,
) -> None:
    steps: list[Sequence[AlertEvent]] = []

    async def listen(events: Sequence[AlertEvent]) -> None:
        steps.append(list(events))

    engine.add_batch_listener(listen)
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([backlog()])
    await depths(custom_metrics, clock, {f"q{i:03d}": 500.0 + i for i in range(500)})
    await evaluate(evaluator, clock, 0)
    assert [len(s) for s in steps] == [500]
    assert len(engine.active()) == 500
    steps.clear()
    await evaluate(evaluator, clock, 120)  # every group is gone: one step resolves them
    assert [len(s) for s in steps] == [500]
    assert engine.active() == []


async def test_labels_match_exactly_and_a_group_model_id_is_the_alerts(
    storage: Storage,
    queries: MetricQueries,
    custom_metrics: CustomMetrics,
    engine: AlertEngine,
    clock: FakeClock,
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    rule = backlog(labels={"env": "prod"}, group_by=["model_id"])
    await evaluator.set_rules([rule])
    await depths(custom_metrics, clock, {"jobs": 500}, env="prod", model_id="ranker-v2")
    await depths(custom_metrics, clock, {"jobs": 900}, env="staging", model_id="ranker-v3")
    await evaluate(evaluator, clock, 0)
    (alert,) = engine.active()
    assert alert.model_id == "ranker-v2" and alert.value == 500.0
    assert alert.labels == {"model_id": "ranker-v2", "rule": "backlog"}


async def test_after_a_restart_a_group_alert_is_taken_up_and_clears(
    storage: Storage,
    queries: MetricQueries,
    custom_metrics: CustomMetrics,
    engine: AlertEngine,
    clock: FakeClock,
) -> None:
    before = RuleEvaluator(storage, queries, engine, clock)
    await before.set_rules([backlog(clear="1m")])
    await depths(custom_metrics, clock, {"jobs": 300})
    await evaluate(before, clock, 0)
    engine = AlertEngine(storage, clock, clear_period_s=300)
    await engine.load()
    after = RuleEvaluator(storage, queries, engine, clock)
    await after.set_rules([backlog(clear="1m")])
    await after.restore()
    assert states(after) == {"jobs": RuleState.FIRING}
    (alert,) = engine.active()
    assert alert.labels == {"queue": "jobs", "rule": "backlog"} and alert.model_id is None
    # Changing what the rule groups by ends the old groups' alerts.
    await after.set_rules([backlog(clear="1m", group_by=["region"])])
    assert engine.active() == [] and after.state() == {"backlog": []}
    (resolved,) = await storage.list_alerts(AlertQuery(status=AlertStatus.RESOLVED))
    assert resolved.id == alert.id
