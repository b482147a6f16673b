"""Events and logs on every backend: kept across a restart, listed newest first
with each filter, found by words (all of them, any case), by severity and up and
by trace, per project, and cut by retention (logs' word index with them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitorx.core import FakeClock, MetricColumns
from monitorx.core.events import Event, EventQuery, LogEntry, LogQuery, LogSeverity
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import BreachRule, DataLifecycle, RetentionPolicy, Storage, TagBreachCounts
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import StorePlace

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _events() -> list[Event]:
    return [
        Event(
            id="e1",
            time=NOW - timedelta(minutes=50),
            event_type="model_deploy",
            message="fraud-v3 v2 deployed",
            model_id="fraud-v3",
            source="ci",
            attributes={"version": "v2", "canary": True},
            tags=("deploy", "production"),
        ),
        Event(
            id="e2",
            time=NOW - timedelta(minutes=40),
            time_end=NOW - timedelta(minutes=20),
            event_type="incident",
            message="eu network degraded",
            severity=LogSeverity.ERROR,
        ),
        Event(
            id="e3",
            time=NOW - timedelta(minutes=10),
            event_type="config_change",
            message="update_model /api/v1/models/fraud-v3",
            model_id="fraud-v3",
            source="monitorx",
            trace_id=TRACE,
        ),
    ]


def _logs() -> list[LogEntry]:
    lines = [
        (LogSeverity.DEBUG, "cache warm-up finished in 120 ms", None),
        (LogSeverity.INFO, "Request served for region EU", TRACE),
        (LogSeverity.WARNING, "slow upstream: feature-store timeout after 2s", TRACE),
        (LogSeverity.ERROR, "Upstream TIMEOUT talking to feature-store", None),
        (LogSeverity.CRITICAL, "worker crashed: out of memory", None),
    ]
    return [
        LogEntry(
            id=f"l{i}",
            time=NOW - timedelta(minutes=50 - 10 * i),
            severity=severity,
            message=message,
            model_id="fraud-v3" if i % 2 == 0 else "churn",
            attributes={"host": f"web-{i}", "n": i},
            trace_id=trace,
            span_id="00f067aa0ba902b7" if trace else None,
        )
        for i, (severity, message, trace) in enumerate(lines)
    ]


async def test_events_survive_a_restart_newest_first(storage: Storage, place: StorePlace) -> None:
    written = _events()
    await storage.write_events(written)
    storage = await place.reopen(storage)
    assert await storage.list_events(EventQuery()) == written[::-1]


async def test_event_filters_and_a_region_found_while_it_overlaps(storage: Storage) -> None:
    e1, e2, e3 = _events()
    await storage.write_events([e1, e2, e3])
    assert await storage.list_events(EventQuery(model_id="fraud-v3")) == [e3, e1]
    assert await storage.list_events(EventQuery(event_type="incident")) == [e2]
    assert await storage.list_events(EventQuery(source="monitorx")) == [e3]
    # e2 runs from -40 to -20 minutes: a range starting at -30 still finds it.
    window = EventQuery(start=NOW - timedelta(minutes=30), end=NOW - timedelta(minutes=5))
    assert await storage.list_events(window) == [e3, e2]
    assert await storage.list_events(EventQuery(limit=1)) == [e3]


async def test_logs_survive_a_restart_and_filter_by_severity_model_trace(
    storage: Storage, place: StorePlace
) -> None:
    written = _logs()
    await storage.write_logs(written)
    storage = await place.reopen(storage)
    newest_first = written[::-1]
    assert await storage.search_logs(LogQuery()) == newest_first
    assert await storage.search_logs(LogQuery(severity=LogSeverity.WARNING)) == newest_first[:3]
    assert await storage.search_logs(LogQuery(model_id="churn")) == [written[3], written[1]]
    assert await storage.search_logs(LogQuery(trace_id=TRACE)) == [written[2], written[1]]
    span = LogQuery(start=written[1].time, end=written[3].time)
    assert await storage.search_logs(span) == [written[2], written[1]]
    assert await storage.search_logs(LogQuery(limit=2)) == newest_first[:2]


async def test_logs_found_by_all_their_words_in_any_case(storage: Storage) -> None:
    written = _logs()
    await storage.write_logs(written)
    found = await storage.search_logs(LogQuery(text="timeout"))
    assert [entry.id for entry in found] == ["l3", "l2"]
    found = await storage.search_logs(LogQuery(text="Upstream feature-store TIMEOUT"))
    assert [entry.id for entry in found] == ["l3", "l2"]
    found = await storage.search_logs(LogQuery(text="upstream timeout", severity=LogSeverity.ERROR))
    assert [entry.id for entry in found] == ["l3"]
    # Every word must be there; a word of no message finds nothing.
    assert await storage.search_logs(LogQuery(text="timeout memory")) == []
    assert await storage.search_logs(LogQuery(text="nowhere")) == []
    assert await storage.search_logs(LogQuery(text="--- !!")) == []
    found = await storage.search_logs(LogQuery(text="region eu", trace_id=TRACE))
    assert [entry.id for entry in found] == ["l1"]


async def test_another_project_sees_none_and_retention_cuts_only_the_old(
    storage: Storage, place: StorePlace
) -> None:
    await storage.write_events(_events())
    written = _logs()
    await storage.write_logs(written)
    await place.close(storage)
    other = await place.open("conformance-other")
    assert await other.list_events(EventQuery()) == []
    assert await other.search_logs(LogQuery()) == []
    assert await other.search_logs(LogQuery(text="timeout")) == []
    await place.close(other)
    storage = await place.open()
    await storage.delete_logs_before(written[3].time)
    assert [e.id for e in await storage.search_logs(LogQuery())] == ["l4", "l3"]
    assert [e.id for e in await storage.search_logs(LogQuery(text="timeout"))] == ["l3"]
    await storage.delete_events_before(NOW - timedelta(minutes=30))
    # e1 (at -50) is gone; the region e2 ends at -20 and stays.
    assert [e.id for e in await storage.list_events(EventQuery())] == ["e3", "e2"]


async def test_the_lifecycle_keeps_events_and_logs_as_long_as_raw_metrics(
    storage: Storage,
) -> None:
    old = NOW - timedelta(days=8)
    await storage.write_events(
        [*_events(), Event(id="old", time=old, event_type="note", message="x")]
    )
    await storage.write_logs(
        [*_logs(), LogEntry(id="old", time=old, severity=LogSeverity.ERROR, message="old timeout")]
    )
    clock = FakeClock(NOW)
    lifecycle = DataLifecycle(storage, RetentionPolicy(raw_s=7 * 86_400), clock)
    await lifecycle.run_once()
    assert "old" not in {e.id for e in await storage.list_events(EventQuery())}
    assert len(await storage.list_events(EventQuery())) == 3
    assert [e.id for e in await storage.search_logs(LogQuery(text="timeout"))] == ["l3", "l2"]


async def test_points_per_tag_set_breaching_or_not(storage: Storage) -> None:
    """`TagBreachCounts`, on the stores that count in SQL (InfluxDB's window is
    counted in Arrow by evaluation.alert_context instead)."""
    if not isinstance(storage, TagBreachCounts):
        pytest.skip("this store's windows are counted in Arrow")
    columns = MetricColumns(
        model_id=["m"] * 6 + ["other"],
        request_id=[f"r{i}" for i in range(7)],
        ts_us=[to_epoch_us(NOW - timedelta(minutes=10 - i)) for i in range(7)],
        latency=[50.0, 150.0, 200.0, 50.0, 300.0, 20.0, 900.0],
        error=[False, True, False, False, True, False, True],
        tags_json=['{"region":"eu"}'] * 3 + ['{"region":"us"}'] * 2 + [None, None],
    )
    await storage.write_metrics(columns)
    start, end = NOW - timedelta(minutes=30), NOW
    slow = await storage.tag_breach_counts("m", start, end, BreachRule(latency_over=100.0))
    assert sorted(slow, key=str) == sorted(
        [
            ('{"region":"eu"}', False, 1),
            ('{"region":"eu"}', True, 2),
            ('{"region":"us"}', False, 1),
            ('{"region":"us"}', True, 1),
            (None, False, 1),
        ],
        key=str,
    )
    errors = await storage.tag_breach_counts("m", start, end, BreachRule())
    assert sum(n for _, breaching, n in errors if breaching) == 2
    later = await storage.tag_breach_counts(
        "m", start, end, BreachRule(since=NOW - timedelta(minutes=7))
    )
    assert sum(n for _, breaching, n in later if breaching) == 3


async def test_purging_a_model_deletes_its_events_and_logs(storage: Storage) -> None:
    await storage.write_events(_events())
    await storage.write_logs(_logs())
    await storage.purge_model_data("fraud-v3")
    assert [e.id for e in await storage.list_events(EventQuery())] == ["e2"]
    assert {e.model_id for e in await storage.search_logs(LogQuery())} == {"churn"}
    assert [e.id for e in await storage.search_logs(LogQuery(text="timeout"))] == ["l3"]
