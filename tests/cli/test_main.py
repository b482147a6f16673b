"""The `monitorx` command line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from monitorx.cli.main import _pii_line, build_parser, main
from monitorx.server.settings import Settings
from tests.conftest import free_port
from tests.system.conftest import start_server


def test_serve_flags_override_the_environment() -> None:
    args = build_parser().parse_args(
        ["serve", "--host", "0.0.0.0", "--port", "9001", "--data-dir", "/srv/mx"]
    )
    assert (args.host, args.port, args.data_dir) == ("0.0.0.0", 9001, "/srv/mx")


def test_version_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitorx", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "monitorx 0.1.0"


@pytest.mark.system
def test_serve_with_auth_on_and_no_keys_uses_the_bootstrap_key(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", extra_env={"MONITORX_AUTH_ENABLED": "true"})
    try:
        key = (tmp_path / "data" / "admin-api-key").read_text().strip()
        assert httpx.get(f"{server.api}/models").status_code == 401
        assert httpx.get(f"{server.api}/models", headers={"X-API-Key": key}).status_code == 200
    finally:
        server.stop()
    assert (
        "PII masking: email, card, phone (hash)" in (tmp_path / "data" / "server.log").read_text()
    )


def test_the_start_up_line_says_what_is_masked_or_that_nothing_is(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pii_mode="redact", pii_custom_patterns={"emp": "E-1"})
    assert _pii_line(settings) == "PII masking: email, card, phone, emp (redact)"
    off = _pii_line(Settings(data_dir=tmp_path, pii_detectors=[]))
    assert off.startswith("PII masking is off")


@pytest.mark.system
def test_serve_with_an_otlp_grpc_port_takes_otlp_over_grpc(tmp_path: Path) -> None:
    grpc_port = free_port()
    server = start_server(tmp_path / "data", extra_args=["--otlp-grpc-port", str(grpc_port)])
    try:
        request = ExportMetricsServiceRequest()
        metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="queue.depth")
        queue = KeyValue(key="queue", value=AnyValue(string_value="emails"))
        metric.gauge.data_points.add(time_unix_nano=time.time_ns(), as_int=17, attributes=[queue])
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            MetricsServiceStub(channel).Export(request, timeout=10)
        answer = httpx.get(
            f"{server.api}/metrics/query",
            params={"metric": "queue.depth", "agg": "last", "interval": "1h", "group_by": "queue"},
        )
        assert answer.status_code == 200, answer.text
        [series] = answer.json()["series"]
        assert series["labels"] == {"queue": "emails"} and series["points"][-1]["value"] == 17
    finally:
        server.stop()
    log = (tmp_path / "data" / "server.log").read_text()
    assert f"OTLP/gRPC metrics on 127.0.0.1:{grpc_port}" in log


def test_serve_with_an_otlp_grpc_port_and_no_grpcio_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "grpc", None)  # as if grpcio were not installed
    monkeypatch.delitem(sys.modules, "monitorx.server.otlp_grpc", raising=False)
    monkeypatch.setenv("MONITORX_AUTH_ENABLED", "false")
    data_dir = str(tmp_path / "data")
    assert main(["serve", "--otlp-grpc-port", "4317", "--data-dir", data_dir]) == 2
    error = capsys.readouterr().err
    assert 'needs grpcio, which is not installed: pip install "monitorx[otlp-grpc]"' in error


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://mx:s3cret-pass@db:5432/monitorx",
            "postgresql://mx:<secret>@db:5432/monitorx",
        ),
        (
            "postgresql://db/monitorx?password=s3cret-pass",
            "postgresql://db/monitorx?password=<secret>",
        ),
        (
            "duckdb:////var/lib/monitorx/monitorx.duckdb",
            "duckdb:////var/lib/monitorx/monitorx.duckdb",
        ),
    ],
)
def test_the_start_up_banner_never_prints_a_storage_password(url: str, shown: str) -> None:
    from monitorx.cli.main import _shown_url

    assert _shown_url(url) == shown
