"""Window rules evaluated over a real store: pending, firing, updates, the clear
period, rules that go away, a restart; and the one-bucket aggregate on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.rules.definition import RuleRecord
from monitorx.alerting.rules.evaluation import RuleEvaluator
from monitorx.alerting.rules.values import aggregate_over
from monitorx.alerting.rules.window import RuleState
from monitorx.core import AlertStatus, AlertType, FakeClock, MetricColumns, MetricName, Severity
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import Aggregation, AlertQuery, Storage, open_storage
from monitorx.store.metric_queries import MetricQueries
from tests.backends import backend_url

# Not aligned to any round interval: a window must not be split at a bucket edge.
NOW = datetime(2026, 11, 22, 12, 3, 17, 250_000, tzinfo=UTC)


def columns(model: str, times: Sequence[datetime], latencies: Sequence[float]) -> MetricColumns:
    n = len(times)
    return MetricColumns(
        model_id=[model] * n,
        request_id=[f"{model}-{to_epoch_us(t)}-{i}" for i, t in enumerate(times)],
        ts_us=[to_epoch_us(t) for t in times],
        latency=list(latencies),
    )


async def write_latency(
    storage: Storage, clock: FakeClock, latency: float, n: int = 20, model: str = "m"
) -> None:
    """``n`` points of ``latency`` spread over the 10 seconds before the clock."""
    now = clock.now()
    times = [now - timedelta(seconds=10) + timedelta(seconds=10 * i / n) for i in range(n)]
    await storage.write_metrics(columns(model, times, [latency] * n))


def record(**changes: Any) -> RuleRecord:
    body: dict[str, Any] = {
        "id": "p95-latency",
        "metric": "latency",
        "aggregation": "p95",
        "window": "1m",
        "op": ">",
        "threshold": 250,
        "for": "2m",
        "clear": "5m",
    }
    return RuleRecord.from_body(body | changes)


async def step(
    evaluator: RuleEvaluator,
    storage: Storage,
    clock: FakeClock,
    seconds: float,
    latency: float | None,
    models: Sequence[str] = ("m",),
) -> RuleState:
    """Move the clock, write a burst of ``latency`` (None: no traffic), evaluate;
    return the rule's state for model m."""
    clock.advance(seconds)
    if latency is not None:
        await write_latency(storage, clock, latency)
    await evaluator.evaluate_once(models)
    (state,) = [s for s in evaluator.state()["p95-latency"] if s.model_id == "m"] or [None]
    return RuleState.INACTIVE if state is None else state.state


async def test_pending_then_firing_only_after_for(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record()])
    assert await step(evaluator, storage, clock, 0, 400) is RuleState.PENDING
    (state,) = evaluator.state()["p95-latency"]
    assert state.active_since == NOW and state.value == 400.0 and state.evaluated_at == NOW
    for _ in range(7):
        assert await step(evaluator, storage, clock, 15, 400) is RuleState.PENDING
    assert engine.active() == []
    assert await step(evaluator, storage, clock, 15, 400) is RuleState.FIRING  # 120 s in
    (alert,) = engine.active()
    assert alert.labels == {"rule": "p95-latency"}
    assert alert.alert_type is AlertType.LATENCY
    assert (alert.value, alert.threshold, alert.severity) == (400.0, 250.0, Severity.HIGH)
    assert alert.message == "p95 latency over 1m is 400, > 250 (rule p95-latency)"
    (state,) = evaluator.state()["p95-latency"]
    assert state.active_since == NOW  # when it began to hold, not when it fired


async def test_a_dip_while_pending_drops_it_and_no_alert_is_raised(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record()])
    await step(evaluator, storage, clock, 0, 400)
    await step(evaluator, storage, clock, 60, 400)
    # A minute later the window holds only fast requests.
    assert await step(evaluator, storage, clock, 61, 100) is RuleState.INACTIVE
    assert await step(evaluator, storage, clock, 61, 400) is RuleState.PENDING
    await step(evaluator, storage, clock, 60, 400)
    assert engine.active() == []
    assert await storage.list_alerts(AlertQuery()) == []


async def test_a_firing_alert_is_updated_not_duplicated(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record(**{"for": 0})])
    await step(evaluator, storage, clock, 0, 300)
    (first,) = engine.active()
    assert first.severity is Severity.LOW
    await step(evaluator, storage, clock, 61, 600)
    (second,) = engine.active()
    assert second.id == first.id
    assert (second.value, second.severity) == (600.0, Severity.CRITICAL)


async def test_it_resolves_only_after_the_clear_period_and_a_breach_resets_it(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record(**{"for": 0, "clear": "5m"})])
    await step(evaluator, storage, clock, 0, 400)
    (alert,) = engine.active()
    # Quiet (no data counts as false) for 4 minutes, then one more breach at 250 s.
    assert await step(evaluator, storage, clock, 240, None) is RuleState.FIRING
    await step(evaluator, storage, clock, 10, 400)
    assert await step(evaluator, storage, clock, 290, 100) is RuleState.FIRING  # clear from 540 s
    assert await step(evaluator, storage, clock, 10, 100) is RuleState.FIRING
    # 300 s since the last breach: the engine's own clear period leaves a rule's alert.
    await engine.resolve_cleared()
    assert [a.id for a in engine.active()] == [alert.id]
    assert await step(evaluator, storage, clock, 289, 100) is RuleState.FIRING
    assert await step(evaluator, storage, clock, 1, 100) is RuleState.INACTIVE
    assert engine.active() == []
    stored = await storage.get_alert(alert.id)
    assert stored is not None and stored.status is AlertStatus.RESOLVED


async def test_count_of_no_traffic_is_zero_and_fires_a_below_rule(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    rule = record(aggregation="count", op="<", threshold=1, **{"for": 0}, model_ids=["m"])
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([rule])
    await evaluator.evaluate_once([])  # explicit model_ids are evaluated all the same
    (alert,) = engine.active()
    assert (alert.model_id, alert.value, alert.severity) == ("m", 0.0, Severity.CRITICAL)


async def test_rules_apply_to_their_models_or_to_every_given_model(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    for model in ("a", "b", "c"):
        await write_latency(storage, clock, 400, model=model)
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record(**{"for": 0}), record(id="only-b", model_ids=["b"])])
    await evaluator.evaluate_once(["a", "b"])
    state = evaluator.state()
    assert [s.model_id for s in state["p95-latency"]] == ["a", "b"]
    assert [s.model_id for s in state["only-b"]] == ["b"]
    assert sorted(a.model_id for a in engine.active()) == ["a", "b"]


async def test_deleting_or_disabling_a_rule_resolves_its_alerts(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    fast = record(**{"for": 0})
    await evaluator.set_rules([fast, record(id="other", **{"for": 0})])
    await step(evaluator, storage, clock, 0, 400)
    assert len(engine.active()) == 2
    await evaluator.set_rules([fast, record(id="other", enabled=False)])
    assert [a.labels["rule"] for a in engine.active()] == ["p95-latency"]
    assert "other" not in evaluator.state()
    await evaluator.set_rules([])
    assert engine.active() == []


async def test_a_model_gone_from_the_list_clears_like_no_data(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = RuleEvaluator(storage, queries, engine, clock)
    await evaluator.set_rules([record(**{"for": 0, "clear": "1m"})])
    await step(evaluator, storage, clock, 0, 400)
    assert len(engine.active()) == 1
    await step(evaluator, storage, clock, 30, 400, models=())
    assert len(engine.active()) == 1
    await step(evaluator, storage, clock, 60, 400, models=())
    assert engine.active() == []
    assert evaluator.state()["p95-latency"] == []


async def test_after_a_restart_a_firing_rule_alert_still_clears(
    storage: Storage, queries: MetricQueries, engine: AlertEngine, clock: FakeClock
) -> None:
    before = RuleEvaluator(storage, queries, engine, clock)
    await before.set_rules([record(**{"for": 0, "clear": "1m"}), record(id="gone", **{"for": 0})])
    await step(before, storage, clock, 0, 400)
    # A new engine and evaluator on the same store: the server restarted, and the
    # rule "gone" was deleted meanwhile.
    engine = AlertEngine(storage, clock, clear_period_s=300)
    await engine.load()
    after = RuleEvaluator(storage, queries, engine, clock)
    await after.set_rules([record(**{"for": 0, "clear": "1m"})])
    await after.restore()
    (alert,) = engine.active()
    assert alert.labels == {"rule": "p95-latency"}
    assert after.state()["p95-latency"][0].state is RuleState.FIRING
    await step(after, storage, clock, 61, None)
    await step(after, storage, clock, 60, None)
    assert engine.active() == []


# The one-bucket aggregate, on every backend ------------------------------------------

BACKENDS = ("duckdb", "duckdb-sql", "postgres", "influx")


@pytest.fixture(params=BACKENDS)
async def any_storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Storage]:
    name: str = request.param
    with backend_url(name.removesuffix("-sql"), tmp_path) as url:
        store = open_storage(
            url,
            "rules",
            clock=clock,
            data_dir=tmp_path,
            hot_max_points=0 if name == "duckdb-sql" else 100_000,
        )
        await store.open()
        try:
            yield store
        finally:
            await store.close()


@pytest.mark.parametrize("window_s", [60, 300, 3600])
async def test_a_window_is_one_exact_aggregate_on_every_backend(
    any_storage: Storage, clock: FakeClock, window_s: int
) -> None:
    rng = np.random.default_rng(window_s)
    offsets = np.sort(rng.uniform(0, 2 * window_s, 400))
    times = [NOW - timedelta(seconds=float(s)) for s in offsets]
    latencies = rng.lognormal(4, 0.6, 400).round(3)
    await any_storage.write_metrics(columns("m", times, latencies.tolist()))
    inside = latencies[[NOW - timedelta(seconds=window_s) <= t < NOW for t in times]]
    start = NOW - timedelta(seconds=window_s)
    for aggregation, expected in [
        (Aggregation.COUNT, float(inside.size)),
        (Aggregation.MEAN, float(inside.mean())),
        (Aggregation.MAX, float(inside.max())),
        (Aggregation.P95, float(np.percentile(inside, 95))),
        (Aggregation.P99, float(np.percentile(inside, 99))),
    ]:
        found = await aggregate_over(any_storage, "m", MetricName.LATENCY, aggregation, start, NOW)
        assert found == pytest.approx(expected, rel=1e-9), aggregation
    nothing = NOW - timedelta(days=30)
    empty = await aggregate_over(
        any_storage, "m", MetricName.LATENCY, Aggregation.P95, nothing, nothing + timedelta(1)
    )
    count = await aggregate_over(
        any_storage, "m", MetricName.LATENCY, Aggregation.COUNT, nothing, nothing + timedelta(1)
    )
    assert (empty, count) == (None, 0.0)
