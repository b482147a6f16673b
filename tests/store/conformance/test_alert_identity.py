"""One open alert per identity, whoever breaches it: `open_or_update_alerts`,
`resolve_alerts`, `acknowledge_alert` and `alerts_updated_since` under concurrent
callers — on PostgreSQL also from two stores at once, as two replicas are."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from monitorx.core import Alert, AlertStatus, AlertType, Severity
from monitorx.store import Storage
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import StorePlace


def _opened(severity: Severity, value: float, at_s: float = 0.0, model: str = "fraud") -> Alert:
    when = NOW + timedelta(seconds=at_s)
    return Alert(
        id=uuid.uuid4().hex,
        model_id=model,
        alert_type=AlertType.LATENCY,
        severity=severity,
        status=AlertStatus.FIRING,
        message=f"p95 {value} ms",
        value=value,
        threshold=100.0,
        started_at=when,
        last_breach_at=when,
        updated_at=when,
        labels={"region": "eu"},
    )


async def _stores(place: StorePlace, storage: Storage) -> list[Storage]:
    """The test's store, and on PostgreSQL a second one on the same database."""
    return [storage, await place.open()] if place.backend == "postgres" else [storage]


async def test_breaches_racing_open_one_alert_and_severity_only_rises(
    place: StorePlace, storage: Storage
) -> None:
    stores = await _stores(place, storage)
    severities = [Severity.LOW, Severity.CRITICAL, Severity.MEDIUM, Severity.HIGH] * 10
    results = await asyncio.gather(
        *(
            stores[i % len(stores)].open_or_update_alerts([_opened(sev, 100.0 + i, i * 0.001)])
            for i, sev in enumerate(severities)
        )
    )

    pairs = [pair for result in results for pair in result]
    assert sum(opened for _, opened in pairs) == 1
    assert len({alert.id for alert, _ in pairs}) == 1
    active = await storage.active_alerts()
    assert len(active) == 1
    assert active[0].severity is Severity.CRITICAL
    assert active[0].id == pairs[0][0].id


async def test_a_breach_after_the_resolve_opens_a_new_alert(storage: Storage) -> None:
    ((first, opened),) = await storage.open_or_update_alerts([_opened(Severity.HIGH, 150.0)])
    assert opened
    resolved = await storage.resolve_alerts([first.id], NOW + timedelta(seconds=5))
    assert [a.id for a in resolved] == [first.id]

    ((second, opened_again),) = await storage.open_or_update_alerts(
        [_opened(Severity.LOW, 120.0, 10)]
    )

    assert opened_again and second.id != first.id
    stored_first = await storage.get_alert(first.id)
    assert stored_first is not None and stored_first.status is AlertStatus.RESOLVED
    assert [a.id for a in await storage.active_alerts()] == [second.id]


async def test_one_call_opens_and_updates_several_identities(storage: Storage) -> None:
    (([existing, _]),) = await storage.open_or_update_alerts([_opened(Severity.LOW, 110.0)])
    storm = [_opened(Severity.HIGH, 200.0 + i, 1, model=f"m{i:03d}") for i in range(300)]
    update = _opened(Severity.MEDIUM, 130.0, 2)

    stored = await storage.open_or_update_alerts([*storm, update])

    assert [opened for _, opened in stored] == [True] * 300 + [False]
    assert stored[-1][0].id == existing.id
    assert stored[-1][0].value == 130.0 and stored[-1][0].severity is Severity.MEDIUM
    assert stored[-1][0].started_at == existing.started_at
    assert len(await storage.active_alerts()) == 301


async def test_racing_resolves_resolve_once(place: StorePlace, storage: Storage) -> None:
    stores = await _stores(place, storage)
    ((alert, _),) = await storage.open_or_update_alerts([_opened(Severity.HIGH, 150.0)])

    results = await asyncio.gather(
        *(
            stores[i % len(stores)].resolve_alerts([alert.id], NOW + timedelta(seconds=i))
            for i in range(12)
        )
    )

    assert sum(len(r) for r in results) == 1
    assert await storage.active_alerts() == []


async def test_resolving_the_cleared_keeps_an_alert_breached_since(storage: Storage) -> None:
    stored = await storage.open_or_update_alerts(
        [_opened(Severity.HIGH, 150.0, 0, "quiet"), _opened(Severity.HIGH, 150.0, 0, "busy")]
    )
    quiet, busy = (alert for alert, _ in stored)
    # Another replica's breach of "busy" lands after the clear decision was taken.
    await storage.open_or_update_alerts([_opened(Severity.HIGH, 160.0, 60, "busy")])

    cutoff = NOW + timedelta(seconds=30)
    resolved = await storage.resolve_alerts(
        [quiet.id, busy.id], NOW + timedelta(seconds=90), cutoff
    )

    assert [a.id for a in resolved] == [quiet.id]
    assert [a.id for a in await storage.active_alerts()] == [busy.id]


async def test_acknowledge_once_and_updates_are_listed_in_order(storage: Storage) -> None:
    ((alert, _),) = await storage.open_or_update_alerts([_opened(Severity.HIGH, 150.0)])
    at = NOW + timedelta(seconds=7)

    acknowledged = await asyncio.gather(
        *(storage.acknowledge_alert(alert.id, at) for _ in range(5))
    )

    assert sum(a is not None for a in acknowledged) == 1
    assert await storage.acknowledge_alert("no-such-alert", at) is None
    stored = await storage.get_alert(alert.id)
    assert stored is not None and stored.acknowledged and stored.acknowledged_at == at
    later = await storage.open_or_update_alerts([_opened(Severity.LOW, 90.0, 20, "other")])
    since = await storage.alerts_updated_since(NOW + timedelta(seconds=5))
    assert [a.id for a in since] == [alert.id, later[0][0].id]
    assert await storage.alerts_updated_since(NOW + timedelta(seconds=21)) == []
