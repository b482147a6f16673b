"""`GET /metrics`: MonitorX's own metrics as Prometheus scrapes them — behind the
API's read auth, one registry per app, each family counting what the server did."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import prometheus_client
import pytest
from websockets.sync.client import connect

from monitorx.core import FakeClock
from monitorx.core.histogram import SECONDS_BUCKETS
from monitorx.ingest.pool import POOL_MIN_BYTES
from tests.conftest import LiveServer, make_settings, run_server
from tests.exposition import Scrape, parse, scrape
from tests.http_receiver import HttpReceiver, closed_port_url
from tests.polling import eventually
from tests.server.notify_helpers import START, alerts, breach, model, notifying_server, route
from tests.server.notify_helpers import webhook as add_webhook

NOW = START  # where the fake clock (`clock`, tests/conftest.py) starts
INFERENCE = "monitorx_ingest_accepted_total"


def test_metrics_takes_the_read_credentials_a_scraper_sends(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, api_keys=["admin-key", "reader-key:viewer"]
    )
    with run_server(settings) as server:
        anonymous = httpx.get(f"{server.url}/metrics", timeout=10)
        wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"})
        bearer = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer reader-key"})
        header = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": "reader-key"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    assert wrong.status_code == 401
    assert bearer.status_code == 200 and header.status_code == 200
    assert bearer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert parse(bearer.text).value("monitorx_build_info", version="0.1.0") == 1


def test_every_family_is_named_monitorx(live_server: LiveServer) -> None:
    families = scrape(live_server.url).types
    assert len(families) > 25
    assert [name for name in families if not name.startswith("monitorx_")] == []
    assert families["monitorx_process_cpu_seconds"] == "counter"


def test_accepted_and_rejected_items_are_counted_by_kind(
    live_server: LiveServer, api: httpx.Client
) -> None:
    batch = [{"model_id": "m", "latency": float(i)} for i in range(8)]
    batch += [{"model_id": "m", "latency": -1.0}, {"model_id": "", "latency": 1.0}]
    assert api.post("/metrics/inference/batch", json=batch).status_code == 202
    assert api.post("/metrics/inference", json={"model_id": "m", "latency": 3}).status_code == 202
    assert api.post("/metrics/inference", json={"model_id": "m"}).status_code == 422
    drift = {"model_id": "m", "drift_type": "data", "confidence": 0.4, "severity": "low"}
    assert api.post("/metrics/drift", json=drift).status_code == 202

    metrics = scrape(live_server.url)
    assert metrics.value(INFERENCE, kind="inference") == 9
    assert metrics.value("monitorx_ingest_rejected_total", kind="inference") == 3
    assert metrics.value(INFERENCE, kind="drift") == 1
    assert metrics.value(INFERENCE, kind="custom") == 0
    # Three bodies of inference metrics: 10 items, 1, and 1 refused.
    assert metrics.value("monitorx_ingest_batch_size_count", kind="inference") == 3
    assert metrics.value("monitorx_ingest_batch_size_sum", kind="inference") == 12
    assert metrics.value("monitorx_ingest_batch_size_bucket", kind="inference", le="1.0") == 2
    assert metrics.value("monitorx_ingest_batch_size_bucket", kind="inference", le="10.0") == 3
    # Two store writes of inference metrics (the refused body wrote nothing), one of drift.
    assert metrics.value("monitorx_storage_write_seconds_count", kind="inference") == 2
    assert metrics.value("monitorx_storage_write_seconds_count", kind="drift") == 1
    assert metrics.value("monitorx_storage_write_seconds_sum", kind="inference") > 0
    assert metrics.value("monitorx_storage_write_errors_total", kind="inference") == 0
    assert metrics.value("monitorx_decoder_batches_total", where="inline") == 1


def test_request_latency_is_labelled_by_route_template_never_the_raw_path(
    tmp_path: Path,
) -> None:
    with (
        run_server(make_settings(tmp_path / "data", max_body_bytes=1_000)) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        for model_id in ("a", "b", "c"):
            assert client.get(f"/api/v1/models/{model_id}").status_code == 404
        ingest = client.post("/api/v1/metrics/inference", json={"model_id": "a", "latency": 1})
        assert ingest.status_code == 202  # answered by the fast ingest path
        assert client.get("/no/such/page/7").status_code == 404
        assert client.request("TRACE", "/api/v1/models").status_code == 405
        big = client.post("/api/v1/models", content=b"x" * 2_000, headers={"X-Pad": "1"})
        assert big.status_code == 413  # refused before routing
        metrics = scrape(server.url)

    def count(endpoint: str, method: str, status: str) -> float:
        name = "monitorx_http_request_duration_seconds_count"
        return metrics.value(name, endpoint=endpoint, method=method, status=status)

    assert count("/api/v1/models/{model_id}", "GET", "4xx") == 3
    assert count("/api/v1/metrics/inference", "POST", "2xx") == 1
    assert count("unmatched", "GET", "4xx") == 1
    assert count("/api/v1/models", "other", "4xx") == 1
    assert count("/api/v1/models", "POST", "4xx") == 1
    endpoints = {
        dict(labels)["endpoint"]
        for labels in metrics.matching("monitorx_http_request_duration_seconds_count")
    }
    assert not any(model_id in endpoints for model_id in ("/api/v1/models/a", "/no/such/page/7"))
    fast = "/api/v1/metrics/inference"
    buckets = metrics.matching("monitorx_http_request_duration_seconds_bucket", endpoint=fast)
    assert len(buckets) == len(SECONDS_BUCKETS) + 1
    assert max(buckets.values()) == 1  # the +Inf bucket holds every request


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    with (
        run_server(make_settings(tmp_path / "one")) as one,
        run_server(make_settings(tmp_path / "two")) as two,
    ):
        sent = httpx.post(f"{one.api}/metrics/inference", json={"model_id": "m", "latency": 1})
        assert sent.status_code == 202
        assert scrape(one.url).value(INFERENCE, kind="inference") == 1
        assert scrape(two.url).value(INFERENCE, kind="inference") == 0
    default = {metric.name for metric in prometheus_client.REGISTRY.collect()}
    assert not [name for name in default if name.startswith("monitorx_")]


def test_decoder_workers_and_the_batches_they_decode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", ingest_workers=1)
    batch = [
        {"model_id": "m", "latency": 1.0, "request_id": f"request-{i:06d}"} for i in range(1_500)
    ]
    with run_server(settings) as server:
        # An idle server holds no worker; the first large batch starts it (and is
        # decoded in the server meanwhile), the next goes to it.
        assert scrape(server.url).value("monitorx_decoder_workers_alive") == 0
        body = httpx.Request("POST", "/", json=batch).content
        assert len(body) > POOL_MIN_BYTES  # large enough for a worker
        response = httpx.post(f"{server.api}/metrics/inference/batch", json=batch, timeout=30)
        assert response.status_code == 202
        eventually(
            lambda: scrape(server.url).value("monitorx_decoder_workers_alive"),
            lambda alive: alive == 1,
            timeout_s=30,
        )
        # The worker is alive once spawned; it takes batches once its start-up ran.
        pool_batches = 0.0
        deadline = time.monotonic() + 30
        while pool_batches == 0 and time.monotonic() < deadline:
            response = httpx.post(f"{server.api}/metrics/inference/batch", json=batch, timeout=30)
            assert response.status_code == 202
            pool_batches = scrape(server.url).value("monitorx_decoder_batches_total", where="pool")
        metrics = scrape(server.url)
    assert metrics.value("monitorx_decoder_workers") == 1
    assert metrics.value("monitorx_decoder_workers_alive") == 1
    assert metrics.value("monitorx_decoder_batches_total", where="pool") == 1
    assert metrics.value("monitorx_decoder_batches_total", where="inline") >= 1
    assert metrics.value("monitorx_decoder_batches_in_flight") == 0
    assert metrics.value("monitorx_decoder_restarts_total") == 0
    assert metrics.value("monitorx_ingest_batch_size_bucket", kind="inference", le="1000.0") == 0
    batches = metrics.value("monitorx_decoder_batches_total", where="inline") + 1
    assert (
        metrics.value("monitorx_ingest_batch_size_bucket", kind="inference", le="5000.0") == batches
    )


def test_alert_evaluations_breaches_and_notifications_per_channel(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock) as (server, api):
        add_webhook(api, "ops-hook", receiver.url())
        add_webhook(api, "down-hook", closed_port_url())
        route(api, "all", ["ops-hook", "down-hook"])
        model(api, latency_ms=100.0)
        breach(api, latency=130.0)  # 30% past: medium
        receiver.wait_for(1)
        (alert,) = alerts(api)

        def delivered(metrics: Scrape) -> bool:
            sent = metrics.matching("monitorx_notifications_sent_total", channel="ops-hook")
            failed = metrics.matching("monitorx_notifications_failed_total", channel="down-hook")
            return sum(sent.values()) == 1 and sum(failed.values()) == 1

        metrics = eventually(lambda: scrape(server.url), delivered)
    assert alert["severity"] == "medium"
    assert metrics.value("monitorx_alert_evaluations_total") >= 1
    assert metrics.value("monitorx_alert_breaches_total") == 1
    assert metrics.value("monitorx_alert_evaluation_failures_total") == 0
    assert metrics.value("monitorx_alerts_active", severity="medium") == 1
    assert metrics.value("monitorx_alerts_active", severity="critical") == 0
    assert metrics.value("monitorx_notifications_sent_total", channel="ops-hook") == 1
    assert metrics.value("monitorx_notifications_failed_total", channel="ops-hook") == 0
    assert metrics.value("monitorx_notifications_failed_total", channel="down-hook") == 1
    # Refused connections are retried (after a backoff the fake clock never reaches).
    assert metrics.value("monitorx_notifications_gave_up_total", channel="down-hook") == 0
    assert metrics.value("monitorx_notifications_pending") == 1


def test_websocket_clients_are_counted_while_connected(live_server: LiveServer) -> None:
    url = live_server.url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(url), connect(url):
        connected = eventually(
            lambda: scrape(live_server.url).value("monitorx_websocket_clients"), lambda n: n == 2
        )
    assert connected == 2
    gone = eventually(
        lambda: scrape(live_server.url).value("monitorx_websocket_clients"), lambda n: n == 0
    )
    assert gone == 0


@pytest.fixture
def server_settings() -> dict[str, object]:
    # Window rules every 50 ms: their job has run by the time a test scrapes.
    return {"rule_eval_interval_s": 0.05}


def test_scheduler_jobs_report_their_runs(live_server: LiveServer) -> None:
    job = {"job_name": "evaluate-window-rules"}
    metrics = eventually(
        lambda: scrape(live_server.url),
        lambda m: m.value("monitorx_scheduler_job_runs_total", **job) >= 2,
    )
    assert metrics.value("monitorx_scheduler_job_runs_total", **job) >= 2
    assert metrics.value("monitorx_scheduler_job_failures_total", **job) == 0
    assert metrics.value("monitorx_scheduler_job_last_run_timestamp_seconds", **job) > 0
    assert metrics.value("monitorx_scheduler_job_runs_total", job_name="data-lifecycle") == 0


def test_per_model_series_are_off_by_default(live_server: LiveServer, api: httpx.Client) -> None:
    assert api.post("/metrics/inference", json={"model_id": "m", "latency": 3}).status_code == 202
    assert not [name for name in scrape(live_server.url).types if "model" in name]


def test_per_model_series_count_requests_errors_and_latency(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    latency_ms = {"fraud-v3": rng.lognormal(3, 1.5, 300), "ranker": rng.lognormal(1, 1, 40)}
    errors = {"fraud-v3": rng.random(300) < 0.1, "ranker": np.zeros(40, dtype=bool)}
    settings = make_settings(tmp_path / "data", prometheus_model_series=True)
    with run_server(settings) as server, httpx.Client(base_url=server.api, timeout=30) as api:
        batch = [
            {"model_id": model_id, "latency": float(value), "error": bool(error)}
            for model_id in latency_ms
            for value, error in zip(latency_ms[model_id], errors[model_id], strict=True)
        ]
        assert api.post("/metrics/inference/batch", json=batch[:200]).status_code == 202
        for item in batch[200:210]:  # single metrics take the plain-Python path
            assert api.post("/metrics/inference", json=item).status_code == 202
        assert api.post("/metrics/inference/batch", json=batch[210:]).status_code == 202
        metrics = scrape(server.url)

    for model_id, values in latency_ms.items():
        labels = {"model_id": model_id}
        assert metrics.value("monitorx_model_requests_total", **labels) == len(values)
        assert metrics.value("monitorx_model_errors_total", **labels) == errors[model_id].sum()
        seconds = values / 1000
        assert metrics.value("monitorx_model_latency_seconds_sum", **labels) == pytest.approx(
            seconds.sum()
        )
        for bound in SECONDS_BUCKETS:
            expected = np.count_nonzero(seconds <= bound)
            found = metrics.value("monitorx_model_latency_seconds_bucket", **labels, le=repr(bound))
            assert found == expected, (model_id, bound)
