"""OpenTelemetry metrics (OTLP ``ExportMetricsServiceRequest``) in, samples out.

The request is read with the official ``opentelemetry-proto`` messages: binary
protobuf, or the OTLP JSON mapping (lowerCamelCase keys, integer enums, 64-bit
integers as strings, unknown fields ignored). Each data point becomes samples
named as its metric (`sample_name_from`), with the point's attributes as labels
plus the resource's ``service.name`` as ``service`` (a point attribute of that
name wins). Non-string attribute values are kept as text: ``true``/``false``,
decimal integers, the shortest decimal of a double, base64 for bytes, JSON for
arrays and maps.

- gauge and sum points: their value, as sent. A cumulative sum is a running total
  (query it with ``rate`` or ``last``), a delta sum one interval's increase (query
  it with ``sum``); the temporality is not stored (docs/opentelemetry.md).
- histogram points: ``<name>.count``, ``<name>.sum`` (when sent), ``<name>.min`` and
  ``<name>.max`` (when sent), and ``<name>.p50``/``.p90``/``.p95``/``.p99``
  estimated from the buckets (`monitorx.ingest.histogram_quantiles`).
- exponential histogram points: the same, from their base-2 buckets.
- summary points: ``<name>.count``, ``<name>.sum`` and one ``<name>.p<100·q>`` per
  quantile it carries (``p50``, ``p99``, ``p99.9``).

A point flagged "no recorded value" is skipped. A point that cannot be stored
whole (a value that is not finite, a reserved name, labels past the rules, a time
outside 1970–9999, buckets that do not fit their bounds) is rejected, none of its
samples kept, and counted for OTLP's partial success.
"""

from __future__ import annotations

__all__ = ["DecodedMetrics", "decode_metrics", "parse_metrics_request"]

import base64
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    SummaryDataPoint,
)

from monitorx.core import MalformedPayload
from monitorx.core.samples import SampleColumns, sample_name_from
from monitorx.ingest.histogram_quantiles import (
    QUANTILES,
    Buckets,
    bucket_quantiles,
    explicit_buckets,
    exponential_buckets,
)
from monitorx.ingest.sample_rules import (
    label_problem,
    name_problem,
    sample_name_with_suffix,
    time_problem,
    unit_or_none,
)

_NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_SERVICE_NAME = "service.name"
_SERVICE_LABEL = "service"
# Distinct reasons quoted in the partial success' error_message.
_REASONS_QUOTED = 5


def parse_metrics_request(body: bytes, json: bool) -> ExportMetricsServiceRequest:
    """The request as protobuf (``json`` False) or OTLP JSON; `MalformedPayload` when
    it is neither."""
    request = ExportMetricsServiceRequest()
    try:
        if json:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise json_format.ParseError("the request must be a JSON object")
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, RecursionError) as exc:
        kind = "OTLP JSON" if json else "an OTLP protobuf ExportMetricsServiceRequest"
        raise MalformedPayload(f"body is not {kind}: {exc}") from None
    return request


@dataclass(slots=True)
class DecodedMetrics:
    """A request's samples, the data point (counted from 0) each came from, and the
    points rejected, with their reasons."""

    samples: SampleColumns = field(default_factory=SampleColumns)
    point_of_row: list[int] = field(default_factory=list)
    points: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def message(self) -> str:
        """OTLP's ``error_message``: the reasons, the most frequent first."""
        ranked = sorted(self.reasons.items(), key=lambda item: -item[1])
        quoted = [f"{reason} ({count} points)" for reason, count in ranked[:_REASONS_QUOTED]]
        more = len(ranked) - _REASONS_QUOTED
        return "; ".join(quoted) + (f"; and {more} more reasons" if more > 0 else "")


class _PointRefused(Exception):
    pass


def _text(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind is None:
        return ""
    return orjson.dumps(_plain(value)).decode()


def _plain(value: AnyValue) -> object:
    """An attribute value as plain JSON data: arrays as lists, maps as objects."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _plain(item.value) for item in value.kvlist_value.values}
    if kind in ("string_value", "bool_value", "int_value"):
        return getattr(value, kind)
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else repr(number)
    return _text(value) if kind else None


def _labels(attributes: Iterable[KeyValue], base: dict[str, str]) -> dict[str, str]:
    labels = dict(base)
    for attribute in attributes:
        value = attribute.value
        labels[attribute.key] = (
            value.string_value if value.WhichOneof("value") == "string_value" else _text(value)
        )
    problem = label_problem(labels)
    if problem:
        raise _PointRefused(problem)
    return labels


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise _PointRefused(f"{what} is not finite")
    return value


class _PointSamples:
    """The samples of one point, kept only when the whole point is valid."""

    __slots__ = ("base", "names", "rows", "unit")

    def __init__(self, metric: Metric, unit: str | None, names: dict[str, str]) -> None:
        self.base = metric.name
        self.unit = unit
        self.names = names
        self.rows: list[tuple[str, float, str | None]] = []

    def add(self, suffix: str, value: float | None, unit: bool = True) -> None:
        if value is None:
            return
        name = self.names.get(suffix)
        if name is None:
            base = self.base
            name = sample_name_with_suffix(base, suffix) if suffix else sample_name_from(base)
            self.names[suffix] = name
        problem = name_problem(name)
        if problem:
            raise _PointRefused(problem)
        self.rows.append((name, _finite(value, name), self.unit if unit else None))


def _number_point(point: NumberDataPoint, samples: _PointSamples) -> None:
    kind = point.WhichOneof("value")
    if kind is None:
        raise _PointRefused("a number data point without a value")
    samples.add("", point.as_double if kind == "as_double" else float(point.as_int))


def _summary_fields(
    point: HistogramDataPoint | ExponentialHistogramDataPoint, samples: _PointSamples
) -> tuple[float | None, float | None]:
    samples.add(".count", float(point.count), unit=False)
    if point.HasField("sum"):
        samples.add(".sum", point.sum)
    low = point.min if point.HasField("min") else None
    high = point.max if point.HasField("max") else None
    samples.add(".min", low)
    samples.add(".max", high)
    return low, high


def _add_quantiles(
    buckets: Buckets, low: float | None, high: float | None, samples: _PointSamples
) -> None:
    estimates = bucket_quantiles(buckets, [q for _, q in QUANTILES], low, high)
    for (suffix, _), estimate in zip(QUANTILES, estimates, strict=True):
        samples.add(suffix, estimate)


def _histogram_point(point: HistogramDataPoint, samples: _PointSamples) -> None:
    low, high = _summary_fields(point, samples)
    if not point.bucket_counts:
        return
    buckets = explicit_buckets(list(point.explicit_bounds), list(point.bucket_counts))
    if buckets is None:
        raise _PointRefused("bucket_counts do not fit explicit_bounds")
    _add_quantiles(buckets, low, high, samples)


def _exponential_point(point: ExponentialHistogramDataPoint, samples: _PointSamples) -> None:
    low, high = _summary_fields(point, samples)
    buckets = exponential_buckets(
        point.scale,
        point.zero_count,
        point.zero_threshold,
        (point.positive.offset, list(point.positive.bucket_counts)),
        (point.negative.offset, list(point.negative.bucket_counts)),
    )
    _add_quantiles(buckets, low, high, samples)


def _summary_point(point: SummaryDataPoint, samples: _PointSamples) -> None:
    samples.add(".count", float(point.count), unit=False)
    samples.add(".sum", point.sum)
    for quantile in point.quantile_values:
        if not 0.0 <= quantile.quantile <= 1.0:
            raise _PointRefused(f"quantile {quantile.quantile} is outside 0..1")
        samples.add(f".p{quantile.quantile * 100:.10g}", quantile.value)


_Point = NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint | SummaryDataPoint


def _points(metric: Metric) -> tuple[Iterable[_Point], object]:
    kind = metric.WhichOneof("data")
    if kind == "gauge":
        return metric.gauge.data_points, _number_point
    if kind == "sum":
        return metric.sum.data_points, _number_point
    if kind == "histogram":
        return metric.histogram.data_points, _histogram_point
    if kind == "exponential_histogram":
        return metric.exponential_histogram.data_points, _exponential_point
    if kind == "summary":
        return metric.summary.data_points, _summary_point
    return (), None


def decode_metrics(request: ExportMetricsServiceRequest, now_us: int) -> DecodedMetrics:
    """Every data point of ``request`` as samples, or why it was rejected."""
    out = DecodedMetrics()
    samples = out.samples
    for resource_metrics in request.resource_metrics:
        base: dict[str, str] = {}
        for attribute in resource_metrics.resource.attributes:
            if attribute.key == _SERVICE_NAME:
                base[_SERVICE_LABEL] = _text(attribute.value)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points, read = _points(metric)
                unit = unit_or_none(metric.unit)
                names: dict[str, str] = {}  # sample names by suffix, made once a metric
                for point in points:
                    index = out.points
                    out.points += 1
                    if point.flags & _NO_RECORDED_VALUE:
                        continue
                    rows = _PointSamples(metric, unit, names)
                    try:
                        labels = _labels(point.attributes, base)
                        ts_us = point.time_unix_nano // 1000 or now_us
                        problem = time_problem(ts_us)
                        if problem:
                            raise _PointRefused(problem)
                        read(point, rows)  # type: ignore[operator]
                    except _PointRefused as refused:
                        out.reject(f"{metric.name}: {refused}")
                        continue
                    for name, value, unit in rows.rows:
                        samples.append(name, value, ts_us, labels, unit)
                        out.point_of_row.append(index)
    return out
