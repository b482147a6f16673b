"""Traces end to end: the official OpenTelemetry Python SDK and its OTLP/HTTP span
exporter send GenAI traces to a live server; the traces API gives back the tree,
and the model calls appear as inference metrics with their tokens and errors. On
every backend the server tests run on (MONITORX_TEST_BACKEND)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from tests.conftest import LiveServer, make_settings, run_server

LLAMA = "meta-llama:Llama-3-8B"


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield http


def _send_genai_trace(
    server: LiveServer, compression: Compression, headers: dict[str, str] | None = None
) -> str:
    """A support agent calling two LLMs: the first answers (current attribute names),
    the second fails (the names of GenAI conventions ≤ v1.36). Its trace id."""
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces", compression=compression, headers=headers
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.traces")
    with tracer.start_as_current_span(
        "invoke_agent support", attributes={"gen_ai.conversation.id": "conv-7"}
    ) as root:
        with tracer.start_as_current_span(
            "chat meta-llama/Llama-3-8B",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "meta-llama/Llama-3-8B",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.prompt": "my card is 4111 1111 1111 1111",  # content: off by default
            },
        ):
            pass
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.prompt_tokens": 80,
                "gen_ai.usage.completion_tokens": 0,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as failing:
            failing.record_exception(TimeoutError("upstream timed out"))
            failing.set_status(StatusCode.ERROR, "upstream timed out")
        trace_id = f"{root.get_span_context().trace_id:032x}"
    provider.shutdown()
    return trace_id


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_otel_sdk_sends_a_genai_trace_and_gets_its_tree_and_metrics(
    live_server: LiveServer, api: httpx.Client, compression: Compression
) -> None:
    trace_id = _send_genai_trace(live_server, compression)

    listed = api.get("/traces").json()
    assert [t["trace_id"] for t in listed] == [trace_id]
    [trace] = listed
    assert trace["name"] == "invoke_agent support"
    assert (trace["span_count"], trace["error"], trace["session_id"]) == (3, True, "conv-7")
    assert (trace["input_tokens"], trace["output_tokens"]) == (200, 30)
    assert trace["model_id"] in (LLAMA, "gpt-4o")
    assert trace["duration_ms"] > 0

    detail = api.get(f"/traces/{trace_id}").json()
    assert detail["trace_id"] == trace_id
    root, llama, gpt = detail["spans"]
    assert root["parent_span_id"] is None and root["name"] == "invoke_agent support"
    assert llama["parent_span_id"] == gpt["parent_span_id"] == root["span_id"]
    assert len(root["span_id"]) == 16 and root["span_id"] == root["span_id"].lower()
    assert root["start"] <= llama["start"] <= llama["end"] <= gpt["start"] <= root["end"]
    assert (llama["kind"], llama["model_id"], llama["status"]["code"]) == ("client", LLAMA, "unset")
    assert gpt["status"] == {"code": "error", "message": "upstream timed out"}
    [exception] = gpt["events"]
    assert exception["name"] == "exception"
    assert exception["attributes"]["exception.type"] == "TimeoutError"
    # Content is dropped by default, and the span says so.
    assert "gen_ai.prompt" not in llama["attributes"]
    assert llama["attributes"]["monitorx.content_dropped"] == 1
    assert llama["resource"]["service.name"] == "support-bot"

    # The model calls are inference metrics of their models, linked to the trace.
    [llama_metric] = api.get("/metrics/inference", params={"model_id": LLAMA}).json()
    assert llama_metric["llm"]["prompt_tokens"] == 120
    assert llama_metric["llm"]["completion_tokens"] == 30
    assert llama_metric["error"] is False and llama_metric["request_id"] == trace_id
    assert llama_metric["latency"] == pytest.approx(llama["duration_ms"], abs=0.01)
    assert llama_metric["tags"] == {
        "operation": "chat",
        "provider": "openai",
        "service": "support-bot",
    }
    [gpt_metric] = api.get("/metrics/inference", params={"model_id": "gpt-4o"}).json()
    assert gpt_metric["error"] is True
    assert gpt_metric["llm"]["prompt_tokens"] == 80
    summary = api.get("/models/gpt-4o/summary").json()
    assert (summary["count"], summary["error_rate"]) == (1, 1.0)


def test_filters_select_traces(live_server: LiveServer, api: httpx.Client) -> None:
    trace_id = _send_genai_trace(live_server, Compression.NoCompression)
    assert [t["trace_id"] for t in api.get("/traces", params={"model_id": LLAMA}).json()] == [
        trace_id
    ]
    assert api.get("/traces", params={"model_id": "other"}).json() == []
    assert len(api.get("/traces", params={"error": "true"}).json()) == 1
    assert api.get("/traces", params={"error": "false"}).json() == []
    assert len(api.get("/traces", params={"session_id": "conv-7"}).json()) == 1
    assert api.get("/traces", params={"min_duration_ms": 3_600_000}).json() == []


def _request(name: str = "chat") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "rag"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    span.span_id = bytes.fromhex("eee19b7ec3c1b174")
    span.name = name
    span.kind = Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = 1_765_000_000_000_000_000
    span.end_time_unix_nano = 1_765_000_000_250_000_000
    span.status.code = Status.STATUS_CODE_OK
    model = span.attributes.add()
    model.key, model.value.string_value = "gen_ai.response.model", "mistral/small"
    tokens = span.attributes.add()
    tokens.key, tokens.value.int_value = "gen_ai.usage.input_tokens", 9
    event = span.events.add()
    event.name, event.time_unix_nano = "retry", 1_765_000_000_100_000_000
    return request


def test_protobuf_and_json_bodies_store_the_same_span(
    client: httpx.Client, api: httpx.Client
) -> None:
    request = _request()
    answer = client.post(
        "/v1/traces",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(answer.content)
    assert not parsed.HasField("partial_success")
    trace_id = "5b8efff798038103d269b633813fc60c"
    from_protobuf = api.get(f"/traces/{trace_id}").json()

    # OTLP/JSON writes ids as hex, not protobuf JSON's base64.
    body = json_format.MessageToDict(request)
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = "6b8efff798038103d269b633813fc60c"
    span["spanId"] = "eee19b7ec3c1b174"
    answer = client.post("/v1/traces", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {}
    from_json = api.get("/traces/6b8efff798038103d269b633813fc60c").json()
    assert from_json["spans"] == from_protobuf["spans"]
    [stored] = from_json["spans"]
    assert stored["model_id"] == "mistral:small" and stored["status"]["code"] == "ok"
    assert stored["start"] == "2025-12-06T05:46:40+00:00" and stored["duration_ms"] == 250
    assert stored["events"] == [
        {"name": "retry", "time": "2025-12-06T05:46:40.100000+00:00", "attributes": {}}
    ]


def test_a_span_with_a_bad_id_is_rejected_and_the_others_kept(client: httpx.Client) -> None:
    request = _request()
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    bad.name, bad.span_id = "broken", b"\x01\x02"
    answer = client.post(
        "/v1/traces",
        content=gzip.compress(request.SerializeToString()),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_spans == 1
    assert "span_id is 2 bytes, not 8" in partial.error_message


@pytest.mark.parametrize(
    ("headers", "body", "status", "named"),
    [
        ({"Content-Type": "application/x-protobuf"}, b"\xff\xff\xff", 400, "not an OTLP protobuf"),
        ({"Content-Type": "application/json"}, b"{not json", 400, "not OTLP JSON"),
        ({"Content-Type": "application/json"}, b"[1, 2]", 400, "must be a JSON object"),
        ({"Content-Type": "text/plain"}, b"spans", 415, "Content-Type 'text/plain'"),
        (
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
            b"not gzip",
            400,
            "not valid gzip",
        ),
        (
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
            gzip.compress(bytes(11 * 1024 * 1024)),
            413,
            "limit once decompressed",
        ),
    ],
    ids=["protobuf", "json", "json-array", "media-type", "gzip", "gzip-bomb"],
)
def test_bad_bodies_are_refused_naming_the_problem(
    client: httpx.Client, headers: dict[str, str], body: bytes, status: int, named: str
) -> None:
    answer = client.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == status
    if answer.headers["content-type"] == "application/json":
        message = answer.json()["message"]
    else:
        from google.rpc.status_pb2 import Status as RpcStatus

        message = RpcStatus.FromString(answer.content).message
    assert named in message


def test_an_unknown_or_malformed_trace_id(api: httpx.Client) -> None:
    answer = api.get(f"/traces/{'a' * 32}")
    assert answer.status_code == 404 and "no trace" in answer.text
    answer = api.get("/traces/not-a-trace")
    assert answer.status_code == 422 and "trace_id" in answer.text
    assert api.get("/traces", params={"limit": 0}).status_code == 422
    assert api.get("/traces", params={"min_duration_ms": -1}).status_code == 422


def test_an_ingest_key_sends_spans_and_a_viewer_key_reads_them(tmp_path: Path) -> None:
    ingest, viewer = "traces-ingest-key-0123", "traces-viewer-key-0123"
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, api_keys=[f"{ingest}:ingest", f"{viewer}:viewer"]
    )
    with run_server(settings) as server, httpx.Client(base_url=server.url) as http:
        refused = http.post(
            "/v1/traces", content=b"", headers={"Content-Type": "application/x-protobuf"}
        )
        assert refused.status_code == 401
        trace_id = _send_genai_trace(
            server, Compression.Gzip, headers={"Authorization": f"Bearer {ingest}"}
        )
        assert http.get("/api/v1/traces", headers={"X-API-Key": ingest}).status_code == 403
        listed = http.get("/api/v1/traces", headers={"X-API-Key": viewer}).json()
    assert [t["trace_id"] for t in listed] == [trace_id]


def test_content_is_kept_where_the_project_allows_it_and_masked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", trace_content_projects=["default"])
    with run_server(settings) as server, httpx.Client(base_url=server.url) as http:
        trace_id = _send_genai_trace(server, Compression.NoCompression)
        spans = http.get(f"/api/v1/traces/{trace_id}").json()["spans"]
    llama = spans[1]
    assert "monitorx.content_dropped" not in llama["attributes"]
    # The card number is masked as tags are (card is a default detector).
    prompt = llama["attributes"]["gen_ai.prompt"]
    assert prompt.startswith("my card is <card") and "4111" not in prompt
