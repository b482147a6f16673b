"""SLO evaluation over a real (in-memory DuckDB) store: alerts raised, updated and
resolved, budgets read back, queries shared, SLOs kept as documents."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.slo.catalog import SLO_DOCUMENT_KIND, SLOCatalog
from monitorx.alerting.slo.evaluation import SLOEvaluator
from monitorx.alerting.slo.objective import SLO, AlertKind
from monitorx.core import AlertStatus, AlertType, Conflict, FakeClock, MetricColumns, Severity
from monitorx.core import ValidationError as MXValidationError
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import ErrorWindow, Storage

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = 86400.0
_ids = itertools.count()


def _slo(**fields: Any) -> SLO:
    body: dict[str, Any] = {
        "id": "fraud-availability",
        "model_id": "fraud-v3",
        "objective": "availability",
        "target": 0.999,
        "window": "30d",
    }
    return SLO.from_dict(body | fields)


async def _write(
    storage: Storage,
    end: datetime,
    span_s: float,
    n: int,
    bad_every: int = 0,
    latency: float = 20.0,
    slow_latency: float | None = None,
    model: str = "fraud-v3",
) -> None:
    """``n`` metrics spread evenly over ``[end - span_s, end)``; every ``bad_every``-th
    is an error (or, with ``slow_latency``, that slow)."""
    step_us = span_s * 1_000_000 / n
    start_us = to_epoch_us(end) - round(span_s * 1_000_000)
    bad = [bad_every > 0 and i % bad_every == bad_every - 1 for i in range(n)]
    slow = slow_latency is not None
    first_id = next(_ids)
    await storage.write_metrics(
        MetricColumns(
            model_id=[model] * n,
            model_type=[None] * n,
            request_id=[f"r{first_id}-{i}" for i in range(n)],
            ts_us=[start_us + round(i * step_us) for i in range(n)],
            latency=[slow_latency if b and slow_latency is not None else latency for b in bad],
            throughput=[None] * n,
            error_rate=[None] * n,
            error=[b and not slow for b in bad],
            gpu_memory_mb=[None] * n,
            gpu_utilization=[None] * n,
            cpu_percent=[None] * n,
            memory_mb=[None] * n,
            tags_json=[None] * n,
        )
    )


async def test_fast_burn_opens_a_critical_alert_naming_windows_and_budget(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    await _write(storage, NOW, 3600, 1000, bad_every=5)  # 20 % errors over the last hour
    evaluator = SLOEvaluator(storage, engine, clock)
    evaluator.set_slos([_slo()])
    (alert,) = await evaluator.evaluate_once()
    assert alert.alert_type is AlertType.SLO_BURN
    assert alert.labels == {"slo": "fraud-availability"}
    assert alert.severity is Severity.CRITICAL
    assert alert.value == pytest.approx(200.0)  # 0.2 / 0.001
    assert alert.threshold == 14.4
    assert "over 1h" in alert.message and "over 5m" in alert.message
    # 200 bad of 1000 allowed 1 → the budget is overspent 199 times over.
    assert "-19900.0% of the error budget left" in alert.message

    clock.advance(30)
    (again,) = await evaluator.evaluate_once()
    assert again.id == alert.id and again.status is AlertStatus.FIRING


async def test_slow_burn_raises_only_the_ticket_severity(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    # 0.5 % errors over three days: burn rate 5 — past the tickets' 3 and 1, short
    # of the pages' 14.4 and 6.
    await _write(storage, NOW, 3 * DAY, 8640, bad_every=200)
    evaluator = SLOEvaluator(storage, engine, clock)
    evaluator.set_slos([_slo(ticket_severity="high")])
    (alert,) = await evaluator.evaluate_once()
    assert alert.severity is Severity.HIGH
    assert alert.threshold == 3.0
    assert alert.value == pytest.approx(5.0, rel=0.05)
    status = await evaluator.status("fraud-availability")
    assert status.firing is AlertKind.TICKET
    assert [c.firing for c in status.verdict.conditions] == [False, False, True, True]


async def test_recovery_resolves_the_alert_once_the_short_windows_are_clean(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    await _write(storage, NOW, 3600, 1000, bad_every=5)
    evaluator = SLOEvaluator(storage, engine, clock)
    evaluator.set_slos([_slo()])
    (alert,) = await evaluator.evaluate_once()
    # Two clean hours: the page conditions calm down, but the 3d/6h ticket still
    # sees the errors in its 6h short window, so the alert stays open.
    clock.advance(2 * 3600)
    await _write(storage, clock.now(), 2 * 3600, 2400)
    (still,) = await evaluator.evaluate_once()
    assert still.id == alert.id and still.status is AlertStatus.FIRING
    # Six clean hours: every short window is clean → resolved.
    clock.advance(5 * 3600)
    await _write(storage, clock.now(), 5 * 3600, 6000)
    (resolved,) = await evaluator.evaluate_once()
    assert resolved.id == alert.id and resolved.status is AlertStatus.RESOLVED
    assert await evaluator.evaluate_once() == []


async def test_latency_objective_counts_requests_slower_than_the_limit(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    # 1000 requests in the last hour, every 4th at 400 ms (> 250), the rest at 20 ms;
    # errors do not count against a latency SLO.
    await _write(storage, NOW, 3600, 1000, bad_every=4, slow_latency=400.0)
    await _write(storage, NOW, 3600, 10, bad_every=1)  # 10 fast errors
    slo = _slo(id="fraud-fast", objective="latency", latency_ms=250, target=0.99, window="7d")
    evaluator = SLOEvaluator(storage, engine, clock)
    evaluator.set_slos([slo])
    status = await evaluator.status("fraud-fast")
    assert (status.counts.total, status.counts.bad) == (1010, 250)
    assert status.budget.allowed == pytest.approx(10.1)
    # A 7d SLO pages on 14m/70s windows: about a quarter of those requests is slow.
    (alert,) = await evaluator.evaluate_once()
    assert alert.severity is Severity.CRITICAL
    assert alert.value == pytest.approx(25, rel=0.1)
    assert "≤ 250 ms" in alert.message and "over 14m" in alert.message


async def test_budget_over_the_slo_window_matches_hand_computation(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    # 1000 requests over 6 days, 4 errors; 50 errors 8 days ago are outside a 7d window.
    await _write(storage, NOW, 6 * DAY, 1000, bad_every=250)
    await _write(storage, NOW - timedelta(days=8), 3600, 50, bad_every=1)
    evaluator = SLOEvaluator(storage, engine, clock)
    evaluator.set_slos([_slo(target=0.99, window="7d")])
    status = await evaluator.status("fraud-availability")
    assert status.counts.total == 1000
    assert status.budget.consumed == pytest.approx(4.0)
    assert status.budget.allowed == pytest.approx(10.0)
    assert status.budget.remaining == pytest.approx(0.6)
    assert status.counts.sli == pytest.approx(0.996)
    assert not status.window_clipped


async def test_slo_window_longer_than_raw_retention_is_measured_over_what_is_kept(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = SLOEvaluator(storage, engine, clock, raw_retention_s=7 * DAY)
    evaluator.set_slos([_slo(window="30d")])
    status = await evaluator.status("fraud-availability")
    assert status.measured_s == 7 * DAY and status.window_clipped


class _CountingStorage:
    """The real store, counting the window queries made through it."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.queries: list[tuple[str, float, float | None]] = []

    async def error_window(
        self, model_id: str, start: datetime, end: datetime, latency_over: float | None = None
    ) -> ErrorWindow:
        self.queries.append((model_id, (end - start).total_seconds(), latency_over))
        return await self._storage.error_window(model_id, start, end, latency_over)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


async def test_slos_of_one_model_share_their_window_queries_within_a_tick(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    counting = _CountingStorage(storage)
    evaluator = SLOEvaluator(counting, engine, clock)  # type: ignore[arg-type]
    evaluator.set_slos([_slo(id="a"), _slo(id="b", target=0.99), _slo(id="c", window="7d")])
    await evaluator.evaluate_once()
    # 30d: 5m 30m 1h 2h 6h 1d 3d and the 30d budget window; the 7d SLO's scaled
    # windows are all new, plus 7d itself.
    assert len(counting.queries) == len(set(counting.queries)) == 8 + 8
    counting.queries.clear()
    await evaluator.evaluate_once()  # a new tick reads afresh
    assert len(counting.queries) == 16


async def test_catalog_keeps_slos_as_documents_in_creation_order(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    evaluator = SLOEvaluator(storage, engine, clock)
    catalog = SLOCatalog(storage, evaluator)
    await catalog.create(_slo(id="b"))
    clock.advance(1)
    await catalog.create(_slo(id="a"))
    clock.advance(1)
    with pytest.raises(Conflict):
        await catalog.create(_slo(id="a"))
    assert await catalog.put(_slo(id="b", target=0.99)) is False
    await storage.put_document(SLO_DOCUMENT_KIND, "broken", '{"id": "broken"}')

    reloaded = SLOCatalog(storage, SLOEvaluator(storage, engine, clock))
    await reloaded.load()
    assert [(s.id, s.target) for s in reloaded.all()] == [("b", 0.99), ("a", 0.999)]
    assert [s.id for s in reloaded.evaluator.slos()] == ["b", "a"]


async def test_catalog_refuses_burn_windows_past_raw_retention(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    catalog = SLOCatalog(storage, SLOEvaluator(storage, engine, clock), raw_retention_s=7 * DAY)
    with pytest.raises(MXValidationError):
        await catalog.create(_slo(window="90d"))
    assert await storage.list_documents(SLO_DOCUMENT_KIND) == []


async def test_deleting_or_moving_an_slo_resolves_its_alert(
    storage: Storage, engine: AlertEngine, clock: FakeClock
) -> None:
    await _write(storage, NOW, 3600, 1000, bad_every=5)
    await _write(storage, NOW, 3600, 1000, bad_every=5, model="other")
    evaluator = SLOEvaluator(storage, engine, clock)
    catalog = SLOCatalog(storage, evaluator)
    await catalog.create(_slo(id="a"))
    await catalog.create(_slo(id="b"))
    first = await evaluator.evaluate_once()
    assert len(first) == 2
    await catalog.delete("a")
    await catalog.put(_slo(id="b", model_id="other"))
    assert await storage.active_alerts() == []
    (moved,) = await evaluator.evaluate_once()
    assert (moved.model_id, moved.labels) == ("other", {"slo": "b"})
