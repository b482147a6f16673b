"""An OTLP metrics export, once decoded, into the store — the step OTLP/HTTP and
OTLP/gRPC share.

The samples go through `IngestService.write_samples`; the answer is OTLP's
``ExportMetricsServiceResponse``, whose ``partial_success`` counts the data points
not stored — those the decoder rejected and those with a sample the store refused
(a new series past its metric's limit) — each point once, with the reasons.
"""

from __future__ import annotations

__all__ = ["store_export"]

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from monitorx.ingest.otlp_metrics import DecodedMetrics
from monitorx.ingest.service import IngestService


async def store_export(
    ingest: IngestService, decoded: DecodedMetrics
) -> ExportMetricsServiceResponse:
    """Store the decoded samples; the response to send, once they are committed."""
    written = await ingest.write_samples(decoded.samples)
    points_by_reason: dict[str, set[int]] = {}
    for row, reason in written.refused:
        points_by_reason.setdefault(reason, set()).add(decoded.point_of_row[row])
    for reason, points in points_by_reason.items():
        decoded.reasons[reason] = decoded.reasons.get(reason, 0) + len(points)
    decoded.rejected += len({decoded.point_of_row[row] for row, _ in written.refused})
    answer = ExportMetricsServiceResponse()
    if decoded.rejected:
        answer.partial_success.rejected_data_points = decoded.rejected
        answer.partial_success.error_message = decoded.message()
    return answer
