"""OpenTelemetry traces (OTLP ``ExportTraceServiceRequest``) in: spans to store, and
the inference metrics of the spans that record a model call.

The request is read with the official ``opentelemetry-proto`` messages: binary
protobuf, or the OTLP JSON mapping, whose trace and span ids are hex (not
protobuf JSON's base64) and are turned into bytes before parsing. Each span keeps
its ids (lowercase hex), parent, name, kind, times, status, attributes, events and
its resource's attributes, as plain JSON data (arrays and maps as such, bytes as
base64).

A span is rejected — not the batch — when its trace id is not 16 bytes, its span
id not 8, its parent id neither empty nor 8, it has no start time, it ends before
it starts, or a time is outside 1970–9999; the rejected spans are counted for
OTLP's partial success.

A span whose attributes name a model (`monitorx.ingest.genai`) also becomes an
inference metric of that model: latency = the span's duration in ms, ``error``
from its status, the tokens, cost and time to first token as the ``llm`` fields,
``request_id`` = the trace id (so a metric leads to its trace), stamped at the
span's start, tagged with the operation, provider and service where sent.

Content (prompts, completions, messages) is kept only when ``keep_content``;
otherwise those attributes and events are dropped, counted, and the span says how
many (`CONTENT_DROPPED_ATTRIBUTE`). With a ``masker``, every string of the kept
attributes, events and status message is masked as tags are.
"""

from __future__ import annotations

__all__ = ["DecodedSpans", "decode_traces", "parse_traces_request"]

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from monitorx.core import MalformedPayload, MetricColumns
from monitorx.core.pii import PiiMasker
from monitorx.core.timeparse import from_epoch_us
from monitorx.core.traces import SPAN_STATUSES
from monitorx.ingest.genai import (
    CONTENT_DROPPED_ATTRIBUTE,
    genai_fields,
    is_content_attribute,
    is_content_event,
)
from monitorx.ingest.sample_rules import time_problem
from monitorx.store.spans import SPAN_SCHEMA

_REASONS_QUOTED = 5
_SERVICE_NAME = "service.name"
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_TAG_NAMES = ("operation", "provider", "service")
_UNSEEN = "\x00unseen"  # no tags' JSON is this
_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8


def _ids_as_base64(data: dict[str, Any]) -> None:
    """OTLP/JSON's hex ids, in place, as the base64 protobuf's JSON mapping reads
    (an id that is not hex becomes empty, and its span is rejected for it)."""
    for resource_spans in _list(data.get("resourceSpans")):
        for scope_spans in _list(_dict(resource_spans).get("scopeSpans")):
            for span in _list(_dict(scope_spans).get("spans")):
                for holder in [_dict(span), *map(_dict, _list(_dict(span).get("links")))]:
                    for name in _ID_FIELDS:
                        value = holder.get(name)
                        if isinstance(value, str):
                            try:
                                raw = bytes.fromhex(value)
                            except ValueError:
                                raw = b""
                            holder[name] = base64.b64encode(raw).decode()


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_traces_request(body: bytes, json: bool) -> ExportTraceServiceRequest:
    """The request as protobuf (``json`` False) or OTLP JSON; `MalformedPayload` when
    it is neither."""
    request = ExportTraceServiceRequest()
    try:
        if json:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise json_format.ParseError("the request must be a JSON object")
            _ids_as_base64(data)
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (
        DecodeError,
        json_format.ParseError,
        orjson.JSONDecodeError,
        RecursionError,
        binascii.Error,
    ) as exc:
        kind = "OTLP JSON" if json else "an OTLP protobuf ExportTraceServiceRequest"
        raise MalformedPayload(f"body is not {kind}: {exc}") from None
    return request


def _plain(value: AnyValue) -> object:
    """An attribute value as plain JSON data."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else repr(number)
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _plain(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _attributes(attributes: Any) -> dict[str, object]:
    out: dict[str, object] = {}
    item: KeyValue
    for item in attributes:
        out[item.key] = _plain(item.value)
    return out


def _masked(masker: PiiMasker, value: object) -> object:
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, list):
        return [_masked(masker, item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(masker, item) for key, item in value.items()}
    return value


def _mask_attributes(masker: PiiMasker | None, attributes: dict[str, object]) -> dict[str, object]:
    if masker is None:
        return attributes
    return {
        key: value if masker.exempt(key) else _masked(masker, value)
        for key, value in attributes.items()
    }


class _SpanRefused(Exception):
    pass


def _hex_id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise _SpanRefused(f"{what} is {len(raw)} bytes, not {size}")
    return raw.hex()


def _time_us(nanos: int, what: str) -> int:
    if nanos <= 0:
        raise _SpanRefused(f"no {what}")
    us = nanos // 1000
    problem = time_problem(us)
    if problem:
        raise _SpanRefused(problem)
    return us


@dataclass(slots=True)
class DecodedSpans:
    """A request's spans as columns of ``SPAN_SCHEMA``, the inference metrics of its
    model calls, the spans rejected (with their reasons) and the content attributes
    and events dropped."""

    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in SPAN_SCHEMA.names}
    )
    metrics: MetricColumns = field(default_factory=MetricColumns)
    spans: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    content_dropped: int = 0

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def message(self) -> str:
        """OTLP's ``error_message``: the reasons, the most frequent first."""
        ranked = sorted(self.reasons.items(), key=lambda item: -item[1])
        quoted = [f"{reason} ({count} spans)" for reason, count in ranked[:_REASONS_QUOTED]]
        more = len(ranked) - _REASONS_QUOTED
        return "; ".join(quoted) + (f"; and {more} more reasons" if more > 0 else "")

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=SPAN_SCHEMA)

    def __len__(self) -> int:
        return len(self.columns["trace_id"])


class _Decoder:
    __slots__ = ("keep_content", "masker", "out", "tags_json")

    def __init__(self, keep_content: bool, masker: PiiMasker | None) -> None:
        self.keep_content = keep_content
        self.masker = masker
        self.out = DecodedSpans()
        # A metric's tags as JSON, by (operation, provider, service): a batch holds few.
        self.tags_json: dict[tuple[object, object, object], str | None] = {}

    def span(self, span: Span, resource: dict[str, object], resource_json: str) -> None:
        trace_id = _hex_id(span.trace_id, _TRACE_ID_BYTES, "trace_id")
        span_id = _hex_id(span.span_id, _SPAN_ID_BYTES, "span_id")
        parent = (
            _hex_id(span.parent_span_id, _SPAN_ID_BYTES, "parent_span_id")
            if span.parent_span_id
            else None
        )
        start_us = _time_us(span.start_time_unix_nano, "start time")
        end_us = _time_us(span.end_time_unix_nano, "end time")
        if end_us < start_us:
            raise _SpanRefused("the span ends before it starts")
        attributes = _attributes(span.attributes)
        fields = genai_fields(attributes)  # read before content and masking
        dropped = 0
        if not self.keep_content:
            kept = {k: v for k, v in attributes.items() if not is_content_attribute(k)}
            dropped += len(attributes) - len(kept)
            attributes = kept
        events: list[dict[str, object]] = []
        for event in span.events:
            if not self.keep_content and is_content_event(event.name):
                dropped += 1
                continue
            when = event.time_unix_nano // 1000
            event_attributes = _attributes(event.attributes)
            if not self.keep_content:
                kept = {k: v for k, v in event_attributes.items() if not is_content_attribute(k)}
                dropped += len(event_attributes) - len(kept)
                event_attributes = kept
            events.append(
                {
                    "name": event.name,
                    "time": from_epoch_us(when).isoformat() if time_problem(when) is None else None,
                    "attributes": _mask_attributes(self.masker, event_attributes),
                }
            )
        attributes = _mask_attributes(self.masker, attributes)
        if dropped:
            attributes[CONTENT_DROPPED_ATTRIBUTE] = dropped
            self.out.content_dropped += dropped
        message = span.status.message or None
        if message is not None and self.masker is not None:
            message = self.masker.mask(message)
        status = SPAN_STATUSES[span.status.code] if 0 <= span.status.code <= 2 else "unset"
        columns = self.out.columns
        columns["trace_id"].append(trace_id)
        columns["span_id"].append(span_id)
        columns["parent_span_id"].append(parent)
        columns["name"].append(span.name)
        columns["kind"].append(int(span.kind))
        columns["start_ts"].append(start_us)
        columns["end_ts"].append(end_us)
        columns["status"].append(status)
        columns["status_message"].append(message)
        columns["model_id"].append(fields.model_id)
        columns["session_id"].append(fields.session_id)
        columns["input_tokens"].append(fields.input_tokens)
        columns["output_tokens"].append(fields.output_tokens)
        columns["attributes"].append(orjson.dumps(attributes).decode())
        columns["resource"].append(resource_json)
        columns["events"].append(orjson.dumps(events).decode())
        if fields.model_id is not None:
            self.metric(trace_id, start_us, end_us, status, fields, resource)

    def metric(
        self,
        trace_id: str,
        start_us: int,
        end_us: int,
        status: str,
        fields: Any,
        resource: dict[str, object],
    ) -> None:
        metrics = self.out.metrics
        service = resource.get(_SERVICE_NAME)
        key = (fields.operation, fields.provider, service)
        tags_json = self.tags_json.get(key, _UNSEEN)
        if tags_json is _UNSEEN:
            tags = {
                name: str(value)[:1024]
                for name, value in zip(_TAG_NAMES, key, strict=True)
                if value is not None
            }
            if self.masker is not None:
                tags = self.masker.mask_labels(tags) or tags
            tags_json = self.tags_json[key] = orjson.dumps(tags).decode() if tags else None
        metrics.model_id.append(fields.model_id)
        metrics.model_type.append("llm")
        metrics.request_id.append(trace_id)
        metrics.ts_us.append(start_us)
        metrics.latency.append((end_us - start_us) / 1000.0)
        metrics.throughput.append(None)
        metrics.error_rate.append(None)
        metrics.error.append(status == "error")
        for name in ("gpu_memory_mb", "gpu_utilization", "cpu_percent", "memory_mb"):
            getattr(metrics, name).append(None)
        metrics.tags_json.append(tags_json)
        metrics.prompt_tokens.append(fields.input_tokens)
        metrics.completion_tokens.append(fields.output_tokens)
        metrics.time_to_first_token_ms.append(fields.time_to_first_token_ms)
        metrics.cost_usd.append(fields.cost_usd)


def decode_traces(
    request: ExportTraceServiceRequest, keep_content: bool, masker: PiiMasker | None
) -> DecodedSpans:
    """Every span of ``request``, or why it was rejected."""
    decoder = _Decoder(keep_content, masker)
    out = decoder.out
    for resource_spans in request.resource_spans:
        resource = _mask_attributes(masker, _attributes(resource_spans.resource.attributes))
        resource_json = orjson.dumps(resource).decode()
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.spans += 1
                try:
                    decoder.span(span, resource, resource_json)
                except _SpanRefused as refused:
                    out.reject(f"span {span.name[:80]!r}: {refused}")
    return out
