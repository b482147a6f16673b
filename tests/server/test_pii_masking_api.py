"""PII masking end to end, on a real server and each backend: emails, card numbers
and phone numbers sent in inference tags (one metric, and a batch decoded in a
worker process), custom metric labels (JSON, line protocol, OTLP, remote_write),
records, labels and reference rows are found nowhere afterwards — not in the API's
answers, not in what the store holds (read back through the store, and for DuckDB
as the bytes of its database file and WAL), not in the server's log — while drift
on a masked categorical column still finds a planted shift, and an erasure by the
value as sent deletes the records that held it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cramjam
import httpx
import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from monitorx.ingest.pool import POOL_MIN_BYTES
from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from monitorx.records.blob_kinds import LABELS, RECORDS, REFERENCE
from monitorx.records.parquet_parts import read_parquet
from monitorx.server.settings import Settings
from monitorx.store import MetricQuery, Storage, open_storage
from tests.backends import api_backend
from tests.conftest import make_settings, run_server

# Each customer's email, card and phone; a different one in each way in.
CUSTOMERS = [f"customer{i}@example.com" for i in range(4)]
CARDS = ["4111 1111 1111 1111", "5555555555554444", "378282246310005", "6011-1111-1111-1117"]
PHONES = ["+1 415 555 2671", "+44 20 7946 0958", "(212) 555-0147", "+4915112345678"]
PII = [*CUSTOMERS, *CARDS, *PHONES]
# How each may be found in stored bytes: as sent, and its digits alone.
NEEDLES = sorted({*PII, *("".join(c for c in p if c.isdigit()) for p in CARDS + PHONES)}, key=len)
MODEL = "fraud-v3"
ROWS = 300


def _leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


class _Captured(logging.Handler):
    """Every record the server logs while the test runs, formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_log() -> Iterator[_Captured]:
    handler = _Captured()
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "monitorx")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _listen(handler: _Captured) -> None:
    """Log as a production server does (access log and info lines on) into
    ``handler``; after the server configured logging, which sets the levels."""
    for name in ("uvicorn.error", "uvicorn.access", "monitorx", ""):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


def _send_metrics(client: httpx.Client) -> None:
    one = {"model_id": MODEL, "latency": 12.0, "tags": {"user": CUSTOMERS[0], "pan": CARDS[0]}}
    assert client.post("/api/v1/metrics/inference", json=one).status_code == 202
    batch = [
        {
            "model_id": MODEL,
            "latency": float(i % 50),
            "tags": {"user": CUSTOMERS[i % 4], "phone": PHONES[i % 4], "note": f"n{i % 9}"},
        }
        for i in range(1_500)
    ]
    body = orjson.dumps(batch)
    assert len(body) >= POOL_MIN_BYTES  # decoded by the worker process
    response = client.post(
        "/api/v1/metrics/inference/batch",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1_500


def _send_custom_metrics(client: httpx.Client) -> None:
    samples = [
        {"name": "logins", "value": float(i), "labels": {"user": CUSTOMERS[i], "env": "prod"}}
        for i in range(4)
    ]
    assert client.post("/api/v1/metrics/custom", json=samples).status_code == 202
    line = f"payments,card={CARDS[1]},phone={PHONES[3]} value=12.5\n"
    response = client.post("/write", content=line.encode(), params={"precision": "s"})
    assert response.status_code == 204, response.text

    now_ns = time.time_ns()
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    metric = resource.scope_metrics.add().metrics.add(name="checkout.total", unit="1")
    metric.gauge.data_points.add(
        time_unix_nano=now_ns,
        as_double=1.0,
        attributes=[KeyValue(key="email", value=AnyValue(string_value=CUSTOMERS[2]))],
    )
    response = client.post(
        "/v1/metrics",
        content=json_format.MessageToJson(request),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text

    write = WriteRequest()
    series = write.timeseries.add()
    for name, value in sorted({"__name__": "sms_sent", "to": PHONES[1]}.items()):
        series.labels.add(name=name, value=value)
    series.samples.add(value=3.0, timestamp=now_ns // 1_000_000)
    response = client.post(
        "/api/v1/prom/write",
        content=bytes(cramjam.snappy.compress_raw(write.SerializeToString())),
        headers={
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
    )
    assert response.status_code == 204, response.text


def _send_drift_data(client: httpx.Client) -> None:
    # The reference: customers evenly; the records: mostly customer 3 (the planted
    # shift), with a plan column that does not move.
    reference = [
        {"customer": CUSTOMERS[i % 4], "phone": PHONES[i % 4], "plan": ["a", "b"][i % 2]}
        for i in range(ROWS)
    ]
    response = client.put(f"/api/v1/models/{MODEL}/reference", json={"rows": reference})
    assert response.status_code == 200, response.text
    records = [
        {
            "request_id": f"req-{i}",
            "features": {
                "customer": CUSTOMERS[3] if i % 10 else CUSTOMERS[i % 4],
                "phone": PHONES[i % 4],
                "plan": ["a", "b"][i % 2],
            },
            "prediction": f"call {PHONES[i % 4]}",
        }
        for i in range(ROWS)
    ]
    response = client.post(f"/api/v1/models/{MODEL}/records", json=records)
    assert response.status_code == 202, response.text
    labels = [{"request_id": f"req-{i}", "label": f"card {CARDS[i % 4]}"} for i in range(ROWS)]
    response = client.post(f"/api/v1/models/{MODEL}/labels", json=labels)
    assert response.status_code == 202, response.text


def _read_api(client: httpx.Client) -> list[str]:
    """What the API answers about everything sent, as texts."""
    answers = [
        client.get("/api/v1/metrics/inference", params={"model_id": MODEL, "limit": 10_000}).text,
        client.get("/api/v1/metrics/names").text,
        client.get(f"/api/v1/models/{MODEL}/reference").text,
    ]
    for metric, group_by in [
        ("latency", "user,phone,pan"),
        ("logins", "user"),
        ("payments", "card,phone"),
        ("checkout.total", "email"),
        ("sms_sent", "to"),
    ]:
        response = client.get(
            "/api/v1/metrics/query",
            params={"metric": metric, "agg": "count", "group_by": group_by},
        )
        assert response.status_code == 200, response.text
        assert response.json(), f"{metric}: nothing stored"
        answers.append(response.text)
    return answers


async def _stored_texts(storage: Storage) -> list[str]:
    """What the store holds, read back through it: metrics and their tags, series and
    their labels, and every Parquet blob of records, labels and reference sets."""
    far = MetricQuery(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC), 10_000, MODEL
    )
    texts = [repr(m) for m in await storage.query_metrics(far)]
    texts += [repr(info) for info, _ in await storage.list_series()]
    for kind in (REFERENCE, RECORDS, LABELS):
        for key in await storage.list_blob_keys(kind):
            data = await storage.get_blob(kind, key)
            assert data is not None
            texts.append(repr(read_parquet(data).to_pylist()))
    return texts


def test_pii_is_masked_everywhere_and_drift_on_a_masked_column_still_works(
    tmp_path: Path, server_log: _Captured
) -> None:
    settings = make_settings(tmp_path / "data", ingest_workers=1)
    assert settings.pii_mode == "hash"  # the defaults: email, card, phone; hashed
    with run_server(settings) as server:
        _listen(server_log)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            _send_metrics(client)
            _send_custom_metrics(client)
            _send_drift_data(client)
            answers = _read_api(client)

            report = client.post(f"/api/v1/models/{MODEL}/drift/analyze", json={})
            assert report.status_code == 200, report.text
            features = {f["feature"]: f for f in report.json()["features"]}
            assert features["customer"]["kind"] == "categorical"
            assert features["customer"]["drifted"] is True
            assert features["plan"]["drifted"] is False
            # Rows given to an analysis are masked as the reference was: the same
            # customers in the same shares are no drift.
            given = client.post(
                f"/api/v1/models/{MODEL}/drift/analyze",
                json={"current": {"rows": [{"customer": CUSTOMERS[i % 4]} for i in range(ROWS)]}},
            )
            assert given.status_code == 200, given.text
            assert given.json()["features"][0]["drifted"] is False
            answers += [report.text, given.text]

            # An erasure by the value as sent finds its masked records.
            erased = client.post(
                "/api/v1/records/erase", json={"column": "customer", "value": CUSTOMERS[0]}
            )
            assert erased.status_code == 200, erased.text
            # Customer 0 is in the records where i is a multiple of 10 and of 4.
            assert erased.json()["records"] == ROWS // 20
            assert erased.json()["reference_rows"] == ROWS // 4
            assert erased.json()["labels"] == ROWS // 20
            answers.append(erased.text)

        for answer in answers:
            assert not _leaks(answer), answer[:2000]
        masked = "".join(answers)
        assert "<email:" in masked and "<phone:" in masked and "<card:" in masked
        stored = server.on_loop(_stored_texts(server.services.storage))
        log = "\n".join(server_log.lines)
    assert not _leaks("\n".join(stored)), "a value was stored as sent"
    assert "<email:" in "".join(stored) and "<card:" in "".join(stored)
    assert "erasure by anonymous" in log and "POST /api/v1/metrics/inference/batch" in log
    assert not _leaks(log), log[-3000:]
    _check_files_at_rest(settings, tmp_path)


def _check_files_at_rest(settings: Settings, tmp_path: Path) -> None:
    """After the server stopped: no file of the data directory holds a value as
    sent (for DuckDB, its database file and WAL), and the store, opened again,
    still holds the masked data."""
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes().decode("latin-1")
            assert not _leaks(content), f"{path} holds a value as sent"
    if api_backend() == "duckdb":
        assert (settings.data_dir / "monitorx.duckdb").stat().st_size > 0
    hash_key = settings.data_dir / "pii-hash-key"
    assert hash_key.stat().st_mode & 0o777 == 0o600

    async def reopen() -> list[str]:
        storage = open_storage(settings.resolved_storage_url(), settings.project_id)
        await storage.open()
        try:
            return await _stored_texts(storage)
        finally:
            await storage.close()

    stored = asyncio.run(reopen())
    assert not _leaks("\n".join(stored))
    assert any("<email:" in text for text in stored)
