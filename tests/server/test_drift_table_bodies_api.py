"""API.md: ``PUT …/reference`` and ``POST …/records`` take Parquet and Arrow IPC
stream bodies besides JSON. The same data gives the same stored rows (masked
alike) and the same drift report whichever form it came in; a bad table is a 4xx
naming the column and problem, and nothing of it is stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitorx.core import FakeClock
from monitorx.records.blob_kinds import RECORDS
from monitorx.records.parquet_parts import read_parquet
from tests.conftest import LiveServer

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
ROWS = 240


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def arrow_body(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def parquet_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _feature_columns(rows: int, shift: float = 0.0) -> dict[str, list[Any]]:
    return {
        "amount": [float(i % 97) + shift for i in range(rows)],
        "count": [i % 7 for i in range(rows)],  # integers: numerical, as in JSON
        "vip": [i % 3 == 0 for i in range(rows)],  # booleans: numerical
        "country": [["fr", "de", "it", None][i % 4] for i in range(rows)],
        "email": [f"user{i % 5}@example.com" for i in range(rows)],  # masked alike
        "score": [None if i % 10 == 0 else i / 10 for i in range(rows)],
    }


def _record_columns(rows: int, start: datetime) -> dict[str, list[Any]]:
    return {
        "request_id": [f"req-{i}" for i in range(rows)],
        "prediction": [None if i % 11 == 0 else i % 2 for i in range(rows)],
        "timestamp": [start + timedelta(seconds=i) for i in range(rows)],
        **_feature_columns(rows, shift=20.0),
    }


def _json_records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    roles = ("request_id", "prediction", "timestamp")
    out = []
    for i in range(len(columns["request_id"])):
        item: dict[str, Any] = {
            "request_id": columns["request_id"][i],
            "timestamp": columns["timestamp"][i].isoformat(),
            "features": {k: v[i] for k, v in columns.items() if k not in roles},
        }
        if columns["prediction"][i] is not None:
            item["prediction"] = columns["prediction"][i]
        out.append(item)
    return out


def _stored_records(server: LiveServer, model_id: str) -> pa.Table:
    storage = server.services.storage

    async def read() -> list[bytes]:
        keys = await storage.list_blob_keys(RECORDS, f"{model_id}/")
        blobs = [await storage.get_blob(RECORDS, key) for key in keys]
        return [blob for blob in blobs if blob is not None]

    return pa.concat_tables([read_parquet(blob) for blob in server.on_loop(read())])


def _stored_reference(server: LiveServer, model_id: str) -> pa.Table:
    table = server.on_loop(server.services.records.reference_table(model_id))
    assert table is not None
    return table


# The table forms of one set of records: Arrow with a timestamp type (in another
# zone), Parquet with epoch seconds.
TABLE_FORMS: list[tuple[str, str, Callable[[pa.Table], bytes]]] = [
    ("arrow", ARROW, arrow_body),
    ("parquet", PARQUET, parquet_body),
]


def _as_epoch_seconds(table: pa.Table) -> pa.Table:
    index = table.column_names.index("timestamp")
    seconds = pa.array([t.timestamp() for t in table.column("timestamp").to_pylist()])
    return table.set_column(index, "timestamp", seconds)


def test_tables_give_the_json_rows_and_the_same_report(
    api: httpx.Client, live_server: LiveServer
) -> None:
    reference = pa.table(_feature_columns(ROWS))
    columns = _record_columns(ROWS, NOW - timedelta(minutes=30))
    records = pa.table(columns)
    zoned = records.set_column(
        records.column_names.index("timestamp"),
        "timestamp",
        records.column("timestamp").cast(pa.timestamp("us", tz="Europe/Paris")),
    )
    bodies = {
        "json": ({"rows": reference.to_pylist()}, _json_records(columns), None),
        "arrow": (arrow_body(reference), arrow_body(zoned), ARROW),
        "parquet": (parquet_body(reference), parquet_body(_as_epoch_seconds(records)), PARQUET),
    }
    reports = {}
    for name, (ref_body, rec_body, media) in bodies.items():
        model = f"m-{name}"
        if media is None:
            ref = api.put(f"/models/{model}/reference", json=ref_body)
            rec = api.post(f"/models/{model}/records", json=rec_body)
        else:
            headers = {"content-type": media}
            ref = api.put(f"/models/{model}/reference", content=ref_body, headers=headers)
            rec = api.post(f"/models/{model}/records", content=rec_body, headers=headers)
        assert ref.status_code == 200, ref.text
        assert ref.json() == {"rows": ROWS, "columns": list(_feature_columns(1))}
        assert rec.status_code == 202, rec.text
        assert rec.json() == {"accepted": ROWS}
        report = api.post(f"/models/{model}/drift/analyze", json={})
        assert report.status_code == 200, report.text
        reports[name] = {k: v for k, v in report.json().items() if k != "model_id"}

    assert reports["arrow"] == reports["json"]
    assert reports["parquet"] == reports["json"]
    assert reports["json"]["current_rows"] == ROWS
    stored = _stored_records(live_server, "m-json")
    assert "@" not in "".join(v for v in stored.column("f:email").to_pylist())  # masked
    assert stored.column("prediction").null_count == ROWS // 11 + 1
    for name in ("arrow", "parquet"):
        assert _stored_records(live_server, f"m-{name}").equals(stored), name
        assert _stored_reference(live_server, f"m-{name}").equals(
            _stored_reference(live_server, "m-json")
        )


def test_a_records_table_without_role_columns_is_stamped_now(
    api: httpx.Client, live_server: LiveServer, clock: FakeClock
) -> None:
    table = pa.table({"amount": [1.0, 2.0], "prediction_score": [0.1, 0.2]})

    response = api.post(
        "/models/m/records", content=arrow_body(table), headers={"content-type": ARROW}
    )

    assert response.status_code == 202, response.text
    stored = _stored_records(live_server, "m")
    assert stored.column_names == ["request_id", "ts_us", "f:amount", "f:prediction_score"]
    assert stored.column("ts_us").to_pylist() == [int(clock.now().timestamp() * 1e6)] * 2
    assert stored.column("request_id").null_count == 2


def test_nanosecond_timestamps_and_dictionary_strings_are_read(
    api: httpx.Client, live_server: LiveServer
) -> None:
    start = int((NOW - timedelta(minutes=5)).timestamp() * 1e9) + 123_456_789
    table = pa.table(
        {
            "timestamp": pa.array([start, None], pa.timestamp("ns")),
            "country": pa.array(["fr", "de"]).dictionary_encode(),
            "city": pa.array(["Lyon", "Köln"], pa.large_string()),
        }
    )

    response = api.post(
        "/models/m/records", content=parquet_body(table), headers={"content-type": PARQUET}
    )

    assert response.status_code == 202, response.text
    stored = _stored_records(live_server, "m")
    assert stored.column("ts_us").to_pylist() == [
        start // 1000,
        int(NOW.timestamp() * 1e6),
    ]
    assert stored.column("f:country").to_pylist() == ["fr", "de"]
    assert stored.column("f:city").type == pa.string()


def _bad(columns: dict[str, Any]) -> pa.Table:
    return pa.table(columns)


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        (_bad({"amount": [[1.0], [2.0]]}), "amount", "neither a number nor a string"),
        (_bad({"amount": [1.0], "timestamp": ["2026-11-22T12:00:00Z"]}), "timestamp", "epoch"),
        (_bad({"amount": [1.0], "timestamp": [-5.0]}), "timestamp", "row 0 is outside"),
        (_bad({"amount": [1.0, 2.0], "timestamp": [1.0, 3e12]}), "timestamp", "row 1"),
        (_bad({"amount": [1.0], "request_id": [5]}), "request_id", "string"),
        (_bad({"amount": [1.0, 2.0], "request_id": ["r", "r" * 129]}), "request_id", "row 1"),
        (_bad({"amount": [1.0], "prediction": [{"a": 1}]}), "prediction", "numbers or strings"),
        (_bad({"a" * 257: [1.0]}), "body", "1–256 characters"),
        (_bad({"note": ["ok", "bad\x00"]}), "note", "row 1"),
        (pa.table({"amount": pa.array([], pa.float64())}), "body", "at least one row"),
    ],
)
@pytest.mark.parametrize("form", ["arrow", "parquet"])
def test_a_bad_records_table_is_422_naming_the_column(
    api: httpx.Client, live_server: LiveServer, table: pa.Table, field: str, words: str, form: str
) -> None:
    media, encode = (ARROW, arrow_body) if form == "arrow" else (PARQUET, parquet_body)

    response = api.post("/models/m/records", content=encode(table), headers={"content-type": media})

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == field
    assert words in error["message"]
    assert _analyze_status(api) == 404  # nothing stored: the model is unknown


def _analyze_status(api: httpx.Client) -> int:
    return api.post("/models/m/drift/analyze", json={}).status_code


@pytest.mark.parametrize("path", ["records", "reference"])
@pytest.mark.parametrize("media", [ARROW, PARQUET])
def test_unreadable_table_bodies_are_422_never_5xx(
    api: httpx.Client, path: str, media: str
) -> None:
    table = pa.table({"amount": [1.0] * 100})
    good = arrow_body(table) if media == ARROW else parquet_body(table)
    method = api.post if path == "records" else api.put
    for body in (b"", b"not a table", good[: len(good) // 2], good[:8] + b"\xff" * 64):
        response = method(f"/models/m/{path}", content=body, headers={"content-type": media})
        assert response.status_code == 422, (body[:16], response.text)
        assert response.json()["errors"][0]["field"] == "body"


def test_a_bad_reference_table_is_422_naming_the_column(api: httpx.Client) -> None:
    table = pa.table({"amount": [1.0], "tags": [["a"]]})
    response = api.put(
        "/models/m/reference", content=arrow_body(table), headers={"content-type": ARROW}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tags"
    assert api.get("/models/m/reference").status_code == 404


def test_other_media_types_on_records_and_labels_are_415(api: httpx.Client) -> None:
    csv = api.post("/models/m/records", content=b"a\n1\n", headers={"content-type": "text/csv"})
    assert csv.status_code == 415
    table = arrow_body(pa.table({"request_id": ["r"], "label": [1]}))
    labels = api.post("/models/m/labels", content=table, headers={"content-type": ARROW})
    assert labels.status_code == 415


def test_integers_past_2_53_are_their_nearest_float_in_every_form(
    api: httpx.Client, live_server: LiveServer
) -> None:
    big = 2**60 + 1
    rows = api.put("/models/m-json/reference", json={"rows": [{"n": big}, {"n": 1}]})
    table = arrow_body(pa.table({"n": [big, 1]}))
    arrow = api.put("/models/m-arrow/reference", content=table, headers={"content-type": ARROW})

    assert rows.status_code == 200, rows.text
    assert arrow.status_code == 200, arrow.text
    for model in ("m-json", "m-arrow"):
        assert _stored_reference(live_server, model).column("n").to_pylist() == [float(big), 1.0]


@pytest.mark.parametrize(
    ("names", "field", "words"),
    [(["a", "a"], "body", "one name"), (["request_id", "request_id"], "request_id", "twice")],
)
def test_a_name_twice_in_an_arrow_table_is_422(
    api: httpx.Client, names: list[str], field: str, words: str
) -> None:
    # (Parquet's reader refuses such a file itself: "cannot read the Parquet body".)
    table = pa.Table.from_arrays([pa.array(["r"])] * 2, names)
    body = arrow_body(table)
    response = api.post("/models/m/records", content=body, headers={"content-type": ARROW})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert words in response.json()["errors"][0]["message"]
