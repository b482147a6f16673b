"""Deep nesting, lone surrogates and control characters over HTTP (issue 13, items 1–3):
a clear 4xx naming the problem, nothing stored, the same on every backend.

`scripts/test` runs this file on DuckDB, PostgreSQL and InfluxDB.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

JSON = {"Content-Type": "application/json"}
DEEP = 10_000


def post(api: httpx.Client, path: str, body: Any, method: str = "POST") -> httpx.Response:
    """Send ``body`` as ASCII JSON: a lone surrogate as ``\\ud800``, NUL as ``\\u0000``."""
    return api.request(method, path, content=json.dumps(body).encode(), headers=JSON)


def fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


def deep_body(shape: str) -> bytes:
    if shape == "arrays":
        return b"[" * DEEP + b"]" * DEEP
    return b'{"a":' * DEEP + b"1" + b"}" * DEEP


@pytest.mark.parametrize("shape", ["arrays", "objects"])
@pytest.mark.parametrize(
    "path", ["/metrics/inference/batch", "/metrics/inference", "/models", "/rules"]
)
def test_ten_thousand_levels_of_nesting_are_refused_naming_the_depth(
    api: httpx.Client, path: str, shape: str
) -> None:
    response = api.post(path, content=deep_body(shape), headers=JSON)
    assert response.status_code == 422, response.text
    assert "more than 64 levels deep" in response.json()["detail"]
    assert fields(response) == ["body"]
    assert api.get("/metrics/inference").json() == []
    assert api.get("/models").json() == []
    assert api.get("/health/ready").status_code == 200


def test_nesting_up_to_64_levels_reaches_the_validators(api: httpx.Client) -> None:
    def model(levels: int) -> bytes:
        # The model object and its tags are two levels; the tag value the rest.
        value = "[" * (levels - 2) + "]" * (levels - 2)
        return f'{{"id": "m", "model_type": "llm", "tags": {{"k": {value}}}}}'.encode()

    at_the_limit = api.post("/models", content=model(64), headers=JSON)
    assert at_the_limit.status_code == 422 and fields(at_the_limit) == ["tags.k"]
    past_it = api.post("/models", content=model(65), headers=JSON)
    assert past_it.status_code == 422 and "64 levels" in past_it.json()["detail"]


SURROGATE = "\ud800"
METRIC = {"model_id": "m", "latency": 12.5}
# (method, path, body holding a lone surrogate, the field the 422 names, a GET that
# must show nothing of it afterwards and what it shows)
SURROGATE_CASES: list[tuple[str, str, Any, str, str, Any]] = [
    ("POST", "/metrics/inference", METRIC | {"tags": {"region": SURROGATE}}, "tags.region",
     "/metrics/inference", []),
    ("POST", "/metrics/inference", METRIC | {"tags": {SURROGATE: "eu"}}, "tags.\\ud800",
     "/metrics/inference", []),
    ("POST", "/metrics/inference", METRIC | {"model_id": SURROGATE}, "model_id",
     "/metrics/inference", []),
    ("POST", "/metrics/inference", METRIC | {"request_id": "r" + SURROGATE}, "request_id",
     "/metrics/inference", []),
    ("POST", "/metrics/drift", {"model_id": "m", "drift_type": "data", "confidence": 0.5,
                                "feature": SURROGATE}, "feature", "/metrics/drift", []),
    ("POST", "/models", {"id": SURROGATE, "model_type": "llm"}, "id", "/models", []),
    ("POST", "/models", {"id": "m", "name": SURROGATE, "model_type": "llm"}, "name",
     "/models/m", 404),
    ("POST", "/models", {"id": "m", "model_type": "llm", "tags": {"team": SURROGATE}},
     "tags.team", "/models/m", 404),
    ("PUT", "/models/m/reference", {"rows": [{"amount": 1.0, "country": SURROGATE}]},
     "rows[0].country", "/models/m/reference", 404),
    ("POST", "/rules", {"id": "r", "metric": "latency", "aggregation": "p95", "window": "5m",
                        "op": ">", "threshold": 250, "description": SURROGATE}, "description",
     "/rules/r", 404),
    ("POST", "/channels", {"id": "c", "type": "webhook", "config": {
        "url": "http://127.0.0.1:9/hook", "headers": {"X-Team": SURROGATE}}},
     "config.headers.X-Team", "/channels/c", 404),
    ("POST", "/silences", {"matchers": {"model_id": "m"}, "duration": "1h", "created_by": "ana",
                           "comment": SURROGATE}, "comment", "/silences", []),
    ("POST", "/slos", {"id": "s", "model_id": "m", "objective": "availability", "target": 0.99,
                       "window": "7d", "description": SURROGATE}, "description", "/slos/s", 404),
    ("POST", "/dashboards", {"id": "d", "title": SURROGATE, "panels": []}, "title",
     "/dashboards/d", 404),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "check", "shows"),
    SURROGATE_CASES,
    ids=[f"{c[0]} {c[1]} {c[3]}" for c in SURROGATE_CASES],
)
def test_a_lone_surrogate_is_a_422_naming_the_field(
    api: httpx.Client, method: str, path: str, body: Any, field: str, check: str, shows: Any
) -> None:
    response = post(api, path, body, method)
    assert response.status_code == 422, response.text
    assert field in fields(response), response.text
    shown = api.get(check)
    assert (shown.status_code if shows == 404 else shown.json()) == shows
    assert api.get("/health/ready").status_code == 200


def test_records_and_labels_with_a_lone_surrogate_are_refused_whole(api: httpx.Client) -> None:
    records = [
        {"request_id": "q-1", "features": {"amount": 1.0, "country": "fr"}},
        {"request_id": "q-2", "features": {"amount": 2.0, "country": "x" + SURROGATE}},
    ]
    response = post(api, "/models/m/records", records)
    assert response.status_code == 422 and fields(response) == ["[1].features.country"]
    labels = post(api, "/models/m/labels", [{"request_id": "q-1", "label": SURROGATE}])
    assert labels.status_code == 422 and fields(labels) == ["[0].label"]
    # Nothing was logged: the model is still unknown.
    assert api.get("/models/m/summary").status_code == 404


def test_a_batch_refuses_the_item_with_a_lone_surrogate_and_keeps_the_rest(
    api: httpx.Client,
) -> None:
    batch = [METRIC | {"request_id": "ok"}, METRIC | {"request_id": "bad", "tags": {"k": "\udc00"}}]
    response = post(api, "/metrics/inference/batch", batch)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 1 and rejected["error"].startswith("tags.k: ")
    assert [m["request_id"] for m in api.get("/metrics/inference").json()] == ["ok"]


# Each escaped (``\u0000``; backspace and form feed as JSON's short ``\b`` and
# ``\f``), and DEL and C1 also as raw UTF-8 (raw C0 controls are not JSON at all:
# a 400, covered by test_bad_input_api).
CONTROL_CASES = [(c, True) for c in ["\x00", "\x01", "\x08", "\x0c", "\x1b", "\x7f", "\x85"]] + [
    (c, False) for c in ["\x7f", "\x85"]
]


@pytest.mark.parametrize(
    ("char", "ascii_only"),
    CONTROL_CASES,
    ids=[f"U+{ord(c):04X}-{'escaped' if a else 'raw'}" for c, a in CONTROL_CASES],
)
def test_a_control_character_in_a_tag_value_is_a_422_and_nothing_is_stored(
    api: httpx.Client, char: str, ascii_only: bool
) -> None:
    body = json.dumps(METRIC | {"tags": {"k": f"a{char}b"}}, ensure_ascii=ascii_only).encode()
    single = api.post("/metrics/inference", content=body, headers=JSON)
    assert single.status_code == 422, single.text
    assert fields(single) == ["tags.k"] and f"U+{ord(char):04X}" in single.json()["detail"]
    batch = api.post("/metrics/inference/batch", content=b"[" + body + b"]", headers=JSON)
    assert batch.status_code == 422, batch.text
    assert batch.json()["rejected"][0]["error"].startswith("tags.k: ")
    assert api.get("/metrics/inference").json() == []
    assert api.get("/health/ready").status_code == 200


def test_nul_in_a_model_name_is_a_422_and_no_model_is_created(api: httpx.Client) -> None:
    response = post(api, "/models", {"id": "m", "name": "a\x00b", "model_type": "llm"})
    assert response.status_code == 422 and fields(response) == ["name"]
    assert api.get("/models/m").status_code == 404


def test_tab_line_feed_and_carriage_return_are_stored_as_sent(api: httpx.Client) -> None:
    text = "a\tb\nc\r\nd"
    assert post(api, "/metrics/inference", METRIC | {"tags": {"note": text}}).status_code == 202
    [stored] = api.get("/metrics/inference").json()
    assert stored["tags"] == {"note": text}
    created = post(api, "/models", {"id": "m", "name": text, "model_type": "llm"})
    assert created.status_code == 201 and api.get("/models/m").json()["name"] == text
    rows = {"rows": [{"note": text}, {"note": "plain"}]}
    assert post(api, "/models/m/reference", rows, "PUT").status_code == 200


def test_an_uploaded_reference_with_a_control_character_is_refused(api: httpx.Client) -> None:
    csv = b"amount,country\n1.0,fr\n2.0,d\x1be\n"
    response = api.put("/models/m/reference", content=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422 and fields(response) == ["country"]
    assert "row 1" in response.json()["detail"]
    assert api.get("/models/m/reference").status_code == 404


def test_an_uploaded_parquet_with_text_that_is_not_utf8_is_refused(api: httpx.Client) -> None:
    # A string column whose bytes are a UTF-8-encoded surrogate: pyarrow reads it
    # back without complaint, and no store could hold it.
    data = b"frde\xed\xa0\x80"
    offsets = pa.py_buffer(np.array([0, 2, 4, 7], dtype=np.int32).tobytes())
    column = pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(data)])
    sink = io.BytesIO()
    pq.write_table(pa.table({"country": column}), sink)
    response = api.put(
        "/models/m/reference",
        content=sink.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 422 and fields(response) == ["country"]
    assert api.get("/models/m/reference").status_code == 404


def test_integers_past_64_bits_are_numbers_not_server_errors(api: httpx.Client) -> None:
    assert post(api, "/channels", {"id": "c", "type": "webhook", "config": {
        "url": "http://127.0.0.1:9/hook"}}).status_code == 201  # fmt: skip
    body = {"id": "r", "channels": ["c"], "matchers": {"severity": 2**70}}
    assert post(api, "/routes", body).status_code == 201
    assert api.get("/routes").status_code == 200
    huge = post(api, "/routes", {"id": "r2", "channels": ["c"], "group_wait": 10**400})
    assert huge.status_code == 422 and fields(huge) == ["group_wait"]


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/models/a%00b/summary", "path"),
        ("GET", "/models/a%00b/reference", "path"),
        ("GET", "/dashboards/a%1Bb", "path"),
        ("POST", "/alerts/a%00b/resolve", "path"),
        ("GET", "/metrics/inference?model_id=a%00b", "model_id"),
        ("GET", "/metrics/aggregate?model_id=m&metric=%7F", "metric"),
    ],
)
def test_a_control_character_in_the_url_is_a_422_naming_where(
    api: httpx.Client, method: str, url: str, field: str
) -> None:
    # On PostgreSQL these were 503s: text cannot hold NUL, not even in a lookup.
    response = api.request(method, url)
    assert response.status_code == 422, response.text
    assert fields(response) == [field]
    assert api.get("/health/ready").status_code == 200


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/models/a%0Ab/summary"),
        ("GET", "/models/a%0Db/thresholds"),
        ("POST", "/models/a%0Db/drift/analyze"),
        ("POST", "/models/%C3%B2/drift/analyze"),
    ],
)
def test_a_model_id_that_is_no_identifier_names_no_model(
    api: httpx.Client, method: str, url: str
) -> None:
    # Line breaks are allowed text but no identifier; on InfluxDB these were 503s
    # (an InfluxQL string cannot hold a carriage return).
    response = api.request(method, url)
    assert response.status_code == 404, response.text
    assert "identifiers" in response.json()["detail"] or "no model" in response.json()["detail"]


@pytest.mark.parametrize("value", ["a%0Db", "%0A", "a%0D%0Ab"])
@pytest.mark.parametrize("path", ["/metrics/inference", "/metrics/drift"])
def test_a_filter_on_a_line_break_matches_nothing(api: httpx.Client, path: str, value: str) -> None:
    # Allowed text, so the URL passes; on InfluxDB it was a 503 (an InfluxQL string
    # cannot hold a line break).
    assert post(api, "/metrics/inference", METRIC).status_code == 202
    response = api.get(f"{path}?model_id={value}")
    assert response.status_code == 200, response.text
    assert response.json() == []
