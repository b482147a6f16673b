"""Records and labels past the raw retention go, hour by hour; reference sets stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from monitorx.core import FakeClock
from monitorx.ingest.records import decode_labels, decode_records
from monitorx.records.store import RecordStore
from monitorx.store import DuckDBStorage

HOUR = datetime(2026, 11, 22, 10, tzinfo=UTC)


def _records(at: datetime, count: int) -> pa.Table:
    items = [
        {"request_id": f"{at:%H}-{i}", "features": {"x": float(i)}, "timestamp": at.timestamp() + i}
        for i in range(count)
    ]
    return decode_records(items, 0)


async def test_drop_expired_removes_the_hours_past_retention(tmp_path: Path) -> None:
    clock = FakeClock(HOUR + timedelta(hours=3, minutes=30))
    store = DuckDBStorage(tmp_path / "store.duckdb", hot_max_points=0, clock=clock)
    await store.open()
    try:
        data = RecordStore(store, clock)
        await data.put_reference("m", pa.table({"x": [1.0, 2.0]}))
        for hour in range(3):
            await data.log_records("m", _records(HOUR + timedelta(hours=hour), 10 + hour))
        await data.log_labels("m", decode_labels([{"request_id": "11-2", "label": 1}]))

        # Two hours of retention at 13:30: the hours ending by 11:30 go (10:00–11:00).
        dropped = await data.drop_expired(2 * 3600)

        assert dropped == 1
        window = await data.records("m", HOUR, HOUR + timedelta(hours=3))
        assert window.rows_seen == 11 + 12
        assert await data.reference_table("m") is not None
        # The label arrived at 13:30: kept, and still joined to its record of 11:00.
        labelled = await data.records_with_labels("m", HOUR, HOUR + timedelta(hours=3))
        assert labelled.label is not None
        assert int((~np.isnan(labelled.label)).sum()) == 1
        clock.advance(4 * 3600)
        assert await data.drop_expired(2 * 3600) == 3  # two record hours and the labels
        assert (await data.records("m", HOUR, clock.now())).rows_seen == 0
    finally:
        await store.close()
