"""Events and logs beside the metrics (API.md "Events, logs and traces").

An `Event` is something that happened to a model or around it — a deploy, a
config change, an incident, a note — drawn as an annotation on charts and read by
an alert's context. A `LogEntry` is one line a model's service logged, searchable
by words, severity, trace and time. Both carry the project's PII masking on their
message and attributes (ingest.events_logs) and are retained like raw metrics.
"""

from __future__ import annotations

__all__ = [
    "MAX_MESSAGE_CHARS",
    "Event",
    "EventQuery",
    "LogEntry",
    "LogQuery",
    "LogSeverity",
    "search_words",
]

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# A message longer than this is refused (422): logs are lines, not documents.
MAX_MESSAGE_CHARS = 32_768
# The words of a search (`search_words`): what PostgreSQL's ``simple`` text search
# configuration keeps of a text, near enough — runs of letters and digits, lower-cased.
_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> list[str]:
    """The distinct words of ``text`` as a log search matches them: runs of letters
    and digits, lower-cased, in the order they first occur."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))


class LogSeverity(StrEnum):
    """A log's severity, lowest first; ``severity=warning`` filters warning and up."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def level(self) -> int:
        """10, 20, 30, 40, 50 as Python's logging has them (stored, compared)."""
        return _LEVELS[self]

    @classmethod
    def of_level(cls, level: int) -> LogSeverity:
        for severity in reversed(cls):
            if level >= severity.level:
                return severity
        return cls.DEBUG

    @classmethod
    def parse(cls, text: str) -> LogSeverity | None:
        """A severity name, or one of the usual aliases (``warn``, ``fatal``, ``err``,
        ``trace``, ``notice``), any case; None when it is none of them."""
        name = text.strip().lower()
        name = _ALIASES.get(name, name)
        try:
            return cls(name)
        except ValueError:
            return None

    @classmethod
    def of_otlp(cls, number: int) -> LogSeverity:
        """An OTLP ``SeverityNumber`` (1–4 TRACE … 21–24 FATAL; 0 unspecified: info)."""
        if number <= 0:
            return cls.INFO
        if number <= 8:
            return cls.DEBUG
        if number <= 12:
            return cls.INFO
        if number <= 16:
            return cls.WARNING
        if number <= 20:
            return cls.ERROR
        return cls.CRITICAL


_LEVELS = {
    LogSeverity.DEBUG: 10,
    LogSeverity.INFO: 20,
    LogSeverity.WARNING: 30,
    LogSeverity.ERROR: 40,
    LogSeverity.CRITICAL: 50,
}
_ALIASES = {
    "trace": "debug",
    "notice": "info",
    "information": "info",
    "warn": "warning",
    "err": "error",
    "fatal": "critical",
    "crit": "critical",
    "emergency": "critical",
    "alert": "critical",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One event. ``time_end`` makes it a region (Grafana's ``timeEnd``); ``tags``
    are Grafana's annotation tags; ``source`` says who posted it (``monitorx`` for
    MonitorX's own config changes)."""

    id: str
    time: datetime
    event_type: str
    message: str
    model_id: str | None = None
    severity: LogSeverity = LogSeverity.INFO
    source: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    time_end: datetime | None = None
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """API.md's shape, plus Grafana's annotation names (``time``/``timeEnd`` in
        epoch ms, ``text``) so a Grafana JSON data source reads it as annotations."""
        return {
            "id": self.id,
            "timestamp": self.time.isoformat(),
            "time_end": None if self.time_end is None else self.time_end.isoformat(),
            "event_type": self.event_type,
            "model_id": self.model_id,
            "severity": self.severity.value,
            "source": self.source,
            "message": self.message,
            "attributes": dict(self.attributes),
            "trace_id": self.trace_id,
            "tags": list(self.tags),
            "time": _epoch_ms(self.time),
            "timeEnd": None if self.time_end is None else _epoch_ms(self.time_end),
            "text": self.message,
        }


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line of a model (or of none: ``model_id`` None)."""

    id: str
    time: datetime
    severity: LogSeverity
    message: str
    model_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    span_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": self.time.isoformat(),
            "model_id": self.model_id,
            "severity": self.severity.value,
            "message": self.message,
            "attributes": dict(self.attributes),
            "trace_id": self.trace_id,
            "span_id": self.span_id,
        }


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Events in ``[start, end)`` (either open), newest first, at most ``limit``;
    an event with a ``time_end`` is found while it overlaps the range."""

    limit: int = 100
    model_id: str | None = None
    event_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Logs in ``[start, end)``, newest first, at most ``limit``: of a model, of
    ``severity`` and up, of a trace, and holding every word of ``text``
    (`search_words`) when given."""

    limit: int = 100
    model_id: str | None = None
    severity: LogSeverity | None = None
    text: str | None = None
    trace_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _epoch_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)
