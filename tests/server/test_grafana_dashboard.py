"""deploy/grafana: the dashboard JSON and the provisioning files are what Grafana
loads, and every query of the dashboard selects only `monitorx_` series that a
live server's `/metrics` exposes (per-model series on)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import make_settings, run_server
from tests.exposition import scrape
from tests.grafana import GRAFANA, load_dashboard, metric_names, panels, queries

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_metric_names_are_what_a_query_selects() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (endpoint, le) (rate(monitorx_x_bucket{job=~"$job",'
        ' status=~"4xx|5xx"}[$__rate_interval]))) / on (instance) up'
    )
    assert metric_names(expr) == {"monitorx_x_bucket", "up"}


def test_the_dashboard_is_one_grafana_dashboard_over_a_prometheus_variable() -> None:
    dashboard = load_dashboard()
    assert (dashboard["uid"], dashboard["title"]) == ("monitorx", "MonitorX")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    found = panels(dashboard)
    ids = [p["id"] for p in found]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in found:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat"}, panel["title"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            assert "$instance" in target["expr"], f"{panel['title']}: not filtered by instance"


def test_the_dashboard_shows_each_part_of_the_server() -> None:
    used = set().union(*(metric_names(expr) for expr in queries(load_dashboard())))
    for family in (
        "monitorx_ingest_accepted_total",
        "monitorx_http_request_duration_seconds_bucket",
        "monitorx_http_request_duration_seconds_count",
        "monitorx_storage_write_seconds_bucket",
        "monitorx_storage_write_errors_total",
        "monitorx_decoder_workers_alive",
        "monitorx_decoder_batches_in_flight",
        "monitorx_alert_evaluations_total",
        "monitorx_alerts_active",
        "monitorx_notifications_sent_total",
        "monitorx_notifications_failed_total",
        "monitorx_websocket_clients",
        "monitorx_scheduler_job_failures_total",
        "monitorx_model_requests_total",
        "monitorx_model_errors_total",
        "monitorx_model_latency_seconds_bucket",
    ):
        assert family in used, f"no panel shows {family}"


def test_every_query_names_only_series_a_live_server_exposes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", prometheus_model_series=True)
    with run_server(settings) as server:
        sent = httpx.post(f"{server.api}/metrics/inference", json={"model_id": "m", "latency": 5})
        assert sent.status_code == 202
        exposed = scrape(server.url).sample_names()
    for expr in queries(load_dashboard()):
        names = metric_names(expr)
        assert names, f"no metric in {expr}"
        unknown = names - exposed
        assert not unknown, f"{expr} names series /metrics does not expose: {unknown}"


@pytest.mark.parametrize(
    ("path", "key", "kind"),
    [
        ("provisioning/datasources/monitorx-prometheus.yaml", "datasources", "prometheus"),
        ("provisioning/dashboards/monitorx.yaml", "providers", "file"),
    ],
)
def test_the_provisioning_files_are_grafanas(path: str, key: str, kind: str) -> None:
    config = yaml.safe_load((GRAFANA / path).read_text())
    assert config["apiVersion"] == 1
    (entry,) = config[key]
    assert entry["type"] == kind
    if kind == "file":
        assert entry["options"]["path"].startswith("/")
    else:
        assert entry["url"].startswith("http")
