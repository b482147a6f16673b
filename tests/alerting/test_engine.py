"""The alert lifecycle: open, update, resolve by hand or after the clear period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from monitorx.alerting.engine import AlertChange, AlertEngine, AlertEvent
from monitorx.core import AlertStatus, AlertType, Breach, FakeClock, NotFound, Severity
from monitorx.store import DuckDBStorage, Storage


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    store = DuckDBStorage(":memory:")
    await store.open()
    yield store
    await store.close()


def _breach(value: float, severity: Severity, model: str = "m") -> Breach:
    return Breach(
        model_id=model,
        alert_type=AlertType.LATENCY,
        severity=severity,
        value=value,
        threshold=100.0,
        message=f"latency {value}",
        observed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_second_breach_updates_the_firing_alert(storage: Storage) -> None:
    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    (first,) = await engine.process([_breach(130, Severity.MEDIUM)])
    (second,) = await engine.process([_breach(250, Severity.CRITICAL)])
    assert second.id == first.id
    assert second.value == 250 and second.severity is Severity.CRITICAL
    stored = await storage.get_alert(first.id)
    assert stored is not None and stored.value == 250


async def test_severity_never_falls_while_firing(storage: Storage) -> None:
    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    await engine.process([_breach(250, Severity.CRITICAL)])
    (alert,) = await engine.process([_breach(110, Severity.LOW)])
    assert alert.severity is Severity.CRITICAL
    assert alert.value == 110


async def test_alert_resolves_after_the_clear_period(storage: Storage) -> None:
    clock = FakeClock()
    engine = AlertEngine(storage, clock, clear_period_s=300)
    (alert,) = await engine.process([_breach(130, Severity.MEDIUM)])
    clock.advance(299)
    assert await engine.resolve_cleared() == []
    clock.advance(1)
    (resolved,) = await engine.resolve_cleared()
    assert resolved.id == alert.id and resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at == clock.now()


async def test_breach_after_resolve_opens_a_new_alert(storage: Storage) -> None:
    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    (first,) = await engine.process([_breach(130, Severity.MEDIUM)])
    await engine.resolve(first.id)
    (second,) = await engine.process([_breach(130, Severity.MEDIUM)])
    assert second.id != first.id


async def test_acknowledge_keeps_it_firing(storage: Storage) -> None:
    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    (alert,) = await engine.process([_breach(130, Severity.MEDIUM)])
    acked = await engine.acknowledge(alert.id)
    assert acked.acknowledged and acked.status is AlertStatus.FIRING
    (updated,) = await engine.process([_breach(140, Severity.MEDIUM)])
    assert updated.acknowledged


async def test_unknown_alert_is_not_found(storage: Storage) -> None:
    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    with pytest.raises(NotFound):
        await engine.resolve("nope")


async def test_active_alerts_are_reloaded(storage: Storage) -> None:
    clock = FakeClock()
    engine = AlertEngine(storage, clock, clear_period_s=300)
    (alert,) = await engine.process([_breach(130, Severity.MEDIUM)])
    reborn = AlertEngine(storage, clock, clear_period_s=300)
    await reborn.load()
    (again,) = await reborn.process([_breach(140, Severity.MEDIUM)])
    assert again.id == alert.id
    assert reborn.active_counts() == {"m": 1}


async def test_listeners_hear_every_change(storage: Storage) -> None:
    heard: list[AlertEvent] = []
    plain: list[AlertChange] = []

    async def listener(event: AlertEvent) -> None:
        heard.append(event)

    def failing(_event: AlertEvent) -> None:
        raise RuntimeError("a broken handler must not stop the others")

    engine = AlertEngine(storage, FakeClock(), clear_period_s=300)
    engine.add_listener(failing)
    engine.add_listener(listener)
    engine.add_listener(lambda event: plain.append(event.change))  # a plain function
    (alert,) = await engine.process([_breach(130, Severity.MEDIUM)])
    await engine.process([_breach(180, Severity.HIGH)])
    await engine.acknowledge(alert.id)
    await engine.resolve(alert.id)
    changes = [AlertChange.FIRED, AlertChange.UPDATED, AlertChange.ACKNOWLEDGED]
    changes.append(AlertChange.RESOLVED)
    assert [e.change for e in heard] == changes
    assert plain == changes
    assert [e.alert.status for e in heard][-1] is AlertStatus.RESOLVED
    assert heard[0].previous is None
    assert heard[1].previous is not None and heard[1].previous.severity is Severity.MEDIUM
    assert heard[1].alert.severity is Severity.HIGH
