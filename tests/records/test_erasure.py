"""Erasure deletes a request's records and labels, or every row holding a value —
as sent or as masked — and nothing else; counts stay exact, samples included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from monitorx.core import FakeClock, ValidationError
from monitorx.core.pii import MaskMode, PiiKind, PiiMasker, PiiPolicy
from monitorx.ingest.records import decode_labels, decode_records
from monitorx.records.erasure import Erasure
from monitorx.records.store import RecordStore
from monitorx.store import DuckDBStorage

HOUR = datetime(2026, 11, 22, 10, tzinfo=UTC)
END = HOUR + timedelta(hours=3)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBStorage]:
    storage = DuckDBStorage(tmp_path / "store.duckdb", hot_max_points=0)
    await storage.open()
    yield storage
    await storage.close()


def _records(at: datetime, count: int, prefix: str = "r") -> pa.Table:
    items = [
        {
            "request_id": f"{prefix}{at:%H}-{i}",
            "features": {"x": float(i), "email": f"user{i % 4}@example.com"},
            "prediction": i % 2,
            "timestamp": at.timestamp() + i,
        }
        for i in range(count)
    ]
    return decode_records(items, 0)


async def _request_ids(data: RecordStore, model_id: str) -> set[str]:
    window = await data.records(model_id, HOUR, END)
    return set(window.request_id.tolist())


async def test_erasing_request_ids_deletes_their_records_and_labels_in_every_model(
    store: DuckDBStorage,
) -> None:
    clock = FakeClock(END)
    data = RecordStore(store, clock)
    for hour in range(2):
        await data.log_records("a", _records(HOUR + timedelta(hours=hour), 10))
    await data.log_records("b", _records(HOUR, 5))
    await data.log_labels("a", decode_labels([{"request_id": "r10-3", "label": 1}] * 2))
    await data.log_labels("a", decode_labels([{"request_id": "r10-4", "label": 0}]))

    erased = await data.erase(Erasure(request_ids=frozenset({"r10-3", "r11-7", "nobody"})))

    assert (erased.records, erased.labels, erased.reference_rows) == (2 + 1, 2, 0)
    assert erased.models == ["a", "b"]
    left = await _request_ids(data, "a")
    assert len(left) == 18 and not left & {"r10-3", "r11-7"}
    assert (await data.records("a", HOUR, END)).rows_seen == 18  # they count as never logged
    assert "r10-3" not in await _request_ids(data, "b")
    labels = await data.labels_for("a", pa.array(["r10-3", "r10-4"]))
    assert labels is not None and labels.to_pylist() == [None, 0.0]


async def test_erasing_a_masked_value_finds_it_by_the_value_as_sent(store: DuckDBStorage) -> None:
    masker = PiiMasker(PiiPolicy(frozenset({PiiKind.EMAIL}), key=b"k" * 32))
    data = RecordStore(store, FakeClock(END), masker=masker)
    await data.log_records("a", _records(HOUR, 8))
    await data.log_labels("a", decode_labels([{"request_id": "r10-1", "label": 1}]))
    reference = pa.table({"email": ["user1@example.com", "user2@example.com"], "x": [1.0, 2.0]})
    await data.put_reference("a", reference)
    stored = await data.records("a", HOUR, END)
    assert "user1@example.com" not in set(stored.features["email"].tolist())

    erased = await data.erase(Erasure(column="email", values=frozenset({"user1@example.com"})))

    # user1 is rows 1 and 5; the label of r10-1 goes with its record.
    assert (erased.records, erased.labels, erased.reference_rows) == (2, 1, 1)
    assert await _request_ids(data, "a") == {f"r10-{i}" for i in (0, 2, 3, 4, 6, 7)}
    left = await data.reference_table("a")
    assert left is not None and left.column("x").to_pylist() == [2.0]
    assert left.column("email").to_pylist() == [masker.mask("user2@example.com")]


async def test_erasing_a_label_value_deletes_the_records_it_labels(store: DuckDBStorage) -> None:
    data = RecordStore(store, FakeClock(END))
    await data.log_records("a", _records(HOUR, 4))
    await data.log_labels(
        "a",
        decode_labels(
            [{"request_id": "r10-0", "label": "fraud"}, {"request_id": "r10-1", "label": "ok"}]
        ),
    )
    erased = await data.erase(Erasure(column="label", values=frozenset({"fraud"}), model_id="a"))
    assert (erased.records, erased.labels) == (1, 1)
    assert await _request_ids(data, "a") == {"r10-1", "r10-2", "r10-3"}


async def test_an_erasure_reaches_into_a_compacted_sample(store: DuckDBStorage) -> None:
    data = RecordStore(store, FakeClock(END), bucket_max_rows=10, seed=1)
    for batch in range(5):  # 50 records in one hour, kept as a sample of 10 + chunks
        await data.log_records("a", _records(HOUR, 10, prefix=f"b{batch}-"))
    before = await data.records("a", HOUR, END)
    kept = sorted(before.request_id.tolist())
    erased = await data.erase(Erasure(request_ids=frozenset(kept[:3])))
    after = await data.records("a", HOUR, END)
    assert erased.records == 3
    assert after.rows_seen == before.rows_seen - 3
    assert not set(after.request_id.tolist()) & set(kept[:3])


async def test_under_redact_a_value_is_matched_as_sent_only(store: DuckDBStorage) -> None:
    masker = PiiMasker(PiiPolicy(frozenset({PiiKind.EMAIL}), mode=MaskMode.REDACT))
    data = RecordStore(store, FakeClock(END), masker=masker)
    await data.log_records("a", _records(HOUR, 4))
    # Every email is stored as "<email>": erasing one must not erase them all.
    erased = await data.erase(Erasure(column="email", values=frozenset({"user1@example.com"})))
    assert erased.records == 0 and len(await _request_ids(data, "a")) == 4


def test_an_erasure_names_ids_or_a_column_and_a_value() -> None:
    with pytest.raises(ValidationError):
        Erasure()
    with pytest.raises(ValidationError):
        Erasure(request_ids=frozenset({"r"}), column="email", values=frozenset({"x"}))
    with pytest.raises(ValidationError):
        Erasure(column="email")
