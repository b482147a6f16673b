"""An alert's context read from a real embedded store (evaluation.alert_context):
for an error-rate alert the errors are the breaching points; for another kind
(drift) the points after the start against those before; an alert of no model has
no labels; the hint names the top value and the model's nearest event before."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitorx.core import (
    Alert,
    AlertStatus,
    AlertType,
    FakeClock,
    MetricColumns,
    Severity,
)
from monitorx.core.events import Event
from monitorx.core.timeparse import to_epoch_us
from monitorx.evaluation.alert_context import AlertContext, _arrow_groups
from monitorx.store import BreachRule, DuckDBStorage

START = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _alert(alert_type: AlertType, model_id: str | None = "scorer") -> Alert:
    return Alert(
        id=f"{alert_type.value}-1",
        model_id=model_id,
        alert_type=alert_type,
        severity=Severity.HIGH,
        status=AlertStatus.FIRING,
        message="breach",
        value=0.3,
        threshold=0.1,
        started_at=START,
        last_breach_at=START,
        updated_at=START,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStorage]:
    opened = DuckDBStorage(tmp_path / "s.duckdb", hot_max_points=0, clock=FakeClock(START))
    await opened.open()
    # Before the start: errors spread over both versions; after it: errors only on v2,
    # and traffic shifts to v2.
    rows: list[tuple[float, bool, str]] = []
    for i in range(100):
        rows.append((-20 + i * 0.1, i % 10 == 0, "v1" if i % 2 else "v2"))
    for i in range(60):
        version = "v2" if i % 5 else "v1"
        rows.append((i * 0.1, version == "v2" and i % 2 == 0, version))
    columns = MetricColumns(
        model_id=["scorer"] * len(rows),
        request_id=[f"r{i}" for i in range(len(rows))],
        ts_us=[to_epoch_us(START + timedelta(minutes=m)) for m, _, _ in rows],
        latency=[10.0 + i % 3 for i in range(len(rows))],
        error=[e for _, e, _ in rows],
        tags_json=[
            json.dumps({"version": v, "pod": f"p{i % 3}"}) for i, (*_, v) in enumerate(rows)
        ],
    )
    await opened.write_metrics(columns)
    await opened.write_events(
        [
            Event(
                id="e1",
                time=START - timedelta(minutes=4),
                event_type="config_change",
                message="put model /api/v1/models/scorer by ci",
                model_id="scorer",
                source="monitorx",
            ),
            Event(id="e2", time=START - timedelta(minutes=90), event_type="note", message="old"),
        ]
    )
    yield opened
    await opened.close()


async def test_errors_are_the_breaching_points_of_an_error_rate_alert(
    store: DuckDBStorage,
) -> None:
    context = AlertContext(store, FakeClock(START + timedelta(minutes=10)))
    body = await context.context(_alert(AlertType.ERROR_RATE))
    top = body["labels"][0]
    assert (top["label"], top["value"]) == ("version", "v2")
    assert top["breach_share"] > 0.8 > top["normal_share"]
    assert [e["id"] for e in body["events"]] == ["e1"]  # e2 is before the 60 min
    assert body["hint"].startswith("version=v2: ")
    assert body["hint"].endswith(
        "config_change 4 min before: put model /api/v1/models/scorer by ci"
    )


async def test_another_kind_compares_after_the_start_with_before(store: DuckDBStorage) -> None:
    context = AlertContext(store, FakeClock(START + timedelta(minutes=10)))
    labels = await context.labels(_alert(AlertType.DRIFT))
    assert [(h.label, h.value) for h in labels] == [("version", "v2")]
    assert labels[0].breach_share == pytest.approx(48 / 60)
    assert labels[0].normal_share == pytest.approx(50 / 100)


async def test_an_alert_of_no_model_has_no_labels(store: DuckDBStorage) -> None:
    context = AlertContext(store, FakeClock(START))
    body = await context.context(_alert(AlertType.METRIC, model_id=None))
    assert body["labels"] == [] and body["logs"] == []


@pytest.mark.parametrize(
    "rule",
    [BreachRule(latency_over=10.0), BreachRule(), BreachRule(since=START)],
    ids=["latency", "errors", "since"],
)
async def test_the_arrow_count_of_other_stores_equals_the_sql_count(
    store: DuckDBStorage, rule: BreachRule
) -> None:
    start, end = START - timedelta(minutes=30), START + timedelta(minutes=30)
    in_sql = await store.tag_breach_counts("scorer", start, end, rule)
    in_arrow = _arrow_groups(await store.read_metrics_table(start, end, "scorer"), rule)
    assert sorted(in_sql) == sorted(in_arrow)
    assert sum(n for *_, n in in_sql) == 160
