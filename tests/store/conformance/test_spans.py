"""The span store on every backend: spans kept across a restart, the trace list
summed up per trace, newest first, with each filter, per project, and retention."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pyarrow as pa

from monitorx.core import FakeClock
from monitorx.core.traces import StoredSpan
from monitorx.store import SPAN_SCHEMA, DataLifecycle, RetentionPolicy, Storage, TraceQuery
from monitorx.store.sql.rows import naive_utc
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import StorePlace

HOUR = timedelta(hours=1)


def _span(
    trace: int,
    span: int,
    parent: int | None,
    start: datetime,
    ms: float,
    *,
    name: str = "step",
    status: str = "unset",
    model_id: str | None = None,
    session_id: str | None = None,
    tokens: tuple[int, int] | None = None,
) -> StoredSpan:
    return StoredSpan(
        trace_id=f"{trace:032x}",
        span_id=f"{span:016x}",
        parent_span_id=None if parent is None else f"{parent:016x}",
        name=name,
        kind=3 if model_id else 1,
        start=start,
        end=start + timedelta(milliseconds=ms),
        status=status,
        status_message="boom" if status == "error" else None,
        model_id=model_id,
        session_id=session_id,
        input_tokens=tokens[0] if tokens else None,
        output_tokens=tokens[1] if tokens else None,
        attributes={"gen_ai.request.model": model_id, "n": span} if model_id else {"n": span},
        resource={"service.name": "chat"},
        events=[{"name": "exception", "time": "2026-01-01T00:00:00+00:00", "attributes": {}}]
        if status == "error"
        else [],
    )


def _table(spans: list[StoredSpan]) -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in SPAN_SCHEMA.names}
    for s in spans:
        for name in SPAN_SCHEMA.names:
            if name in ("start_ts", "end_ts"):
                value: object = naive_utc(s.start if name == "start_ts" else s.end)
            elif name == "status":
                value = s.status
            elif name in ("attributes", "resource", "events"):
                value = orjson.dumps(getattr(s, name)).decode()
            else:
                value = getattr(s, name)
            columns[name].append(value)
    return pa.table(columns, schema=SPAN_SCHEMA)


def _two_traces() -> list[StoredSpan]:
    t0 = NOW - 30 * timedelta(minutes=1)
    t1 = NOW - 10 * timedelta(minutes=1)
    return [
        # Trace 1: an agent span over two LLM calls, one failing.
        _span(1, 1, None, t0, 900, name="agent", session_id="conv-1"),
        _span(1, 2, 1, t0 + timedelta(milliseconds=10), 300, model_id="gpt-4o", tokens=(10, 5)),
        _span(
            1,
            3,
            1,
            t0 + timedelta(milliseconds=400),
            450,
            model_id="gpt-4o",
            status="error",
            tokens=(7, 0),
        ),
        # Trace 2, later and quick: one LLM span of another model, no root yet.
        _span(2, 4, 9, t1, 50, name="chat llama", model_id="meta-llama:Llama-3-8B", tokens=(3, 4)),
    ]


async def test_spans_survive_a_restart_in_their_tree(storage: Storage, place: StorePlace) -> None:
    spans = _two_traces()
    await storage.write_spans(_table(spans))
    storage = await place.reopen(storage)
    assert await storage.get_trace(f"{1:032x}") == spans[:3]
    assert await storage.get_trace(f"{2:032x}") == spans[3:]
    assert await storage.get_trace(f"{3:032x}") == []


async def test_trace_list_sums_up_each_trace_newest_first(storage: Storage) -> None:
    await storage.write_spans(_table(_two_traces()))
    listed = await storage.list_traces(TraceQuery(NOW - HOUR, NOW))
    assert [t.trace_id for t in listed] == [f"{2:032x}", f"{1:032x}"]
    quick, agent = listed
    assert (agent.name, agent.span_count, agent.error, agent.model_id) == (
        "agent",
        3,
        True,
        "gpt-4o",
    )
    assert agent.duration_ms == 900
    assert (agent.input_tokens, agent.output_tokens, agent.session_id) == (17, 5, "conv-1")
    assert agent.start == NOW - 30 * timedelta(minutes=1)
    assert (quick.name, quick.span_count, quick.error) == ("chat llama", 1, False)
    assert (quick.input_tokens, quick.output_tokens, quick.session_id) == (3, 4, None)


async def test_each_trace_filter_selects(storage: Storage) -> None:
    await storage.write_spans(_table(_two_traces()))
    agent, quick = f"{1:032x}", f"{2:032x}"

    async def ids(**filters: object) -> list[str]:
        query = TraceQuery(NOW - HOUR, NOW, **filters)  # type: ignore[arg-type]
        return [t.trace_id for t in await storage.list_traces(query)]

    assert await ids(model_id="gpt-4o") == [agent]
    assert await ids(model_id="meta-llama:Llama-3-8B") == [quick]
    assert await ids(session_id="conv-1") == [agent]
    assert await ids(error=True) == [agent]
    assert await ids(error=False) == [quick]
    assert await ids(min_duration_ms=900) == [agent]
    assert await ids(min_duration_ms=901) == []
    assert await ids(limit=1) == [quick]
    # The range holds a trace when one of its spans starts in it: [start, end).
    late = TraceQuery(NOW - 20 * timedelta(minutes=1), NOW)
    assert [t.trace_id for t in await storage.list_traces(late)] == [quick]
    early = TraceQuery(NOW - HOUR, NOW - 10 * timedelta(minutes=1))
    assert [t.trace_id for t in await storage.list_traces(early)] == [agent]


async def test_projects_see_only_their_spans(storage: Storage, place: StorePlace) -> None:
    other = await place.open("other-project")
    await storage.write_spans(_table(_two_traces()))
    assert await other.list_traces(TraceQuery(NOW - HOUR, NOW)) == []
    assert await other.get_trace(f"{1:032x}") == []


async def test_retention_drops_spans_that_started_before_the_cutoff(storage: Storage) -> None:
    await storage.write_spans(_table(_two_traces()))
    await storage.delete_spans_before(NOW - 20 * timedelta(minutes=1))
    listed = await storage.list_traces(TraceQuery(NOW - HOUR, NOW))
    assert [t.trace_id for t in listed] == [f"{2:032x}"]
    assert await storage.get_trace(f"{1:032x}") == []


async def test_newest_first_counts_a_trace_from_its_first_span(storage: Storage) -> None:
    """A long trace whose first span is old and whose last span is the newest of all
    is listed where it started, not where its last span did."""
    minute = timedelta(minutes=1)
    spans = [_span(100 + i, 1000 + i, None, NOW - (i + 1) * minute, 10) for i in range(100)]
    spans.append(_span(7, 1, None, NOW - 119 * minute, 10, name="long"))
    spans.append(_span(7, 2, 1, NOW - timedelta(seconds=1), 500, name="late child"))
    await storage.write_spans(_table(spans))
    window = TraceQuery(NOW - 2 * HOUR, NOW, limit=3)
    listed = await storage.list_traces(window)
    assert [t.trace_id for t in listed] == [f"{100 + i:032x}" for i in range(3)]
    everything = await storage.list_traces(TraceQuery(NOW - 2 * HOUR, NOW, limit=1000))
    assert len(everything) == 101
    long = everything[-1]
    assert (long.trace_id, long.name, long.span_count) == (f"{7:032x}", "long", 2)
    assert long.start == NOW - 119 * minute
    sessions = await storage.list_traces(TraceQuery(NOW - 2 * HOUR, NOW, limit=2, error=False))
    assert [t.trace_id for t in sessions] == [f"{100:032x}", f"{101:032x}"]


async def test_the_lifecycle_run_keeps_spans_as_long_as_raw_metrics(storage: Storage) -> None:
    old = _span(1, 1, None, NOW - timedelta(days=8), 10, name="old")
    recent = _span(2, 2, None, NOW - timedelta(days=6), 10, name="recent")
    await storage.write_spans(_table([old, recent]))
    lifecycle = DataLifecycle(storage, RetentionPolicy(raw_s=7 * 86_400), FakeClock(NOW))
    await lifecycle.run_once()
    assert await storage.get_trace(old.trace_id) == []
    assert await storage.get_trace(recent.trace_id) == [recent]
