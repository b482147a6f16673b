"""Prometheus text exposition (format 0.0.4) of a :class:`MemoryCollector`.

    body = to_prometheus_text(collector)   # serve it as CONTENT_TYPE at /metrics

The output follows prometheus_client's for the same metrics: ``# HELP`` and
``# TYPE`` per family, counters named ``<name>_total``, histograms as cumulative
``<name>_bucket{le="..."}`` lines ending with ``+Inf``, then ``_sum`` and
``_count``; label values escaped (backslash, double quote, newline).
"""

from __future__ import annotations

__all__ = ["CONTENT_TYPE", "to_prometheus_text"]

import math

from monitorx.sdk.instrument.collector import MemoryCollector
from monitorx.sdk.instrument.metrics import HistogramChild, MetricKind

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _labels(labels: dict[str, str], extra: tuple[str, str] | None = None) -> str:
    pairs = list(labels.items()) + ([extra] if extra else [])
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape_label(value)}"' for key, value in pairs) + "}"


def to_prometheus_text(collector: MemoryCollector) -> str:
    """Every family of ``collector`` in Prometheus's text format."""
    lines: list[str] = []
    for family in collector.families():
        name = family.name
        if family.kind is MetricKind.COUNTER and not name.endswith("_total"):
            name += "_total"
        lines.append(f"# HELP {name} {_escape_help(family.description)}")
        lines.append(f"# TYPE {name} {family.kind.value}")
        for labels, child in family.children():
            if family.kind is not MetricKind.HISTOGRAM:
                lines.append(f"{name}{_labels(labels)} {_number(child.value)}")
            else:
                assert isinstance(child, HistogramChild)
                snapshot = child.snapshot()
                for bound, count in snapshot.buckets:
                    le = ("le", _number(bound))
                    lines.append(f"{name}_bucket{_labels(labels, le)} {_number(count)}")
                lines.append(f"{name}_sum{_labels(labels)} {_number(snapshot.sum)}")
                lines.append(f"{name}_count{_labels(labels)} {_number(snapshot.count)}")
    return "\n".join(lines) + "\n" if lines else ""
