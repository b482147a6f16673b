"""API.md's reference sets, records and labels over HTTP: uploads as JSON, CSV and
Parquet, refusals that name the item and field and store nothing, the bounded
record samples, and everything kept across a restart."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitorx.core import FakeClock
from tests.conftest import make_settings, run_server

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
CAP = 300


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"drift_bucket_max_rows": CAP}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def _analyze(api: httpx.Client, model_id: str = "m", **body: object) -> httpx.Response:
    return api.post(f"/models/{model_id}/drift/analyze", json=body)


def _records(
    count: int, start_s: float, step_s: float = 1.0, shift: float = 0.0, first: int = 0
) -> list[dict[str, object]]:
    """Records like the reference's rows (``first`` continues its sequence), every
    ``step_s`` from ``start_s``; ``shift`` moves every amount."""
    return [
        {
            "request_id": f"req-{start_s:.0f}-{i}",
            "features": {"amount": float(i % 97) + shift, "country": ["fr", "de", "it"][i % 3]},
            "prediction": i % 2,
            "timestamp": start_s + (i - first) * step_s,
        }
        for i in range(first, first + count)
    ]


REFERENCE_ROWS = [
    {"amount": float(i % 97), "country": ["fr", "de", "it"][i % 3], "prediction": i % 2}
    for i in range(1000)
]


# Reference sets ------------------------------------------------------------------------


def test_reference_from_json_rows_says_rows_and_columns(api: httpx.Client) -> None:
    rows = [{"amount": 12.5, "country": "fr"}, {"amount": 3, "country": None, "vip": True}]

    response = api.put("/models/m/reference", json={"rows": rows})

    assert response.status_code == 200
    assert response.json() == {"rows": 2, "columns": ["amount", "country", "vip"]}
    assert api.get("/models/m/reference").json() == response.json()


def test_reference_from_csv_and_parquet_uploads(api: httpx.Client) -> None:
    csv = b"amount,country\n12.5,fr\n3,\n7,de\n"
    response = api.put("/models/m/reference", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "columns": ["amount", "country"]}

    sink = io.BytesIO()
    pq.write_table(pa.table({"amount": [1.0, 2.0], "country": ["fr", "de"], "n": [1, 2]}), sink)
    for media in ("application/vnd.apache.parquet", "application/octet-stream"):
        response = api.put(
            "/models/p/reference", content=sink.getvalue(), headers={"content-type": media}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"rows": 2, "columns": ["amount", "country", "n"]}


def test_a_replaced_reference_is_the_one_analyzed(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": [{"old": 1.0}] * 10})
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})

    report = _analyze(api, current={"rows": REFERENCE_ROWS[:200]}).json()

    assert report["reference_rows"] == 1000
    assert [f["feature"] for f in report["features"]] == ["amount", "country"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"rows": [{"a": 1}, {"a": NaN}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, {"a": Infinity}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, {"a": 1e400}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, {"a": "x"}]}', "rows[1].a"),
        (b'{"rows": [{"a": "x"}, {"a": 2}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, {"a": {"b": 1}}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, {"a": [1]}]}', "rows[1].a"),
        (b'{"rows": [{"a": 1}, 5]}', "rows[1]"),
        (b'{"rows": []}', "rows"),
        (b'{"rows": {"a": 1}}', "rows"),
        (b'{"row": [{"a": 1}]}', "rows"),
        (b"[1, 2]", "body"),
    ],
)
def test_bad_reference_rows_are_422_naming_the_field(
    api: httpx.Client, body: bytes, field: str
) -> None:
    api.put("/models/m/reference", json={"rows": [{"a": 1.0}]})

    response = api.put(
        "/models/m/reference", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    # The reference in place is untouched.
    assert api.get("/models/m/reference").json() == {"rows": 1, "columns": ["a"]}


def test_bad_uploads_are_4xx(api: httpx.Client) -> None:
    bad_parquet = api.put(
        "/models/m/reference",
        content=b"not parquet",
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert bad_parquet.status_code == 422
    assert bad_parquet.json()["errors"][0]["field"] == "body"
    empty_csv = api.put(
        "/models/m/reference", content=b"a,b\n", headers={"content-type": "text/csv"}
    )
    assert empty_csv.status_code == 422
    not_json = api.put(
        "/models/m/reference", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    xml = api.put(
        "/models/m/reference", content=b"<rows/>", headers={"content-type": "application/xml"}
    )
    assert xml.status_code == 415
    assert api.get("/models/m/reference").status_code == 404


# Records and labels --------------------------------------------------------------------


def test_records_and_labels_are_accepted_and_counted(api: httpx.Client) -> None:
    records = _records(50, NOW.timestamp() - 600)

    response = api.post("/models/m/records", json=records)
    labels = api.post(
        "/models/m/labels", json=[{"request_id": r["request_id"], "label": 1} for r in records]
    )

    assert response.status_code == 202
    assert response.json() == {"accepted": 50}
    assert labels.status_code == 202
    assert labels.json() == {"accepted": 50}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"features": {"amount": "x"}}, "[1].features.amount"),
        ({"features": {"amount": {"nested": 1}}}, "[1].features.amount"),
        ({"features": [1, 2]}, "[1].features"),
        ({"request_id": "r"}, "[1].features"),
        ({"features": {"amount": 1}, "request_id": 5}, "[1].request_id"),
        ({"features": {"amount": 1}, "request_id": "r" * 129}, "[1].request_id"),
        ({"features": {"amount": 1}, "prediction": "yes"}, "[1].prediction"),
        ({"features": {"amount": 1}, "prediction": [1]}, "[1].prediction"),
        ({"features": {"amount": 1}, "timestamp": "yesterday"}, "[1].timestamp"),
        ({"features": {"amount": 1}, "timestamp": -5}, "[1].timestamp"),
        ({"features": {"amount": 1}, "label": 1}, "[1].label"),
        ({"features": {"a" * 257: 1}}, "body"),
    ],
)
def test_a_bad_record_refuses_the_whole_batch(
    api: httpx.Client, item: dict[str, object], field: str
) -> None:
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
    good = {"features": {"amount": 1.0}, "prediction": 1, "timestamp": NOW.timestamp() - 5}

    response = api.post("/models/m/records", json=[good, item])

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _analyze(api).status_code == 409  # nothing of the batch was stored


def test_non_finite_numbers_in_records_are_422_naming_the_field(api: httpx.Client) -> None:
    body = b'[{"features": {"amount": 1}}, {"features": {"amount": NaN}}]'
    response = api.post(
        "/models/m/records", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "[1].features.amount"

    body = b'[{"features": {"a": 1}, "prediction": Infinity}]'
    response = api.post(
        "/models/m/records", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "[0].prediction"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"label": 1}, "[0].request_id"),
        ({"request_id": "r"}, "[0].label"),
        ({"request_id": "r", "label": None}, "[0].label"),
        ({"request_id": "r", "label": {"a": 1}}, "[0].label"),
        ({"request_id": "r", "label": 1, "extra": 2}, "[0].extra"),
    ],
)
def test_bad_labels_are_422_naming_the_field(
    api: httpx.Client, item: dict[str, object], field: str
) -> None:
    response = api.post("/models/m/labels", json=[item])
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_empty_or_non_array_bodies_are_422(api: httpx.Client) -> None:
    for path in ("records", "labels"):
        assert api.post(f"/models/m/{path}", json=[]).status_code == 422
        assert api.post(f"/models/m/{path}", json={"features": {}}).status_code == 422
    assert api.post("/models/bad id/records", json=_records(1, 0)).status_code == 422


# Bounded memory ------------------------------------------------------------------------


def test_records_past_the_cap_are_sampled_and_counted(api: httpx.Client) -> None:
    """Four times the cap in one hour: the analysis uses at most the cap, says how
    many were logged, and the sample still looks like the traffic."""
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
    hour = datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp()
    for batch in range(8):
        records = _records(150, hour + batch * 150 * 0.5, step_s=0.5, first=batch * 150)
        assert api.post("/models/m/records", json=records).json() == {"accepted": 150}

    # p-value tests (a reference of 1,000 rows) flag drift below 0.001: a false alarm
    # of one in a thousand a column.
    report = _analyze(api, start=hour, end=hour + 3600, threshold=0.001).json()

    assert report["current_rows_seen"] == 1200
    assert 0 < report["current_rows"] <= CAP
    # The same values as the reference: a uniform sample shows no drift.
    assert [f["drifted"] for f in report["features"]] == [False, False]


def test_hours_count_in_proportion_to_their_records(api: httpx.Client) -> None:
    """A busy hour past the cap and a quiet one: the quiet hour's rows count by its
    share of the traffic, so its (drifted) values do not dominate the window."""
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
    busy = datetime(2026, 11, 22, 10, tzinfo=UTC).timestamp()
    quiet = busy + 3600
    for batch in range(6):
        api.post("/models/m/records", json=_records(200, busy + batch * 500, 2, first=batch * 200))
    api.post("/models/m/records", json=_records(100, quiet, shift=1000.0))

    report = _analyze(api, start=busy, end=quiet + 3600).json()

    assert report["current_rows_seen"] == 1300
    # The busy hour keeps 300 of its 1,200: a quarter. The quiet hour gives a quarter
    # of its 100 too, not all of them (which would make its share 100 / 400).
    assert report["current_rows"] == 300 + 25
    quiet_only = _analyze(api, start=quiet, end=quiet + 3600).json()
    assert quiet_only["current_rows_seen"] == 100
    assert quiet_only["current_rows"] == 100
    assert quiet_only["features"][0]["drifted"] is True


def test_a_window_counts_only_its_records(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
    hour = datetime(2026, 11, 22, 11, tzinfo=UTC).timestamp()
    api.post("/models/m/records", json=_records(60, hour, step_s=60))  # one a minute

    report = _analyze(api, start=hour + 600, end=hour + 1200).json()

    assert report["current_rows_seen"] == 10
    assert report["current_rows"] == 10


# Restart --------------------------------------------------------------------------------


def test_reference_records_and_labels_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path / "data", drift_bucket_max_rows=CAP)
    hour = datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp()
    records = _records(500, hour, step_s=1)
    with run_server(settings, clock=clock) as live, httpx.Client(base_url=live.api) as api:
        api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
        api.post("/models/m/records", json=records[:250])
        api.post("/models/m/records", json=records[250:])
        api.post(
            "/models/m/labels", json=[{"request_id": r["request_id"], "label": 1} for r in records]
        )
        before = _analyze(api, start=hour, end=hour + 3600).json()

    with run_server(settings, clock=clock) as live, httpx.Client(base_url=live.api) as api:
        assert api.get("/models/m/reference").json() == {
            "rows": 1000,
            "columns": ["amount", "country", "prediction"],
        }
        after = _analyze(api, start=hour, end=hour + 3600).json()

    assert before["current_rows_seen"] == after["current_rows_seen"] == 500
    assert after["current_rows"] == before["current_rows"]
    assert after["target"] is None  # the reference has no label column to compare with
    assert after["prediction"]["feature"] == "prediction"


def test_purging_a_model_drops_its_drift_data(api: httpx.Client) -> None:
    api.put("/models/m", json={"model_type": "tabular"})
    api.put("/models/m/reference", json={"rows": REFERENCE_ROWS})
    api.post("/models/m/records", json=_records(10, NOW.timestamp() - 60))

    assert api.delete("/models/m", params={"purge": "true"}).status_code == 204

    assert api.get("/models/m/reference").status_code == 404
    assert _analyze(api).status_code == 404
