"""Records as tables (`records_from_table`) give the table a JSON body gives
(`decode_records`), and the typed fast path of JSON rows keeps the rules of the
inferred one."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from monitorx.core import ValidationError
from monitorx.ingest.feature_tables import table_from_rows
from monitorx.ingest.record_tables import records_from_table
from monitorx.ingest.records import decode_records

NOW_US = 1_790_000_000_000_000


def test_a_table_decodes_to_the_json_records_table() -> None:
    when = datetime(2026, 11, 22, 12, 0, 1, 250_000, tzinfo=UTC)
    items = [
        {"request_id": "a", "features": {"x": 1, "b": True, "c": "fr"}, "prediction": 0.5,
         "timestamp": when.isoformat()},
        {"request_id": None, "features": {"x": 2.5, "b": False, "c": None}},
    ]  # fmt: skip
    table = pa.table(
        {
            "request_id": ["a", None],
            "prediction": [0.5, None],
            "timestamp": pa.array([when, None], pa.timestamp("ms", tz="UTC")),
            "x": [1, 2.5],
            "b": [True, False],
            "c": pa.array(["fr", None]).dictionary_encode(),
        }
    )

    assert records_from_table(table, NOW_US).equals(decode_records(items, NOW_US))


def test_epoch_seconds_round_to_microseconds_as_json_does() -> None:
    items = [{"features": {"x": 1.0}, "timestamp": 1_700_000_000.0000017}]
    table = pa.table({"timestamp": [1_700_000_000.0000017], "x": [1.0]})
    assert records_from_table(table, NOW_US).equals(decode_records(items, NOW_US))


def test_string_view_columns_are_strings() -> None:
    if not hasattr(pa, "string_view"):
        pytest.skip("pyarrow without string_view")
    table = pa.table({"c": pa.array(["fr", "de"], pa.string_view())})
    out = records_from_table(table, NOW_US)
    assert out.column("f:c").type == pa.string()


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"a": 1.0}, {"a": "x"}], "rows[1].a"),
        ([{"a": "x"}, {"a": 1.0}], "rows[1].a"),
        ([{"a": 1.0}, {"a": float("nan")}], "rows[1].a"),
        ([{"a": 1.0}, {"a": [1]}], "rows[1].a"),
    ],
)
def test_the_typed_path_still_names_a_bad_value(rows: list[dict[str, object]], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        table_from_rows(rows, "rows")
    assert refused.value.errors[0].field == field


def test_the_typed_path_gives_what_inference_gives() -> None:
    rows: list[dict[str, object]] = [
        {"a": 1, "b": "x", "c": True},
        {"c": 2.5, "b": "y", "a": 2**60},  # other order; an int past 2**53
        {"a": 3, "b": "z", "c": False, "d": 1.0},  # one more feature: kept
    ]
    table = table_from_rows(rows, "rows")
    assert table.column_names == ["a", "b", "c", "d"]
    assert table.column("a").to_pylist() == [1.0, float(2**60), 3.0]
    assert table.column("c").to_pylist() == [1.0, 2.5, 0.0]
    assert table.column("d").to_pylist() == [None, None, 1.0]


def test_a_row_with_another_name_of_the_same_count_keeps_it() -> None:
    table = table_from_rows([{"a": 1.0, "b": 2.0}, {"a": 3.0, "c": 4.0}], "rows")
    assert table.column_names == ["a", "b", "c"]
    assert table.column("c").to_pylist() == [None, 4.0]


def test_a_row_that_is_a_list_is_refused_by_position() -> None:
    with pytest.raises(ValidationError) as refused:
        table_from_rows([{"a": 1.0}, [2.0]], "rows")
    assert refused.value.errors[0].field == "rows[1]"
