"""Events and logs through the API, as a deploy script, a service and an
on-call engineer use them: events posted (with Grafana's annotation fields too)
and listed with filters; MonitorX's own config changes listed as events; logs
found by words, by severity and up, by trace and by time, from ``/api/v1/logs``
and from the official OpenTelemetry SDK's OTLP/HTTP exporter; bad input refused
with a 4xx naming the problem. Runs on every backend (tests/backends.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

TRACE = "4BF92F3577B34DA6A3CE929D0E0E4736"
SPAN = "00f067aa0ba902b7"
NOW = datetime.now(UTC).replace(microsecond=0)


def _ago(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["message"] for i in items]


def test_events_posted_and_listed_newest_first_with_filters(api: httpx.Client) -> None:
    events = [
        {
            "timestamp": _ago(30),
            "event_type": "model_deploy",
            "model_id": "fraud-v3",
            "source": "ci",
            "message": "fraud-v3 v2 deployed",
            "attributes": {"version": "v2"},
        },
        {"timestamp": _ago(20), "event_type": "incident", "message": "eu network degraded"},
        {"timestamp": _ago(10), "event_type": "model_deploy", "model_id": "churn", "message": "c1"},
    ]
    answer = api.post("/events", json=events)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 3}
    listed = api.get("/events").json()
    assert _ids(listed) == ["c1", "eu network degraded", "fraud-v3 v2 deployed"]
    deploy = listed[2]
    assert deploy["model_id"] == "fraud-v3" and deploy["source"] == "ci"
    assert deploy["attributes"] == {"version": "v2"} and deploy["severity"] == "info"
    assert _ids(api.get("/events", params={"model_id": "fraud-v3"}).json()) == [
        "fraud-v3 v2 deployed"
    ]
    assert _ids(api.get("/events", params={"event_type": "model_deploy"}).json()) == [
        "c1",
        "fraud-v3 v2 deployed",
    ]
    window = {"start": _ago(25), "end": _ago(5), "limit": 1}
    assert _ids(api.get("/events", params=window).json()) == ["c1"]


def test_a_grafana_annotation_maps_onto_an_event(api: httpx.Client) -> None:
    start_ms = int((NOW - timedelta(minutes=5)).timestamp() * 1000)
    grafana = {
        "time": start_ms,
        "timeEnd": start_ms + 60_000,
        "tags": ["deploy", "production"],
        "text": "Deployed fraud-v3 v2",
        "dashboardUID": "abc",
        "panelId": 2,
    }
    assert api.post("/events", json=grafana).status_code == 202
    graphite = {"what": "Event - deploy", "tags": "deploy canary", "when": NOW.timestamp()}
    assert api.post("/events", json=graphite).status_code == 202
    first, second = api.get("/events", params={"event_type": "annotation"}).json()
    assert first["message"] == "Event - deploy" and first["tags"] == ["deploy", "canary"]
    assert second["message"] == second["text"] == "Deployed fraud-v3 v2"
    assert second["time"] == start_ms and second["timeEnd"] == start_ms + 60_000
    assert second["tags"] == ["deploy", "production"]
    assert second["attributes"] == {"dashboardUID": "abc", "panelId": 2}


def test_monitorx_posts_its_own_config_changes_as_events(api: httpx.Client) -> None:
    body = {"id": "fraud-v3", "model_type": "tabular"}
    assert api.post("/models", json=body).status_code == 201
    assert api.delete("/models/fraud-v3").status_code == 204
    channel = {"id": "ops", "type": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}
    assert api.post("/channels", json=channel).status_code == 201
    own = api.get("/events", params={"source": "monitorx"}).json()
    assert [e["attributes"]["action"] for e in own] == [
        "create_channel",
        "delete_model",
        "create_model",
    ]
    assert {e["event_type"] for e in own} == {"config_change"}
    assert [e["model_id"] for e in own] == [None, "fraud-v3", "fraud-v3"]
    assert own[1]["message"] == "delete model /api/v1/models/fraud-v3 by anonymous"
    # Data writes are no config change.
    assert api.post("/metrics/inference", json={"model_id": "m", "latency": 1}).status_code == 202
    assert len(api.get("/events", params={"source": "monitorx"}).json()) == 3


def _post_logs(api: httpx.Client) -> None:
    logs = [
        {"timestamp": _ago(40), "severity": "debug", "message": "cache warm-up done"},
        {
            "timestamp": _ago(30),
            "severity": "info",
            "model_id": "fraud-v3",
            "message": "Request served for region EU",
            "trace_id": TRACE,
            "span_id": SPAN,
        },
        {
            "timestamp": _ago(20),
            "severity": "warn",
            "model_id": "fraud-v3",
            "message": "slow upstream: feature-store timeout after 2s",
            "trace_id": TRACE,
        },
        {
            "timestamp": _ago(10),
            "severity": "ERROR",
            "model_id": "fraud-v3",
            "message": "Upstream TIMEOUT talking to feature-store",
            "attributes": {"host": "web-1"},
        },
    ]
    answer = api.post("/logs", json=logs)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 4}


def test_logs_found_by_words_severity_trace_and_time(api: httpx.Client) -> None:
    _post_logs(api)

    def messages(**params: Any) -> list[str]:
        answer = api.get("/logs", params=params)
        assert answer.status_code == 200, answer.text
        return _ids(answer.json())

    assert messages(q="timeout") == [
        "Upstream TIMEOUT talking to feature-store",
        "slow upstream: feature-store timeout after 2s",
    ]
    assert messages(q="upstream TIMEOUT", severity="error") == [
        "Upstream TIMEOUT talking to feature-store"
    ]
    assert messages(severity="warning") == messages(q="feature store")
    assert len(messages()) == 4
    assert messages(trace_id=TRACE.lower()) == [
        "slow upstream: feature-store timeout after 2s",
        "Request served for region EU",
    ]
    assert messages(q="region eu", trace_id=TRACE) == ["Request served for region EU"]
    assert messages(start=_ago(35), end=_ago(15), model_id="fraud-v3", limit=1) == [
        "slow upstream: feature-store timeout after 2s"
    ]
    assert messages(q="timeout memory") == []
    first = api.get("/logs", params={"trace_id": TRACE}).json()[-1]
    assert first["trace_id"] == TRACE.lower() and first["span_id"] == SPAN
    assert first["severity"] == "info" and first["model_id"] == "fraud-v3"


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/events", [{"event_type": "deploy"}], "[0].message"),
        ("/events", [{"message": "x", "trace_id": "xyz"}], "[0].trace_id"),
        ("/events", [{"message": "x", "timestamp": "yesterday"}], "[0].timestamp"),
        ("/events", [{"message": "x", "time": "soon"}], "[0].time"),
        ("/events", [{"message": "x", "tags": [1, 2]}], "[0].tags"),
        ("/events", [{"message": "x", "model_id": "a b"}], "[0].model_id"),
        ("/events", [{"message": "x", "attributes": [1]}], "[0].attributes"),
        ("/events", [{"message": "ok"}, "not an object"], "[1]"),
        ("/events", "a string", "JSON array"),
        ("/events", [], "no events"),
        ("/logs", [{"message": "x"}], "[0].severity"),
        ("/logs", [{"message": "x", "severity": "loud"}], "[0].severity"),
        ("/logs", [{"severity": "info"}], "[0].message"),
        ("/logs", [{"severity": "info", "message": "x", "span_id": "12"}], "[0].span_id"),
    ],
)
def test_bad_events_and_logs_are_refused_naming_the_field(
    api: httpx.Client, path: str, body: object, named: str
) -> None:
    answer = api.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert named in answer.text
    assert api.get(path).json() == []  # all or nothing


def test_bad_queries_and_too_many_items(api: httpx.Client) -> None:
    for params, named in (
        ({"severity": "loud"}, "severity"),
        ({"trace_id": "abc"}, "trace_id"),
        ({"start": "noon"}, "start"),
        ({"limit": 0}, "limit"),
    ):
        answer = api.get("/logs", params=params)
        assert answer.status_code == 422 and named in answer.text, answer.text
    too_many = [{"severity": "info", "message": "x"}] * 10_001
    answer = api.post("/logs", json=too_many)
    assert answer.status_code == 413, answer.text
    assert "10000" in answer.text.replace(",", "")
    answer = api.post("/events", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 400


def test_pii_is_masked_in_log_and_event_messages_and_attributes(tmp_path: Any) -> None:
    from tests.conftest import make_settings, run_server

    settings = make_settings(tmp_path / "data")
    with run_server(settings) as server, httpx.Client(base_url=server.api) as api:
        log = {
            "severity": "error",
            "message": "mail to jane@example.com failed",
            "attributes": {"user": "jane@example.com"},
        }
        assert api.post("/logs", json=[log]).status_code == 202
        event = {"message": "paged bob@example.org", "attributes": {"to": "bob@example.org"}}
        assert api.post("/events", json=event).status_code == 202
        text = api.get("/logs").text + api.get("/events").text
    assert "example.com" not in text and "example.org" not in text


def test_the_opentelemetry_sdk_exports_logs_found_by_words_and_trace(
    live_server: LiveServer, api: httpx.Client
) -> None:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": "scorer", "model_id": "fraud-v3"})
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{live_server.url}/v1/logs"))
    )
    logger = provider.get_logger("scoring")
    tracer = TracerProvider().get_tracer("scoring")
    try:
        with tracer.start_as_current_span("score") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            logger.emit(
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                body="feature store answered slowly",
                attributes={"model_id": "churn"},
            )
        logger.emit(severity_number=SeverityNumber.ERROR, body="scoring failed: file missing")
    finally:
        provider.shutdown()
    found = api.get("/logs", params={"q": "slowly feature"}).json()
    assert [f["message"] for f in found] == ["feature store answered slowly"]
    assert found[0]["trace_id"] == trace_id and found[0]["severity"] == "warning"
    assert found[0]["model_id"] == "churn"  # the record's attribute wins
    assert found[0]["attributes"]["service.name"] == "scorer"
    by_trace = api.get("/logs", params={"trace_id": trace_id}).json()
    assert [f["message"] for f in by_trace] == ["feature store answered slowly"]
    failed = api.get("/logs", params={"severity": "error", "model_id": "fraud-v3"}).json()
    assert [f["message"] for f in failed] == ["scoring failed: file missing"]


def test_otlp_logs_refuse_what_is_not_otlp(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        bad = client.post(
            "/v1/logs", content=b"\xff\x00", headers={"content-type": "application/x-protobuf"}
        )
        assert bad.status_code == 400
        wrong = client.post("/v1/logs", content=b"x", headers={"content-type": "text/plain"})
        assert wrong.status_code == 415
        record = {"timeUnixNano": "1", "body": {"stringValue": "ok"}, "traceId": "abcd"}
        partial = {
            "resourceLogs": [
                {
                    "scopeLogs": [
                        {"logRecords": [record, {"body": {"stringValue": "kept json log"}}]}
                    ]
                }
            ]
        }
        answer = client.post("/v1/logs", json=partial)
        assert answer.status_code == 200, answer.text
        assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
        found = client.get("/api/v1/logs", params={"q": "kept"}).json()
        assert [f["message"] for f in found] == ["kept json log"]
