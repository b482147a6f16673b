"""OpenTelemetry logs (OTLP ``ExportLogsServiceRequest``) in, `LogEntry` out.

Binary protobuf or OTLP JSON (where, unlike plain proto3 JSON, ``traceId`` and
``spanId`` are hex strings). Each log record becomes one log entry:

- time: ``timeUnixNano``, else ``observedTimeUnixNano``, else now;
- severity: from ``severityNumber`` (TRACE/DEBUG → debug, INFO → info, WARN →
  warning, ERROR → error, FATAL → critical), else ``severityText``, else info;
- message: the body as text (a string body as it is; another value as JSON);
  an empty body takes the record's ``eventName``;
- model: the record's ``model_id`` attribute, else its resource's (API.md);
- attributes: the record's, with the resource's ``service.name`` and the scope's
  name when sent; trace and span ids as lower-case hex.

A record that cannot be stored (a wrong-length id, a time outside 1970–9999, a
message past `MAX_MESSAGE_CHARS`, a bad model id) is rejected and counted for
OTLP's partial success; the others are stored.
"""

from __future__ import annotations

__all__ = ["DecodedLogs", "decode_logs", "parse_logs_request"]

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from monitorx.core import MalformedPayload
from monitorx.core.events import MAX_MESSAGE_CHARS, LogEntry, LogSeverity
from monitorx.core.identifiers import is_identifier
from monitorx.core.pii import PiiMasker
from monitorx.core.text import text_problem
from monitorx.core.timeparse import MAX_EPOCH_S
from monitorx.ingest.events_logs import mask_attributes

_MODEL_ID = "model_id"
_SERVICE_NAME = "service.name"
_REASONS_QUOTED = 5


@dataclass
class DecodedLogs:
    """The entries to store, and the records rejected with why."""

    entries: list[LogEntry] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if reason not in self.reasons and len(self.reasons) < _REASONS_QUOTED:
            self.reasons.append(reason)


def _dicts(parent: Any, key: str) -> list[dict[str, Any]]:
    """The objects of ``parent[key]`` where it is a list (protobuf's reader names
    whatever else is there)."""
    found = parent.get(key) if isinstance(parent, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _hex_ids_as_base64(data: Any) -> Any:
    """OTLP JSON writes trace and span ids as hex; protobuf's JSON reader wants base64."""
    for resource in _dicts(data, "resourceLogs"):
        for scope in _dicts(resource, "scopeLogs"):
            for record in _dicts(scope, "logRecords"):
                for key in ("traceId", "spanId"):
                    value = record.get(key)
                    if isinstance(value, str) and value:
                        try:
                            record[key] = base64.b64encode(bytes.fromhex(value)).decode()
                        except ValueError:
                            raise MalformedPayload(
                                f"{key} {value[:40]!r} is not hexadecimal"
                            ) from None
    return data


def parse_logs_request(body: bytes, json: bool) -> ExportLogsServiceRequest:
    """The request as protobuf (``json`` False) or OTLP JSON; `MalformedPayload` when
    it is neither."""
    request = ExportLogsServiceRequest()
    try:
        if json:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise json_format.ParseError("the request must be a JSON object")
            json_format.ParseDict(_hex_ids_as_base64(data), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, ValueError) as exc:
        kind = "OTLP JSON" if json else "an OTLP protobuf"
        raise MalformedPayload(f"not {kind} ExportLogsServiceRequest: {exc}") from None
    except RecursionError:
        raise MalformedPayload("the request is nested too deeply") from None
    return request


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


def _message(body: AnyValue, event_name: str) -> str:
    value = _value(body)
    if value is None:
        return event_name
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _time(nanos: int) -> datetime | None:
    seconds = nanos / 1e9
    if not 0 < seconds <= MAX_EPOCH_S:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def decode_logs(
    request: ExportLogsServiceRequest, now: datetime, masker: PiiMasker | None = None
) -> DecodedLogs:
    """The log entries of an export (see the module docstring)."""
    decoded = DecodedLogs()
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                entry = _entry(record, resource, scope, now, masker, decoded)
                if entry is not None:
                    decoded.entries.append(entry)
    return decoded


def _entry(
    record: Any,
    resource: dict[str, Any],
    scope: str,
    now: datetime,
    masker: PiiMasker | None,
    decoded: DecodedLogs,
) -> LogEntry | None:
    attributes = _attributes(record.attributes)
    model = attributes.get(_MODEL_ID, resource.get(_MODEL_ID))
    if model is not None and (not isinstance(model, str) or not is_identifier(model)):
        decoded.reject(f"model_id {str(model)[:40]!r} is not an identifier")
        return None
    trace, span = bytes(record.trace_id), bytes(record.span_id)
    if (trace and len(trace) != 16) or (span and len(span) != 8):
        decoded.reject("traceId must be 16 bytes and spanId 8")
        return None
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    when = _time(nanos) if nanos else now
    if when is None:
        decoded.reject("timeUnixNano is outside 1970–9999")
        return None
    message = _message(record.body, record.event_name)
    if len(message) > MAX_MESSAGE_CHARS:
        decoded.reject(f"the body is longer than {MAX_MESSAGE_CHARS} characters")
        return None
    problem = text_problem(message)
    if problem is not None:
        decoded.reject(f"the body {problem}")
        return None
    if record.severity_number:
        severity = LogSeverity.of_otlp(int(record.severity_number))
    else:
        severity = LogSeverity.parse(record.severity_text) or LogSeverity.INFO
    if _SERVICE_NAME in resource:
        attributes.setdefault(_SERVICE_NAME, resource[_SERVICE_NAME])
    if scope:
        attributes.setdefault("otel.scope.name", scope)
    if record.event_name:
        attributes.setdefault("event.name", record.event_name)
    bad = _bad_attribute_text(attributes)
    if bad is not None:
        decoded.reject(bad)
        return None
    return LogEntry(
        id=uuid.uuid4().hex,
        time=when,
        severity=severity,
        message=message if masker is None else masker.mask(message),
        model_id=model,
        attributes=mask_attributes(masker, attributes),
        trace_id=trace.hex() if trace and trace.strip(b"\0") else None,
        span_id=span.hex() if span and span.strip(b"\0") else None,
    )


def _bad_attribute_text(value: Any, path: str = "attributes") -> str | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return None if problem is None else f"{path} {problem}"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _bad_attribute_text(str(key), path) or _bad_attribute_text(
                item, f"{path}.{key}"
            )
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _bad_attribute_text(item, path)
            if found:
                return found
    return None
