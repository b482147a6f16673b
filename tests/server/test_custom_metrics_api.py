"""Custom metrics and labels over HTTP (API.md "Custom metrics and labels"): samples in
through `POST /api/v1/metrics/custom`, out through `GET /api/v1/metrics/query` with
matchers and groups — the values equal numpy's on the data sent — and
`GET /api/v1/metrics/names`; inference metrics queried by their tags; the series
limit; old ranges from rollups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from tests.polling import eventually

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOUR_START = NOW - timedelta(hours=1)
REGIONS = ("eu", "us", "ap")
PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"max_series_per_metric": 6}


def _post(api: httpx.Client, samples: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post("/metrics/custom", json=samples)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def _query(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/metrics/query", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ctr_samples(rng: np.random.Generator, n: int = 600) -> list[dict[str, Any]]:
    start = HOUR_START.timestamp()
    return [
        {
            "name": "ranker.ctr",
            "value": float(rng.gamma(2.0, 0.01)),
            "labels": {"region": REGIONS[i % 3], "model_id": "ranker-v2" if i % 5 else "ranker-v1"},
            "unit": "ratio",
            "timestamp": start + float(rng.uniform(0, 3600)),
        }
        for i in range(n)
    ]


def _expected(samples: list[dict[str, Any]], key: str, agg: str, interval_s: int) -> dict[str, Any]:
    """numpy over the samples sent: {group value: {bucket start (epoch s): value}}."""
    groups: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for s in samples:
        bucket = int(s["timestamp"] // interval_s * interval_s)
        groups.setdefault(s["labels"][key], {}).setdefault(bucket, []).append(
            (s["timestamp"], s["value"])
        )
    found: dict[str, Any] = {}
    for group, buckets in groups.items():
        for bucket, points in buckets.items():
            values = np.array([v for _, v in points])
            if agg in PERCENTILES:
                value = float(np.percentile(values, PERCENTILES[agg]))
            elif agg == "last":
                value = max(points)[1]
            else:
                value = float(getattr(np, agg)(values)) if agg != "count" else float(values.size)
            found.setdefault(group, {})[bucket] = value
    return found


def _as_map(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        s["labels"].get(key, ""): {
            int(datetime.fromisoformat(p["time"]).timestamp()): p["value"] for p in s["points"]
        }
        for s in body["series"]
    }


@pytest.mark.parametrize(
    "agg", ["count", "sum", "mean", "min", "max", "p50", "p90", "p95", "p99", "last"]
)
def test_every_aggregation_by_group_equals_numpy_on_the_samples_sent(
    api: httpx.Client, agg: str
) -> None:
    samples = _ctr_samples(np.random.default_rng(11))
    assert _post(api, samples) == {"accepted": len(samples), "rejected": []}
    body = _query(
        api,
        metric="ranker.ctr",
        agg=agg,
        interval="15m",
        group_by="region",
        start=HOUR_START.isoformat(),
        end=NOW.isoformat(),
    )
    assert body["metric"] == "ranker.ctr" and body["agg"] == agg and body["interval"] == 900
    assert [s["labels"] for s in body["series"]] == [{"region": r} for r in sorted(REGIONS)]
    got, want = _as_map(body, "region"), _expected(samples, "region", agg, 900)
    assert got.keys() == want.keys()
    for region in want:
        assert got[region].keys() == want[region].keys()
        for bucket, value in want[region].items():
            assert got[region][bucket] == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_label_matchers_select_series_and_model_id_is_a_label(api: httpx.Client) -> None:
    samples = _ctr_samples(np.random.default_rng(12), 300)
    _post(api, samples)
    window = {"start": HOUR_START.isoformat(), "end": NOW.isoformat(), "interval": "1h"}

    def count(**params: Any) -> float:
        series = _query(api, metric="ranker.ctr", agg="count", **window, **params)["series"]
        return sum(p["value"] for s in series for p in s["points"])

    def sent(test: Any) -> int:
        return sum(1 for s in samples if test(s["labels"]))

    assert count() == len(samples)
    assert count(label="region:eu") == sent(lambda lb: lb["region"] == "eu")
    assert count(label="region!:eu") == sent(lambda lb: lb["region"] != "eu")
    assert count(label=["region!:eu", "model_id:ranker-v1"]) == sent(
        lambda lb: lb["region"] != "eu" and lb["model_id"] == "ranker-v1"
    )
    assert count(model_id="ranker-v1") == sent(lambda lb: lb["model_id"] == "ranker-v1")
    assert count(label="team:search") == 0  # a label no series has matches none
    assert count(label="team!:search") == len(samples)


def test_rate_is_the_per_second_increase_with_counter_resets_counted(api: httpx.Client) -> None:
    start = HOUR_START.timestamp()
    # A counter that rises by 10 every 10 s, restarts at 0 after 300 s, and rises again.
    values = [10.0 * i for i in range(31)] + [10.0 * i for i in range(30)]
    samples = [
        {"name": "requests_total", "value": v, "labels": {"pod": "a"}, "timestamp": start + 10 * i}
        for i, v in enumerate(values)
    ]
    _post(api, samples)
    body = _query(
        api,
        metric="requests_total",
        agg="rate",
        interval="1h",
        start=HOUR_START.isoformat(),
        end=NOW.isoformat(),
    )
    ((point,),) = [s["points"] for s in body["series"]]
    # 300 before the reset, the first sample after it (0) counts 0, then 290 more.
    assert point["value"] == pytest.approx((300 + 0 + 290) / 3600)


def test_a_metric_past_its_series_limit_rejects_new_label_sets_and_keeps_the_others(
    api: httpx.Client,
) -> None:
    at = NOW.timestamp() - 60
    first = [
        {"name": "queue.depth", "value": 1, "labels": {"q": str(i)}, "timestamp": at}
        for i in range(6)
    ]
    assert _post(api, first)["accepted"] == 6
    more = [
        {"name": "queue.depth", "value": 2, "labels": {"q": "0"}, "timestamp": at + 1},  # known
        {"name": "queue.depth", "value": 2, "labels": {"q": "new"}, "timestamp": at + 1},
        {"name": "gpu.temp", "value": 70, "labels": {"gpu": "0"}, "timestamp": at + 1},  # other
    ]
    body = _post(api, more)
    assert body["accepted"] == 2
    ((rejected,),) = [body["rejected"]]
    assert rejected["index"] == 1 and "queue.depth" in rejected["error"]
    assert "limit of 6 label sets" in rejected["error"]
    series = _query(api, metric="queue.depth", agg="count", interval="1h", group_by="q")["series"]
    assert len(series) == 6
    refused_all = api.post("/metrics/custom", json=[more[1]])
    assert refused_all.status_code == 422 and refused_all.json()["accepted"] == 0


def test_names_lists_inference_and_custom_metrics_with_their_label_keys(api: httpx.Client) -> None:
    _post(api, _ctr_samples(np.random.default_rng(13), 30))
    api.post(
        "/metrics/inference/batch",
        json=[{"model_id": "fraud-v3", "latency": 12.0, "tags": {"region": "eu", "tier": "gold"}}],
    )
    names = {n["name"]: n for n in api.get("/metrics/names").json()}
    assert names["ranker.ctr"] == {
        "name": "ranker.ctr",
        "kind": "custom",
        "unit": "ratio",
        "labels": ["model_id", "region"],
    }
    assert names["latency"]["kind"] == "inference"
    assert names["latency"]["labels"] == ["model_id", "region", "tier"]


def test_inference_metrics_are_matched_and_grouped_by_tags_and_model_id(
    api: httpx.Client,
) -> None:
    rng = np.random.default_rng(14)
    metrics = [
        {
            "model_id": ["fraud-v3", "fraud-v4"][i % 2],
            "latency": float(rng.uniform(5, 50)),
            "tags": {"region": REGIONS[i % 3]},
            "timestamp": HOUR_START.timestamp() + i,
        }
        for i in range(120)
    ]
    assert api.post("/metrics/inference/batch", json=metrics).status_code == 202
    body = _query(
        api,
        metric="latency",
        agg="p95",
        interval="1h",
        group_by="region,model_id",
        label="region!:ap",
        start=HOUR_START.isoformat(),
        end=NOW.isoformat(),
    )
    assert [s["labels"] for s in body["series"]] == [
        # Sorted by labels, keys in name order (as Prometheus sorts label sets).
        {"model_id": m, "region": r}
        for m in ("fraud-v3", "fraud-v4")
        for r in ("eu", "us")
    ]
    for s in body["series"]:
        values = [
            m["latency"]
            for m in metrics
            if m["model_id"] == s["labels"]["model_id"]
            and m["tags"]["region"] == s["labels"]["region"]
        ]
        ((point,),) = [s["points"]]
        assert point["value"] == pytest.approx(float(np.percentile(values, 95)))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "ranker.ctr", "label": "region"}, "label"),
        ({"metric": "ranker.ctr", "label": ":eu"}, "label"),
        ({"metric": "ranker.ctr", "group_by": "region,,model_id"}, "group_by"),
        ({"metric": "ranker.ctr", "agg": "median"}, "agg"),
        ({"metric": "ranker.ctr", "interval": "0s"}, "interval"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_parameter(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    _post(api, _ctr_samples(np.random.default_rng(15), 10))
    response = api.get("/metrics/query", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_an_unknown_metric_is_404_and_bad_samples_are_named(api: httpx.Client) -> None:
    assert api.get("/metrics/query", params={"metric": "never.sent"}).status_code == 404
    response = api.post(
        "/metrics/custom",
        json=[
            {"name": "latency", "value": 1},
            {"name": "9lives", "value": 1},
            {"name": "ok.name", "value": 1, "labels": {"k": "v" * 2000}},
            {"name": "ok.name", "value": 1, "unit": "u" * 40},
        ],
    )
    assert response.status_code == 422
    errors = [r["error"] for r in response.json()["rejected"]]
    assert "inference metric" in errors[0] and "name" in errors[1]
    assert "labels" in errors[2] and "unit" in errors[3]
    assert api.post("/metrics/custom", json=[]).status_code == 422
    too_many = [{"name": "x", "value": 1}] * 10_001
    assert api.post("/metrics/custom", json=too_many).status_code == 413
    assert api.get("/metrics/query", params={"metric": "x"}).status_code == 404


def test_labels_and_units_keep_the_rule_of_stored_text(api: httpx.Client) -> None:
    at = NOW.timestamp() - 60
    body = [
        {"name": "ok.name", "value": 1, "labels": {"k": "tab\there"}, "timestamp": at},
        {"name": "ok.name", "value": 2, "labels": {"k": "bell\u0007"}},
        {"name": "ok.name", "value": 3, "labels": {"k\u0000": "v"}},
        {"name": "ok.name", "value": 4, "unit": "\ud800"},
    ]
    response = api.post(
        "/metrics/custom",
        content=json.dumps(body),  # escapes: a lone surrogate is valid JSON text
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    fields = [r["error"].split(":")[0] for r in response.json()["rejected"]]
    assert fields == ["labels.k", "labels.k\\u0000", "unit"]
    (series,) = _query(api, metric="ok.name", agg="count", interval="1h", group_by="k")["series"]
    assert series["labels"] == {"k": "tab\there"}


class TestOldRanges:
    @pytest.fixture
    def server_settings(self) -> dict[str, object]:
        # Raw samples kept 30 min; the lifecycle runs every 100 ms of real time.
        return {"retention_raw_s": 1800, "lifecycle_interval_s": 0.1}

    def test_a_range_older_than_the_raw_retention_is_answered_from_rollups(
        self, api: httpx.Client, clock: FakeClock
    ) -> None:
        rng = np.random.default_rng(16)
        start = NOW - timedelta(hours=3)
        samples = [
            {
                "name": "retrieval.hit_rate",
                "value": float(rng.uniform(0, 1)),
                "labels": {"index": ["a", "b"][i % 2]},
                "timestamp": start.timestamp() + 6 * i,
            }
            for i in range(600)  # one hour of samples, three hours ago
        ]
        _post(api, samples)
        params = {
            "metric": "retrieval.hit_rate",
            "agg": "mean",
            "interval": "30m",
            "group_by": "index",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        }
        raw = _query(api, **params)
        clock.advance(24 * 3600)  # the samples are now a day older than the raw retention
        params["start"], params["end"] = start.isoformat(), (start + timedelta(hours=1)).isoformat()

        def from_rollups() -> dict[str, Any] | None:
            response = api.get("/metrics/query", params=params)
            return response.json() if response.headers["x-monitorx-resolution"] != "raw" else None

        rolled = eventually(from_rollups, lambda body: body is not None and body["series"], 20)
        assert rolled is not None
        assert _as_map(rolled, "index").keys() == _as_map(raw, "index").keys()
        for index, points in _as_map(raw, "index").items():
            for bucket, value in points.items():
                assert _as_map(rolled, "index")[index][bucket] == pytest.approx(value, rel=1e-9)
