"""Alerts: `save_alert` (create and update), `get_alert`, `list_alerts` with every
filter, and `active_alerts`, which the alert engine reloads on start."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from monitorx.core import Alert, AlertStatus, AlertType, Severity
from monitorx.store import AlertQuery, Storage
from tests.store.conformance.samples import MODELS, NOW, random_alerts

DATA_START = NOW - timedelta(days=2)
ALL = 10_000


def _newest_first(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.started_at, reverse=True)


@pytest.fixture
async def written(storage: Storage) -> list[Alert]:
    alerts = random_alerts(np.random.default_rng(41), 30, DATA_START, 2 * 86400)
    for alert in alerts:
        await storage.save_alert(alert)
    return alerts


async def test_every_field_reads_back_as_saved(storage: Storage, written: list[Alert]) -> None:
    for alert in written:
        assert await storage.get_alert(alert.id) == alert
    assert await storage.get_alert("never-saved") is None


async def test_saving_the_same_id_again_updates_the_alert(
    storage: Storage, written: list[Alert]
) -> None:
    firing = next(a for a in written if a.status is AlertStatus.FIRING)
    resolved_at = firing.started_at + timedelta(minutes=3, microseconds=17)
    resolved = firing.evolve(
        status=AlertStatus.RESOLVED,
        severity=Severity.CRITICAL,
        value=firing.value * 3,
        message="resolved: back under the threshold",
        updated_at=resolved_at,
        resolved_at=resolved_at,
        acknowledged=True,
        acknowledged_at=resolved_at,
        labels={"runbook": "https://runbooks.example/latency"},
    )

    await storage.save_alert(resolved)

    assert await storage.get_alert(firing.id) == resolved
    listed = await storage.list_alerts(AlertQuery(limit=ALL))
    assert [a.id for a in listed].count(firing.id) == 1
    assert firing.id not in {a.id for a in await storage.active_alerts()}


async def test_list_is_newest_first_up_to_the_limit(storage: Storage, written: list[Alert]) -> None:
    assert await storage.list_alerts(AlertQuery(limit=ALL)) == _newest_first(written)
    for limit in (1, 5, len(written)):
        found = await storage.list_alerts(AlertQuery(limit=limit))
        assert found == _newest_first(written)[:limit], limit


FILTERS: dict[str, list[object]] = {
    "model_id": [*MODELS, "never-seen"],
    "status": list(AlertStatus),
    "severity": list(Severity),
    "alert_type": list(AlertType),
}


async def test_each_filter_keeps_the_matching_alerts(
    storage: Storage, written: list[Alert]
) -> None:
    for field, values in FILTERS.items():
        for value in values:
            found = await storage.list_alerts(AlertQuery(limit=ALL, **{field: value}))
            expected = _newest_first([a for a in written if getattr(a, field) == value])
            assert found == expected, f"{field}={value}"
            limited = await storage.list_alerts(AlertQuery(limit=2, **{field: value}))
            assert limited == expected[:2], f"{field}={value}, limit 2"


async def test_filters_combine(storage: Storage, written: list[Alert]) -> None:
    for model_id in MODELS:
        for status in AlertStatus:
            query = AlertQuery(limit=ALL, model_id=model_id, status=status)
            expected = [a for a in written if a.model_id == model_id and a.status is status]
            assert await storage.list_alerts(query) == _newest_first(expected)
    first = written[0]
    exact = AlertQuery(
        limit=ALL,
        model_id=first.model_id,
        status=first.status,
        severity=first.severity,
        alert_type=first.alert_type,
    )
    assert first in await storage.list_alerts(exact)


async def test_active_alerts_are_those_not_resolved(storage: Storage, written: list[Alert]) -> None:
    found = await storage.active_alerts()

    expected = [a for a in written if a.status is not AlertStatus.RESOLVED]
    assert {a.status for a in expected} == {AlertStatus.FIRING, AlertStatus.PENDING}
    assert sorted(found, key=lambda a: a.id) == sorted(expected, key=lambda a: a.id)


async def test_no_alerts_saved_lists_nothing(storage: Storage) -> None:
    assert await storage.list_alerts(AlertQuery()) == []
    assert await storage.active_alerts() == []


async def test_save_alerts_stores_many_at_once_and_updates_the_saved_ones(
    storage: Storage, written: list[Alert]
) -> None:
    changed = [a.evolve(message=f"{a.message} (again)") for a in written[:5]]
    fresh = [
        a.evolve(id=f"fresh-{a.id}", labels={**a.labels, "batch": "fresh"})
        for a in random_alerts(np.random.default_rng(42), 20, DATA_START, 86400)
    ]
    await storage.save_alerts([*changed, *fresh])
    await storage.save_alerts([])
    for alert in [*changed, *fresh, *written[5:]]:
        assert await storage.get_alert(alert.id) == alert
    assert len(await storage.list_alerts(AlertQuery(limit=ALL))) == len(written) + len(fresh)
