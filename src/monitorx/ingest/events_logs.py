"""Events and logs in: JSON items checked field by field, PII masked, ready to store.

`parse_events` and `parse_logs` take the decoded body of ``POST /api/v1/events``
and ``/logs`` (an array of items, or one item) and return the domain objects, or
raise `ValidationError` naming each bad field as ``[index].field``; a batch is
stored whole or not at all. More than ``max_items`` items is `PayloadTooLarge`.

Events take Grafana's annotation fields as aliases, so a deploy script written
for Grafana's ``POST /api/annotations`` (or its Graphite form) maps onto them:
``text`` (or ``what``) is ``message``; ``time`` and ``timeEnd`` are epoch
**milliseconds** (``when`` epoch seconds) for ``timestamp`` and ``time_end``;
``tags`` is a list of strings (or one space-separated string); ``dashboardUID``,
``panelId`` and ``data`` are kept in ``attributes``; an item without
``event_type`` is an ``annotation``.

The project's PII masker (`core.pii`) masks the message and every string value of
the attributes, as it masks tags.
"""

from __future__ import annotations

__all__ = ["mask_attributes", "parse_events", "parse_logs", "parse_trace_id"]

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from monitorx.core import FieldError, PayloadTooLarge, ValidationError
from monitorx.core.events import MAX_MESSAGE_CHARS, Event, LogEntry, LogSeverity
from monitorx.core.identifiers import is_identifier
from monitorx.core.pii import PiiMasker
from monitorx.core.timeparse import MAX_EPOCH_S, parse_timestamp

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_SHORT = 128  # event_type, source, id, a tag
_MAX_TAGS = 64
_DEFAULT_EVENT_TYPE = "annotation"
_GRAFANA_ATTRIBUTES = ("dashboardUID", "dashboardId", "panelId", "data")


class _Problems:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))


def _items(body: object, max_items: int, what: str) -> list[Any]:
    if isinstance(body, dict):
        return [body]
    if not isinstance(body, list):
        raise ValidationError(f"the body must be a JSON array of {what} (or one {what[:-1]})")
    if not body:
        raise ValidationError(f"the body holds no {what}")
    if len(body) > max_items:
        raise PayloadTooLarge(f"{len(body)} {what} is more than the {max_items} a batch may hold")
    return body


def parse_trace_id(value: object, field: str, problems: _Problems | None = None) -> str | None:
    """A trace id as stored: 32 hex digits, lower-cased; None for null or ""."""
    return _hex(value, field, _HEX32, 32, problems)


def _hex(
    value: object, field: str, pattern: re.Pattern[str], size: int, problems: _Problems | None
) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and pattern.fullmatch(value) and value.strip("0"):
        return value.lower()
    message = f"must be {size} hexadecimal digits, not all zero"
    if problems is None:
        raise ValidationError(message, field)
    problems.add(field, message)
    return None


def _time(value: object, field: str, problems: _Problems, scale: float = 1.0) -> datetime | None:
    """RFC 3339 or epoch seconds (``scale`` 1000: epoch milliseconds, Grafana's)."""
    try:
        if scale != 1.0:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError("must be epoch milliseconds (a number)", field)
            seconds = value / scale
            if not 0 <= seconds <= MAX_EPOCH_S:
                raise ValidationError("epoch milliseconds out of range (1970 to 9999)", field)
            return datetime.fromtimestamp(seconds, UTC)
        return parse_timestamp(value, field)
    except ValidationError as exc:
        problems.errors += exc.errors
        return None


def _text(value: object, field: str, problems: _Problems, limit: int) -> str | None:
    if not isinstance(value, str):
        problems.add(field, "must be a string")
        return None
    if not value.strip():
        problems.add(field, "must not be empty")
        return None
    if len(value) > limit:
        problems.add(field, f"must be at most {limit} characters (got {len(value)})")
        return None
    return value


def _model_id(value: object, field: str, problems: _Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_identifier(value):
        problems.add(field, "must be 1–128 characters of A–Z a–z 0–9 . _ : -")
        return None
    return value


def _attributes(value: object, field: str, problems: _Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(field, "must be a JSON object")
        return {}
    return value


def mask_attributes(masker: PiiMasker | None, value: Any) -> Any:
    """Every string in a JSON value masked (keys named exempt by the policy kept)."""
    if masker is None:
        return value
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, list):
        return [mask_attributes(masker, v) for v in value]
    if isinstance(value, dict):
        return {
            k: v if masker.exempt(str(k)) else mask_attributes(masker, v) for k, v in value.items()
        }
    return value


def _tags(value: object, field: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # Graphite's form: space-separated
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        problems.add(field, "must be a list of strings (or one space-separated string)")
        return ()
    if len(value) > _MAX_TAGS or any(len(t) > _SHORT for t in value):
        problems.add(field, f"at most {_MAX_TAGS} tags of at most {_SHORT} characters")
        return ()
    return tuple(dict.fromkeys(t for t in value if t))


def _severity(value: object, field: str, problems: _Problems, default: LogSeverity | None) -> Any:
    if value is None and default is not None:
        return default
    if isinstance(value, str):
        parsed = LogSeverity.parse(value)
        if parsed is not None:
            return parsed
    problems.add(field, "must be one of debug, info, warning, error, critical")
    return None


def _first(item: Mapping[str, Any], *names: str) -> tuple[str, Any]:
    for name in names:
        if item.get(name) is not None:
            return name, item[name]
    return names[0], None


def _parse(
    body: object,
    max_items: int,
    what: str,
    one: Callable[[Mapping[str, Any], str, _Problems, datetime], Any],
    now: datetime,
) -> list[Any]:
    items = _items(body, max_items, what)
    problems = _Problems()
    parsed = []
    for index, item in enumerate(items):
        where = f"[{index}]"
        if not isinstance(item, dict):
            problems.add(where, "must be a JSON object")
            continue
        parsed.append(one(item, where, problems, now))
    if problems.errors:
        shown = problems.errors[:20]
        if len(problems.errors) > len(shown):
            shown.append(FieldError("", f"and {len(problems.errors) - len(shown)} more problems"))
        raise ValidationError(shown)
    return parsed


def parse_events(
    body: object, max_items: int, now: datetime, masker: PiiMasker | None = None
) -> list[Event]:
    """Events from the body of ``POST /api/v1/events`` (see the module docstring)."""

    def one(item: Mapping[str, Any], at: str, problems: _Problems, now: datetime) -> Event | None:
        message_field, message = _first(item, "message", "text", "what")
        message = _text(message, f"{at}.{message_field}", problems, MAX_MESSAGE_CHARS)
        event_type: str | None = _DEFAULT_EVENT_TYPE
        if item.get("event_type") is not None:
            event_type = _text(item["event_type"], f"{at}.event_type", problems, _SHORT)
        when: datetime | None = now
        if item.get("timestamp") is not None:
            when = _time(item["timestamp"], f"{at}.timestamp", problems)
        elif item.get("time") is not None:
            when = _time(item["time"], f"{at}.time", problems, 1000.0)
        elif item.get("when") is not None:
            when = _time(item["when"], f"{at}.when", problems)
        end: datetime | None = None
        if item.get("time_end") is not None:
            end = _time(item["time_end"], f"{at}.time_end", problems)
        elif item.get("timeEnd") is not None:
            end = _time(item["timeEnd"], f"{at}.timeEnd", problems, 1000.0)
        if end is not None and when is not None and end < when:
            problems.add(f"{at}.time_end", "must not be before the event's start")
        event_id = str(item["id"]) if item.get("id") is not None else uuid.uuid4().hex
        if len(event_id) > _SHORT or not event_id.strip():
            problems.add(f"{at}.id", f"must be 1–{_SHORT} characters")
        source = None
        if item.get("source") is not None:
            source = _text(item["source"], f"{at}.source", problems, _SHORT)
        attributes = dict(_attributes(item.get("attributes"), f"{at}.attributes", problems))
        for name in _GRAFANA_ATTRIBUTES:
            if item.get(name) is not None:
                attributes.setdefault(name, item[name])
        severity = _severity(item.get("severity"), f"{at}.severity", problems, LogSeverity.INFO)
        trace_id = parse_trace_id(item.get("trace_id"), f"{at}.trace_id", problems)
        model_id = _model_id(item.get("model_id"), f"{at}.model_id", problems)
        tags = _tags(item.get("tags"), f"{at}.tags", problems)
        if message is None or event_type is None or when is None or severity is None:
            return None
        return Event(
            id=event_id,
            time=when,
            time_end=end,
            event_type=event_type,
            message=message if masker is None else masker.mask(message),
            model_id=model_id,
            severity=severity,
            source=source,
            attributes=mask_attributes(masker, attributes),
            trace_id=trace_id,
            tags=tags,
        )

    return _parse(body, max_items, "events", one, now)


def parse_logs(
    body: object, max_items: int, now: datetime, masker: PiiMasker | None = None
) -> list[LogEntry]:
    """Log entries from the body of ``POST /api/v1/logs``."""

    def one(item: Mapping[str, Any], at: str, problems: _Problems, now: datetime) -> Any:
        message = _text(item.get("message"), f"{at}.message", problems, MAX_MESSAGE_CHARS)
        if item.get("severity") is None:
            problems.add(f"{at}.severity", "is required: debug, info, warning, error or critical")
            severity = None
        else:
            severity = _severity(item["severity"], f"{at}.severity", problems, None)
        when: datetime | None = now
        if item.get("timestamp") is not None:
            when = _time(item["timestamp"], f"{at}.timestamp", problems)
        attributes = _attributes(item.get("attributes"), f"{at}.attributes", problems)
        trace_id = parse_trace_id(item.get("trace_id"), f"{at}.trace_id", problems)
        span_id = _hex(item.get("span_id"), f"{at}.span_id", _HEX16, 16, problems)
        model_id = _model_id(item.get("model_id"), f"{at}.model_id", problems)
        if message is None or severity is None or when is None:
            return None
        return LogEntry(
            id=uuid.uuid4().hex,
            time=when,
            severity=severity,
            message=message if masker is None else masker.mask(message),
            model_id=model_id,
            attributes=mask_attributes(masker, attributes),
            trace_id=trace_id,
            span_id=span_id,
        )

    return _parse(body, max_items, "logs", one, now)
