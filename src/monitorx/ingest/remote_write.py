"""Prometheus remote write 1.0 in, samples out.

The body is snappy's block format around a protobuf ``WriteRequest`` (the spec's
messages, compiled into `monitorx.ingest.prompb`). Each time series' ``__name__``
label is the sample name (`sample_name_from`), its other labels are the labels,
and each of its samples (epoch milliseconds) is one row.

Values that are not finite are skipped without a word: Prometheus writes a NaN as
the staleness marker of every series that disappears, and MonitorX stores finite
numbers only. A series that cannot be stored (no ``__name__``, a reserved name,
labels past the rules) or a sample outside 1970–9999 is refused with its reason;
the rest of the request is still stored.
"""

from __future__ import annotations

__all__ = ["DecodedSeries", "decode_write_request"]

import math
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from monitorx.core import MalformedPayload
from monitorx.core.samples import SampleColumns, sample_name_from
from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from monitorx.ingest.sample_rules import label_problem, name_problem, time_problem

_NAME_LABEL = "__name__"
# Refusals named in an answer; past these only their number is given.
_PROBLEMS_QUOTED = 10


@dataclass(slots=True)
class DecodedSeries:
    """A request's samples, the time series (counted from 0) each came from, the
    non-finite values skipped, and the refusals with their reasons."""

    samples: SampleColumns = field(default_factory=SampleColumns)
    series_of_row: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    """The metric name of each time series, as sent."""
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def message(self) -> str:
        quoted = self.problems[:_PROBLEMS_QUOTED]
        more = len(self.problems) - len(quoted)
        return "; ".join(quoted) + (f"; and {more} more" if more > 0 else "")


def decode_write_request(body: bytes, now_us: int) -> DecodedSeries:
    """The samples of a (decompressed) ``WriteRequest``; `MalformedPayload` when the
    body is not one. ``now_us`` is not used for times (every sample carries its
    own) but keeps the decoders' signatures alike."""
    del now_us
    request = WriteRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedPayload(f"body is not a remote write WriteRequest: {exc}") from None
    out = DecodedSeries()
    samples = out.samples
    for index, series in enumerate(request.timeseries):
        labels = {label.name: label.value for label in series.labels}
        raw = labels.pop(_NAME_LABEL, "")
        out.names.append(raw)
        if not raw:
            out.problems.append(f"series {index}: no {_NAME_LABEL} label")
            continue
        name = sample_name_from(raw)
        problem = name_problem(name) or label_problem(labels)
        if problem:
            out.problems.append(f"{raw}: {problem}")
            continue
        for sample in series.samples:
            value = sample.value
            if not math.isfinite(value):
                out.skipped += 1
                continue
            ts_us = sample.timestamp * 1000
            problem = time_problem(ts_us)
            if problem:
                out.problems.append(f"{raw}: {problem}")
                continue
            samples.append(name, value, ts_us, labels, None)
            out.series_of_row.append(index)
    return out
