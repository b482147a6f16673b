"""Decoding OTLP spans: the GenAI names of every generation read alike, model names
made ids, content dropped unless kept, ids and times checked per span."""

from __future__ import annotations

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from monitorx.core import MalformedPayload
from monitorx.ingest.genai import genai_fields, model_id_from
from monitorx.ingest.otlp_traces import decode_traces, parse_traces_request

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN = bytes.fromhex("b7ad6b7169203331")


def _request(attributes: dict[str, object], events: tuple[str, ...] = ()) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = TRACE, SPAN, "chat"
    span.kind = Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    span.end_time_unix_nano = 1_700_000_000_420_000_000
    for key, value in attributes.items():
        item = span.attributes.add()
        item.key = key
        if isinstance(value, int):
            item.value.int_value = value
        else:
            item.value.string_value = str(value)
    for name in events:
        event = span.events.add()
        event.name, event.time_unix_nano = name, span.start_time_unix_nano
        content = event.attributes.add()
        content.key, content.value.string_value = "content", "hello"
    return request.SerializeToString()


@pytest.mark.parametrize(
    "attributes",
    [
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
            "gen_ai.conversation.id": "c1",
        },
        {  # before v1.27, and session.id from other tools
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 12,
            "gen_ai.usage.completion_tokens": 3,
            "session.id": "c1",
        },
        {  # OpenInference
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 12,
            "llm.token_count.completion": 3,
            "session.id": "c1",
        },
    ],
    ids=["current", "older", "openinference"],
)
def test_every_generation_of_names_gives_the_same_metric(attributes: dict[str, object]) -> None:
    decoded = decode_traces(parse_traces_request(_request(attributes), False), False, None)
    metrics = decoded.metrics
    assert metrics.model_id == ["gpt-4o"]
    assert (metrics.prompt_tokens, metrics.completion_tokens) == ([12], [3])
    assert metrics.latency == [420.0] and metrics.error == [False]
    assert metrics.request_id == [TRACE.hex()]
    assert decoded.columns["session_id"] == ["c1"]


def test_the_model_asked_for_wins_and_is_made_an_id() -> None:
    fields = genai_fields(
        {"gen_ai.response.model": "llama-3-8b-0613", "gen_ai.request.model": "meta-llama/Llama 3"}
    )
    assert fields.model_id == "meta-llama:Llama:3"
    assert model_id_from("meta-llama/Llama-3-8B") == "meta-llama:Llama-3-8B"
    assert model_id_from("x" * 200) == "x" * 128
    assert genai_fields({"gen_ai.usage.input_tokens": -1}).input_tokens is None
    assert genai_fields({"gen_ai.usage.input_tokens": "17"}).input_tokens == 17


def test_content_is_dropped_and_counted_unless_kept() -> None:
    body = _request(
        {"gen_ai.request.model": "m", "gen_ai.prompt.0.content": "hi", "gen_ai.completion": "yo"},
        events=("gen_ai.user.message", "gen_ai.choice", "retry"),
    )
    dropped = decode_traces(parse_traces_request(body, False), False, None)
    attributes = orjson.loads(dropped.columns["attributes"][0])
    assert attributes == {"gen_ai.request.model": "m", "monitorx.content_dropped": 4}
    assert [e["name"] for e in orjson.loads(dropped.columns["events"][0])] == ["retry"]
    assert dropped.content_dropped == 4
    kept = decode_traces(parse_traces_request(body, False), True, None)
    assert orjson.loads(kept.columns["attributes"][0])["gen_ai.completion"] == "yo"
    assert len(orjson.loads(kept.columns["events"][0])) == 3
    assert kept.content_dropped == 0


def test_json_ids_are_hex_and_a_bad_one_rejects_its_span_only() -> None:
    request = ExportTraceServiceRequest.FromString(_request({}))
    body = json_format.MessageToDict(request)
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"], spans[0]["spanId"] = TRACE.hex(), SPAN.hex()
    spans.append({**spans[0], "spanId": "not-hex", "name": "bad"})
    decoded = decode_traces(parse_traces_request(orjson.dumps(body), True), False, None)
    assert decoded.columns["trace_id"] == [TRACE.hex()]
    assert decoded.columns["span_id"] == [SPAN.hex()]
    assert decoded.rejected == 1
    assert "span 'bad': span_id is 0 bytes, not 8" in decoded.message()


def test_a_span_ending_before_it_starts_is_rejected() -> None:
    request = ExportTraceServiceRequest.FromString(_request({}))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.end_time_unix_nano = span.start_time_unix_nano - 1
    decoded = decode_traces(request, False, None)
    assert (len(decoded), decoded.rejected) == (0, 1)
    assert "ends before it starts" in decoded.message()


def test_a_body_that_is_not_otlp_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="not an OTLP protobuf"):
        parse_traces_request(b"\xff\x00garbage", False)
    with pytest.raises(MalformedPayload, match="not OTLP JSON"):
        parse_traces_request(b'{"resourceSpans": 3}', True)
