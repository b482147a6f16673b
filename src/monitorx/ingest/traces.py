"""Traces in: an OTLP export's spans stored, then the inference metrics of its model
calls through `IngestService`, so that alerts and evaluation see them as any other
metric. Shared by every way spans come in (OTLP/HTTP today)."""

from __future__ import annotations

__all__ = ["TraceIngest"]

import logging

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from monitorx.core.pii import PiiMasker
from monitorx.ingest.otlp_traces import DecodedSpans, decode_traces, parse_traces_request
from monitorx.ingest.service import IngestService
from monitorx.store.storage import SpanStore

logger = logging.getLogger("monitorx.ingest")


class TraceIngest:
    """One project's way in for spans: ``keep_content`` says whether prompts and
    completions are kept (else dropped and counted in ``content_dropped``);
    ``masker`` masks span attributes as tags are (None: off)."""

    def __init__(
        self,
        spans: SpanStore,
        ingest: IngestService,
        keep_content: bool,
        masker: PiiMasker | None = None,
    ) -> None:
        self._spans = spans
        self._ingest = ingest
        self._masker = masker
        self.keep_content = keep_content
        self.spans_stored = 0
        self.spans_rejected = 0
        self.content_dropped = 0

    def decode(self, body: bytes, as_json: bool) -> DecodedSpans:
        """An opened body's spans (blocking: run it off the event loop when large)."""
        request = parse_traces_request(body, as_json)
        return decode_traces(request, self.keep_content, self._masker)

    async def store(self, decoded: DecodedSpans) -> ExportTraceServiceResponse:
        """Commit the spans, then their model calls' metrics; OTLP's answer."""
        if len(decoded):
            await self._spans.write_spans(decoded.table())
        await self._ingest.write_metric_columns(decoded.metrics)
        self.spans_stored += len(decoded)
        self.spans_rejected += decoded.rejected
        if decoded.content_dropped:
            self.content_dropped += decoded.content_dropped
            logger.debug(
                "dropped %d content attributes and events of spans (trace content is off)",
                decoded.content_dropped,
            )
        answer = ExportTraceServiceResponse()
        if decoded.rejected:
            answer.partial_success.rejected_spans = decoded.rejected
            answer.partial_success.error_message = decoded.message()
        return answer
