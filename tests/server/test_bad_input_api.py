"""Bad input gets a 4xx that says what is wrong; nothing partial is stored; the
server stays healthy (API.md, General and Precise rules)."""

from __future__ import annotations

import httpx
import pytest

JSON = {"Content-Type": "application/json"}
TWO_MB = "x" * (2 * 1024 * 1024)

BAD_METRICS: list[tuple[str, bytes, int, str]] = [
    ("nan latency", b'{"model_id":"m","latency":NaN}', 422, "latency"),
    ("infinite latency", b'{"model_id":"m","latency":Infinity}', 422, "latency"),
    ("negative infinity", b'{"model_id":"m","latency":-Infinity}', 422, "latency"),
    ("past float range", b'{"model_id":"m","latency":1e400}', 422, "latency"),
    ("past what sums hold", b'{"model_id":"m","latency":1.7e308}', 422, "latency"),
    ("cost past what sums hold", b'{"model_id":"m","latency":1,"llm":{"cost_usd":1e101}}', 422,
     "llm.cost_usd"),
    ("negative latency", b'{"model_id":"m","latency":-0.5}', 422, "latency"),
    ("latency as text", b'{"model_id":"m","latency":"12"}', 422, "latency"),
    ("latency missing", b'{"model_id":"m"}', 422, "latency"),
    ("error_rate above 1", b'{"model_id":"m","latency":1,"error_rate":1.5}', 422, "error_rate"),
    ("unknown model_type", b'{"model_id":"m","latency":1,"model_type":"audio"}', 422, "model_type"),
    ("error as text", b'{"model_id":"m","latency":1,"error":"yes"}', 422, "error"),
    ("negative resource", b'{"model_id":"m","latency":1,"resource_usage":{"memory_mb":-1}}', 422,
     "resource_usage.memory_mb"),
    ("space in id", b'{"model_id":"a b","latency":1}', 422, "model_id"),
    ("slash in id", b'{"model_id":"a/b","latency":1}', 422, "model_id"),
    ("accent in id", '{"model_id":"é","latency":1}'.encode(), 422, "model_id"),
    ("2 MB id", b'{"model_id":"' + TWO_MB.encode() + b'","latency":1}', 422, "model_id"),
    ("2 MB tag value", b'{"model_id":"m","latency":1,"tags":{"k":"' + TWO_MB.encode() + b'"}}', 422,
     "tags"),
    ("2 MB request id", b'{"model_id":"m","latency":1,"request_id":"' + TWO_MB.encode() + b'"}',
     422, "request_id"),
    ("65 tags", ('{"model_id":"m","latency":1,"tags":{' + ",".join(f'"k{i}":"v"' for i in range(65))
                 + "}}").encode(), 422, "tags"),
    ("129-char tag key", b'{"model_id":"m","latency":1,"tags":{"' + b"k" * 129 + b'":"v"}}', 422,
     "tags"),
    ("tag value not text", b'{"model_id":"m","latency":1,"tags":{"k":1}}', 422, "tags"),
    ("timestamp not a date", b'{"model_id":"m","latency":1,"timestamp":"not-a-date"}', 422,
     "timestamp"),
    ("epoch before 1970", b'{"model_id":"m","latency":1,"timestamp":-1}', 422, "timestamp"),
    ("year 10000", b'{"model_id":"m","latency":1,"timestamp":"10000-01-01T00:00:00Z"}', 422,
     "timestamp"),
    ("array for a single metric", b'[{"model_id":"m","latency":1}]', 422, "body"),
    ("malformed JSON", b'{"model_id": "m", "latency": ', 400, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "field"), [case[1:] for case in BAD_METRICS], ids=[c[0] for c in BAD_METRICS]
)
def test_bad_single_metrics_are_refused_by_name(
    api: httpx.Client, body: bytes, status: int, field: str
) -> None:
    response = api.post("/metrics/inference", content=body, headers=JSON)
    assert response.status_code == status
    error = response.json()  # a valid JSON body, NaN or not
    if field:
        assert field in [e["field"] for e in error["errors"]]
    assert api.get("/metrics/inference").json() == []
    assert api.get("/health").json()["status"] == "healthy"


def test_a_batch_rejects_each_bad_item_and_keeps_the_rest(api: httpx.Client) -> None:
    items = [case[1] for case in BAD_METRICS if case[2] == 422 and case[1].startswith(b"{")]
    body = b"[" + b",".join([b'{"model_id":"ok","latency":1}', *items]) + b"]"
    response = api.post("/metrics/inference/batch", content=body, headers=JSON)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert [r["index"] for r in response.json()["rejected"]] == list(range(1, len(items) + 1))
    stored = api.get("/metrics/inference").json()
    assert [m["model_id"] for m in stored] == ["ok"]


@pytest.mark.parametrize("path", ["/metrics/inference", "/metrics/inference/batch", "/models"])
def test_a_write_that_is_not_json_is_415(api: httpx.Client, path: str) -> None:
    response = api.post(path, content=b"model_id=m", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_json_of_the_wrong_shape_is_422(api: httpx.Client) -> None:
    assert api.post("/metrics/inference/batch", json={"model_id": "m"}).status_code == 422
    assert api.post("/models", json=["m"]).status_code == 422
    assert api.post("/metrics/drift", json="text").status_code == 422


def test_values_too_large_to_sum_are_refused_and_aggregates_keep_working(
    api: httpx.Client,
) -> None:
    """A finite value near the float range would overflow every later sum of its
    model (a 5xx on PostgreSQL and InfluxDB): it is refused, the others stored."""
    batch = [{"model_id": "m", "latency": 1.7e308}] * 3 + [{"model_id": "m", "latency": 12.0}]
    body = api.post("/metrics/inference/batch", json=batch).json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [0, 1, 2]
    assert all("latency" in r["error"] and "1e+100" in r["error"] for r in body["rejected"])
    summary = api.get("/models/m/summary")
    assert summary.status_code == 200 and summary.json()["count"] == 1
    aggregate = api.get("/metrics/aggregate", params={"model_id": "m", "agg": "mean"})
    assert aggregate.status_code == 200
    assert [p["value"] for p in aggregate.json()] == [12.0]
    samples = [{"name": "big", "value": -1e300}, {"name": "big", "value": 5.0}]
    body = api.post("/metrics/custom", json=samples).json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 0
