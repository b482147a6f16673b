"""End to end with Debian's `prometheus`: it scrapes a live `monitorx serve` (auth
on) every second with the job docs/prometheus.md shows, and its query API returns
MonitorX's series with the values of what was sent; the docs' alerting rules load,
and every query of the Grafana dashboard and of the docs runs on it. And the
other way: with docs/prometheus.md's `remote_write`, what Prometheus scrapes
arrives in MonitorX as custom metrics, queried back with their labels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.backends import unavailable
from tests.grafana import as_prometheus_sees_it, load_dashboard, panel_queries
from tests.polling import eventually
from tests.prometheusd import PrometheusProcess, prometheus_binary, start_prometheus
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "prometheus.md"
ADMIN_KEY = "e2e-admin-key"
SCRAPER_KEY = "e2e-prometheus-key"
JOB = "monitorx"
WAIT_S = 60.0  # generous: two cores shared by every test running beside this one


def _doc_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)\n```", DOC.read_text(), re.DOTALL)


def _doc_yaml(containing: str) -> dict[str, Any]:
    (block,) = [b for b in _doc_blocks("yaml") if containing in b]
    loaded: dict[str, Any] = yaml.safe_load(block)
    return loaded


def _config(server: ServerProcess, work: Path) -> dict[str, Any]:
    """docs/prometheus.md's scrape job and rules, pointed at ``server`` with the
    scraper's key, every second; and a job with a wrong key beside it."""
    (job,) = _doc_yaml("scrape_configs")["scrape_configs"]
    key_file = work / "monitorx.key"
    key_file.write_text(SCRAPER_KEY)
    rules = work / "monitorx-rules.yml"
    rules.write_text(yaml.safe_dump(_doc_yaml("groups:")))
    assert job["job_name"] == JOB and job["authorization"]["type"] == "Bearer"
    target = server.url.removeprefix("http://")
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["authorization"]["credentials_file"] = str(key_file)
    job["static_configs"] = [{"targets": [target]}]
    wrong = {
        "job_name": "monitorx-wrong-key",
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "authorization": {"type": "Bearer", "credentials": "not-a-key"},
        "static_configs": [{"targets": [target]}],
    }
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [job, wrong],
    }


@pytest.fixture
def monitorx(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {
        "MONITORX_AUTH_ENABLED": "true",
        "MONITORX_API_KEYS": json.dumps([ADMIN_KEY, f"{SCRAPER_KEY}:viewer"]),
        "MONITORX_PROMETHEUS_MODEL_SERIES": "true",
    }
    server = start_server(tmp_path / "data", env)
    yield server
    server.stop()


@pytest.fixture
def prometheus(monitorx: ServerProcess, tmp_path: Path) -> Iterator[PrometheusProcess]:
    if prometheus_binary() is None:
        unavailable("prometheus (scripts/ensure-prometheus installs it)")
    work = tmp_path / "prometheus"
    work.mkdir()
    server = start_prometheus(_config(monitorx, work), work)
    yield server
    server.stop()


def _scraped_once(prometheus: PrometheusProcess) -> None:
    """Wait for Prometheus' first scrape: what is sent after it shows as an increase."""
    up = eventually(
        lambda: prometheus.value(f'up{{job="{JOB}"}}'), lambda v: v is not None, timeout_s=WAIT_S
    )
    assert up == 1, prometheus.log()


def _send(monitorx: ServerProcess) -> dict[str, int]:
    """Metrics of two models: a batch with some invalid items, and single metrics.
    Returns what MonitorX must have counted."""
    batch = [{"model_id": "fraud-v3", "latency": 20.0 + i, "error": i % 10 == 0} for i in range(36)]
    batch += [{"model_id": "fraud-v3", "latency": -1.0}] * 4
    singles = [{"model_id": "ranker", "latency": 3.5} for _ in range(5)]
    with httpx.Client(base_url=monitorx.api, headers={"X-API-Key": ADMIN_KEY}) as api:
        answer = api.post("/metrics/inference/batch", json=batch).json()
        assert answer["accepted"] == 36 and len(answer["rejected"]) == 4
        for metric in singles:
            assert api.post("/metrics/inference", json=metric).status_code == 202
    return {"accepted": 41, "rejected": 4, "fraud-v3": 36, "fraud-v3 errors": 4, "ranker": 5}


def test_prometheus_scrapes_monitorx_and_serves_its_series(
    monitorx: ServerProcess, prometheus: PrometheusProcess
) -> None:
    _scraped_once(prometheus)
    sent = _send(monitorx)
    accepted = f'monitorx_ingest_accepted_total{{job="{JOB}", kind="inference"}}'
    scraped = eventually(
        lambda: prometheus.value(accepted), lambda v: v == sent["accepted"], timeout_s=WAIT_S
    )
    assert scraped == sent["accepted"], prometheus.log()

    def value(promql: str) -> float | None:
        return prometheus.value(promql.replace("{", f'{{job="{JOB}", ', 1))

    assert value('monitorx_ingest_rejected_total{kind="inference"}') == sent["rejected"]
    assert value('monitorx_model_requests_total{model_id="fraud-v3"}') == sent["fraud-v3"]
    assert value('monitorx_model_errors_total{model_id="fraud-v3"}') == sent["fraud-v3 errors"]
    assert value('monitorx_model_requests_total{model_id="ranker"}') == sent["ranker"]
    batches = (
        'monitorx_http_request_duration_seconds_count{endpoint="/api/v1/metrics/inference/batch",'
        ' method="POST", status="2xx"}'
    )
    assert value(batches) == 1
    assert value('monitorx_build_info{version="0.1.0"}') == 1
    # The scraper's key was taken as a Bearer token; a wrong one is refused (401).
    wrong = eventually(
        lambda: prometheus.value('up{job="monitorx-wrong-key"}'),
        lambda v: v is not None,
        timeout_s=WAIT_S,
    )
    assert wrong == 0


def test_the_docs_rules_and_every_dashboard_query_run_on_prometheus(
    monitorx: ServerProcess, prometheus: PrometheusProcess
) -> None:
    _scraped_once(prometheus)
    _send(monitorx)
    # A scrape before the metrics were sent and one after: rate() sees the increase.
    ingest_rate = f'sum(rate(monitorx_ingest_accepted_total{{job="{JOB}"}}[1m]))'
    rate = eventually(lambda: prometheus.value(ingest_rate), lambda v: bool(v), timeout_s=WAIT_S)
    assert rate, prometheus.log()

    def rules() -> list[dict[str, Any]]:
        groups = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    loaded = eventually(rules, lambda found: all(r["health"] == "ok" for r in found))
    assert len(loaded) == len(_doc_yaml("groups:")["groups"][0]["rules"])
    assert all(rule["health"] == "ok" for rule in loaded), loaded
    assert [r["name"] for r in loaded if r["state"] != "inactive"] == []  # nothing is wrong

    for line in "\n".join(_doc_blocks("promql")).splitlines():
        prometheus.query(line)
    panels = panel_queries(load_dashboard())

    def empty_panels() -> set[str]:
        return {
            title
            for title, expr in panels
            if not prometheus.query(as_prometheus_sees_it(expr, JOB))
        }

    # Every panel shows data but those of notification channels, of which there are
    # none (failures and errors show as 0; the wrong key's 401s as errors). A model's
    # series are born with the first metric sent, so their rate() needs two scrapes
    # after it: wait for them rather than read the first scrape.
    expected = {"Notifications sent by channel", "Notifications failed by channel"}
    empty = eventually(empty_panels, lambda found: found == expected, WAIT_S, poll_s=0.5)
    assert empty == expected, prometheus.log()


def test_prometheus_remote_writes_what_it_scrapes_into_monitorx(
    monitorx: ServerProcess, tmp_path: Path
) -> None:
    if prometheus_binary() is None:
        unavailable("prometheus (scripts/ensure-prometheus installs it)")
    work = tmp_path / "prometheus"
    work.mkdir()
    config = _config(monitorx, work)
    (remote,) = _doc_yaml("remote_write:")["remote_write"]
    writer_key = work / "monitorx-writer.key"
    writer_key.write_text(ADMIN_KEY)
    remote["url"] = f"{monitorx.url}/api/v1/prom/write"
    remote["authorization"]["credentials_file"] = str(writer_key)
    # The docs' example keeps model_/gpu_/ranker_ series; here MonitorX's own.
    remote["write_relabel_configs"] = [
        {"source_labels": ["__name__"], "regex": "monitorx_ingest_.*", "action": "keep"}
    ]
    remote["queue_config"] = {"batch_send_deadline": "1s"}
    config.update(rule_files=[], remote_write=[remote])
    prometheus = start_prometheus(config, work)
    try:
        _scraped_once(prometheus)
        sent = _send(monitorx)

        def written() -> list[dict[str, Any]]:
            params = {
                "metric": "monitorx_ingest_accepted_total",
                "agg": "last",
                "interval": "1h",
                "label": ["kind:inference", f"job:{JOB}"],
                "group_by": "job,kind",
            }
            with httpx.Client(base_url=monitorx.api, headers={"X-API-Key": ADMIN_KEY}) as api:
                response = api.get("/metrics/query", params=params)
            if response.status_code == 404:  # nothing written yet
                return []
            series: list[dict[str, Any]] = response.json()["series"]
            return series

        def latest(series: list[dict[str, Any]]) -> float | None:
            return series[0]["points"][-1]["value"] if series else None

        series = eventually(written, lambda s: latest(s) == sent["accepted"], timeout_s=WAIT_S)
        assert latest(series) == sent["accepted"], prometheus.log()
        assert series[0]["labels"] == {"job": JOB, "kind": "inference"}
    finally:
        prometheus.stop()
